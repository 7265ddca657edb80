package simulations

import (
	"errors"
	"time"

	"github.com/meridiankv/meridian/crdt"
)

// errDisk is the error a failing simulated store returns.
var errDisk = errors.New("simulations: injected disk failure")

// supported lists the faults this simulator can inject today.
const supported = FaultCrash | FaultPowerLoss | FaultCut | FaultPartition | FaultCommitFail | FaultReadFail

// planFaults draws up to Events faults among the enabled kinds and
// schedules them, each with its end, inside the fault phase.
func (s *Sim) planFaults(end int64) {
	var kinds []Fault
	for f := Fault(1); f <= FaultRemove; f <<= 1 {
		if s.cfg.Enabled&supported&f != 0 {
			kinds = append(kinds, f)
		}
	}
	if len(kinds) == 0 {
		return
	}
	count := 1 + s.rng.IntN(s.cfg.Events)
	for range count {
		kind := kinds[s.rng.IntN(len(kinds))]
		start := s.rng.Int64N(end * 3 / 4)
		length := int64(200*time.Millisecond) + s.rng.Int64N(int64(5*time.Second))
		stop := min(start+length, end)
		n := s.nodes[s.rng.IntN(len(s.nodes))]
		switch kind {
		case FaultCrash, FaultPowerLoss:
			power := kind == FaultPowerLoss
			s.fault(start, func() {
				if n.node != nil {
					s.note("%s %s", kind, n.id)
					s.crash(n, power)
				}
			})
			s.fault(stop, func() {
				if n.node == nil {
					s.note("restart %s", n.id)
					s.restart(n)
				}
			})
		case FaultCut:
			o := s.nodes[s.rng.IntN(len(s.nodes))]
			if o == n {
				continue
			}
			s.fault(start, func() { s.note("cut %s-%s", n.id, o.id); s.cutLinks([]*simNode{n}, []*simNode{o}, true) })
			s.fault(stop, func() { s.note("heal %s-%s", n.id, o.id); s.cutLinks([]*simNode{n}, []*simNode{o}, false) })
		case FaultPartition:
			a, b := s.split()
			s.fault(start, func() { s.note("partition %v | %v", idsOf(a), idsOf(b)); s.cutLinks(a, b, true) })
			s.fault(stop, func() { s.note("heal partition %v | %v", idsOf(a), idsOf(b)); s.cutLinks(a, b, false) })
		case FaultCommitFail:
			s.fault(start, func() { s.note("commits fail on %s", n.id); n.store.FailCommits = errDisk })
			s.fault(stop, func() { s.note("commits work on %s", n.id); n.store.FailCommits = nil })
		case FaultReadFail:
			s.fault(start, func() { s.note("reads fail on %s", n.id); n.store.FailGets = errDisk })
			s.fault(stop, func() { s.note("reads work on %s", n.id); n.store.FailGets = nil })
		}
	}
}

func (s *Sim) fault(at int64, fn func()) { s.at(at, event{kind: evFault, fault: fn}) }

// split draws two non-empty sides of the region.
func (s *Sim) split() (a, b []*simNode) {
	for {
		a, b = nil, nil
		for _, n := range s.nodes {
			if s.rng.IntN(2) == 0 {
				a = append(a, n)
			} else {
				b = append(b, n)
			}
		}
		if len(a) > 0 && len(b) > 0 {
			return a, b
		}
	}
}

// cutLinks cuts (or heals) every link between a node of a and one of b.
func (s *Sim) cutLinks(a, b []*simNode, cut bool) {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				continue
			}
			if cut {
				s.cut[link(x.id, y.id)] = true
			} else {
				delete(s.cut, link(x.id, y.id))
			}
		}
	}
	s.refreshViews()
}

func idsOf(ns []*simNode) []crdt.NodeID {
	out := make([]crdt.NodeID, len(ns))
	for i, n := range ns {
		out[i] = n.id
	}
	return out
}
