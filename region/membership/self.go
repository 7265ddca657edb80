package membership

// checkSelf takes this node's entry as the roster holds it.
func (m *Manager) checkSelf(roster Roster) bool {
	if seen, ok := roster[m.cfg.ID]; ok {
		m.self = seen
	}
	return false
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
