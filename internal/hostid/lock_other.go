//go:build !linux && !darwin && !freebsd && !openbsd && !netbsd && !dragonfly && !windows

package hostid

import (
	"fmt"
	"os"
	"runtime"
)

// Without a lock that the system drops when its process dies, the ledger
// cannot be shared safely, so OpenLedger fails here (as MachineID does).

func lockFile(*os.File) error {
	return fmt.Errorf("no file lock for the ledger on %s", runtime.GOOS)
}

func unlockFile(*os.File) error { return nil }

func openTableFile(path string, create bool) (*os.File, error) {
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE | os.O_TRUNC
	}
	return os.OpenFile(path, flag, 0o600)
}
