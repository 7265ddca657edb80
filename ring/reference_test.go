package ring

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// reference ranks every member of r for position p the slow way, straight
// from the definition: a member's distance is the smallest clockwise
// distance from any probe of p to any of its tokens; ties go to the lower
// node ID. It shares nothing with rank but the probe offsets and r's tokens.
func reference(r *Ring, p uint64) []NodeID {
	type scored struct {
		dist uint64
		id   NodeID
	}
	var all []scored
	for _, m := range r.members {
		best := uint64(math.MaxUint64)
		for j := range r.cfg.Probes {
			q := p + probeOffset(p>>(64-bucketBits), j)
			for i := range m.VNodes {
				best = min(best, r.cfg.TokenHash(m.ID, i)-q)
			}
		}
		all = append(all, scored{best, m.ID})
	}
	slices.SortFunc(all, func(a, b scored) int {
		if c := cmp.Compare(a.dist, b.dist); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	ids := make([]NodeID, len(all))
	for i, s := range all {
		ids[i] = s.id
	}
	return ids
}

// ranked returns the IDs of r.rank(p, n).
func ranked(r *Ring, p uint64, n int) []NodeID {
	var ids []NodeID
	for _, c := range r.rank(p, n, nil) {
		ids = append(ids, r.members[c.member].ID)
	}
	return ids
}

// drawRing draws a small ring: up to 7 members with up to 24 vnodes, 1 to 8
// probes, and, half the time, a token hash with so few positions that
// tokens of different members collide.
func drawRing(t *rapid.T) *Ring {
	cfg := Config{Probes: rapid.IntRange(1, 8).Draw(t, "probes")}
	if rapid.Bool().Draw(t, "colliding") {
		cfg.TokenHash = func(id NodeID, i int) uint64 { return uint64(TokenHash(id, i)%5) << 62 >> 1 }
	}
	ids := rapid.SliceOfNDistinct(rapid.StringMatching(`[a-f]{1,2}`), 1, 7, rapid.ID).Draw(t, "ids")
	var ms []Member
	for _, id := range ids {
		ms = append(ms, Member{ID: NodeID(id), VNodes: rapid.IntRange(1, 24).Draw(t, "vnodes")})
	}
	r, err := cfg.New(ms...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// drawPosition draws a key position, often right at or next to a token or
// a probe's crossing of one, where off-by-one mistakes show.
func drawPosition(t *rapid.T, r *Ring) uint64 {
	switch rapid.IntRange(0, 2).Draw(t, "near") {
	case 0:
		return rapid.Uint64().Draw(t, "position")
	default:
		tok := r.pos[rapid.IntRange(0, len(r.pos)-1).Draw(t, "token")]
		return tok + uint64(rapid.IntRange(-1, 1).Draw(t, "delta"))
	}
}

func TestOwnersMatchReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := drawRing(t)
		p := drawPosition(t, r)
		want := reference(r, p)
		for n := 1; n <= r.Len(); n++ {
			if got := ranked(r, p, n); !slices.Equal(got, want[:n]) {
				t.Fatalf("position %#x, n=%d: rank = %v, reference = %v", p, n, got, want[:n])
			}
		}
	})
}

// TestMembershipChangesMoveOnlyWhatTheyMust: a member's distance to a key
// depends on its own tokens alone, so a join inserts the joiner into every
// key's ranking and a leave deletes the leaver, and the other members keep
// their order; for every n.
func TestMembershipChangesMoveOnlyWhatTheyMust(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := drawRing(t)
		id := NodeID(rapid.StringMatching(`[a-h]{1,2}`).Draw(t, "changed"))
		changed, err := r.With(Member{ID: id, VNodes: rapid.IntRange(1, 24).Draw(t, "newVNodes")})
		if err != nil {
			t.Fatal(err)
		}
		p := drawPosition(t, r)
		without := func(ids []NodeID) []NodeID {
			return slices.DeleteFunc(slices.Clone(ids), func(x NodeID) bool { return x == id })
		}
		before, after := ranked(r, p, r.Len()), ranked(changed, p, changed.Len())
		if !slices.Equal(without(before), without(after)) {
			t.Fatalf("With(%q) reordered the others at %#x: %v became %v", id, p, before, after)
		}
		left := r.Without(id)
		if gone := ranked(left, p, left.Len()); !slices.Equal(gone, without(before)) {
			t.Fatalf("Without(%q) reordered the others at %#x: %v became %v", id, p, before, gone)
		}
	})
}

