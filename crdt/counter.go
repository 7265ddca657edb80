package crdt

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// ErrOverflow is returned when an increment would take a counter, or one
// replica's running total, outside the 64-bit range. The counter is left
// unchanged. Use errors.Is(err, ErrOverflow).
var ErrOverflow = errors.New("crdt: increment or decrement would overflow a 64-bit counter")

// Share is one replica's contribution to a counter: the running totals of
// the increments and decrements it coordinated, under the dot of its latest
// one (a causal counter: Baquero's delta-enabled-crdts "ccounter", Riak's
// riak_dt_emcntr). Dot.Node is the replica. What the share adds to the
// counter's value is its totals minus its replica's Reset, if any.
type Share struct {
	Dot      Dot
	Time     Timestamp
	Inc, Dec uint64
}

// Incr adds by (negative to decrement) to the counter as node's event at time
// ts and returns the delta: node's share with its new totals under a fresh
// dot, superseding every earlier share of node. The new totals are by plus
// the later of node's current totals and node's reset baseline, so that an
// increment made after node received a delete counts from what the delete
// removed; the delta carries that baseline, so that a replica the delete
// has not reached yet counts only the increments made since. The counter's
// value is exact under any order and repetition of merges. It returns
// ErrWrongType when the key holds a register or a set, and ErrOverflow when
// the value or node's totals would leave the 64-bit range. An increment of
// 0 makes an empty key a counter of 0.
func (s *State) Incr(node NodeID, by int64, ts Timestamp) (State, error) {
	if err := s.checkKind(KindCounter); err != nil {
		return State{}, err
	}
	v, err := s.Value()
	if err != nil {
		return State{}, err
	}
	mine, err := s.startTotals(node)
	if err != nil {
		return State{}, err
	}
	var carry uint64
	if by >= 0 {
		mine.inc, carry = bits.Add64(mine.inc, uint64(by), 0)
	} else {
		mine.dec, carry = bits.Add64(mine.dec, uint64(-(by+1))+1, 0)
	}
	if carry != 0 {
		return State{}, fmt.Errorf("%w: %s's running totals", ErrOverflow, node)
	}
	// The value after the increment: the other replicas' shares, which the
	// delta leaves alone, and node's new share, which replaces node's.
	var sum accumulator
	for d, e := range s.cnt {
		if d.Node != node {
			sum.add(e.totals.above(s.rst[d.Node]))
		}
	}
	sum.add(mine.above(s.rst[node]))
	if _, err := sum.value(); err != nil {
		return State{}, fmt.Errorf("%w: %d %+d", ErrOverflow, v, by)
	}

	// The delta supersedes every event of node s has seen, live here or
	// not: a replica still holding an older share of node, one a delete
	// here removed, must not count it beside the new one.
	delta := State{ctx: s.otherDots(KindCounter)}
	delta.ctx.insertNode(s.ctx, node)
	d := Dot{Node: node, Counter: s.ctx.Max(node) + 1}
	delta.cnt = map[Dot]cntEntry{d: {time: ts, totals: mine}}
	delta.ctx.insert(d)
	delta.ctx.compact()
	if r, ok := s.rst[node]; ok {
		delta.rst = map[NodeID]totals{node: r}
	}
	s.Merge(delta)
	return delta, nil
}

// startTotals returns the totals node's next share starts from: the
// componentwise maximum of the sum of node's live shares and node's reset
// baseline. At most one share of node is live at node itself, and it is
// never below node's baseline there; summing and taking the maximum keep
// the value right even if a merged state holds two, or none.
func (s State) startTotals(node NodeID) (totals, error) {
	var mine totals
	for d, e := range s.cnt {
		if d.Node != node {
			continue
		}
		var c1, c2 uint64
		mine.inc, c1 = bits.Add64(mine.inc, e.inc, 0)
		mine.dec, c2 = bits.Add64(mine.dec, e.dec, 0)
		if c1|c2 != 0 {
			return totals{}, fmt.Errorf("%w: %s's running totals", ErrOverflow, node)
		}
	}
	return mine.join(s.rst[node]), nil
}

// Value returns the counter's value: over every live share, its increments
// minus its decrements, each counted above its replica's reset baseline
// (Resets): (Inc - Reset.Inc) - (Dec - Reset.Dec). The mutators never make a
// share below its replica's baseline; should a state built by Assemble hold
// one, each difference saturates at 0. Value returns 0 for a key that holds
// no counter, and ErrOverflow when concurrent increments took the sum
// outside the int64 range (merges never fail, so this is reported on read).
func (s State) Value() (int64, error) {
	var sum accumulator
	for d, e := range s.cnt {
		sum.add(e.totals.above(s.rst[d.Node]))
	}
	return sum.value()
}

// above returns t counted above the baseline r, each component saturating
// at 0.
func (t totals) above(r totals) totals {
	var out totals
	if t.inc > r.inc {
		out.inc = t.inc - r.inc
	}
	if t.dec > r.dec {
		out.dec = t.dec - r.dec
	}
	return out
}

// accumulator sums increments and decrements in 128 bits, so that the
// value of a counter whose shares add up beyond 64 bits is reported, not
// wrapped.
type accumulator struct{ incHi, incLo, decHi, decLo uint64 }

func (a *accumulator) add(t totals) {
	var c uint64
	a.incLo, c = bits.Add64(a.incLo, t.inc, 0)
	a.incHi += c
	a.decLo, c = bits.Add64(a.decLo, t.dec, 0)
	a.decHi += c
}

// value returns the increments minus the decrements, or ErrOverflow when
// that leaves the int64 range.
func (a accumulator) value() (int64, error) {
	if a.incHi > a.decHi || (a.incHi == a.decHi && a.incLo >= a.decLo) {
		lo, b := bits.Sub64(a.incLo, a.decLo, 0)
		if a.incHi-a.decHi-b != 0 || lo > math.MaxInt64 {
			return 0, fmt.Errorf("%w: the merged value exceeds %d", ErrOverflow, int64(math.MaxInt64))
		}
		return int64(lo), nil
	}
	lo, b := bits.Sub64(a.decLo, a.incLo, 0)
	if a.decHi-a.incHi-b != 0 || lo > 1<<63 {
		return 0, fmt.Errorf("%w: the merged value is below %d", ErrOverflow, int64(math.MinInt64))
	}
	return -int64(lo), nil
}

// Shares returns every live share of the counter, sorted by dot.
func (s State) Shares() []Share {
	out := make([]Share, 0, len(s.cnt))
	for d, e := range s.cnt {
		out = append(out, Share{Dot: d, Time: e.time, Inc: e.inc, Dec: e.dec})
	}
	slices.SortFunc(out, func(a, b Share) int { return CompareDots(a.Dot, b.Dot) })
	return out
}
