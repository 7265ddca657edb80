package wire

import (
	"errors"
	"fmt"
	"math"
)

// Limits bounds what a Codec accepts, so that a corrupt or hostile input is
// refused before it costs memory, and what it writes, so that it never
// produces bytes it would refuse to read back. A zero field takes its
// default (DefaultLimits).
//
// The decoder checks MaxMessageSize before reading anything, the node table
// (MaxNodes, MaxNodeIDLen) before decoding the body, the CBOR limits
// (MaxNestedLevels, MaxArrayElements, MaxMapPairs) while checking the body is
// well formed, before the first allocation, and MaxFrameMessages before the
// first message of a frame. Within those limits a decoder allocates by what
// it has read, not by what headers declare: at most about 176 bytes per
// byte of a frame, under 60 per byte of a state (see # Limits in the
// package documentation).
type Limits struct {
	// MaxMessageSize is the size of the largest encoded item, envelope
	// included, in bytes. Default 64 MiB; at least 64.
	MaxMessageSize int

	// MaxNestedLevels is the deepest nesting of CBOR arrays and maps, the
	// envelope counting as one level. A state needs 5. Default 16; from 5
	// to 65536.
	MaxNestedLevels int

	// MaxArrayElements is the length of the longest CBOR array, in
	// elements. It bounds each list of a state: its register siblings, its
	// set members (one per element, more for concurrent adds of an
	// element), its counter shares and its context's cloud. Default
	// 1,048,576 (1 << 20); from 16 to 2^31-1.
	MaxArrayElements int

	// MaxMapPairs is the size of the largest CBOR map, in key-value pairs.
	// States and contexts hold no maps; message bodies may. Default 65,536;
	// from 16 to 2^31-1.
	MaxMapPairs int

	// MaxNodes is the size of the largest node table of a state or context:
	// the number of distinct replicas that ever wrote the key. A state
	// keeps every writer in its context for good, so keep this well above
	// the number of nodes a key's writes may ever be coordinated by.
	// Default 4096; at least 1.
	MaxNodes int

	// MaxNodeIDLen is the length of the longest node ID, in bytes. Default
	// 255; at least 1.
	MaxNodeIDLen int

	// MaxFrameMessages is the number of messages in the largest frame: the
	// decoder refuses a frame of more before reading any, and the encoder
	// refuses to write one. A decoded Message takes 264 bytes of memory,
	// from 3 bytes of input for the smallest, so this bounds the memory a
	// frame's Messages take whatever its size: about 35 MB at the default,
	// the slices outgrown while reading included. Default 65,536 (1 << 16);
	// at least 1.
	MaxFrameMessages int
}

// DefaultLimits returns the limits the package-level functions use: items
// of up to 64 MiB, enough for a 1 MiB register value or an OR-set of a
// million small elements.
func DefaultLimits() Limits {
	return Limits{
		MaxMessageSize:   64 << 20,
		MaxNestedLevels:  16,
		MaxArrayElements: 1 << 20,
		MaxMapPairs:      1 << 16,
		MaxNodes:         4096,
		MaxNodeIDLen:     255,
		MaxFrameMessages: 1 << 16,
	}
}

// withDefaults returns l with every zero field set to its default.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	fill := func(f *int, def int) {
		if *f == 0 {
			*f = def
		}
	}
	fill(&l.MaxMessageSize, d.MaxMessageSize)
	fill(&l.MaxNestedLevels, d.MaxNestedLevels)
	fill(&l.MaxArrayElements, d.MaxArrayElements)
	fill(&l.MaxMapPairs, d.MaxMapPairs)
	fill(&l.MaxNodes, d.MaxNodes)
	fill(&l.MaxNodeIDLen, d.MaxNodeIDLen)
	fill(&l.MaxFrameMessages, d.MaxFrameMessages)
	return l
}

// Validate reports every field of l outside its range, zero fields
// included (NewCodec fills those with defaults first), or nil.
func (l Limits) Validate() error {
	var errs []error
	check := func(name string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("wire: Limits.%s = %d, want %d to %d", name, v, lo, hi))
		}
	}
	check("MaxMessageSize", l.MaxMessageSize, 64, math.MaxInt)
	check("MaxNestedLevels", l.MaxNestedLevels, 5, 65536)
	check("MaxArrayElements", l.MaxArrayElements, 16, math.MaxInt32)
	check("MaxMapPairs", l.MaxMapPairs, 16, math.MaxInt32)
	check("MaxNodes", l.MaxNodes, 1, math.MaxInt32)
	check("MaxNodeIDLen", l.MaxNodeIDLen, 1, math.MaxInt32)
	check("MaxFrameMessages", l.MaxFrameMessages, 1, math.MaxInt32)
	return errors.Join(errs...)
}

// checkSize returns a *TooLargeError when n bytes exceed MaxMessageSize.
func (l Limits) checkSize(n int) error {
	if n > l.MaxMessageSize {
		return &TooLargeError{Name: "MaxMessageSize", Size: n, Limit: l.MaxMessageSize}
	}
	return nil
}

// checkMessages returns a *TooLargeError when a frame of n messages exceeds
// MaxFrameMessages.
func (l Limits) checkMessages(n int) error {
	if n > l.MaxFrameMessages {
		return &TooLargeError{Name: "MaxFrameMessages", Size: n, Limit: l.MaxFrameMessages}
	}
	return nil
}

// checkCount returns a *TooLargeError when an array of n elements exceeds
// MaxArrayElements.
func (l Limits) checkCount(n int) error {
	if n > l.MaxArrayElements {
		return &TooLargeError{Name: "MaxArrayElements", Size: n, Limit: l.MaxArrayElements}
	}
	return nil
}
