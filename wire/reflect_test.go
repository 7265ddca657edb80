package wire

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/meridiankv/meridian/crdt"
)

// The reflective codec the hand-written one replaced, kept as the tests'
// reference: the conversions between the crdt values and the format
// structs (stateV1, stateV2, messageV1, messageV2, ...) and the fxamacker/cbor encoding
// (encMode, through appendItem) and decoding (Codec.dec) of those structs,
// as the package shipped them. The tests check that the hand-written codec
// writes the same bytes and accepts, refuses and returns the same. The
// frames' part is in reflect_frame_test.go.

// reflectAppendState is AppendState through stateV1, or stateV2 when s
// holds resets.
func (c *Codec) reflectAppendState(dst []byte, s crdt.State) ([]byte, error) {
	w, err := stateToV2(s, c.limits)
	if err != nil {
		return dst, err
	}
	if len(w.Resets) == 0 {
		return c.appendItem(dst, TagState, 1, w.v1())
	}
	return c.appendItem(dst, TagState, 2, w)
}

// reflectDecodeState is DecodeState through stateV1 or stateV2.
func (c *Codec) reflectDecodeState(data []byte) (crdt.State, error) {
	version, body, err := c.open(data, TagState)
	if err != nil {
		return crdt.State{}, err
	}
	if version != 1 && version != 2 {
		return crdt.State{}, &VersionError{Tag: TagState, Version: version, Supported: registry[TagState].versions}
	}
	if err := checkNodeTable("state", body, c.limits); err != nil {
		return crdt.State{}, err
	}
	var w stateV2
	if version == 1 {
		var w1 stateV1
		err = c.dec.Unmarshal(body, &w1)
		w = w1.v2()
	} else {
		err = c.dec.Unmarshal(body, &w)
	}
	if err != nil {
		return crdt.State{}, decodeError("state", c.limits, err)
	}
	return stateFromV2(w)
}

// v2 returns w as a version-2 body without resets.
func (w stateV1) v2() stateV2 {
	return stateV2{Nodes: w.Nodes, Vector: w.Vector, Cloud: w.Cloud, Registers: w.Registers, Members: w.Members, Shares: w.Shares}
}

// v1 returns w without its resets.
func (w stateV2) v1() stateV1 {
	return stateV1{Nodes: w.Nodes, Vector: w.Vector, Cloud: w.Cloud, Registers: w.Registers, Members: w.Members, Shares: w.Shares}
}

// reflectAppendContext is AppendContext through contextV1.
func (c *Codec) reflectAppendContext(dst []byte, ctx crdt.Context) ([]byte, error) {
	body, _, err := contextToV1(ctx, c.limits)
	if err != nil {
		return dst, err
	}
	return c.appendItem(dst, TagContext, 1, body)
}

// reflectDecodeContext is DecodeContext through contextV1.
func (c *Codec) reflectDecodeContext(data []byte) (crdt.Context, error) {
	version, body, err := c.open(data, TagContext)
	if err != nil {
		return crdt.Context{}, err
	}
	if version != 1 {
		return crdt.Context{}, &VersionError{Tag: TagContext, Version: version, Supported: registry[TagContext].versions}
	}
	if err := checkNodeTable("context", body, c.limits); err != nil {
		return crdt.Context{}, err
	}
	var w contextV1
	if err := c.dec.Unmarshal(body, &w); err != nil {
		return crdt.Context{}, decodeError("context", c.limits, err)
	}
	return contextFromV1("context", w.Nodes, w.Vector, w.Cloud)
}

// stateToV2 returns the wire form of s, checked against l: a version-2
// body, whose resets are empty when s holds none.
func stateToV2(s crdt.State, l Limits) (stateV2, error) {
	ctx, t, err := contextToV1(s.Context(), l)
	if err != nil {
		return stateV2{}, err
	}
	w := stateV2{Nodes: ctx.Nodes, Vector: ctx.Vector, Cloud: ctx.Cloud}
	if w.Registers, err = registersToV1(s.Siblings(), t, l); err != nil {
		return stateV2{}, err
	}
	if w.Members, err = membersToV1(s.MemberDots(), t, l); err != nil {
		return stateV2{}, err
	}
	if w.Shares, err = sharesToV1(s.Shares(), t, l); err != nil {
		return stateV2{}, err
	}
	if w.Resets, err = resetsToV2(s.Resets(), t, l); err != nil {
		return stateV2{}, err
	}
	return w, nil
}

