package crdt

import (
	"maps"
	"slices"
	"strings"
)

// Context is a causal context: the set of dots a replica has seen for one key.
// It is kept compact as a version vector (every dot of node n up to vv[n]) plus
// a dot cloud of the dots seen beyond a gap, as in Almeida, Shoker and Baquero's
// delta-state CRDTs. Compaction moves a cloud dot into the vector as soon as
// the gap before it closes, so a context whose dots all arrived holds one
// number per node whatever the number of writes.
//
// Context is always kept in its canonical form (compacted, no zero entries),
// so two contexts holding the same dots are Equal and encode to the same
// bytes. The zero Context is empty and ready to use. A Context is not safe for
// concurrent mutation; Clone it to share.
type Context struct {
	vv    map[NodeID]uint64
	cloud map[Dot]struct{}
}

// NewContext returns the context holding every dot of vv (each dot (n, c) in
// vv stands for (n, 1)…(n, c)) and every dot of cloud. Invalid dots are
// ignored; callers that must reject them (decoders) check Dot.Valid first.
func NewContext(vv []Dot, cloud []Dot) Context {
	var c Context
	for _, d := range vv {
		if d.Valid() && d.Counter > c.vv[d.Node] {
			if c.vv == nil {
				c.vv = make(map[NodeID]uint64, len(vv))
			}
			c.vv[d.Node] = d.Counter
		}
	}
	if len(cloud) > 0 {
		c.cloud = make(map[Dot]struct{}, len(cloud))
	}
	for _, d := range cloud {
		c.insert(d)
	}
	c.compact()
	return c
}

// Contains reports whether d has been seen.
func (c Context) Contains(d Dot) bool {
	if d.Counter == 0 {
		return false
	}
	if d.Counter <= c.vv[d.Node] {
		return true
	}
	_, ok := c.cloud[d]
	return ok
}

// Max returns the highest counter of node seen in c, 0 when none.
func (c Context) Max(node NodeID) uint64 {
	m := c.vv[node]
	for d := range c.cloud {
		if d.Node == node && d.Counter > m {
			m = d.Counter
		}
	}
	return m
}

// Next returns the dot node mints for its next event after every event of
// node recorded in c.
func (c Context) Next(node NodeID) Dot { return Dot{Node: node, Counter: c.Max(node) + 1} }

// Add records d as seen. Invalid dots are ignored.
func (c *Context) Add(d Dot) {
	c.insert(d)
	c.compact()
}

// Merge adds every dot of o to c (the join of the two sets).
func (c *Context) Merge(o Context) {
	for n, m := range o.vv {
		if m > c.vv[n] {
			if c.vv == nil {
				c.vv = make(map[NodeID]uint64, len(o.vv))
			}
			c.vv[n] = m
		}
	}
	for d := range o.cloud {
		c.insert(d)
	}
	c.compact()
}

// Join returns a new context holding the dots of both a and b.
func Join(a, b Context) Context {
	j := a.Clone()
	j.Merge(b)
	return j
}

// Clone returns a copy of c that shares no memory with it.
func (c Context) Clone() Context {
	return Context{vv: copyMap(c.vv), cloud: copyMap(c.cloud)}
}

// IsEmpty reports whether c holds no dot.
func (c Context) IsEmpty() bool { return len(c.vv) == 0 && len(c.cloud) == 0 }

// Equal reports whether c and o hold the same dots.
func (c Context) Equal(o Context) bool {
	return maps.Equal(c.vv, o.vv) && maps.Equal(c.cloud, o.cloud)
}

// Vector returns the version-vector part as one dot per node, (n, vv[n]),
// sorted by node.
func (c Context) Vector() []Dot {
	out := make([]Dot, 0, len(c.vv))
	for n, m := range c.vv {
		out = append(out, Dot{Node: n, Counter: m})
	}
	slices.SortFunc(out, CompareDots)
	return out
}

// Cloud returns the dots seen beyond a gap in the vector, sorted.
func (c Context) Cloud() []Dot {
	out := slices.Collect(maps.Keys(c.cloud))
	slices.SortFunc(out, CompareDots)
	return out
}

// Nodes returns every node with a dot in c, sorted.
func (c Context) Nodes() []NodeID {
	seen := make(map[NodeID]struct{}, len(c.vv))
	for n := range c.vv {
		seen[n] = struct{}{}
	}
	for d := range c.cloud {
		seen[d.Node] = struct{}{}
	}
	out := slices.Collect(maps.Keys(seen))
	slices.Sort(out)
	return out
}

// String renders c as "{a:3 b:5 +b:7}", cloud dots prefixed with "+".
func (c Context) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, d := range c.Vector() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(d.String())
	}
	for i, d := range c.Cloud() {
		if i > 0 || len(c.vv) > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("+" + d.String())
	}
	b.WriteByte('}')
	return b.String()
}

// hasNode reports whether c holds a dot of n.
func (c Context) hasNode(n NodeID) bool {
	if c.vv[n] > 0 {
		return true
	}
	for d := range c.cloud {
		if d.Node == n {
			return true
		}
	}
	return false
}

// insertNode adds every dot of n that o holds, without compacting.
func (c *Context) insertNode(o Context, n NodeID) {
	if m := o.vv[n]; m > c.vv[n] {
		if c.vv == nil {
			c.vv = make(map[NodeID]uint64, 1)
		}
		c.vv[n] = m
	}
	for d := range o.cloud {
		if d.Node == n {
			c.insert(d)
		}
	}
}

// insert adds d without compacting.
func (c *Context) insert(d Dot) {
	if !d.Valid() || d.Counter <= c.vv[d.Node] {
		return
	}
	if c.cloud == nil {
		c.cloud = make(map[Dot]struct{})
	}
	c.cloud[d] = struct{}{}
}

// compact restores the canonical form: cloud dots covered by the vector are
// dropped and dots that extend it are moved into it.
func (c *Context) compact() {
	if len(c.cloud) == 0 {
		c.cloud = nil
		return
	}
	dots := make([]Dot, 0, len(c.cloud))
	for d := range c.cloud {
		dots = append(dots, d)
	}
	slices.SortFunc(dots, CompareDots)
	for _, d := range dots {
		switch m := c.vv[d.Node]; {
		case d.Counter <= m:
			delete(c.cloud, d)
		case d.Counter == m+1:
			if c.vv == nil {
				c.vv = make(map[NodeID]uint64)
			}
			c.vv[d.Node] = d.Counter
			delete(c.cloud, d)
		}
	}
	if len(c.cloud) == 0 {
		c.cloud = nil
	}
}

// copyMap is cloneMap entry by entry. A context holds a handful of entries,
// and unlike maps.Clone the loop does not make the escape analysis move m,
// and whatever a struct holding it holds, to the heap: a decoder passing
// Assemble a context beside slices on its stack keeps them there.
func copyMap[K comparable, V any](m map[K]V) map[K]V {
	if len(m) == 0 {
		return nil
	}
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}
