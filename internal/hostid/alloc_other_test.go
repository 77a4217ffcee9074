//go:build !unix

package hostid

import "os"

func allocatedSize(fi os.FileInfo) int64 { return fi.Size() }
