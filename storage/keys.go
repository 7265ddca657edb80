package storage

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// The badger key layout. Every badger key starts with one of these bytes.
// Big-endian integers make byte order equal numeric order, so badger's
// lexicographic order is (hash, key) order within a prefix.
const (
	// prefixData | KeyHash(key) (8 bytes, big-endian) | key
	prefixData byte = 'd'
	// prefixHint | len(target) (2 bytes, big-endian) | target |
	// KeyHash(key) (8 bytes, big-endian) | key
	prefixHint byte = 'h'
	// prefixMeta | name
	prefixMeta byte = 'm'
	// prefixOutbox | Seq (8 bytes, big-endian): one outbox shipment, its
	// value encoded by encodeShipment. Since layout version 2.
	prefixOutbox byte = 'o'
	// prefixCursor | region: a region's outbox cursor, 8 bytes,
	// big-endian. Since layout version 2.
	prefixCursor byte = 'c'
	// prefixFormat alone: the layout version, one byte.
	prefixFormat byte = 'f'
	// prefixAcceptor | KeyHash(key) (8 bytes, big-endian) | key: what this
	// node keeps of a strong key as one of its acceptors
	// (wire.EncodeAcceptor), beside the key's data.
	prefixAcceptor byte = 'x'
)

// formatVersion is the layout version stored under prefixFormat. Change it,
// and teach Open to convert, whenever the layout above changes. Version 1
// had no outbox (prefixOutbox, prefixCursor); version 2 added it, so a
// version-1 directory is a version-2 one with an empty outbox and Open
// upgrades it by rewriting the version alone. Version 3 added the records
// of strong keys' acceptors (prefixAcceptor), which a build of version 2
// would ignore, serving strong keys as if never written: Open upgrades a
// version-1 or 2 directory by rewriting the version alone, and a build of
// version 2 refuses the result.
const formatVersion byte = 3

// oldestFormatVersion is the oldest layout version Open upgrades.
const oldestFormatVersion byte = 1

// maxTargetLen is the longest hint target the 2-byte length prefix holds.
const maxTargetLen = math.MaxUint16

const hashLen = 8

// Data keys and acceptor records share one layout: a prefix, the key's
// hash, the key; so a hash range of either is one badger range.

// hashedKey returns the badger key of key under prefix.
func hashedKey(prefix byte, key []byte) []byte {
	k := make([]byte, 1+hashLen, 1+hashLen+len(key))
	k[0] = prefix
	binary.BigEndian.PutUint64(k[1:], wire.KeyHash(key))
	return append(k, key...)
}

// hashedSeek returns the first badger key of hash h under prefix.
func hashedSeek(prefix byte, h uint64) []byte {
	k := make([]byte, 1+hashLen)
	k[0] = prefix
	binary.BigEndian.PutUint64(k[1:], h)
	return k
}

// splitHashed returns the hash and user key of a badger key made by
// hashedKey under prefix; what names the kind of key for the error.
func splitHashed(prefix byte, k []byte, what string) (uint64, []byte, error) {
	if len(k) < 1+hashLen || k[0] != prefix {
		return 0, nil, fmt.Errorf("storage: malformed %s key %x", what, k)
	}
	return binary.BigEndian.Uint64(k[1:]), k[1+hashLen:], nil
}

// dataKey returns the badger key of a data key.
func dataKey(key []byte) []byte { return hashedKey(prefixData, key) }

// dataKeyHash returns the hash in a badger data key made by dataKey.
func dataKeyHash(bk []byte) uint64 { return binary.BigEndian.Uint64(bk[1:]) }

// dataSeek returns the first badger key of hash h: the prefix and the hash.
func dataSeek(h uint64) []byte { return hashedSeek(prefixData, h) }

// splitData returns the hash and user key of a badger data key.
func splitData(k []byte) (uint64, []byte, error) { return splitHashed(prefixData, k, "data") }

// hintPrefix returns the badger key prefix of every hint for target.
func hintPrefix(target crdt.NodeID) ([]byte, error) {
	if target == "" || len(target) > maxTargetLen {
		return nil, fmt.Errorf("storage: hint target %q: length %d outside [1, %d]", target, len(target), maxTargetLen)
	}
	p := make([]byte, 3, 3+len(target)+hashLen)
	p[0] = prefixHint
	binary.BigEndian.PutUint16(p[1:], uint16(len(target)))
	return append(p, target...), nil
}

// hintKey returns the badger key of the hint for (target, key).
func hintKey(target crdt.NodeID, key []byte) ([]byte, error) {
	p, err := hintPrefix(target)
	if err != nil {
		return nil, err
	}
	p = binary.BigEndian.AppendUint64(p, wire.KeyHash(key))
	return append(p, key...), nil
}

// splitHint returns the target and user key of a badger hint key.
func splitHint(k []byte) (crdt.NodeID, []byte, error) {
	if len(k) < 3 || k[0] != prefixHint {
		return "", nil, fmt.Errorf("storage: malformed hint key %x", k)
	}
	n := int(binary.BigEndian.Uint16(k[1:]))
	if len(k) < 3+n+hashLen {
		return "", nil, fmt.Errorf("storage: malformed hint key %x", k)
	}
	return crdt.NodeID(k[3 : 3+n]), k[3+n+hashLen:], nil
}

// metaKey returns the badger key of a meta value.
func metaKey(name string) ([]byte, error) {
	if name == "" {
		return nil, fmt.Errorf("storage: empty meta name")
	}
	return append([]byte{prefixMeta}, name...), nil
}

// hintSize is what a hint counts towards HintBytes: its key and its encoded
// state (package sync's hint budget counts the same).
func hintSize(key []byte, encodedLen int) int64 { return int64(len(key) + encodedLen) }
