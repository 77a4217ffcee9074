package hostid

import (
	"io/fs"
	"os"

	"golang.org/x/sys/windows"
)

// lockOffsetHigh is the high half of the offset of the byte LockFileEx
// locks, 2⁶²: far past the end of the index, because Windows locks are
// mandatory and a lock on the index's own bytes would stop other handles
// reading them.
const lockOffsetHigh = 1 << 30

// lockFile takes an exclusive lock on f, waiting for it. The system drops
// it when the handle is closed or the process dies.
func lockFile(f *os.File) error {
	ol := windows.Overlapped{OffsetHigh: lockOffsetHigh}
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &ol)
}

func unlockFile(f *os.File) error {
	ol := windows.Overlapped{OffsetHigh: lockOffsetHigh}
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ol)
}

// openTableFile opens a table for reading and writing; create truncates or
// creates it. Unlike os.OpenFile it shares delete access, so that a table
// another process still has open can be removed when it is pruned or
// copied out.
func openTableFile(path string, create bool) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	disposition := uint32(windows.OPEN_EXISTING)
	if create {
		disposition = windows.CREATE_ALWAYS
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ|windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, disposition, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}
