package simulations

import (
	"fmt"
	"strings"

	"github.com/meridiankv/meridian/crdt"
)

// checkRegions: with several regions, once quiet,
//
//   - every directory of regions took every directory it was sent;
//   - every running node knows every other region, and its link up;
//   - no node owes another region anything (its outbox drained);
//   - without anti-entropy between regions, which would repair it: no node
//     left its region owing another region writes (they would be lost with
//     it: nothing else holds them for that region), and every write was
//     owed to every other region (none was coordinated by a node whose
//     view lacked a region);
//   - no read at a level that spans regions was answered by a node whose
//     view lacked a region;
//   - a run with a small outbox bound dropped a backlog (the bound works);
//   - every region holds the same state of every key, unless writes bound
//     for a region may have been lost with no anti-entropy between regions
//     to repair it (mayDiverge: a disk lost, a backlog dropped).
func (s *Sim) checkRegions(finals []map[string]crdt.State) []error {
	var errs []error
	for _, e := range s.dirErrors {
		errs = append(errs, fmt.Errorf("directory refused: %s", e))
	}
	errs = append(errs, s.checkLinks()...)
	for _, line := range s.owedLost {
		if s.regionAE == 0 {
			errs = append(errs, fmt.Errorf("writes owed to another region lost: %s: a leave completed (handoff done) without shipping the node's outbox", line))
		}
	}
	if s.smallOutboxRun() && s.dropped == 0 {
		errs = append(errs, fmt.Errorf("outbox bound of %d bytes never dropped a backlog, though a region was cut off for seconds", s.outboxBytes))
	}
	for _, name := range sortedNames(s.unowed) {
		if s.regionAE > 0 {
			break
		}
		errs = append(errs, fmt.Errorf("writes owed to no region: %s coordinated %d writes while its view lacked another region (it joined or lost its disk while its region was cut off, and knew no region yet): its outbox owes them to no region, and only anti-entropy between regions would bring them",
			name, s.unowed[name]))
	}
	for _, op := range s.hist.ops {
		if op.kind == opGet && op.outcome == outcomeOK && op.scope >= scopeMajority && op.note != "" {
			errs = append(errs, fmt.Errorf("a read at a level that spans regions answered without them: %s: its node does not know every region, and reads as if its own were the only one", op))
		}
	}
	if s.mayDiverge() {
		return errs
	}
	for _, key := range s.hist.keys {
		first := finals[0][key]
		for i, r := range s.regions[1:] {
			if st := finals[i+1][key]; !st.Equal(first) {
				errs = append(errs, fmt.Errorf("key %s: regions %s and %s hold different states once quiet, %s:\n  %s: %v\n  %s: %v\n  shipping: %s",
					key, s.regions[0].name, r.name, s.convergeBy(), s.regions[0].name, first, r.name, st, s.shipping()))
			}
		}
	}
	return errs
}

// convergeBy says why the regions must converge, for the messages.
func (s *Sim) convergeBy() string {
	if s.regionAE > 0 {
		return fmt.Sprintf("with anti-entropy between regions every %s", s.regionAE)
	}
	return "with no disk lost and no backlog dropped"
}

// checkLinks: every running node knows every other region, its link is up,
// and it owes it nothing.
func (s *Sim) checkLinks() []error {
	var errs []error
	for _, n := range s.nodes {
		if n.node == nil {
			continue
		}
		views := n.dir.Views(s.clock(n))
		stats := n.node.Stats().Regions
		for _, r := range s.regions {
			if r == n.region {
				continue
			}
			up, known := false, false
			for _, v := range views {
				if v.Name == r.name {
					known, up = true, v.Up
				}
			}
			rs := stats[r.name]
			switch {
			case !known:
				errs = append(errs, fmt.Errorf("once quiet, %s does not know region %s: its writes are not owed to it", n.name, r.name))
			case !up:
				errs = append(errs, fmt.Errorf("once quiet, %s holds the link to region %s down", n.name, r.name))
			case rs.Pending > 0:
				errs = append(errs, fmt.Errorf("outbox not drained: once quiet, %s still owes region %s %d shipments, the oldest %s old (%d batches resent, %d shipments taken); %s",
					n.name, r.name, rs.Pending, rs.Lag, rs.Resent, rs.Shipped, s.refusals(r)))
			}
		}
	}
	return errs
}

// shipping describes the replication between regions, by region pair,
// since the nodes last started: what was shipped, resent, dropped, owed.
func (s *Sim) shipping() string {
	var parts []string
	for _, from := range s.regions {
		for _, to := range s.regions {
			if from == to {
				continue
			}
			var shipped, batches, resent, dropped, pending int64
			for _, n := range from.nodes {
				if n.node == nil {
					continue
				}
				rs := n.node.Stats().Regions[to.name]
				shipped, batches, resent, dropped, pending = shipped+rs.Shipped, batches+rs.Batches, resent+rs.Resent, dropped+rs.Dropped, pending+rs.Pending
			}
			parts = append(parts, fmt.Sprintf("%s->%s %d shipped in %d batches, %d resent, %d dropped, %d owed",
				from.name, to.name, shipped, batches, resent, dropped, pending))
		}
	}
	return strings.Join(parts, "; ")
}

// refusals describes the batches the relays of region r refused since
// they last started, and why a relay refuses: it keeps every key of a
// batch it does not own as a hint, within its hint budget.
func (s *Sim) refusals(r *simRegion) string {
	var taken, refused int64
	for _, n := range r.nodes {
		if n.node != nil {
			st := n.node.Stats()
			taken, refused = taken+st.ShipsTaken, refused+st.ShipsRefused
		}
	}
	return fmt.Sprintf("region %s's relays took %d shipped keys and refused %d (a relay keeps the keys it does not own as hints, within its hint budget of %d bytes)",
		r.name, taken, refused, s.hintBudget)
}
