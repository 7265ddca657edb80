package membership

import "fmt"

// checkSelf compares this node's entry in the roster with the one it
// decided itself, and enters the region again as Joining when the roster
// holds another: this node was removed while it is alive (the dead timeout
// on the other side of a partition, or an operator), or the entry is of
// another incarnation of its id (a wiped data directory, whose earlier life
// holds a higher version), or its status is not the one decided here (a
// change of an earlier run that gossip spread but storage did not keep).
// Joining, it pulls its ranges again before it serves them. It reports
// whether it did.
//
// An entry without an incarnation counts as this node's: nodes of an older
// version drop the field when they pass an entry on, and the entry without
// it wins the tie.
func (m *Manager) checkSelf(roster Roster) bool {
	id := m.cfg.ID
	seen, ok := roster[id]
	ours := ok && (seen.Incarnation == m.cfg.Incarnation || seen.Incarnation == "")
	switch {
	case ours && seen.Status == m.self.Status:
		if !sameAddrs(seen, m.self) {
			// An entry of this node's earlier run, on other addresses,
			// won the merge. Announce this run's.
			m.self.Version = max(m.self.Version, seen.Version)
			m.self = m.g.Update(m.self)
			roster[id] = m.self
		}
		m.self.Version = roster[id].Version
		return false
	case ours && m.self.Status == Left && seen.Status == Removed:
		return false // removed after it left: gone either way
	case ours && seen.Status == Removing:
		// Being removed while alive (the dead timeout on the other side of
		// a partition): the removal is not complete, and this node is still
		// in the ring. It cancels it, announcing its own status above.
		m.log.Error("this node is being removed from the region while alive (by the dead timeout on the other side of a partition, or by an operator): it cancels the removal and stays",
			"removing_version", seen.Version, "status", m.self.Status)
		m.self.Version = max(m.self.Version, seen.Version)
		m.self = m.g.Update(m.self)
		roster[id] = m.self
		return false
	case ours && seen.Status == Removed:
		m.log.Error("this node was removed from the region while alive (by the dead timeout on the other side of a partition, or by an operator): it enters the region again as joining, and pulls its ranges before it serves them",
			"removed_version", seen.Version)
	default:
		m.log.Warn("the region holds another entry for this node (an earlier life of its id, or a change this node did not keep): it enters the region again as joining, and pulls its ranges before it serves them",
			"seen_status", seen.Status, "seen_incarnation", seen.Incarnation, "seen_version", seen.Version, "incarnation", m.cfg.Incarnation)
	}
	e := m.cfg.entry(Joining)
	e.Version = max(m.self.Version, seen.Version)
	m.self = m.g.Update(e)
	roster[id] = m.self
	return true
}

// sameAddrs reports whether a and b record the same region, addresses and
// weight.
func sameAddrs(a, b Member) bool {
	return a.Region == b.Region && a.Peer == b.Peer && a.Gossip == b.Gossip && a.RESP == b.RESP &&
		a.HTTP == b.HTTP && a.VNodes == b.VNodes && a.Strong == b.Strong
}

// advanceSelf moves this node's status forward when its work is done, and
// reports whether it just became Left.
func (m *Manager) advanceSelf(roster Roster, r Replica) (left bool) {
	switch self := roster[m.cfg.ID]; {
	case self.Status == Joining && m.g.Joined() && !m.unsettled && m.refused == nil && (emptyRing(roster) || r.Bootstrapped()):
		m.setStatus(roster, Active)
		m.log.Info("joined: serving my ranges")
	case self.Status == Leaving && r.HandedOff():
		m.setStatus(roster, Left)
		return true
	}
	return false
}

// emptyRing reports whether the region this node joined has no member in
// its ring yet (a region whose nodes all started joining each other): the
// joiner then has nothing to pull and serves at once. Only once it has
// heard of another member, though: a roster holding this node alone says
// nothing yet of the region it joins (its gossip may have joined before the
// others' roster reached it), and a node whose disk was wiped must not
// take that for an empty region.
func emptyRing(roster Roster) bool { return len(roster) > 1 && len(roster.InRing()) == 0 }

// setStatus records status s in this node's entry, here and in roster.
func (m *Manager) setStatus(roster Roster, s Status) {
	e := m.self
	e.Status = s
	m.self = m.g.Update(e)
	if roster != nil {
		roster[m.cfg.ID] = m.self
	}
}

// checkStrong finds the members of roster that declare strong keys
// otherwise than this node (Member.Strong), and returns the first as an
// error, nil when all agree. A joining node that finds one stays joining
// (advanceSelf): were it to serve, its acceptors would refuse its
// proposals and theirs. Each disagreement is logged once.
func (m *Manager) checkStrong(roster Roster) error {
	var err error
	for _, mem := range roster.Sorted() {
		if mem.ID == m.cfg.ID || !mem.Status.InRegion() || mem.Strong == m.cfg.Strong {
			continue
		}
		e := fmt.Errorf("membership: this node declares strong keys as %q (--strong), and member %s declares %q: every node must declare the same; restart this node with --strong %q, or the others with this one's",
			m.cfg.Strong, mem.ID, mem.Strong, mem.Strong)
		if err == nil {
			err = e
		}
		key := mem.ID + "=" + mem.Strong
		if !m.strongLogged[key] {
			if m.strongLogged == nil {
				m.strongLogged = map[string]bool{}
			}
			m.strongLogged[key] = true
			m.log.Error("refused: a member declares strong keys otherwise", "member", mem.ID, "its", mem.Strong, "mine", m.cfg.Strong)
		}
	}
	return err
}
