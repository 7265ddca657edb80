package ring

import (
	"math"
	"slices"
)

// Range is the set of key positions from Start to End, both included, with
// Start <= End: a range never wraps past the top of the ring, so a stretch
// that does is reported as two Ranges, one ending at math.MaxUint64 and one
// starting at 0. Inclusive bounds let one Range cover the whole ring.
type Range struct {
	Start, End uint64
}

// Contains reports whether position p lies in rg.
func (rg Range) Contains(p uint64) bool { return rg.Start <= p && p <= rg.End }

// Ranges returns the key positions for which id is among the first n
// owners: Position(key) lies in one of them exactly when id is in
// Owners(key, n). They are sorted, disjoint and never adjacent (adjacent
// stretches are merged). It returns nil when id is not a member or n <= 0,
// and the whole ring when n >= Len().
//
// Handoff streams them: when a node joins or leaves, the keys a node must
// receive are its Ranges on the new ring less its Ranges on the old one.
// They are many and small (some 7,000 for n = 1 with ten nodes of the
// default Config), and finding them walks every bucket of the ring: tens
// of milliseconds.
func (r *Ring) Ranges(id NodeID, n int) []Range {
	want, found := r.find(id)
	if !found || n <= 0 {
		return nil
	}
	if n >= len(r.members) {
		return []Range{{0, math.MaxUint64}}
	}
	var out []Range
	r.segments(n, func(rg Range, owners []candidate) {
		if !slices.ContainsFunc(owners, func(c candidate) bool { return c.member == int32(want) }) {
			return
		}
		if k := len(out) - 1; k >= 0 && out[k].End+1 == rg.Start {
			out[k].End = rg.End
			return
		}
		out = append(out, rg)
	})
	return out
}

// Shares returns, for each member, the fraction of all key positions for
// which it is among the first n owners: with n = 1 the share of the keys it
// is primary for, which is about its share of all vnodes. The shares of
// all members add up to min(n, Len()). It returns nil when r is empty or
// n <= 0. It takes as long as Ranges: compute it once per ring.
func (r *Ring) Shares(n int) map[NodeID]float64 {
	if len(r.members) == 0 || n <= 0 {
		return nil
	}
	sums := make([]float64, len(r.members))
	if n >= len(r.members) {
		for i := range sums {
			sums[i] = 1
		}
	} else {
		r.segments(n, func(rg Range, owners []candidate) {
			size := float64(rg.End-rg.Start) + 1
			for _, c := range owners {
				sums[c.member] += size
			}
		})
		for i := range sums {
			sums[i] /= 1 << 64
		}
	}
	shares := make(map[NodeID]float64, len(r.members))
	for i, m := range r.members {
		shares[m.ID] = sums[i]
	}
	return shares
}

// segments cuts the ring into the stretches over which the first n owners
// stay the same and calls fn for each, in order, with the stretch and its
// owners (best first; fn must not keep the slice). It needs
// 1 <= n <= len(r.members).
//
// Within a bucket every probe is the position plus a fixed offset, so as the
// position grows by one every distance that rank compares shrinks by one and
// the ranking holds, until a probe passes a token t: at p = t+1-offset. So
// the stretches start at bucket starts and at those points.
func (r *Ring) segments(n int, fn func(Range, []candidate)) {
	const width = 1 << (64 - bucketBits)
	var starts []uint64
	best := make([]candidate, 0, n)
	for b := range uint64(1 << bucketBits) {
		lo := b << (64 - bucketBits)
		starts = append(starts[:0], lo)
		for j := range r.cfg.Probes {
			off := probeOffset(b, j)
			// Tokens t with lo < t+1-off <= lo+width-1, taken clockwise.
			first := lo + off
			i := r.successor(first)
			for range len(r.pos) {
				if r.pos[i]-first > width-2 {
					break
				}
				starts = append(starts, r.pos[i]+1-off)
				if i++; i == len(r.pos) {
					i = 0
				}
			}
		}
		slices.Sort(starts)
		starts = slices.Compact(starts)
		for k, s := range starts {
			end := lo + (width - 1)
			if k+1 < len(starts) {
				end = starts[k+1] - 1
			}
			best = r.rank(s, n, best)
			fn(Range{s, end}, best)
		}
	}
}
