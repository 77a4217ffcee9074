package hostid

import (
	"context"
	"fmt"
	"os/exec"
	"time"
)

// rawMachineID asks ioreg for the platform UUID. The absolute path keeps a
// stray ioreg on PATH from choosing the identity.
func rawMachineID() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/sbin/ioreg", "-rd1", "-c", "IOPlatformExpertDevice").Output()
	if err != nil {
		return "", fmt.Errorf("%w: running ioreg: %v", ErrNoIdentity, err)
	}
	return parseIOReg(out)
}
