package crdt

import (
	"cmp"
	"slices"
)

// Reset is a replica's reset baseline for a counter: the running totals of
// that replica's share as the latest write that removed it observed them.
// A share of Node counts only above it (see Value).
type Reset struct {
	Node     NodeID
	Inc, Dec uint64
}

// Resets returns the reset baselines of the counter, sorted by node; a
// replica without one is absent (its baseline is 0).
func (s State) Resets() []Reset {
	out := make([]Reset, 0, len(s.rst))
	for n, t := range s.rst {
		out = append(out, Reset{Node: n, Inc: t.inc, Dec: t.dec})
	}
	slices.SortFunc(out, func(a, b Reset) int { return cmp.Compare(a.Node, b.Node) })
	return out
}

// joinResets joins the baselines of b into a, componentwise, and returns a.
func joinResets(a, b map[NodeID]totals) map[NodeID]totals {
	for n, t := range b {
		if a == nil {
			a = make(map[NodeID]totals, len(b))
		}
		a[n] = a[n].join(t)
	}
	return a
}
