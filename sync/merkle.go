package sync

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
)

// The anti-entropy tree splits the 64-bit key-hash space into a fixed number
// of segments, whatever the ring, the node count or the number of keys: two
// trees built anywhere (another node, another region) over the same keys
// are equal, and trees compare segment by segment.
const (
	// SegmentBits is log2 of the number of leaf segments: 2^16 = 65,536.
	SegmentBits = 16
	// fanoutBits is log2 of the children of an inner node.
	fanoutBits = 4
	// LeafLevel is the level of the leaves; the root is level 0.
	LeafLevel = SegmentBits / fanoutBits
)

// Tree is a Merkle tree over the key-hash space: each leaf holds the XOR of
// the digests of the keys whose hash falls in its segment, and each inner
// node the XOR of its children. XOR makes an update O(levels) with no
// rehashing: a write XORs out the key's old digest and XORs in the new one.
// Memory is fixed (about 560 KB), independent of the number of keys.
type Tree struct {
	levels [LeafLevel + 1][]uint64
}

// NewTree returns an empty tree.
func NewTree() *Tree {
	t := &Tree{}
	for l := range t.levels {
		t.levels[l] = make([]uint64, 1<<(fanoutBits*l))
	}
	return t
}

// Segment returns the leaf segment of a key hash.
func Segment(keyHash uint64) uint32 { return uint32(keyHash >> (64 - SegmentBits)) }

// SegmentRange returns the lowest and highest key hash of a segment.
func SegmentRange(seg uint32) (lo, hi uint64) {
	lo = uint64(seg) << (64 - SegmentBits)
	return lo, lo | (1<<(64-SegmentBits) - 1)
}

// Digest returns the digest of one key whose stored state has the
// wire.StateHash stateHash. A key this replica does not hold (stateHash 0)
// has digest 0.
func Digest(key []byte, stateHash uint64) uint64 {
	if stateHash == 0 {
		return 0
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], xxhash.Sum64(key))
	binary.BigEndian.PutUint64(b[8:], stateHash)
	d := xxhash.Sum64(b[:])
	if d == 0 {
		d = 1 // 0 means absent
	}
	return d
}

// Update replaces the digest old of the key at keyHash by new.
func (t *Tree) Update(keyHash, old, new uint64) {
	x := old ^ new
	if x == 0 {
		return
	}
	i := uint64(Segment(keyHash))
	for l := LeafLevel; l >= 0; l-- {
		t.levels[l][i] ^= x
		i >>= fanoutBits
	}
}

// Hash returns the hash of node index at level, or 0 for an index out of
// range.
func (t *Tree) Hash(level uint8, index uint32) uint64 {
	if int(level) > LeafLevel || int(index) >= len(t.levels[level]) {
		return 0
	}
	return t.levels[level][index]
}

// Children returns the indexes of the children of node index at level.
func Children(level uint8, index uint32) []uint32 {
	if int(level) >= LeafLevel {
		return nil
	}
	out := make([]uint32, 1<<fanoutBits)
	for i := range out {
		out[i] = index<<fanoutBits | uint32(i)
	}
	return out
}

// Reset empties the tree.
func (t *Tree) Reset() {
	for _, l := range t.levels {
		clear(l)
	}
}
