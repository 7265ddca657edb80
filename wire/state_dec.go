package wire

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/meridiankv/meridian/crdt"
)

// The state bodies (versions 1 and 2) and the context body, read straight
// into crdt values: validate checks the body against the shapes below, the
// CBOR image of stateV1, stateV2 and contextV1, then the read functions
// build the value with the checks stateFromV2 and contextFromV1 make, in
// their order and with their messages.

var (
	dotShape       = tupleOf(uint64Shape, uint64Shape)                                                    // dotV1
	timeShape      = tupleOf(int64Shape, uint32Shape)                                                     // timeV1
	nodesShape     = listOf(stringShape)                                                                  // the node table
	dotsShape      = listOf(dotShape)                                                                     // vector, cloud
	contextShape   = tupleOf(nodesShape, dotsShape, dotsShape)                                            // contextV1
	registersShape = listOf(tupleOf(dotShape, timeShape, bytesShape))                                     // siblingV1
	membersShape   = listOf(tupleOf(stringShape, dotShape, timeShape))                                    // memberV1
	sharesShape    = listOf(tupleOf(dotShape, timeShape, uint64Shape, uint64Shape))                       // shareV1
	resetsShape    = listOf(tupleOf(uint64Shape, uint64Shape, uint64Shape))                               // resetV2
	stateShape     = tupleOf(nodesShape, dotsShape, dotsShape, registersShape, membersShape, sharesShape) // stateV1
	stateShapeV2   = tupleOf(nodesShape, dotsShape, dotsShape, registersShape, membersShape, sharesShape, resetsShape)

	// stateShapes is the shape of a state body by version.
	stateShapes = map[uint16]*shape{1: stateShape, 2: stateShapeV2}
)

// smallNodes is the node count up to which decoding keeps its scratch
// tables on the stack.
const smallNodes = 8

// readState reads a state body of the given version, 1 or 2. l is nil when
// the node table was checked against the limits already (checkNodeTable,
// for a state at the top of an item); inside a frame, it is checked here,
// before the body's content, as checkNodes does. names, when not nil,
// shares node IDs between the states of a frame.
func readState(r *reader, l *Limits, names *stringCache, version uint16) (crdt.State, error) {
	null, err := r.tuple(5 + int(version))
	if err != nil {
		return crdt.State{}, malformed("state", "%v", err)
	}
	if null { // the zero stateV1 or stateV2: every list empty
		return crdt.State{}, nil
	}
	var nodesBuf [smallNodes]string
	ctx, nodes, err := readContextLists(r, "state", l, names, nodesBuf[:0])
	if err != nil {
		return crdt.State{}, err
	}
	var sibsBuf [2]crdt.Sibling
	sibs, err := readRegisters(r, nodes, sibsBuf[:0])
	if err != nil {
		return crdt.State{}, err
	}
	members, err := readMembers(r, nodes)
	if err != nil {
		return crdt.State{}, err
	}
	shares, err := readShares(r, nodes)
	if err != nil {
		return crdt.State{}, err
	}
	var resets []crdt.Reset
	if version >= 2 {
		if resets, err = readResets(r, nodes); err != nil {
			return crdt.State{}, err
		}
	}
	// Assemble copies the values out of the input.
	s, err := crdt.Assemble(crdt.Parts{Context: ctx, Siblings: sibs, Members: members, Shares: shares, Resets: resets})
	if err != nil {
		return crdt.State{}, fmt.Errorf("%w: state: %w", ErrMalformed, err)
	}
	return s, nil
}

// readContext reads a context body: [nodes, vector, cloud]. l and names are
// as for readState.
func readContext(r *reader, what string, l *Limits, names *stringCache) (crdt.Context, error) {
	null, err := r.tuple(3)
	if err != nil {
		return crdt.Context{}, malformed(what, "%v", err)
	}
	if null {
		return crdt.Context{}, nil
	}
	var nodesBuf [smallNodes]string
	ctx, _, err := readContextLists(r, what, l, names, nodesBuf[:0])
	return ctx, err
}

// nodeUse is what readContextLists knows of a node of the table: whether a
// dot names it, and its counter in the vector.
type nodeUse struct {
	used bool
	max  uint64
}

