package membership

// checkSelf takes this node's entry as the roster holds it, unless it is
// Removed while this node is alive (by the dead timeout on the other side
// of a partition, or by an operator): then this node says so, and enters
// the region again as Joining with a version above the removal, so that it
// pulls its ranges again before it serves them. It reports whether it did.
func (m *Manager) checkSelf(roster Roster) bool {
	id := m.cfg.ID
	seen, ok := roster[id]
	switch {
	case !ok:
		return false
	case seen.Status != Removed || m.self.Status == Left: // removed after it left: gone either way
		m.self = seen
		return false
	}
	m.log.Error("this node was removed from the region while alive (by the dead timeout on the other side of a partition, or by an operator): it enters the region again as joining, and pulls its ranges before it serves them",
		"removed_version", seen.Version)
	e := m.cfg.entry(Joining)
	e.Version = max(m.self.Version, seen.Version)
	m.self = m.g.Update(e)
	roster[id] = m.self
	return true
}

// advanceSelf moves this node's status forward when its work is done, and
// reports whether it just became Left.
func (m *Manager) advanceSelf(roster Roster, r Replica) (left bool) {
	switch self := roster[m.cfg.ID]; {
	case self.Status == Joining && m.g.Joined() && (len(roster.InRing()) == 0 || r.Bootstrapped()):
		m.setStatus(roster, Active)
		m.log.Info("joined: serving my ranges")
	case self.Status == Leaving && r.HandedOff():
		m.setStatus(roster, Left)
		return true
	}
	return false
}

// setStatus records status s in this node's entry, here and in roster.
func (m *Manager) setStatus(roster Roster, s Status) {
	e := m.self
	e.Status = s
	m.self = m.g.Update(e)
	if roster != nil {
		roster[m.cfg.ID] = m.self
	}
}
