package region

import (
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/hashicorp/memberlist"
	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/ring"
	kvsync "github.com/meridiankv/meridian/sync"
)

// membership turns the roster and memberlist's liveness into the view the
// state machine works with. It belongs to the loop goroutine.
type membership struct {
	sig       string // the ring members last built, to notice a change
	epoch     uint64
	now, next *ring.Ring
	shares    map[ring.NodeID]float64 // of now, computed once per ring
	peers     map[crdt.NodeID]string
	downSince map[string]int64
	stored    string // the roster as last persisted
}

func newMembership() *membership {
	return &membership{peers: map[crdt.NodeID]string{}, downSince: map[string]int64{}}
}

// health is what memberlist says of a member: alive, suspect or dead (which
// includes "not seen").
func health(live map[string]memberlist.NodeStateType, id string) string {
	switch s, ok := live[id]; {
	case !ok:
		return "dead"
	case s == memberlist.StateAlive:
		return "alive"
	case s == memberlist.StateSuspect:
		return "suspect"
	}
	return "dead"
}

// refreshView reads the roster and liveness, moves this node's own status
// along (joining to active once it holds its ranges, leaving to left once it
// handed everything off), removes members dead for too long, and installs
// the resulting view.
func (n *Node) refreshView(now int64) {
	roster, live := n.g.snapshot()
	live[n.cfg.ID] = memberlist.StateAlive
	n.reapDead(roster, live, now)
	m := n.members
	for _, mem := range roster {
		m.peers[crdt.NodeID(mem.ID)] = mem.Peer
	}
	inRing, inNext := roster.InRing(), roster.InNextRing()
	if sig := ringSig(inRing) + "|" + ringSig(inNext); sig != m.sig {
		m.sig, m.epoch = sig, xxhash.Sum64String(sig)|1
		m.now, m.next = buildRing(inRing, n.cfg.VNodes), buildRing(inNext, n.cfg.VNodes)
		m.shares = map[ring.NodeID]float64{}
		if m.now.Len() > 0 {
			m.shares = m.now.Shares(1)
		}
		n.log.Info("ring changed", "epoch", m.epoch, "owners", ringSig(inRing), "next", ringSig(inNext))
	}
	var ids []crdt.NodeID
	down := map[crdt.NodeID]bool{}
	for _, mem := range roster.Sorted() {
		if mem.Status > Leaving {
			continue
		}
		ids = append(ids, crdt.NodeID(mem.ID))
		if health(live, mem.ID) != "alive" {
			down[crdt.NodeID(mem.ID)] = true
		}
	}
	v := kvsync.View{Placement: Placement(m.now), Members: ids, Down: down, Epoch: m.epoch,
		Joining: roster[n.cfg.ID].Status == Joining}
	if ringSig(inRing) != ringSig(inNext) {
		v.Next = Placement(m.next)
	}
	n.sm.SetView(now, v)
	// Only now, with the view of the current roster installed, do
	// Bootstrapped and HandedOff speak of it.
	n.advanceSelf(roster)
	n.persistRoster(roster)
	n.publishCluster(roster, live)
}

// advanceSelf moves this node's status forward when its work is done.
func (n *Node) advanceSelf(roster Roster) {
	self := roster[n.cfg.ID]
	switch {
	case self.Status == Joining && n.g.joined.Load() && (len(roster.InRing()) == 0 || n.sm.Bootstrapped()):
		self.Status = Active
		roster[n.cfg.ID] = n.g.update(self)
		n.log.Info("joined: serving my ranges")
	case self.Status == Leaving && n.sm.HandedOff():
		self.Status = Left
		roster[n.cfg.ID] = n.g.update(self)
		n.log.Info("left: every key handed off", "keys_pushed", n.sm.Stats().HandoffPushed)
		if n.leaving != nil {
			close(n.leaving)
			n.leaving = nil
		}
	}
}

// reapDead removes members dead longer than DeadTimeout.
func (n *Node) reapDead(roster Roster, live map[string]memberlist.NodeStateType, now int64) {
	ds := n.members.downSince
	for id, mem := range roster {
		if mem.Status > Leaving || health(live, id) != "dead" {
			delete(ds, id)
			continue
		}
		since, ok := ds[id]
		if !ok {
			ds[id] = now
			continue
		}
		if n.cfg.DeadTimeout > 0 && now-since > int64(n.cfg.DeadTimeout) {
			mem.Status = Removed
			roster[id] = n.g.update(mem)
			n.log.Warn("removed a node dead for longer than the dead timeout; its ranges are re-replicated", "removed", id, "dead_timeout", n.cfg.DeadTimeout)
		}
	}
}

func ringSig(ms []Member) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.ID + "/" + strconv.Itoa(m.VNodes)
	}
	return strings.Join(parts, ",")
}

func buildRing(ms []Member, defVNodes int) *ring.Ring {
	rm := make([]ring.Member, len(ms))
	for i, m := range ms {
		rm[i] = ring.Member{ID: ring.NodeID(m.ID), VNodes: cmpOr(m.VNodes, defVNodes)}
	}
	r, err := ring.New(rm...)
	if err != nil {
		// The roster holds only members that passed validation; an
		// invalid one came from a broken peer. Serve without it.
		r, _ = ring.New()
	}
	return r
}

func cmpOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// persistRoster stores the roster when it changed, so a restarted node
// knows its region (and every member that is down) at once.
func (n *Node) persistRoster(r Roster) {
	enc := string(encodeRoster(r))
	if enc == n.members.stored {
		return
	}
	if err := n.db.PutMeta("roster", []byte(enc)); err != nil {
		n.log.Error("could not store the roster", "err", err)
		return
	}
	n.members.stored = enc
}

func (n *Node) loadRoster() (Roster, error) {
	b, err := n.db.GetMeta("roster")
	if err != nil || b == nil {
		return Roster{}, err
	}
	return decodeRoster(b)
}

// selfMember is this node's roster entry as it starts.
func (n *Node) selfMember(roster Roster) Member {
	c := n.cfg
	m := Member{ID: c.ID, Region: c.Region, Peer: c.PeerAddr, Gossip: c.GossipAddr, RESP: c.RESPAddr,
		HTTP: c.HTTPAddr, VNodes: c.VNodes, Status: Joining}
	prev, known := roster[c.ID]
	switch {
	case known && prev.Status <= Leaving:
		m.Status = prev.Status // a restart: carry on where it was
	case !known && len(c.Join) == 0 && len(roster) == 0:
		m.Status = Active // the first node of a new region
	}
	m.Version = prev.Version + 1
	return m
}
