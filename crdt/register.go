package crdt

import (
	"bytes"
	"cmp"
	"slices"
)

// Sibling is one live value of a register: the value written, the dot of the
// write (Dot.Node is the replica that coordinated it) and its hybrid logical
// clock time.
type Sibling struct {
	Dot   Dot
	Time  Timestamp
	Value []byte
}

// Put writes value as node's next event at time ts and returns the delta.
// It supersedes exactly the entries whose dots are in seen, the context the
// writer read; a nil seen means "everything this replica has seen" (a blind
// write), so retries and blind writes never pile up siblings. Entries not in
// seen were written concurrently and stay as siblings. Put replaces a value
// of any kind, as a Redis SET does; the counter shares it supersedes are
// reset as Delete resets them.
func (s *State) Put(node NodeID, value []byte, ts Timestamp, seen *Context) State {
	base := s.ctx
	if seen != nil {
		base = *seen
	}
	d := Dot{Node: node, Counter: max(s.ctx.Max(node), base.Max(node)) + 1}
	delta := State{
		ctx: base.Clone(),
		reg: map[Dot]regEntry{d: {time: ts, value: bytes.Clone(value)}},
	}
	delta.ctx.Add(d)
	s.carryResets(&delta)
	s.Merge(delta)
	return delta
}

// Siblings returns the live register values, the winner first: highest
// timestamp, then highest node id, then highest counter. It is empty unless
// the key holds register entries (see Kind).
func (s State) Siblings() []Sibling {
	out := make([]Sibling, 0, len(s.reg))
	for d, e := range s.reg {
		out = append(out, Sibling{Dot: d, Time: e.time, Value: e.value})
	}
	slices.SortFunc(out, func(a, b Sibling) int { return compareSiblings(b, a) })
	return out
}

// Get returns the register value a reader sees, the first of Siblings, and
// false when the key holds no register entry.
func (s State) Get() (Sibling, bool) {
	var best Sibling
	found := false
	for d, e := range s.reg {
		if c := (Sibling{Dot: d, Time: e.time, Value: e.value}); !found || compareSiblings(c, best) > 0 {
			best, found = c, true
		}
	}
	return best, found
}

// compareSiblings orders by (time, node, counter): the greater one wins.
func compareSiblings(a, b Sibling) int {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Dot.Node, b.Dot.Node); c != 0 {
		return c
	}
	return cmp.Compare(a.Dot.Counter, b.Dot.Counter)
}
