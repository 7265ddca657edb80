package wire

import (
	"slices"
	"strings"

	"github.com/meridiankv/meridian/crdt"
)

// The state bodies (versions 1 and 2) and the context body, written straight
// from the crdt values into the output: the bytes encMode writes for
// stateV1, stateV2 and contextV1 (see the format in doc.go), without
// building those structs.
// The lists come from the crdt accessors, which return them sorted (the
// registers aside, which are sorted here by dot): sorted by node ID, a
// list is sorted by node index too, since the node table is.

// contextParts is a context as the format writes it: its vector and cloud
// and the node table their dots index.
type contextParts struct {
	nodes         nodeTable
	vector, cloud []crdt.Dot
}

// contextParts returns the parts of a context, checked against l as
// contextToV1 checks them, its node table appended to scratch.
func (l Limits) contextParts(vector, cloud []crdt.Dot, scratch nodeTable) (contextParts, error) {
	p := contextParts{vector: vector, cloud: cloud}
	if err := l.checkCount(len(p.cloud)); err != nil {
		return contextParts{}, err
	}
	var err error
	p.nodes, err = appendNodeTable(scratch, p.vector, p.cloud, l)
	return p, err
}

// appendNodeTable appends to t the table of the nodes of a context's vector
// and cloud, both sorted by node, and checks it against l.
func appendNodeTable(t nodeTable, vector, cloud []crdt.Dot, l Limits) (nodeTable, error) {
	for _, d := range vector { // one dot per node
		t = append(t, string(d.Node))
	}
	for _, d := range cloud {
		if i, found := slices.BinarySearch(t, string(d.Node)); !found {
			t = slices.Insert(t, i, string(d.Node))
		}
	}
	if len(t) > l.MaxNodes {
		return nil, &TooLargeError{Name: "MaxNodes", Size: len(t), Limit: l.MaxNodes}
	}
	for _, id := range t {
		if len(id) > l.MaxNodeIDLen {
			return nil, &TooLargeError{Name: "MaxNodeIDLen", Size: len(id), Limit: l.MaxNodeIDLen}
		}
	}
	return t, nil
}

// hasNode reports whether n is a node of t.
func (t nodeTable) hasNode(n crdt.NodeID) bool {
	_, found := slices.BinarySearch(t, string(n))
	return found
}

// has reports whether d is a valid dot of a node in t, one the format can
// write.
func (t nodeTable) has(d crdt.Dot) bool {
	_, found := slices.BinarySearch(t, string(d.Node))
	return found && d.Valid()
}

// appendDot appends d, a dot of a node of t, as [node index, counter].
func (t nodeTable) appendDot(dst []byte, d crdt.Dot) []byte {
	i, _ := slices.BinarySearch(t, string(d.Node))
	dst = append(dst, majorArray<<5|2)
	dst = appendUint64(dst, uint64(i))
	return appendUint64(dst, d.Counter)
}

// dotSize bounds the length of the encoding of d.
func (t nodeTable) dotSize(d crdt.Dot) int { return 1 + headLen(uint64(len(t))) + headLen(d.Counter) }

// appendTime appends ts as [wall, logical].
func appendTime(dst []byte, ts crdt.Timestamp) []byte {
	dst = append(dst, majorArray<<5|2)
	dst = appendInt64(dst, ts.Wall)
	return appendUint64(dst, uint64(ts.Logical))
}

const timeSize = 1 + 9 + 5 // bounds the length of a time

// size bounds the length of p's lists.
func (p *contextParts) size() int {
	n := 3 * 9
	for _, id := range p.nodes {
		n += headLen(uint64(len(id))) + len(id)
	}
	for _, d := range p.vector {
		n += p.nodes.dotSize(d)
	}
	for _, d := range p.cloud {
		n += p.nodes.dotSize(d)
	}
	return n
}

// appendLists appends the three lists of p: nodes, vector and cloud.
func (p *contextParts) appendLists(dst []byte) []byte {
	dst = appendHead(dst, majorArray, uint64(len(p.nodes)))
	for _, id := range p.nodes {
		dst = appendString(dst, id)
	}
	dst = p.nodes.appendDots(dst, p.vector)
	return p.nodes.appendDots(dst, p.cloud)
}

// appendDots appends a list of dots of nodes of t.
func (t nodeTable) appendDots(dst []byte, dots []crdt.Dot) []byte {
	dst = appendHead(dst, majorArray, uint64(len(dots)))
	for _, d := range dots {
		dst = t.appendDot(dst, d)
	}
	return dst
}

// appendContextBody appends the version-1 body of ctx: [nodes, vector, cloud].
func (l Limits) appendContextBody(dst []byte, ctx crdt.Context) ([]byte, error) {
	var scratch [8]string
	p, err := l.contextParts(ctx.Vector(), ctx.Cloud(), scratch[:0])
	if err != nil {
		return dst, err
	}
	dst = slices.Grow(dst, 1+p.size())
	return p.appendLists(append(dst, majorArray<<5|3)), nil
}

