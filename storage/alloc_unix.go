//go:build unix

package storage

import (
	"io/fs"
	"syscall"
)

// allocated returns the disk space allocated to a file: its 512-byte blocks,
// which for badger's sparse, preallocated logs is far less than their size.
func allocated(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int64(st.Blocks) * 512
	}
	return allocatedFallback(fi)
}
