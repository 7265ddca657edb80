package ring

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cespare/xxhash/v2"
)

// DefaultVNodes is the number of tokens a member gets when its VNodes is 0
// and the Config does not say otherwise.
const DefaultVNodes = 256

// MaxVNodes is the largest vnode count a member or a Config may ask for:
// 256 times the default. A ring keeps about 16 bytes per token.
const MaxVNodes = 1 << 16

// DefaultProbes is the number of positions a key is looked up at when the
// Config does not say otherwise. With 256 vnodes per node it keeps the
// busiest of ten nodes about 3% above the mean, 7% in the worst of 200
// random sets of names (the package documentation has the figures).
const DefaultProbes = 8

// MaxProbes is the largest probe count a Config may ask for.
const MaxProbes = 64

// ErrVNodes is the sentinel of every error about a vnode count below 0 or
// above MaxVNodes. Use errors.Is(err, ErrVNodes).
var ErrVNodes = errors.New("ring: vnode count out of range")

// ErrProbes is the sentinel of the error about a Config.Probes below 0 or
// above MaxProbes. Use errors.Is(err, ErrProbes).
var ErrProbes = errors.New("ring: probe count out of range")

// ErrEmptyID is the sentinel of the error about a member whose ID is the
// empty string. Use errors.Is(err, ErrEmptyID).
var ErrEmptyID = errors.New("ring: empty node id")

// ErrDuplicateID is the sentinel of the error about two members with the same
// ID passed to New. Use errors.Is(err, ErrDuplicateID).
var ErrDuplicateID = errors.New("ring: duplicate node id")

// Config chooses how a ring places tokens and keys. The zero Config is the
// default one: every node that builds a ring from the same member list with
// the same Config places every key the same way, so all the nodes of a
// cluster must use the same Config.
type Config struct {
	// VNodes is the number of tokens of a member whose own VNodes is 0.
	// Zero means DefaultVNodes.
	VNodes int

	// Probes is the number of positions each key is looked up at: its own
	// position and Probes-1 others, each at an offset from it drawn for the
	// bucket (1/65,536th of the ring) the position falls in. More probes
	// even out the nodes' shares and make Owners and Ranges slower, in
	// proportion. 1 gives classic consistent hashing: the owners of a key
	// are the first nodes clockwise from its position. Zero means
	// DefaultProbes.
	Probes int

	// KeyHash maps a key to its position on the ring. Nil means KeyHash,
	// the hash the storage layer orders keys by. Tests inject their own.
	KeyHash func(key []byte) uint64

	// TokenHash maps a node and an index i, 0 <= i < its vnode count, to the
	// position of the node's i-th token. Nil means TokenHash.
	TokenHash func(id NodeID, i int) uint64
}

// DefaultConfig returns the Config that the zero Config stands for, with
// every default filled in.
func DefaultConfig() Config {
	return Config{
		VNodes:    DefaultVNodes,
		Probes:    DefaultProbes,
		KeyHash:   KeyHash,
		TokenHash: TokenHash,
	}
}

// Validate reports every field of c that is out of range, joined in one
// error, or nil.
func (c Config) Validate() error {
	var errs []error
	if c.VNodes < 0 || c.VNodes > MaxVNodes {
		errs = append(errs, fmt.Errorf("%w: Config.VNodes is %d, want 0 (the default, %d) to %d",
			ErrVNodes, c.VNodes, DefaultVNodes, MaxVNodes))
	}
	if c.Probes < 0 || c.Probes > MaxProbes {
		errs = append(errs, fmt.Errorf("%w: Config.Probes is %d, want 0 (the default, %d) to %d",
			ErrProbes, c.Probes, DefaultProbes, MaxProbes))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	if c.VNodes == 0 {
		c.VNodes = DefaultVNodes
	}
	if c.Probes == 0 {
		c.Probes = DefaultProbes
	}
	if c.KeyHash == nil {
		c.KeyHash = KeyHash
	}
	if c.TokenHash == nil {
		c.TokenHash = TokenHash
	}
	return c
}

// KeyHash returns the position of key on the ring: its 64-bit xxHash
// (XXH64, seed 0). The storage layer orders keys by the same hash, so that
// the keys of a Range are one contiguous scan. Changing it moves every key.
func KeyHash(key []byte) uint64 { return xxhash.Sum64(key) }

// TokenHash returns the position of the i-th token of node id: the 64-bit
// xxHash (XXH64, seed 0) of the bytes of id followed by i as 8 big-endian
// bytes. The fixed-width suffix makes distinct (id, i) pairs distinct
// inputs. Changing it moves every key.
func TokenHash(id NodeID, i int) uint64 {
	var d xxhash.Digest
	d.Reset()
	_, _ = d.WriteString(string(id))
	var suffix [8]byte
	binary.BigEndian.PutUint64(suffix[:], uint64(i))
	_, _ = d.Write(suffix[:])
	return d.Sum64()
}
