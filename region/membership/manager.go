package membership

import (
	"fmt"
	"log/slog"
	"maps"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// Manager is this node's membership logic: it turns the roster and the
// failure detector's verdicts into the view the replication state machine
// works with, moves this node's own status along, removes members dead for
// too long, and answers an operator's leave and remove. It does no I/O and
// reads no clock: time comes in as nanoseconds, the roster and the verdicts
// through Gossip.
//
// A Manager is not safe for concurrent use: call it from one goroutine (the
// node's loop, or the simulator).
type Manager struct {
	cfg          Config
	g            Gossip
	log          *slog.Logger
	self         Member // this node's entry as last decided here
	rings        rings
	peers        map[crdt.NodeID]string // replaced, never modified, once handed out
	downSince    map[string]int64       // when each dead member was first seen dead
	held         bool                   // a removal waits for a majority; logged once
	last         Roster                 // as the last Refresh left it
	remote       []kvsync.RegionView    // the other regions, as the Directory last described them
	unsettled    bool                   // the Directory has not yet learned whether there are other regions
	refused      error                  // a member declares strong keys otherwise (checkStrong)
	strongLogged map[string]bool        // the disagreements logged, by member and declaration
}

// SetRemote sets what the views Refresh installs say of the other regions
// (Directory.Views).
func (m *Manager) SetRemote(v []kvsync.RegionView) { m.remote = v }

// SetRegionsSettled says whether this node has learned whether there are
// other regions (Directory.Settled). A joining node stays joining until it
// has: once active it would coordinate writes, and a write coordinated by
// a node that knows no region is owed to none. A Manager not told is
// settled.
func (m *Manager) SetRegionsSettled(settled bool) { m.unsettled = !settled }

// MemberInfo is one member as this node sees it.
type MemberInfo struct {
	Member
	Health Health // what the failure detector says; this node is Alive
}

// Result is what a Refresh leaves for its caller.
type Result struct {
	// Roster is the roster as the refresh left it, this node's changes
	// included: what to persist, so that a restarted node knows its region.
	// It is the caller's.
	Roster Roster
	// Self is this node's entry.
	Self Member
	// Epoch names the rings of the view installed.
	Epoch uint64
	// Members lists every member of the roster, sorted by id, with its
	// health (Manager.Ownership gives the shares of the ring).
	Members []MemberInfo
	// Peers maps every member seen since New to its peer address. The map
	// is never modified after Refresh returned it.
	Peers map[crdt.NodeID]string
	// Left reports that this node became Left in this refresh: its handoff
	// is complete, and its leave with it.
	Left bool
	// Rejoined reports that this node entered the region again as Joining
	// in this refresh: it found itself removed while alive, or the region
	// held an entry for its id from other data. A leave under way is over.
	Rejoined bool
	// Refused says why this node may not serve strong keys with its
	// region: a member declares them otherwise (a joining node then stays
	// joining). Nil when every member agrees.
	Refused error
}

// Initial returns this node's roster entry as it starts, given the roster
// stored with its data (empty for new data) and whether it was asked to
// join a region. Start the node's Gossip with it, then pass it to New.
//
//   - A restart on its data (the stored roster holds this node in the
//     region, under its incarnation or, written before incarnations, none)
//     carries on where it was: joining, active or leaving.
//   - The first node of a new region (no roster, no join) is Active at once.
//   - Any other node starts Joining: it pulls its ranges before serving.
//
// The version is above the stored entry's. A node whose roster does not
// know its id (new or wiped data) takes version 0, so that any entry of an
// earlier life of its id wins the merge: the Manager sees it once gossip
// brings it (Refresh), and announces this node Joining above it.
func Initial(cfg Config, stored Roster, join bool) Member {
	m := cfg.entry(Joining)
	prev, known := stored[cfg.ID]
	switch {
	case known && prev.Status.InRegion() && (prev.Incarnation == "" || prev.Incarnation == cfg.Incarnation):
		m.Status = prev.Status // a restart: carry on where it was
		if m.Status == Removing {
			m.Status = Active // removed while down, and back before the removal completed: it stays
		}
	case !known && !join && len(stored) == 0:
		m.Status = Active // the first node of a new region
	}
	if known {
		m.Version = prev.Version + 1
	}
	// Else version 0: a wiped first node must not tie with its earlier
	// life's entry (active, version 1), a tie it would win half the time.
	return m
}

// New returns the Manager of the node cfg describes, whose Gossip g started
// with self, the entry Initial returned.
func New(cfg Config, self Member, g Gossip) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if self.ID != cfg.ID {
		return nil, fmt.Errorf("membership: the initial entry is %q's, not %q's", self.ID, cfg.ID)
	}
	last, _ := g.Snapshot()
	return &Manager{cfg: cfg, g: g, log: cfg.logger(), self: self, last: last,
		peers: map[crdt.NodeID]string{}, downSince: map[string]int64{}}, nil
}

