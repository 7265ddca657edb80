package sync

import (
	"maps"
	"slices"
	"time"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// Settling strong keys before a ring change completes. While the ring
// changes (View.Next), a strong key's rounds need a majority of its owners
// before the change and one of its owners after it (acceptorSet's joint
// groups), and acceptors refuse a round whose sender sees the groups
// otherwise. Once the change completes, the owners after it decide alone:
// so before it completes, every strong key whose owners it moves must have
// had a round under the joint groups, which reads the value a majority of
// the old owners accepted and has a majority of the new owners accept it.
// A round decided by the old owners alone after that is impossible: a
// majority of them took the joint round, and refuse the old groups since.
//
// The node whose move completes the change settles: a joining node before
// it reports Bootstrapped, a leaving one before it reports HandedOff. It
// asks every member (down ones too: a member that is down may hold the
// only record of a key beside others that are down) for the strong keys it
// keeps a record of whose owners the change moves and that involve the
// settling node, and runs a round on each (a read: the value does not
// change).
//
// A node removed while it was down (node remove, the dead timeout) leaves
// without a change under way: its ranges move at once, without settling.

// settleBatch is how many keys one MsgSettleReply lists.
const settleBatch = 256

// settleWait is a settling round in flight (origin.settle).
type settleWait struct{ key string }

// settler is the part of a Node that settles strong keys.
type settler struct {
	*core
	prop     *proposer
	epoch    uint64
	active   bool                   // settling under epoch
	from     map[crdt.NodeID]uint64 // each member's next hash to ask from
	complete map[crdt.NodeID]bool   // each member whose list is complete
	asked    map[crdt.NodeID]int64  // when each member was last asked
	keys     map[string]bool        // keys to settle: true once settled
	inflight map[string]bool
	retryAt  int64
}

func newSettler(c *core, p *proposer) *settler {
	s := &settler{core: c, prop: p}
	c.settleDone = s.settled
	return s
}

// settling reports whether this node must settle the ring change of its
// view: a change is under way, it completes it, and keys are strong.
func (s *settler) settling() bool {
	return s.view.Next != nil && (s.view.Joining || s.view.Leaving) && len(s.cfg.Strong) > 0
}

// done reports whether the change of the current view is settled.
func (s *settler) done() bool {
	if !s.settling() {
		return true
	}
	if !s.active || s.epoch != s.view.Epoch {
		return false
	}
	for _, id := range s.view.Members {
		if id != s.cfg.ID && !s.complete[id] {
			return false
		}
	}
	for _, ok := range s.keys {
		if !ok {
			return false
		}
	}
	return true
}

func (s *settler) tick() {
	if !s.settling() {
		s.active = false
		return
	}
	if !s.active || s.epoch != s.view.Epoch {
		*s = settler{core: s.core, prop: s.prop, epoch: s.view.Epoch, active: true, from: map[crdt.NodeID]uint64{},
			complete: map[crdt.NodeID]bool{}, asked: map[crdt.NodeID]int64{}, keys: map[string]bool{}, inflight: map[string]bool{}}
		s.scanOwn()
	}
	for _, id := range s.view.Members {
		if id == s.cfg.ID || s.complete[id] || s.now-s.asked[id] < int64(s.cfg.RequestTimeout) {
			continue
		}
		s.asked[id] = s.now
		s.send(wire.Message{Type: wire.MsgSettle, To: id, ID: s.newID(partCoordinator), Epoch: s.epoch, Hashes: []uint64{s.from[id]}})
	}
	if s.now < s.retryAt {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(s.keys)) {
		if !s.keys[k] && !s.inflight[k] {
			s.inflight[k] = true
			s.prop.propose(origin{settle: &settleWait{key: k}}, &wire.Op{Kind: wire.OpGet, Key: []byte(k)})
		}
	}
}

// scanOwn adds the keys this node keeps a record of that the change moves.
func (s *settler) scanOwn() {
	_ = s.store.ScanAcceptors(0, ^uint64(0), func(key []byte, _ wire.Acceptor) bool {
		if s.moves(key, s.cfg.ID) {
			s.keys[string(key)] = false
		}
		return true
	})
}

// moves reports whether the change under way moves the acceptors of
// strong key, and involves node who (an owner before or after it).
func (n *core) moves(key []byte, who crdt.NodeID) bool {
	p, ok := n.cfg.Strong.Of(key)
	if !ok || n.view.Next == nil || n.view.Placement == nil || (p.Scope == ScopeLocal && p.Home != n.cfg.region()) {
		return false
	}
	before, after := n.owners(key), n.nextOwners(key)
	if slices.Equal(before, after) {
		return false
	}
	return slices.Contains(before, who) || slices.Contains(after, who)
}

// settled takes the answer of a settling round.
func (s *settler) settled(w *settleWait, r Response) {
	delete(s.inflight, w.key)
	if _, ok := s.keys[w.key]; !ok {
		return // a round of an earlier change
	}
	if r.Err != nil {
		s.retryAt = s.now + int64(100*time.Millisecond)
		return
	}
	s.keys[w.key] = true
	s.stats.Settled++
}

// onSettle lists, for the member settling a change, the strong keys this
// node keeps a record of that the change moves and that involve it.
func (s *settler) onSettle(m wire.Message) {
	reply := wire.Message{Type: wire.MsgSettleReply, To: m.From, ID: m.ID, Epoch: m.Epoch}
	if m.Epoch != s.view.Epoch || len(m.Hashes) != 1 {
		reply.Code, reply.Err = wire.CodeRejected, "this node sees another ring: ask again once the views agree"
		s.send(reply)
		return
	}
	next, more := uint64(0), false
	err := s.store.ScanAcceptors(m.Hashes[0], ^uint64(0), func(key []byte, _ wire.Acceptor) bool {
		if len(reply.Keys) == settleBatch {
			next, more = wire.KeyHash(key), true
			return false
		}
		if s.moves(key, m.From) {
			reply.Keys = append(reply.Keys, wire.KeyDigest{Key: key})
		}
		return true
	})
	if err != nil {
		reply.Code, reply.Err = encodeErr(err)
	} else if more {
		reply.Hashes = []uint64{next}
	}
	s.send(reply)
}

// onSettleReply takes a member's list.
func (s *settler) onSettleReply(m wire.Message) {
	if !s.active || m.Epoch != s.epoch || s.complete[m.From] {
		return
	}
	if m.Code != wire.CodeOK {
		return // asked again after RequestTimeout
	}
	for _, k := range m.Keys {
		if _, ok := s.keys[string(k.Key)]; !ok {
			s.keys[string(k.Key)] = false
		}
	}
	if len(m.Hashes) == 1 {
		s.from[m.From] = m.Hashes[0]
		s.asked[m.From] = 0 // ask for the rest at once
		return
	}
	s.complete[m.From] = true
}
