package crdt

import (
	"cmp"
	"slices"
)

// Reset is a replica's reset baseline for a counter: the running totals of
// that replica's share as the latest write that removed it observed them.
// A share of Node counts only above it (see Value). Resets come from
// deletes, from a Put over a counter and from set writes that supersede
// one, and they are kept for good, like the context: a replica that has not
// received the delete yet may still hold, or mint, a share that carries
// Node's whole history forward.
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

// carryResets gives d, the delta of a write that supersedes what its
// context names (Delete, Put, Add, Remove), its reset baselines: those s
// holds for the nodes with a dot in d's context, raised to the totals of
// every counter share of s that d removes (its dot is in d's context and it
// is not an entry of d). A replica that receives d thus counts what d
// removed of a share as gone even when it receives, before or after d, a
// later share of the same node. An Incr does not come here: it replaces its
// own node's share by a new running total, it does not reset it.
func (s State) carryResets(d *State) {
	for n, t := range s.rst {
		if d.ctx.hasNode(n) {
			d.raiseReset(n, t)
		}
	}
	for dot, e := range s.cnt {
		if _, kept := d.cnt[dot]; !kept && d.ctx.Contains(dot) {
			d.raiseReset(dot.Node, e.totals)
		}
	}
}

// raiseReset raises n's reset baseline to t, componentwise. A baseline of
// (0, 0) is no baseline and is not stored, so that equal states hold equal
// maps.
func (s *State) raiseReset(n NodeID, t totals) {
	if t.isZero() {
		return
	}
	if s.rst == nil {
		s.rst = make(map[NodeID]totals, 1)
	}
	s.rst[n] = s.rst[n].join(t)
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
