//go:build !linux && !windows && !darwin

package hostid

import (
	"fmt"
	"runtime"
)

// rawMachineID: no identity source is known for this system.
func rawMachineID() (string, error) {
	return "", fmt.Errorf("%w: no identity source on %s", ErrNoIdentity, runtime.GOOS)
}
