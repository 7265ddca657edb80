package simulations

import (
	"errors"
	"time"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/region/membership"
)

// errDisk is the error a failing simulated store returns.
var errDisk = errors.New("simulations: injected disk failure")

// supported lists the faults this simulator can inject.
const supported = AllFaults

// diskFaults lose a disk for good: in a run of several regions, the
// writes its outbox owed the others go with it, and only anti-entropy
// between regions (on in a third of the runs) brings them back.
const diskFaults = FaultPowerLoss | FaultWipe | FaultRemove

// kinds lists the kinds of fault the run may draw: those Config enables,
// cutting a region off only with several regions, and losing disks in a
// run of several regions only when it was drawn to (diskLoss).
func (s *Sim) kinds() []Fault {
	var kinds []Fault
	for f := Fault(1); f <= FaultRegion; f <<= 1 {
		switch {
		case s.cfg.Enabled&supported&f == 0:
		case f == FaultRegion && len(s.regions) == 1:
		case f&diskFaults != 0 && len(s.regions) > 1 && !s.diskLoss:
		default:
			kinds = append(kinds, f)
		}
	}
	return kinds
}

// planFaults draws up to Events faults among the enabled kinds and
// schedules them, each with its end, inside the fault phase [from, end).
func (s *Sim) planFaults(from, end int64) {
	if len(s.regions) > 1 && s.cfg.Enabled&FaultRegion != 0 {
		s.planRegionCut(from, end)
	}
	if s.cfg.Enabled&FaultCrash != 0 && s.cfg.StrongKeys {
		s.armRoundCrashes(from, end)
	}
	kinds := s.kinds()
	if len(kinds) == 0 {
		return
	}
	count := 1 + s.rng.IntN(s.cfg.Events)
	for range count {
		kind := kinds[s.rng.IntN(len(kinds))]
		start := from + s.rng.Int64N((end-from)*3/4)
		length := int64(200*time.Millisecond) + s.rng.Int64N(int64(5*time.Second))
		stop := min(start+length, end)
		n := s.nodes[s.rng.IntN(len(s.nodes))]
		r := n.region
		switch kind {
		case FaultPartition:
			length += int64(deadTimeout) * int64(s.rng.IntN(2)) // half of them outlast the dead timeout
			stop = min(start+length, end)
		case FaultRegion:
			length += int64(linkTimeout) * int64(s.rng.IntN(2)) // half of them outlast the link timeout
			stop = min(start+length, end)
		}
		switch kind {
		case FaultCrash, FaultPowerLoss:
			power := kind == FaultPowerLoss
			s.fault(start, func() {
				if n.node != nil {
					s.note("%s %s", kind, n.name)
					s.crash(n, power)
				}
			})
			s.fault(stop, func() {
				if n.node == nil {
					s.note("restart %s", n.name)
					s.restart(n)
				}
			})
		case FaultCut:
			o := r.nodes[s.rng.IntN(len(r.nodes))]
			if o == n {
				continue
			}
			s.fault(start, func() { s.note("cut %s-%s", n.name, o.name); s.cutLinks([]*simNode{n}, []*simNode{o}, true) })
			s.fault(stop, func() { s.note("heal %s-%s", n.name, o.name); s.cutLinks([]*simNode{n}, []*simNode{o}, false) })
		case FaultPartition:
			a, b := s.split(r)
			s.fault(start, func() { s.note("partition %v | %v", idsOf(a), idsOf(b)); s.cutLinks(a, b, true) })
			s.fault(stop, func() { s.note("heal partition %v | %v", idsOf(a), idsOf(b)); s.cutLinks(a, b, false) })
		case FaultRegion:
			s.fault(start, func() { s.cutOff(r, true) })
			s.fault(stop, func() { s.cutOff(r, false) })
		case FaultCommitFail:
			s.fault(start, func() { s.note("commits fail on %s", n.name); n.store.FailCommits = errDisk })
			s.fault(stop, func() { s.note("commits work on %s", n.name); n.store.FailCommits = nil })
		case FaultReadFail:
			s.fault(start, func() { s.note("reads fail on %s", n.name); n.store.FailGets = errDisk })
			s.fault(stop, func() { s.note("reads work on %s", n.name); n.store.FailGets = nil })
		case FaultWipe:
			s.fault(start, func() {
				if n.node != nil && !n.gone {
					s.note("%s crashes and loses its disk", n.name)
					s.crash(n, false)
				}
			})
			s.fault(stop, func() { s.wipe(n) })
		case FaultJoin:
			s.fault(start, func() { s.join(r) })
		case FaultLeave:
			s.fault(start, func() { s.leave(n) })
		case FaultRemove:
			s.fault(start, func() {
				if n.node != nil && !n.gone && r.inRegion() > r.replicas {
					s.note("%s crashes for good, to be removed", n.name)
					s.crash(n, false)
					n.gone = true
					s.retire(n, "was removed")
					s.lost(r)
					s.acceptorLost(n)
				}
			})
			s.fault(start+int64(2*s.cfg.Detect), func() { s.remove(n) })
		}
	}
}

