package simulations

import (
	"github.com/meridiankv/meridian/region/membership"
	kvsync "github.com/meridiankv/meridian/sync"
)

// What a level promises across regions, as the checker models it. Every
// operation acknowledged at a level of a quorum or more (strict) holds, or
// read, a quorum of its own region's owners: a write reads a quorum of
// them before it mints (its prepare phase), a read repairs what it
// returns onto a quorum before it answers. Beyond its region:
//
//	LOCAL_QUORUM  nothing: other regions get a write by shipping, later
//	QUORUM        a majority of all the replicas of all the regions
//	EACH_QUORUM   a quorum of every region
//	ALL           every replica of every region (a quorum of each, at least)
//
// In a run of one region, QUORUM and ALL are its quorum (scopeLocal).
// So a strict write y is seen by a strict operation r that started after
// y was acknowledged when r holds a quorum of a region y holds a quorum of,
// or both hold majorities of all replicas (covers). A write's prepare
// phase reads its own region only: a write does not see a write of
// another region acknowledged at LOCAL_QUORUM or QUORUM.

// scope is what an acknowledged operation is known to hold or read.
type scope int

const (
	scopeNone     scope = iota // ONE, LOCAL_ONE: one replica, no guarantee
	scopeLocal                 // a quorum of its region
	scopeMajority              // that, and a majority of all replicas (QUORUM across regions)
	scopeEach                  // a quorum of every region (EACH_QUORUM, ALL across regions)
)

func (s *Sim) scopeOf(l kvsync.Level) scope {
	switch {
	case l == kvsync.One || l == kvsync.LocalOne:
		return scopeNone
	case len(s.regions) == 1 || l == kvsync.LocalQuorum:
		return scopeLocal
	case l == kvsync.Quorum:
		return scopeMajority
	}
	return scopeEach
}

// regionalLevel draws the level of an operation in a run of several
// regions: LOCAL_QUORUM mostly, and LOCAL_ONE, EACH_QUORUM, QUORUM, ALL and
// ONE.
func (s *Sim) regionalLevel() kvsync.Level {
	switch r := s.rng.IntN(20); {
	case r < 10:
		return kvsync.LocalQuorum
	case r < 12:
		return kvsync.LocalOne
	case r < 15:
		return kvsync.EachQuorum
	case r < 18:
		return kvsync.Quorum
	case r < 19:
		return kvsync.All
	}
	return kvsync.One
}

// needs returns the regions whose owners op's level involves: its own, and
// every region for a level that spans them.
func (s *Sim) needs(op *clientOp) []*simRegion {
	if op.scope == scopeMajority || op.scope == scopeEach {
		return s.regions
	}
	return s.regions[op.region : op.region+1]
}

// covers reports whether the strict write y, acknowledged before the
// strict operation r started, must be reflected in r: r holds a quorum of
// a region y holds a quorum of, or both hold a majority of all replicas.
// The final state of a region reflects every write of its own region, and
// of the others unless the regions may diverge (mayDiverge): a region's
// data or backlog was lost, and the only copies bound for it with it.
func (s *Sim) covers(y, r *clientOp) bool {
	switch {
	case y.region == r.region || y.scope == scopeEach:
		return true
	case r.final:
		return !s.mayDiverge()
	case r.kind != opGet:
		return false // its prepare phase read its own region only
	}
	return r.scope == scopeEach || r.scope == scopeMajority && y.scope == scopeMajority
}

// readCovers reports whether the strict read r2 must return what the
// strict read r1 returned: each returns a state it made a quorum of every
// region it read hold (a blocking read repair in each), so r2 must read a
// quorum of every region r1 did. A read of another region may lag.
func readCovers(r1, r2 *clientOp) bool {
	if r2.scope == scopeEach {
		return true
	}
	return r1.scope == scopeLocal && r1.region == r2.region
}

// copiesIn returns how many replicas of region x the acknowledged write w
// is known to be on when it was acknowledged.
func (s *Sim) copiesIn(w *clientOp, x int) int {
	n := s.regions[x].replicas
	own := x == w.region
	switch {
	case w.scope == scopeNone && own:
		return 1
	case w.level == kvsync.All && (own || len(s.regions) > 1):
		return n
	case own || w.scope == scopeEach:
		return kvsync.Quorum.Required(n)
	}
	return 0
}

// lossesIn counts the data losses in region x since time t.
func (s *Sim) lossesIn(x int, t int64) int {
	c := 0
	for _, l := range s.dataLoss {
		if l.region == x && l.at >= t {
			c++
		}
	}
	return c
}

// mayDiverge reports whether the regions may end up different: writes
// bound for another region may have been lost (a node lost its disk, its
// outbox or the hints a relay kept; or it dropped a backlog beyond
// MaxOutboxBytes), and anti-entropy between regions is off in this run.
func (s *Sim) mayDiverge() bool {
	return s.regionAE == 0 && (len(s.dataLoss) > 0 || s.dropped > 0)
}

// mustReach reports whether the final state of region x must reflect the
// acknowledged write w: it was on copiesIn replicas there and fewer of
// them lost their data since; or, in another region, it reached its own
// region's final state and anti-entropy between regions runs, or it was
// shipped there from its coordinator's outbox, unless the disk of a node
// of either region or a backlog was lost.
func (s *Sim) mustReach(w *clientOp, x int) bool {
	if w.outcome != outcomeOK {
		return false
	}
	if c := s.copiesIn(w, x); c > 0 && s.lossesIn(x, w.start) < c {
		return true
	}
	switch {
	case x == w.region:
		return false
	case s.regionAE > 0:
		return s.mustReach(w, w.region)
	}
	return s.dropped == 0 && s.lossesIn(w.region, w.start) == 0 && s.lossesIn(x, w.start) == 0
}

// roster returns the roster of a running node of r, nil for none.
func (r *simRegion) roster() membership.Roster {
	for _, n := range r.nodes {
		if n.node != nil {
			return n.stored
		}
	}
	return nil
}