// readContextLists reads the node table, vector and cloud that open a
// state or context body and checks them as contextFromV1 does. It returns
// the context and the node table, appended to nodes.
func readContextLists(r *reader, what string, l *Limits, names *stringCache, nodes []string) (crdt.Context, []string, error) {
	nodes, err := readNodes(r, what, l, names, nodes)
	if err != nil {
		return crdt.Context{}, nil, err
	}
	var useBuf [smallNodes]nodeUse
	use := useBuf[:0]
	if len(nodes) > len(useBuf) {
		use = make([]nodeUse, len(nodes))
	}
	use = use[:len(nodes)]

	n, _, err := r.array()
	if err != nil {
		return crdt.Context{}, nil, malformed(what, "vector: %v", err)
	}
	var vvBuf [smallNodes]crdt.Dot
	vv := vvBuf[:0]
	if n > len(vvBuf) { // one entry per node at most: more fail below
		vv = make([]crdt.Dot, 0, min(n, len(nodes)))
	}
	var prev dotV1
	for i := range n {
		w, err := readDot(r)
		if err != nil {
			return crdt.Context{}, nil, malformed(what, "vector entry %d: %v", i, err)
		}
		d, err := w.toDot(nodes)
		if err != nil {
			return crdt.Context{}, nil, malformed(what, "vector entry %d: %v", i, err)
		}
		if i > 0 && prev.Node >= w.Node {
			return crdt.Context{}, nil, malformed(what, "vector not sorted by node or holding a node twice at entry %d", i)
		}
		use[w.Node], vv, prev = nodeUse{used: true, max: w.Counter}, append(vv, d), w
	}

	n, _, err = r.array()
	if err != nil {
		return crdt.Context{}, nil, malformed(what, "cloud: %v", err)
	}
	var cloud []crdt.Dot
	for i := range n {
		w, err := readDot(r)
		if err != nil {
			return crdt.Context{}, nil, malformed(what, "cloud entry %d: %v", i, err)
		}
		d, err := w.toDot(nodes)
		if err != nil {
			return crdt.Context{}, nil, malformed(what, "cloud entry %d: %v", i, err)
		}
		if i > 0 && compareDotV1(prev, w) >= 0 {
			return crdt.Context{}, nil, malformed(what, "cloud not sorted or holding a dot twice at entry %d", i)
		}
		if w.Counter-1 <= use[w.Node].max {
			return crdt.Context{}, nil, malformed(what, "cloud dot %s is covered by, or next to, the vector", d)
		}
		use[w.Node].used, cloud, prev = true, append(grow(cloud, n), d), w
	}
	for i, u := range use {
		if !u.used {
			return crdt.Context{}, nil, malformed(what, "node table entry %d (%q) is not used", i, nodes[i])
		}
	}
	return crdt.NewContext(vv, cloud), nodes, nil
}

// readNodes reads the node table, appending it to nodes, and checks it as
// checkNodes (when l is not nil) and then checkNodeIDs do. The IDs share
// one allocation, or come from names.
func readNodes(r *reader, what string, l *Limits, names *stringCache, nodes []string) ([]string, error) {
	n, _, err := r.array()
	if err != nil {
		return nil, malformed(what, "node table: %v", err)
	}
	if l != nil && n > l.MaxNodes {
		return nil, &TooLargeError{Name: "MaxNodes", Size: n, Limit: l.MaxNodes}
	}
	nodes = slices.Grow(nodes, n)
	start, total := r.off, 0
	for i := range n {
		id, err := r.str()
		if err != nil {
			return nil, malformed(what, "node id %d: %v", i, err)
		}
		if l != nil && len(id) > l.MaxNodeIDLen {
			return nil, &TooLargeError{Name: "MaxNodeIDLen", Size: len(id), Limit: l.MaxNodeIDLen}
		}
		total += len(id)
	}
	r.off = start
	var all strings.Builder
	if names == nil {
		all.Grow(total)
	}
	for range n {
		id, _ := r.str() // read above
		if names != nil {
			nodes = append(nodes, names.get(id))
			continue
		}
		at := all.Len()
		all.Write(id)
		nodes = append(nodes, all.String()[at:])
	}
	if err := checkNodeIDs(what, nodes); err != nil {
		return nil, err
	}
	return nodes, nil
}

// readDot reads a dot, [node index, counter]; null is the zero dot.
func readDot(r *reader) (dotV1, error) {
	var w dotV1
	null, err := r.tuple(2)
	if err != nil || null {
		return w, err
	}
	if w.Node, err = r.uint(math.MaxUint64); err != nil {
		return w, err
	}
	w.Counter, err = r.uint(math.MaxUint64)
	return w, err
}

// readTime reads a time, [wall, logical]; null is the zero time.
func readTime(r *reader) (crdt.Timestamp, error) {
	var ts crdt.Timestamp
	null, err := r.tuple(2)
	if err != nil || null {
		return ts, err
	}
	if ts.Wall, err = r.int(); err != nil {
		return ts, err
	}
	logical, err := r.uint(math.MaxUint32)
	ts.Logical = uint32(logical)
	return ts, err
}

