package wire

import "github.com/cespare/xxhash/v2"

// KeyHash returns the position of key in the hash space: xxhash64 of the key
// bytes (github.com/cespare/xxhash/v2). Storage orders keys by it and
// anti-entropy segments by it.
func KeyHash(key []byte) uint64 { return xxhash.Sum64(key) }
