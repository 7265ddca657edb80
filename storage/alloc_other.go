//go:build !unix

package storage

import "io/fs"

// allocated returns the apparent size of a file: this system's FileInfo
// does not report allocated blocks.
func allocated(fi fs.FileInfo) int64 { return allocatedFallback(fi) }