// readRegisters reads the registers, [[dot, time, value], ...], appending
// them to sibs; the values lie within the input. Like every list of a
// state, the slice grows as entries are read (grow), so that a count the
// entries do not back costs nothing.
func readRegisters(r *reader, nodes []string, sibs []crdt.Sibling) ([]crdt.Sibling, error) {
	n, _, err := r.array()
	if err != nil {
		return nil, malformed("state", "registers: %v", err)
	}
	var prev dotV1
	for i := range n {
		var w dotV1
		var sb crdt.Sibling
		null, err := r.tuple(3)
		if err == nil && !null {
			if w, err = readDot(r); err == nil {
				if sb.Time, err = readTime(r); err == nil {
					sb.Value, _, err = r.bytes()
				}
			}
		}
		if err != nil {
			return nil, malformed("state", "register entry %d: %v", i, err)
		}
		if sb.Dot, err = w.toDot(nodes); err != nil {
			return nil, malformed("state", "register entry %d: %v", i, err)
		}
		if i > 0 && compareDotV1(prev, w) >= 0 {
			return nil, malformed("state", "register entries not sorted by dot, or holding a dot twice, at entry %d", i)
		}
		sibs, prev = append(grow(sibs, n), sb), w
	}
	return sibs, nil
}

// readMembers reads the set entries, [[element, dot, time], ...]. The
// entries of one element share its string.
func readMembers(r *reader, nodes []string) ([]crdt.Member, error) {
	n, _, err := r.array()
	if err != nil {
		return nil, malformed("state", "set entries: %v", err)
	}
	var members []crdt.Member
	var prev dotV1
	var prevElem []byte
	for i := range n {
		var w dotV1
		var elem []byte
		var m crdt.Member
		null, err := r.tuple(3)
		if err == nil && !null {
			if elem, err = r.str(); err == nil {
				if w, err = readDot(r); err == nil {
					m.Time, err = readTime(r)
				}
			}
		}
		if err != nil {
			return nil, malformed("state", "set entry %d: %v", i, err)
		}
		if m.Dot, err = w.toDot(nodes); err != nil {
			return nil, malformed("state", "set entry %d: %v", i, err)
		}
		c := bytes.Compare(prevElem, elem)
		if i > 0 && (c > 0 || c == 0 && compareDotV1(prev, w) >= 0) {
			return nil, malformed("state", "set entries not sorted by element and dot, or holding one twice, at entry %d", i)
		}
		if i > 0 && c == 0 {
			m.Value = members[i-1].Value
		} else {
			m.Value = string(elem)
		}
		members, prev, prevElem = append(grow(members, n), m), w, elem
	}
	return members, nil
}

// readShares reads the counter shares, [[dot, time, inc, dec], ...].
func readShares(r *reader, nodes []string) ([]crdt.Share, error) {
	n, _, err := r.array()
	if err != nil {
		return nil, malformed("state", "counter entries: %v", err)
	}
	var shares []crdt.Share
	var prev dotV1
	for i := range n {
		var w dotV1
		var sh crdt.Share
		null, err := r.tuple(4)
		if err == nil && !null {
			if w, err = readDot(r); err == nil {
				if sh.Time, err = readTime(r); err == nil {
					if sh.Inc, err = r.uint(math.MaxUint64); err == nil {
						sh.Dec, err = r.uint(math.MaxUint64)
					}
				}
			}
		}
		if err != nil {
			return nil, malformed("state", "counter entry %d: %v", i, err)
		}
		if sh.Dot, err = w.toDot(nodes); err != nil {
			return nil, malformed("state", "counter entry %d: %v", i, err)
		}
		if i > 0 && compareDotV1(prev, w) >= 0 {
			return nil, malformed("state", "counter entries not sorted by dot, or holding a dot twice, at entry %d", i)
		}
		shares, prev = append(grow(shares, n), sh), w
	}
	return shares, nil
}

// readResets reads the counter's reset baselines, [[node, inc, dec], ...],
// sorted by node index and unique: at most one per node of the table, which
// is checked before anything is allocated for them.
func readResets(r *reader, nodes []string) ([]crdt.Reset, error) {
	n, _, err := r.array()
	if err != nil {
		return nil, malformed("state", "resets: %v", err)
	}
	if n > len(nodes) {
		return nil, malformed("state", "%d resets for a node table of %d entries: at most one per node", n, len(nodes))
	}
	var resets []crdt.Reset
	if n > 0 {
		resets = make([]crdt.Reset, 0, n)
	}
	var prev uint64
	for i := range n {
		var node uint64
		var rs crdt.Reset
		null, err := r.tuple(3)
		if err == nil && !null {
			if node, err = r.uint(math.MaxUint64); err == nil {
				if rs.Inc, err = r.uint(math.MaxUint64); err == nil {
					rs.Dec, err = r.uint(math.MaxUint64)
				}
			}
		}
		if err != nil {
			return nil, malformed("state", "reset entry %d: %v", i, err)
		}
		if node >= uint64(len(nodes)) {
			return nil, malformed("state", "reset entry %d: node index %d out of range: the node table has %d entries", i, node, len(nodes))
		}
		if i > 0 && prev >= node {
			return nil, malformed("state", "resets not sorted by node, or holding a node twice, at entry %d", i)
		}
		rs.Node = crdt.NodeID(nodes[node])
		resets, prev = append(resets, rs), node
	}
	return resets, nil
}