// appendStateBody appends the body of s at version 1,
// [nodes, vector, cloud, registers, members, shares], or 2, which adds
// resets; version 1 drops s's resets, so callers choose it only for a state
// without any (stateVersion). It checks s as stateToV1 and stateToV2 do, in
// the same order, so that it fails alike.
func (l Limits) appendStateBody(dst []byte, s crdt.State, version uint16) ([]byte, error) {
	var scratch [8]string
	vector, cloud := s.ContextDots()
	p, err := l.contextParts(vector, cloud, scratch[:0])
	if err != nil {
		return dst, err
	}
	size := 1 + p.size() + 3*9

	sibs := s.Siblings()
	if err := l.checkCount(len(sibs)); err != nil {
		return dst, err
	}
	for _, sb := range sibs {
		if !p.nodes.has(sb.Dot) {
			return dst, invalidEntry("register", sb.Dot)
		}
		size += 1 + p.nodes.dotSize(sb.Dot) + timeSize + headLen(uint64(len(sb.Value))) + len(sb.Value)
	}
	slices.SortFunc(sibs, func(a, b crdt.Sibling) int { return crdt.CompareDots(a.Dot, b.Dot) })

	members := s.MemberDots()
	if err := l.checkCount(len(members)); err != nil {
		return dst, err
	}
	for _, m := range members {
		if !p.nodes.has(m.Dot) {
			return dst, invalidEntry("set", m.Dot)
		}
		size += 1 + headLen(uint64(len(m.Value))) + len(m.Value) + p.nodes.dotSize(m.Dot) + timeSize
	}
	if !slices.IsSortedFunc(members, compareMembers) { // as MemberDots promises; checked, as it is cheap
		slices.SortFunc(members, compareMembers)
	}

	shares := s.Shares()
	if err := l.checkCount(len(shares)); err != nil {
		return dst, err
	}
	for _, sh := range shares {
		if !p.nodes.has(sh.Dot) {
			return dst, invalidEntry("counter", sh.Dot)
		}
		size += 1 + p.nodes.dotSize(sh.Dot) + timeSize + headLen(sh.Inc) + headLen(sh.Dec)
	}
	if !slices.IsSortedFunc(shares, compareShares) {
		slices.SortFunc(shares, compareShares)
	}

	var resets []crdt.Reset
	if version >= 2 {
		var n int
		if resets, n, err = l.resetsOf(s, p.nodes); err != nil {
			return dst, err
		}
		size += n
	}

	dst = slices.Grow(dst, size)
	dst = p.appendLists(append(dst, majorArray<<5|byte(5+version)))
	dst = p.nodes.appendEntries(dst, sibs, members, shares)
	if version >= 2 {
		dst = p.nodes.appendResets(dst, resets)
	}
	return dst, nil
}

// appendEntries appends the registers, members and shares lists of a state
// whose node table is t.
func (t nodeTable) appendEntries(dst []byte, sibs []crdt.Sibling, members []crdt.Member, shares []crdt.Share) []byte {
	dst = appendHead(dst, majorArray, uint64(len(sibs)))
	for _, sb := range sibs {
		dst = append(dst, majorArray<<5|3)
		dst = t.appendDot(dst, sb.Dot)
		dst = appendTime(dst, sb.Time)
		dst = appendBytes(dst, sb.Value)
	}
	dst = appendHead(dst, majorArray, uint64(len(members)))
	for _, m := range members {
		dst = append(dst, majorArray<<5|3)
		dst = appendString(dst, m.Value)
		dst = t.appendDot(dst, m.Dot)
		dst = appendTime(dst, m.Time)
	}
	dst = appendHead(dst, majorArray, uint64(len(shares)))
	for _, sh := range shares {
		dst = append(dst, majorArray<<5|4)
		dst = t.appendDot(dst, sh.Dot)
		dst = appendTime(dst, sh.Time)
		dst = appendUint64(dst, sh.Inc)
		dst = appendUint64(dst, sh.Dec)
	}
	return dst
}

// resetsOf returns the resets of s, sorted by node ID and so by index in
// t, checked as resetsToV2 checks them, and a bound on the length of their
// list.
func (l Limits) resetsOf(s crdt.State, t nodeTable) ([]crdt.Reset, int, error) {
	resets := s.Resets()
	if err := l.checkCount(len(resets)); err != nil {
		return nil, 0, err
	}
	size := 9
	for _, r := range resets {
		if !t.hasNode(r.Node) {
			return nil, 0, invalidReset(r.Node)
		}
		size += 1 + headLen(uint64(len(t))) + headLen(r.Inc) + headLen(r.Dec)
	}
	return resets, size, nil
}

// appendResets appends the resets list, [[node index, inc, dec], ...], of
// a state whose node table is t.
func (t nodeTable) appendResets(dst []byte, resets []crdt.Reset) []byte {
	dst = appendHead(dst, majorArray, uint64(len(resets)))
	for _, r := range resets {
		i, _ := slices.BinarySearch(t, string(r.Node))
		dst = append(dst, majorArray<<5|3)
		dst = appendUint64(dst, uint64(i))
		dst = appendUint64(dst, r.Inc)
		dst = appendUint64(dst, r.Dec)
	}
	return dst
}

// compareMembers orders members by element, bytewise, then by dot: the
// order of compareMemberV1, since the node table is sorted.
func compareMembers(a, b crdt.Member) int {
	if c := strings.Compare(a.Value, b.Value); c != 0 {
		return c
	}
	return crdt.CompareDots(a.Dot, b.Dot)
}

func compareShares(a, b crdt.Share) int { return crdt.CompareDots(a.Dot, b.Dot) }
