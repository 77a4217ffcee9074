package hostid

import "os"

// rawMachineID reads systemd's machine-id, or the D-Bus copy older systems have.
func rawMachineID() (string, error) {
	return readMachineID(os.DirFS("/"), "etc/machine-id", "var/lib/dbus/machine-id")
}
