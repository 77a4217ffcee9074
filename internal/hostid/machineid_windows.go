package hostid

import (
	"fmt"

	"golang.org/x/sys/windows/registry"
)

// rawMachineID reads HKLM\SOFTWARE\Microsoft\Cryptography\MachineGuid, from
// the 64-bit registry view so a 32-bit process sees the same value.
func rawMachineID() (string, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Cryptography`,
		registry.QUERY_VALUE|registry.WOW64_64KEY)
	if err != nil {
		return "", fmt.Errorf("%w: opening HKLM\\SOFTWARE\\Microsoft\\Cryptography: %v", ErrNoIdentity, err)
	}
	defer k.Close()
	v, _, err := k.GetStringValue("MachineGuid")
	if err != nil {
		return "", fmt.Errorf("%w: reading MachineGuid: %v", ErrNoIdentity, err)
	}
	id, err := parseGUID(v)
	if err != nil {
		return "", fmt.Errorf("%w: MachineGuid: %v", ErrNoIdentity, err)
	}
	return id, nil
}
