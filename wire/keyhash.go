package wire

import "github.com/cespare/xxhash/v2"

// KeyHash returns the position of key in the hash space: xxhash64 of the key
// bytes (github.com/cespare/xxhash/v2). Storage orders keys by it and
// anti-entropy segments by it.
func KeyHash(key []byte) uint64 { return xxhash.Sum64(key) }

// StateHash returns the hash of an encoded state, as EncodeState wrote it:
// xxhash64 of the bytes. Equal states have equal encodings, so equal
// hashes; anti-entropy builds its Merkle trees from these.
func StateHash(encoded []byte) uint64 { return xxhash.Sum64(encoded) }
