//go:build unix

package hostid

import (
	"os"
	"syscall"
)

// allocatedSize is the disk a file takes: tables are sparse until used.
func allocatedSize(fi os.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int64(st.Blocks) * 512
	}
	return fi.Size()
}
