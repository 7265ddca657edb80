package membership

import (
	"errors"
	"fmt"
)

// The errors of Leave and Remove. Use errors.Is.
var (
	// ErrNotMember: Remove names an id the roster does not hold.
	ErrNotMember = errors.New("membership: no such member")
	// ErrAlive: Remove names this node or a member alive here, which should
	// leave instead (it hands its data off first).
	ErrAlive = errors.New("membership: the member is alive")
	// ErrLastNode: Leave on the last node of the region, which has no one
	// to hand its data to.
	ErrLastNode = errors.New("membership: the last node of a region cannot leave")
)

// Leave marks this node as leaving: from the next Refresh on, the view
// moves its ranges to the others and the replica hands its keys off;
// Refresh reports Left once that is done. done is true when this node has
// left already. It refuses the last node of the region with ErrLastNode.
func (m *Manager) Leave() (done bool, err error) {
	roster, _ := m.g.Snapshot()
	if roster[m.cfg.ID].Status == Left {
		return true, nil
	}
	others := 0
	for _, mem := range roster.InNextRing() {
		if mem.ID != m.cfg.ID {
			others++
		}
	}
	if others == 0 {
		return false, fmt.Errorf("%w: there is no one to hand %s's data to in region %s", ErrLastNode, m.cfg.ID, m.cfg.Region)
	}
	m.setStatus(nil, Leaving)
	m.log.Info("leaving: handing every key off")
	return false, nil
}

// Remove removes member id for good: it leaves the ring and the others
// re-replicate its ranges. It refuses an unknown id (ErrNotMember), and this
// node or a member alive here (ErrAlive). A member that left or was removed
// already is nothing to do.
func (m *Manager) Remove(id string) error {
	roster, health := m.g.Snapshot()
	if health == nil {
		health = map[string]Health{}
	}
	health[m.cfg.ID] = Alive
	mem, ok := roster[id]
	switch {
	case !ok:
		return fmt.Errorf("%w: %q is not in region %s (see `meridian cluster`)", ErrNotMember, id, m.cfg.Region)
	case healthOf(health, id) == Alive:
		return fmt.Errorf("%w: run `meridian node leave` against %s instead, which hands its data off first", ErrAlive, id)
	case !mem.Status.InRegion():
		return nil
	}
	mem.Status = Removed
	m.g.Update(mem)
	m.log.Warn("member removed by request; its ranges are re-replicated", "removed", id)
	return nil
}