// lost records that a node of region r lost data for good now.
func (s *Sim) lost(r *simRegion) { s.dataLoss = append(s.dataLoss, loss{at: s.now, region: r.idx}) }

// wipe restarts a crashed node on an empty disk: a new incarnation, no
// stored roster, as an operator who replaced its disk would.
func (s *Sim) wipe(n *simNode) {
	if n.node != nil || n.gone {
		return
	}
	s.note("%s restarts on an empty disk", n.name)
	s.lost(n.region)
	s.acceptorLost(n)
	n.data++
	n.store = s.newStore()
	n.stored, n.dirStored = nil, nil
	s.restart(n)
}

// join adds a new node to region r, which joins it through the others.
func (s *Sim) join(r *simRegion) {
	if len(r.nodes) >= maxNodes {
		return
	}
	n := s.newNode(r)
	s.note("%s joins", n.name)
	if err := s.start(n, true); err != nil {
		panic(err) // a new node on a working store starts
	}
}

// leave asks a node to leave the region, handing its data off; it stops
// once its membership says it has left.
func (s *Sim) leave(n *simNode) {
	if n.node == nil || n.gone || n.region.inRegion() <= n.region.replicas {
		return
	}
	done, err := n.mgr.Leave()
	s.note("%s leaves: %v, %v", n.name, done, err)
	n.leaving = err == nil
}

// remove has an operator remove node n, down for good, through a running
// node, without forcing it: the majority rule decides. An operator refused
// for forceAfter (the region lost half its nodes for good) forces it, as
// the README tells one who knows their disks are gone.
func (s *Sim) remove(n *simNode) {
	if !n.gone || n.node != nil {
		return
	}
	if n.removeFrom == 0 {
		n.removeFrom = s.now
	}
	force := s.now-n.removeFrom >= int64(forceAfter)
	for _, o := range n.region.nodes {
		if o.node != nil {
			err := o.mgr.Remove(string(n.id), force)
			s.note("%s removes %s (forced: %v): %v", o.name, n.name, force, err)
			if err == nil {
				s.fault(s.now+int64(forceAfter), func() { s.forceRemoval(n) })
				return
			}
		}
	}
	s.fault(s.now+int64(time.Second), func() { s.remove(n) }) // no majority yet: an operator tries again
}

// forceAfter is how long the simulated operator lets a removal stay
// removing before forcing it.
const forceAfter = 5 * time.Second

// forceRemoval forces the removal of n, gone for good, if it is still
// removing: its steward cannot settle a strong key a majority of whose
// acceptors are gone for good (two nodes removed at once, say), and an
// operator who knows their disks are gone gives such keys up, as the
// README tells. A removal the other side of a partition made is never
// forced: those nodes are not gone.
func (s *Sim) forceRemoval(n *simNode) {
	roster := n.region.roster()
	if roster[string(n.id)].Status != membership.Removing {
		return
	}
	for _, o := range n.region.nodes {
		if o.node != nil {
			err := o.mgr.Remove(string(n.id), true)
			s.note("%s is still removing: %s forces its removal: %v", n.name, o.name, err)
			return
		}
	}
}

func (s *Sim) fault(at int64, fn func()) { s.at(at, event{kind: evFault, fault: fn}) }

// split draws two non-empty sides of region r.
func (s *Sim) split(r *simRegion) (a, b []*simNode) {
	for {
		a, b = nil, nil
		for _, n := range r.nodes {
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
				x.region.cut[link(x.id, y.id)] = true
			} else {
				delete(x.region.cut, link(x.id, y.id))
			}
		}
	}
	s.refreshViews()
}

func idsOf(ns []*simNode) []crdt.NodeID {
	out := make([]crdt.NodeID, len(ns))
	for i, n := range ns {
		out[i] = n.name
	}
	return out
}
