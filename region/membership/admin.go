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

// refusal is an error of Leave or Remove that says what to do, and matches
// one of the sentinels above.
type refusal struct {
	kind error
	msg  string
}

func (e *refusal) Error() string { return e.msg }
func (e *refusal) Unwrap() error { return e.kind }

func refuse(kind error, format string, args ...any) error {
	return &refusal{kind: kind, msg: "membership: " + fmt.Sprintf(format, args...)}
}

// MinorityError is Remove's refusal when no more than half of the region's
// members are alive here: a node on the minority side of a partition sees
// the others dead, and its removal of them would win the merge after the
// heal. Use errors.As.
type MinorityError struct {
	Alive   int // members alive here, this node included
	Members int // members of the region: joining, active or leaving
}

func (e *MinorityError) Error() string {
	return fmt.Sprintf("membership: only %d of %d members are reachable from here; a minority must not remove members: heal the partition, or force it with --force if the others are gone for good",
		e.Alive, e.Members)
}

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
		return false, refuse(ErrLastNode, "%s is the last node of region %s: there is no one to hand its data to", m.cfg.ID, m.cfg.Region)
	}
	m.setStatus(nil, Leaving)
	m.log.Info("leaving: handing every key off")
	return false, nil
}

// Remove removes member id for good: it leaves the ring and the others
// re-replicate its ranges. It refuses an unknown id (ErrNotMember), this
// node or a member alive here (ErrAlive), and, unless force, a removal
// decided where no more than half of the region's members are alive
// (*MinorityError). A member that left or was removed already is nothing to
// do. Where strong keys are declared the member is first Removing, until
// the steward settles them; force marks it Removed at once, a Removing one
// too, giving up the strong keys a majority of whose acceptors are gone.
func (m *Manager) Remove(id string, force bool) error {
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
		return refuse(ErrAlive, "%s is alive: run `meridian node leave` against it instead, which hands its data off first", id)
	case !mem.Status.InRegion(), mem.Status == Removing && !force:
		return nil
	}
	if alive, members := majority(roster, health); !force && 2*alive <= members {
		return &MinorityError{Alive: alive, Members: members}
	}
	mem.Status = m.removal(mem.Status)
	if force {
		// Forced: no settling. A strong key a majority of whose acceptors
		// are gone for good can be settled by no one; forcing gives it up.
		mem.Status = Removed
	}
	m.g.Update(mem)
	m.log.Warn("member removed by request; its ranges are re-replicated", "removed", id, "status", mem.Status, "forced", force)
	return nil
}
