//go:build !unix

package hostid

import (
	"fmt"
	"io/fs"
	"os"
)

// On Windows, access is governed by ACLs, not mode bits: the default
// location, under the user's profile, inherits an ACL private to the user.

func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("hostid: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("hostid: %s is not a directory", dir)
	}
	return nil
}

func checkKeyFile(string, fs.FileInfo) error { return nil }

func syncDir(string) {}