// Refresh reads the roster and the failure detector's verdicts at time now
// (nanoseconds), and:
//
//  1. enters the region again as Joining if this node finds itself removed
//     while alive, or its id held by an entry of other data; marks Joining
//     a member back on other data that did not join;
//  2. removes members dead for longer than DeadTimeout, if more than half
//     of the region is alive here;
//  3. installs in r the view of the rings the roster makes, and marks
//     Removed the members being removed once r, their steward, Settled;
//  4. moves this node's status along: Joining to Active once it reached its
//     region and r is Bootstrapped (at once in a region with no ring yet),
//     Leaving to Left once r HandedOff.
//
// Call it on every roster change and at a steady pace (the node does every
// 100ms): the dead timeout is measured between calls.
func (m *Manager) Refresh(now int64, r Replica) Result {
	roster, health := m.g.Snapshot()
	if health == nil {
		health = map[string]Health{}
	}
	health[m.cfg.ID] = Alive
	res := Result{Rejoined: m.checkSelf(roster)}
	m.demoteReturning(roster)
	m.reapDead(now, roster, health)
	m.notePeers(roster)
	m.refused = m.checkStrong(roster)
	res.Refused = m.refused
	m.installView(now, roster, health, r)
	m.completeRemovals(roster, health, r)
	// Only now, with the view of the current roster installed, do
	// Bootstrapped and HandedOff speak of it.
	if res.Left = m.advanceSelf(roster, r); res.Left {
		// A node that has left must coordinate nothing more: a write it
		// took now would be owed to the other regions by an outbox that
		// leaves with it. Its view drops it from the ring at once, so it
		// forwards what its clients send to an owner and refuses what its
		// peers, not yet aware, forward to it (nothing applied, retry).
		m.installView(now, roster, health, r)
	}
	res.Roster, res.Self, res.Epoch, res.Peers = roster, m.self, m.rings.epoch, m.peers
	m.last = roster.Clone()
	for _, mem := range roster.Sorted() {
		res.Members = append(res.Members, MemberInfo{Member: mem, Health: healthOf(health, mem.ID)})
	}
	return res
}

// Ownership returns, by member id, the fraction of keys each member is
// primary for in the ring of the view the last Refresh installed; members
// outside the ring have none. It is computed once per ring, on the first
// call, and takes some 25ms: a simulator that does not report ownership
// need not call it. The map must not be modified.
func (m *Manager) Ownership() map[string]float64 { return m.rings.ownership() }

// installView builds the rings when their members changed, and installs
// the view in r.
func (m *Manager) installView(now int64, roster Roster, health map[string]Health, r Replica) {
	inRing, inNext := roster.InRing(), roster.InNextRing()
	if sig := ringSig(inRing) + "|" + ringSig(inNext); sig != m.rings.sig {
		m.rings = buildRings(inRing, inNext, m.cfg.VNodes)
		m.log.Info("ring changed", "epoch", m.rings.epoch, "owners", ringSig(inRing), "next", ringSig(inNext))
	}
	var ids []crdt.NodeID
	var removing map[crdt.NodeID]bool
	down := map[crdt.NodeID]bool{}
	for _, mem := range roster.Sorted() {
		if !mem.Status.InRegion() {
			continue
		}
		ids = append(ids, crdt.NodeID(mem.ID))
		if healthOf(health, mem.ID) != Alive {
			down[crdt.NodeID(mem.ID)] = true
		}
		if mem.Status == Removing {
			if removing == nil {
				removing = map[crdt.NodeID]bool{}
			}
			removing[crdt.NodeID(mem.ID)] = true
		}
	}
	current, older := map[crdt.NodeID]bool{}, map[crdt.NodeID]bool{}
	for id, p := range m.g.Protocols() { // every node gossip hears, whatever its status
		if p >= wire.ProtocolSplit {
			current[crdt.NodeID(id)] = true
		}
		if p < wire.ProtocolConsensus {
			older[crdt.NodeID(id)] = true
		}
	}
	v := kvsync.View{Placement: Placement(m.rings.now), Members: ids, Down: down, Epoch: m.rings.epoch,
		Joining: roster[m.cfg.ID].Status == Joining, Leaving: roster[m.cfg.ID].Status == Leaving,
		Current: current, Older: older, Remote: m.remote, Removing: removing}
	v.Steward = removing != nil && m.steward(roster, health)
	if ringSig(inRing) != ringSig(inNext) {
		v.Next = Placement(m.rings.next)
	}
	r.SetView(now, v)
}

// notePeers records the peer address of every member; the map handed out
// last is replaced, not modified.
func (m *Manager) notePeers(roster Roster) {
	var next map[crdt.NodeID]string
	for id, mem := range roster {
		if p, ok := m.peers[crdt.NodeID(id)]; !ok || p != mem.Peer {
			if next == nil {
				next = maps.Clone(m.peers)
			}
			next[crdt.NodeID(id)] = mem.Peer
		}
	}
	if next != nil {
		m.peers = next
	}
}
