package crdt

import (
	"maps"
	"slices"
	"strings"
)

// Member is one live dot of a set element: the element, the dot of the add
// that put it there and that add's time. An element added concurrently by
// several replicas has one Member per concurrent add.
type Member struct {
	Value string
	Dot   Dot
	Time  Timestamp
}

// Add adds elems to the set as node's events at time ts and returns the
// delta. Each element gets a fresh dot that replaces the dots of that element
// s had seen (ORSWOT: no per-element tombstones). A remove that did not see
// this add cannot undo it: add wins. Counter shares it supersedes (writes of
// another kind it saw) are reset as Delete resets them. It returns
// ErrWrongType when the key holds a register or a counter.
func (s *State) Add(node NodeID, ts Timestamp, elems ...string) (State, error) {
	if err := s.checkKind(KindSet); err != nil {
		return State{}, err
	}
	delta := State{ctx: s.otherDots(KindSet), set: make(map[string]map[Dot]Timestamp, len(elems))}
	next := s.ctx.Max(node)
	for _, e := range elems {
		if _, dup := delta.set[e]; dup {
			continue
		}
		for d := range s.set[e] {
			delta.ctx.insert(d)
		}
		next++
		d := Dot{Node: node, Counter: next}
		delta.set[e] = map[Dot]Timestamp{d: ts}
		delta.ctx.insert(d)
	}
	delta.ctx.compact()
	s.carryResets(&delta)
	s.Merge(delta)
	return delta, nil
}

// Remove removes elems as far as s has seen them and returns the delta, which
// holds only a context (and the reset baselines of any counter shares it
// supersedes, as Add). An add concurrent with the remove survives it. It
// returns ErrWrongType when the key holds a register or a counter.
func (s *State) Remove(elems ...string) (State, error) {
	if err := s.checkKind(KindSet); err != nil {
		return State{}, err
	}
	delta := State{ctx: s.otherDots(KindSet)}
	for _, e := range elems {
		for d := range s.set[e] {
			delta.ctx.insert(d)
		}
	}
	delta.ctx.compact()
	s.carryResets(&delta)
	s.Merge(delta)
	return delta, nil
}

// Members returns the elements of the set, sorted; empty unless the key
// holds set entries.
func (s State) Members() []string {
	out := slices.Collect(maps.Keys(s.set))
	slices.Sort(out)
	return out
}

// IsMember reports whether e is in the set.
func (s State) IsMember(e string) bool { _, ok := s.set[e]; return ok }

// Card returns the number of elements in the set.
func (s State) Card() int { return len(s.set) }

// MemberDots returns every live dot of every element, sorted by element then
// dot: what an inspector or an encoder needs.
func (s State) MemberDots() []Member {
	var out []Member
	for e, dots := range s.set {
		for d, t := range dots {
			out = append(out, Member{Value: e, Dot: d, Time: t})
		}
	}
	slices.SortFunc(out, func(a, b Member) int {
		if c := strings.Compare(a.Value, b.Value); c != 0 {
			return c
		}
		return CompareDots(a.Dot, b.Dot)
	})
	return out
}