// rangeRings are rings of every shape for the Ranges checks, which walk the
// whole ring and so run on a few rings rather than on many random ones.
func rangeRings(t *testing.T) map[string]*Ring {
	t.Helper()
	named := func(n int) []Member {
		ms := make([]Member, n)
		for i := range ms {
			ms[i] = Member{ID: NodeID(fmt.Sprintf("node-%d", i+1))}
		}
		return ms
	}
	colliding := Config{Probes: 3, VNodes: 40, TokenHash: func(id NodeID, i int) uint64 { return uint64(TokenHash(id, i)%50) << 58 }}
	rings := map[string]*Ring{}
	for name, build := range map[string]func() (*Ring, error){
		"default, 3 nodes":          func() (*Ring, error) { return New(named(3)...) },
		"one probe, 4 nodes":        func() (*Ring, error) { return Config{Probes: 1}.New(named(4)...) },
		"colliding tokens, 4 nodes": func() (*Ring, error) { return colliding.New(named(4)...) },
		"uneven weights": func() (*Ring, error) {
			return Config{Probes: 5}.New(Member{ID: "big", VNodes: 300}, Member{ID: "mid", VNodes: 60}, Member{ID: "small", VNodes: 1})
		},
	} {
		r, err := build()
		if err != nil {
			t.Fatal(err)
		}
		rings[name] = r
	}
	return rings
}

func TestRangesMatchOwners(t *testing.T) {
	for name, r := range rangeRings(t) {
		t.Run(name, func(t *testing.T) {
			for n := 1; n <= r.Len(); n++ {
				var covered [2]uint64 // 128-bit sum of the sizes of every member's ranges
				for _, m := range r.members {
					rs := r.Ranges(m.ID, n)
					checkRangesAgree(t, r, m.ID, n, rs)
					for _, rg := range rs {
						var carry uint64
						covered[1], carry = bits.Add64(covered[1], rg.End-rg.Start, 0)
						covered[0] += carry
						covered[1], carry = bits.Add64(covered[1], 1, 0)
						covered[0] += carry
					}
				}
				if covered != [2]uint64{uint64(min(n, r.Len())), 0} {
					t.Errorf("n=%d: the ranges of all members cover %v rings, want %d", n, covered, n)
				}
			}
		})
	}
}

// checkRangesAgree checks that rs are sorted, disjoint and not adjacent,
// and that at both ends of each range and just outside them, id is among
// the first n owners exactly where rs say so.
func checkRangesAgree(t *testing.T, r *Ring, id NodeID, n int, rs []Range) {
	t.Helper()
	var buf []candidate
	among := func(p uint64) bool {
		buf = r.rank(p, n, buf)
		return slices.ContainsFunc(buf, func(c candidate) bool { return r.members[c.member].ID == id })
	}
	inRanges := func(p uint64) bool {
		i, _ := slices.BinarySearchFunc(rs, p, func(rg Range, p uint64) int { return cmp.Compare(rg.End, p) })
		return i < len(rs) && rs[i].Contains(p)
	}
	for i, rg := range rs {
		if rg.Start > rg.End || i > 0 && rs[i-1].End >= rg.Start-1 {
			t.Fatalf("%s, n=%d: range %d %v is inverted, overlaps or touches %v", id, n, i, rg, rs[max(i-1, 0)])
		}
		for _, p := range []uint64{rg.Start - 1, rg.Start, rg.End, rg.End + 1} {
			if got, want := among(p), inRanges(p); got != want {
				t.Fatalf("%s, n=%d: position %#x next to range %v: among owners = %v, in ranges = %v", id, n, p, rg, got, want)
			}
		}
	}
}