func resetsToV2(resets []crdt.Reset, t nodeTable, l Limits) ([]resetV2, error) {
	if err := l.checkCount(len(resets)); err != nil {
		return nil, err
	}
	out := make([]resetV2, len(resets))
	for i, r := range resets {
		n, found := slices.BinarySearch(t, string(r.Node))
		if !found {
			return nil, invalidReset(r.Node)
		}
		out[i] = resetV2{Node: uint64(n), Inc: r.Inc, Dec: r.Dec}
	}
	slices.SortFunc(out, func(a, b resetV2) int { return cmp.Compare(a.Node, b.Node) })
	return out, nil
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

// stateFromV2 checks a decoded state body (version 2, or version 1 through
// stateV1.v2) and builds the state: the context as contextFromV1 does, each
// list of entries sorted and free of duplicates, the resets sorted by node
// and unique, and every entry's dot valid and in the context, every reset
// of a node of the context and not zero (crdt.Assemble).
func stateFromV2(w stateV2) (crdt.State, error) {
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
	resets, err := resetsFromV2(w.Resets, w.Nodes)
	if err != nil {
		return crdt.State{}, err
	}
	s, err := crdt.Assemble(crdt.Parts{Context: ctx, Siblings: sibs, Members: members, Shares: shares, Resets: resets})
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

func resetsFromV2(ws []resetV2, nodes []string) ([]crdt.Reset, error) {
	out := make([]crdt.Reset, len(ws))
	for i, w := range ws {
		if w.Node >= uint64(len(nodes)) {
			return nil, malformed("state", "reset entry %d: node index %d out of range: the node table has %d entries", i, w.Node, len(nodes))
		}
		if i > 0 && ws[i-1].Node >= w.Node {
			return nil, malformed("state", "resets not sorted by node, or holding a node twice, at entry %d", i)
		}
		out[i] = crdt.Reset{Node: crdt.NodeID(nodes[w.Node]), Inc: w.Inc, Dec: w.Dec}
	}
	return out, nil
}

func timeToV1(t crdt.Timestamp) timeV1 { return timeV1{Wall: t.Wall, Logical: t.Logical} }

func (w timeV1) timestamp() crdt.Timestamp {
	return crdt.Timestamp{Wall: w.Wall, Logical: w.Logical}
}

// contextToV1 returns the wire form of ctx and its node table.
func contextToV1(ctx crdt.Context, l Limits) (contextV1, nodeTable, error) {
	vector, cloud := ctx.Vector(), ctx.Cloud()
	if err := l.checkCount(len(cloud)); err != nil {
		return contextV1{}, nil, err
	}
	t, err := appendNodeTable(nil, vector, cloud, l)
	if err != nil {
		return contextV1{}, nil, err
	}
	w := contextV1{Nodes: t, Vector: make([]dotV1, len(vector)), Cloud: make([]dotV1, len(cloud))}
	for i, d := range vector {
		w.Vector[i], _ = t.dot(d) // a Context holds valid dots only, all of nodes in t
	}
	for i, d := range cloud {
		w.Cloud[i], _ = t.dot(d)
	}
	return w, t, nil
}

// contextFromV1 checks the node table, vector and cloud of a decoded state
// or context and returns the context they describe. The table must be
// sorted, unique, free of empty IDs and fully used; the vector sorted by
// node with one entry per node; the cloud sorted, unique and made only of
// dots beyond a gap after the vector, as an encoder writes them.
func contextFromV1(what string, nodes []string, vector, cloud []dotV1) (crdt.Context, error) {
	if err := checkNodeIDs(what, nodes); err != nil {
		return crdt.Context{}, err
	}
	used := make([]bool, len(nodes))
	maxes := make([]uint64, len(nodes))
	vv := make([]crdt.Dot, len(vector))
	for i, w := range vector {
		d, err := w.toDot(nodes)
		if err != nil {
			return crdt.Context{}, malformed(what, "vector entry %d: %v", i, err)
		}
		if i > 0 && vector[i-1].Node >= w.Node {
			return crdt.Context{}, malformed(what, "vector not sorted by node or holding a node twice at entry %d", i)
		}
		used[w.Node], maxes[w.Node], vv[i] = true, w.Counter, d
	}
	dots := make([]crdt.Dot, len(cloud))
	for i, w := range cloud {
		d, err := w.toDot(nodes)
		if err != nil {
			return crdt.Context{}, malformed(what, "cloud entry %d: %v", i, err)
		}
		if i > 0 && compareDotV1(cloud[i-1], w) >= 0 {
			return crdt.Context{}, malformed(what, "cloud not sorted or holding a dot twice at entry %d", i)
		}
		if w.Counter-1 <= maxes[w.Node] {
			return crdt.Context{}, malformed(what, "cloud dot %s is covered by, or next to, the vector", d)
		}
		used[w.Node], dots[i] = true, d
	}
	if i := slices.Index(used, false); i >= 0 {
		return crdt.Context{}, malformed(what, "node table entry %d (%q) is not used", i, nodes[i])
	}
	return crdt.NewContext(vv, dots), nil
}
