package wire

import (
	"fmt"
	"slices"
	"strings"

	"github.com/meridiankv/meridian/crdt"
)

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
// states (crdt.State.Equal) encode to identical bytes. It fails with an
// error matching ErrTooLarge when s exceeds c's limits, so that it never
// writes what c would refuse to read, and with one matching
// crdt.ErrInvalid when an entry of s has an invalid dot.
func (c *Codec) EncodeState(s crdt.State) ([]byte, error) { return c.AppendState(nil, s) }

// AppendState is EncodeState appending to dst. On error it returns dst
// unchanged in length.
func (c *Codec) AppendState(dst []byte, s crdt.State) ([]byte, error) {
	body, err := stateToV1(s, c.limits)
	if err != nil {
		return dst, err
	}
	return c.appendItem(dst, TagState, body)
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
	case 1:
		return c.decodeStateV1(body)
	}
	return crdt.State{}, &VersionError{Tag: TagState, Version: version, Supported: registry[TagState].versions}
}

func (c *Codec) decodeStateV1(body []byte) (crdt.State, error) {
	if err := checkNodeTable("state", body, c.limits); err != nil {
		return crdt.State{}, err
	}
	var w stateV1
	if err := c.dec.Unmarshal(body, &w); err != nil {
		return crdt.State{}, decodeError("state", c.limits, err)
	}
	return stateFromV1(w)
}

// stateToV1 returns the wire form of s, checked against l.
func stateToV1(s crdt.State, l Limits) (stateV1, error) {
	ctx, t, err := contextToV1(s.Context(), l)
	if err != nil {
		return stateV1{}, err
	}
	w := stateV1{Nodes: ctx.Nodes, Vector: ctx.Vector, Cloud: ctx.Cloud}
	if w.Registers, err = registersToV1(s.Siblings(), t, l); err != nil {
		return stateV1{}, err
	}
	if w.Members, err = membersToV1(s.MemberDots(), t, l); err != nil {
		return stateV1{}, err
	}
	if w.Shares, err = sharesToV1(s.Shares(), t, l); err != nil {
		return stateV1{}, err
	}
	return w, nil
}

// invalidEntry reports an entry whose dot cannot be encoded: one that
// names no node of the context or has a zero counter. Only a mutator called
// with an empty node ID produces one.
func invalidEntry(kind string, d crdt.Dot) error {
	return fmt.Errorf("wire: encoding state: %w: %s entry has invalid dot %q:%d", crdt.ErrInvalid, kind, d.Node, d.Counter)
}

func registersToV1(sibs []crdt.Sibling, t nodeTable, l Limits) ([]siblingV1, error) {
	if err := l.checkCount(len(sibs)); err != nil {
		return nil, err
	}
	out := make([]siblingV1, len(sibs))
	for i, sb := range sibs {
		d, ok := t.dot(sb.Dot)
		if !ok {
			return nil, invalidEntry("register", sb.Dot)
		}
		out[i] = siblingV1{Dot: d, Time: timeToV1(sb.Time), Value: sb.Value}
	}
	slices.SortFunc(out, func(a, b siblingV1) int { return compareDotV1(a.Dot, b.Dot) })
	return out, nil
}

func membersToV1(members []crdt.Member, t nodeTable, l Limits) ([]memberV1, error) {
	if err := l.checkCount(len(members)); err != nil {
		return nil, err
	}
	out := make([]memberV1, len(members))
	for i, m := range members {
		d, ok := t.dot(m.Dot)
		if !ok {
			return nil, invalidEntry("set", m.Dot)
		}
		out[i] = memberV1{Value: m.Value, Dot: d, Time: timeToV1(m.Time)}
	}
	slices.SortFunc(out, compareMemberV1)
	return out, nil
}

func sharesToV1(shares []crdt.Share, t nodeTable, l Limits) ([]shareV1, error) {
	if err := l.checkCount(len(shares)); err != nil {
		return nil, err
	}
	out := make([]shareV1, len(shares))
	for i, sh := range shares {
		d, ok := t.dot(sh.Dot)
		if !ok {
			return nil, invalidEntry("counter", sh.Dot)
		}
		out[i] = shareV1{Dot: d, Time: timeToV1(sh.Time), Inc: sh.Inc, Dec: sh.Dec}
	}
	slices.SortFunc(out, func(a, b shareV1) int { return compareDotV1(a.Dot, b.Dot) })
	return out, nil
}

// compareMemberV1 orders members by element, bytewise, then by dot.
func compareMemberV1(a, b memberV1) int {
	if c := strings.Compare(a.Value, b.Value); c != 0 {
		return c
	}
	return compareDotV1(a.Dot, b.Dot)
}

// stateFromV1 checks a decoded state body and builds the state: the
// context as contextFromV1 does, each list of entries sorted and free of
// duplicates, and every entry's dot valid and in the context (crdt.Assemble).
func stateFromV1(w stateV1) (crdt.State, error) {
	ctx, err := contextFromV1("state", w.Nodes, w.Vector, w.Cloud)
	if err != nil {
		return crdt.State{}, err
	}
	sibs, err := registersFromV1(w.Registers, w.Nodes)
	if err != nil {
		return crdt.State{}, err
	}
	members, err := membersFromV1(w.Members, w.Nodes)
	if err != nil {
		return crdt.State{}, err
	}
	shares, err := sharesFromV1(w.Shares, w.Nodes)
	if err != nil {
		return crdt.State{}, err
	}
	s, err := crdt.Assemble(ctx, sibs, members, shares)
	if err != nil {
		return crdt.State{}, fmt.Errorf("%w: state: %w", ErrMalformed, err)
	}
	return s, nil
}

func registersFromV1(ws []siblingV1, nodes []string) ([]crdt.Sibling, error) {
	out := make([]crdt.Sibling, len(ws))
	for i, w := range ws {
		d, err := w.Dot.toDot(nodes)
		if err != nil {
			return nil, malformed("state", "register entry %d: %v", i, err)
		}
		if i > 0 && compareDotV1(ws[i-1].Dot, w.Dot) >= 0 {
			return nil, malformed("state", "register entries not sorted by dot, or holding a dot twice, at entry %d", i)
		}
		out[i] = crdt.Sibling{Dot: d, Time: w.Time.timestamp(), Value: w.Value}
	}
	return out, nil
}

func membersFromV1(ws []memberV1, nodes []string) ([]crdt.Member, error) {
	out := make([]crdt.Member, len(ws))
	for i, w := range ws {
		d, err := w.Dot.toDot(nodes)
		if err != nil {
			return nil, malformed("state", "set entry %d: %v", i, err)
		}
		if i > 0 && compareMemberV1(ws[i-1], w) >= 0 {
			return nil, malformed("state", "set entries not sorted by element and dot, or holding one twice, at entry %d", i)
		}
		out[i] = crdt.Member{Value: w.Value, Dot: d, Time: w.Time.timestamp()}
	}
	return out, nil
}

func sharesFromV1(ws []shareV1, nodes []string) ([]crdt.Share, error) {
	out := make([]crdt.Share, len(ws))
	for i, w := range ws {
		d, err := w.Dot.toDot(nodes)
		if err != nil {
			return nil, malformed("state", "counter entry %d: %v", i, err)
		}
		if i > 0 && compareDotV1(ws[i-1].Dot, w.Dot) >= 0 {
			return nil, malformed("state", "counter entries not sorted by dot, or holding a dot twice, at entry %d", i)
		}
		out[i] = crdt.Share{Dot: d, Time: w.Time.timestamp(), Inc: w.Inc, Dec: w.Dec}
	}
	return out, nil
}
