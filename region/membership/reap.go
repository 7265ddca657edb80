package membership

import (
	"maps"
	"slices"
)

// reapDead removes the members dead for longer than DeadTimeout.
func (m *Manager) reapDead(now int64, roster Roster, health map[string]Health) {
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
		mem.Status = Removed
		roster[id] = m.g.Update(mem)
		m.log.Warn("removed a node dead for longer than the dead timeout; its ranges are re-replicated",
			"removed", id, "dead_timeout", m.cfg.DeadTimeout)
	}
}
