package simulations

import (
	"errors"
	"time"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
)

// errDisk is the error a failing simulated store returns.
var errDisk = errors.New("simulations: injected disk failure")

// supported lists the faults this simulator can inject.
const supported = AllFaults

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
		if kind == FaultPartition {
			length += int64(deadTimeout) * int64(s.rng.IntN(2)) // half of them outlast the dead timeout
			stop = min(start+length, end)
		}
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
		case FaultWipe:
			s.fault(start, func() {
				if n.node != nil && !n.gone {
					s.note("%s crashes and loses its disk", n.id)
					s.crash(n, false)
				}
			})
			s.fault(stop, func() { s.wipe(n) })
		case FaultJoin:
			s.fault(start, s.join)
		case FaultLeave:
			s.fault(start, func() { s.leave(n) })
		case FaultRemove:
			s.fault(start, func() {
				if n.node != nil && !n.gone && s.inRegion() > s.cfg.Replicas {
					s.note("%s crashes for good, to be removed", n.id)
					s.crash(n, false)
					n.gone = true
					s.dataLoss = append(s.dataLoss, s.now)
				}
			})
			s.fault(start+int64(2*s.cfg.Detect), func() { s.remove(n) })
		}
	}
}

// inRegion counts the members of the region that have not left or been
// removed, nor been asked to: faults keep it at Replicas or more.
func (s *Sim) inRegion() int {
	c := 0
	for _, n := range s.nodes {
		if !n.gone && !n.leaving {
			c++
		}
	}
	return c
}

// wipe restarts a crashed node on an empty disk: a new incarnation, no
// stored roster, as an operator who replaced its disk would.
func (s *Sim) wipe(n *simNode) {
	if n.node != nil || n.gone {
		return
	}
	s.note("%s restarts on an empty disk", n.id)
	s.dataLoss = append(s.dataLoss, s.now)
	n.data++
	n.store = kvsync.NewMemStore()
	n.store.Batched = s.batched
	n.stored = nil
	s.restart(n)
}

// join adds a new node, which joins the region through the others.
func (s *Sim) join() {
	if len(s.nodes) >= maxNodes {
		return
	}
	n := s.newNode()
	s.note("%s joins", n.id)
	if err := s.start(n, true); err != nil {
		panic(err) // a new node on a working store starts
	}
}

// leave asks a node to leave the region, handing its data off; it stops
// once its membership says it has left.
func (s *Sim) leave(n *simNode) {
	if n.node == nil || n.gone || s.inRegion() <= s.cfg.Replicas {
		return
	}
	done, err := n.mgr.Leave()
	s.note("%s leaves: %v, %v", n.id, done, err)
	n.leaving = err == nil
}

// remove has an operator remove node n, down for good, through a running
// node, without forcing it: the majority rule decides.
func (s *Sim) remove(n *simNode) {
	if !n.gone || n.node != nil {
		return
	}
	for _, o := range s.nodes {
		if o.node != nil {
			err := o.mgr.Remove(string(n.id), false)
			s.note("%s removes %s: %v", o.id, n.id, err)
			if err == nil {
				return
			}
		}
	}
	s.fault(s.now+int64(time.Second), func() { s.remove(n) }) // no majority yet: an operator tries again
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
