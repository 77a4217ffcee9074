//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package hostid

import (
	"os"

	"golang.org/x/sys/unix"
)

// lockFile takes an exclusive flock on f, waiting for it. A flock belongs
// to the open file, so two Ledgers of one process exclude each other too,
// and the system drops it when the process dies.
func lockFile(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			return err
		}
	}
}

func unlockFile(f *os.File) error {
	return unix.Flock(int(f.Fd()), unix.LOCK_UN)
}

// openTableFile opens a table for reading and writing; create truncates or
// creates it, 0600.
func openTableFile(path string, create bool) (*os.File, error) {
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE | os.O_TRUNC
	}
	return os.OpenFile(path, flag, 0o600)
}
