//go:build unix

package hostid

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// checkDir refuses a directory that other users can write to, or that
// belongs to another user: they could swap the key file or ledger entries.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("hostid: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("hostid: %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%w: directory %s has mode %#o; group and others must not write to it (chmod go-w)", ErrBadKeyFile, dir, fi.Mode().Perm())
	}
	return checkOwner(dir, fi)
}

// checkKeyFile refuses a key file with any group or other permission bit,
// or owned by another user.
func checkKeyFile(path string, fi fs.FileInfo) error {
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %#o; it must be private to its owner (chmod 600)", ErrBadKeyFile, path, fi.Mode().Perm())
	}
	return checkOwner(path, fi)
}

func checkOwner(path string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := os.Geteuid(); int64(st.Uid) != int64(uid) {
		return fmt.Errorf("%w: %s belongs to uid %d, not to this user (uid %d)", ErrBadKeyFile, path, st.Uid, uid)
	}
	return nil
}

// syncDir makes a new directory entry durable; failure only costs durability.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
