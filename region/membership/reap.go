package membership

import (
	"maps"
	"slices"
)

// majority counts the members of the region (joining, active or leaving)
// and those of them alive in health.
func majority(roster Roster, health map[string]Health) (alive, members int) {
	for id, mem := range roster {
		if mem.Status.InRegion() {
			members++
			if healthOf(health, id) == Alive {
				alive++
			}
		}
	}
	return alive, members
}

// reapDead removes the members dead for longer than DeadTimeout, provided
// more than half of the region's members are alive here: a minority side of
// a partition must not remove the majority, whose removals would win the
// merge after the heal and leave no member in the ring.
func (m *Manager) reapDead(now int64, roster Roster, health map[string]Health) {
	alive, members := majority(roster, health)
	waiting := false
	for _, id := range slices.Sorted(maps.Keys(roster)) {
		mem := roster[id]
		if !mem.Status.InRegion() || healthOf(health, id) != Dead {
			delete(m.downSince, id)
			continue
		}
		since, ok := m.downSince[id]
		if !ok {
			m.downSince[id] = now
			continue
		}
		if m.cfg.DeadTimeout <= 0 || now-since <= int64(m.cfg.DeadTimeout) {
			continue
		}
		if 2*alive <= members {
			waiting = true
			if !m.held {
				m.log.Warn("a member is dead for longer than the dead timeout, but a minority does not remove members: it stays until a majority of the region is alive here, or an operator forces its removal",
					"dead", id, "alive", alive, "members", members, "dead_timeout", m.cfg.DeadTimeout)
			}
			continue
		}
		if mem.Status == Removing {
			continue // settling already
		}
		mem.Status = m.removal(mem.Status)
		roster[id] = m.g.Update(mem)
		m.log.Warn("removed a node dead for longer than the dead timeout; its ranges are re-replicated",
			"removed", id, "status", mem.Status, "dead_timeout", m.cfg.DeadTimeout)
	}
	m.held = waiting
}

// demoteReturning marks Joining a member that came back under another
// incarnation (its data was wiped) and claims its ranges without having
// joined: its entry won the merge over its earlier life's only by the
// tie-break, at the same version. That happens to a wiped first node
// restarted without --join: it founds a region of its own, Active at the
// version its earlier life never left, until gossip brings the others. A
// member that joined again properly announced itself above its earlier
// entry's version, and is left alone.
func (m *Manager) demoteReturning(roster Roster) {
	for _, id := range slices.Sorted(maps.Keys(roster)) {
		mem, prev := roster[id], m.last[id]
		if id == m.cfg.ID || prev.Incarnation == "" || mem.Incarnation == "" || mem.Incarnation == prev.Incarnation ||
			mem.Version > prev.Version || mem.Status == Joining || !mem.Status.InRegion() {
			continue
		}
		mem.Status = Joining
		roster[id] = m.g.Update(mem)
		m.log.Warn("a member came back on other data (another incarnation) claiming its ranges without joining: it is marked joining, and pulls its ranges before it serves them",
			"member", id, "incarnation", mem.Incarnation, "earlier_incarnation", prev.Incarnation)
	}
}

// removal returns the status a removed member of status s takes: Removing
// where strong keys are declared, whose acceptors change only through a
// round that a majority of the old ones take part in (the steward settles
// them, then marks it Removed); Removed at once where none are, and for a
// joining member, which is in no ring but the next one: dropping it from
// that one gives the keys back the acceptors they have now.
func (m *Manager) removal(s Status) Status {
	if m.cfg.Strong != "" && s != Joining {
		return Removing
	}
	return Removed
}

// steward reports whether this node settles the removals under way: it is
// the active member of lowest id alive here. Two nodes that both believe
// so (views differ for a moment) run the same rounds, which read and
// change nothing.
func (m *Manager) steward(roster Roster, health map[string]Health) bool {
	for _, mem := range roster.Sorted() {
		if mem.Status == Active && healthOf(health, mem.ID) == Alive {
			return mem.ID == m.cfg.ID
		}
	}
	return false
}

// completeRemovals marks Removed the members being removed, once this node,
// their steward, has settled the strong keys their removal moves (r.Settled
// under the view installed last, which holds them).
func (m *Manager) completeRemovals(roster Roster, health map[string]Health, r Replica) {
	if !m.steward(roster, health) || !r.Settled() {
		return
	}
	for _, id := range slices.Sorted(maps.Keys(roster)) {
		if mem := roster[id]; mem.Status == Removing {
			mem.Status = Removed
			roster[id] = m.g.Update(mem)
			m.log.Warn("removal complete: the strong keys it moved are settled, and the member leaves the ring", "removed", id)
		}
	}
}
