package wire

import (
	"fmt"

	"github.com/meridiankv/meridian/crdt"
)

// The structs below define the state bodies, versions 1 and 2, as encMode
// writes them and Codec.dec reads them. The codec does not use them at run time:
// it writes and reads their CBOR image by hand, straight from and into the
// crdt values (state_enc.go, state_dec.go), and the tests check it against
// the reflective encoding and decoding of these structs, byte for byte and
// error for error (reflect_test.go).

// stateV1 is the body of a TagState item, version 1:
// [nodes, vector, cloud, registers, members, shares].
type stateV1 struct {
	_         struct{} `cbor:",toarray"`
	Nodes     []string
	Vector    []dotV1
	Cloud     []dotV1
	Registers []siblingV1
	Members   []memberV1
	Shares    []shareV1
}

// stateV2 is the body of a TagState item, version 2: version 1's six lists
// and the counter's reset baselines,
// [nodes, vector, cloud, registers, members, shares, resets].
type stateV2 struct {
	_         struct{} `cbor:",toarray"`
	Nodes     []string
	Vector    []dotV1
	Cloud     []dotV1
	Registers []siblingV1
	Members   []memberV1
	Shares    []shareV1
	Resets    []resetV2
}

// resetV2 is a crdt.Reset: [node, inc, dec], node an index into the node
// table.
type resetV2 struct {
	_    struct{} `cbor:",toarray"`
	Node uint64
	Inc  uint64
	Dec  uint64
}

// siblingV1 is a crdt.Sibling: [dot, time, value].
type siblingV1 struct {
	_     struct{} `cbor:",toarray"`
	Dot   dotV1
	Time  timeV1
	Value []byte
}

// memberV1 is a crdt.Member: [element, dot, time], the element a byte string.
type memberV1 struct {
	_     struct{} `cbor:",toarray"`
	Value string
	Dot   dotV1
	Time  timeV1
}

// shareV1 is a crdt.Share: [dot, time, inc, dec].
type shareV1 struct {
	_    struct{} `cbor:",toarray"`
	Dot  dotV1
	Time timeV1
	Inc  uint64
	Dec  uint64
}

// EncodeState returns the canonical encoding of s under the default limits.
// See Codec.EncodeState.
func EncodeState(s crdt.State) ([]byte, error) { return defaultCodec.EncodeState(s) }

// AppendState appends the canonical encoding of s to dst under the default
// limits. See Codec.AppendState.
func AppendState(dst []byte, s crdt.State) ([]byte, error) { return defaultCodec.AppendState(dst, s) }

// DecodeState decodes a state under the default limits. See
// Codec.DecodeState.
func DecodeState(data []byte) (crdt.State, error) { return defaultCodec.DecodeState(data) }

// EncodeState returns the canonical encoding of s as a TagState item: equal
// states (crdt.State.Equal) encode to identical bytes. It writes the oldest
// version that can represent s: version 1 unless s holds counter resets
// (crdt.State.Resets), version 2 when it does, so that a state an older
// build wrote encodes to the same bytes as it did. It fails with an error
// matching ErrTooLarge when s exceeds c's limits, so that it never writes
// what c would refuse to read, and with one matching crdt.ErrInvalid when
// an entry of s has an invalid dot.
func (c *Codec) EncodeState(s crdt.State) ([]byte, error) { return c.AppendState(nil, s) }

// AppendState is EncodeState appending to dst. On error it returns dst
// unchanged in length.
func (c *Codec) AppendState(dst []byte, s crdt.State) ([]byte, error) {
	v := stateVersion(s)
	out, err := c.limits.appendStateBody(c.appendHead(dst, TagState, v), s, v)
	return c.endItem(dst, out, err)
}

// stateVersion returns the oldest state format that can represent s.
func stateVersion(s crdt.State) uint16 {
	if len(s.Resets()) > 0 {
		return 2
	}
	return 1
}

// DecodeState decodes a TagState item written by any version this build
// reads. It never panics and refuses, with an error matching one of the
// package's sentinels, any input that is not a valid state within c's
// limits: see the package documentation for the checks.
func (c *Codec) DecodeState(data []byte) (crdt.State, error) {
	version, body, err := c.open(data, TagState)
	if err != nil {
		return crdt.State{}, err
	}
	switch version {
	case 1, 2:
		return c.decodeStateBody(body, version)
	}
	return crdt.State{}, &VersionError{Tag: TagState, Version: version, Supported: registry[TagState].versions}
}

// decodeStateBody checks the node table of a state body of the given
// version against the limits, then the body (see validate), then reads it.
func (c *Codec) decodeStateBody(body []byte, version uint16) (crdt.State, error) {
	if err := checkNodeTable("state", body, c.limits); err != nil {
		return crdt.State{}, err
	}
	if err := c.limits.validate("state", body, stateShapes[version]); err != nil {
		return crdt.State{}, err
	}
	return readState(&reader{data: body}, nil, nil, version)
}

// invalidEntry reports an entry whose dot cannot be encoded: one that
// names no node of the context or has a zero counter. Only a mutator called
// with an empty node ID produces one.
func invalidEntry(kind string, d crdt.Dot) error {
	return fmt.Errorf("wire: encoding state: %w: %s entry has invalid dot %q:%d", crdt.ErrInvalid, kind, d.Node, d.Counter)
}

// invalidReset reports a reset of a node the context does not name, which
// crdt.Assemble and the mutators never make.
func invalidReset(n crdt.NodeID) error {
	return fmt.Errorf("wire: encoding state: %w: reset of node %q, which is not in the context", crdt.ErrInvalid, n)
}
