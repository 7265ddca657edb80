package sync

import (
	"maps"
	"slices"
	"time"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// Settling strong keys when their acceptors change. While the ring changes
// (View.Next), a strong key's rounds need a majority of its owners before
// the change and one of its owners after it (acceptorSet's joint groups),
// and acceptors refuse a round whose sender sees the groups otherwise. Once
// the change completes, the owners after it decide alone: so before it
// completes, every strong key whose owners it moves must have had a round
// under the joint groups, which reads the value a majority of the old
// owners accepted and has a majority of the new owners accept it. A round
// decided by the old owners alone after that is impossible: a majority of
// them took the joint round, and refuse the old groups since.
//
// The node whose move completes the change settles (a transition pass): a
// joining node before it reports Bootstrapped, a leaving one before it
// reports HandedOff, and the steward of a removal (View.Steward: the node
// removed is down) before it reports Settled and marks it removed. It asks
// every member (down ones too: a member that is down may hold the only
// other record of a key) for the strong keys it keeps a record of whose
// owners the change moves and that involve the settling node (any node,
// for the steward), and runs a round on each (a read: the value does not
// change). Members being removed may never answer: the pass goes on
// without them while fewer than a majority of N are silent, since a
// decided value is on a majority of its key's acceptors, one of which has
// then listed it. Where a global prefix is declared, the pass asks the
// nodes of the other regions too (a global key's acceptors are in every
// region, and a majority of them may include no node of this region but
// the one removed): each lists the global keys whose owners the change
// moves, as it sees this region's ring. Those silent (down, cut off)
// count with the removed ones against a majority of a global key's
// acceptors. Until a removal is settled the removed node stays in the
// ring: on the other side of a partition it may still decide with the
// old owners, which the joint round then needs. (Before removals were
// settled, the dead timeout on the majority side of a partition gave a
// key new owners that decided beside the old ones: simulator seed 43.)
//
// A ring may also change at once, with no change under way before: a
// member whose data was wiped entering again, or any change a node learns
// of only after it restarts (its first view is the ring it stored, and
// gossip then brings the current one). A node that sees that
// may have gained keys it holds no record of, whose latest value a
// majority that no longer holds was the only one to accept. Until it has
// settled (a gain pass: every member lists the strong keys whose owners
// include it, and it runs a round on each it holds no record of, without
// its own vote), it refuses to vote on a key it holds no record of
// (wire.RefusedNotReady), so that such a key's rounds need a majority of
// the others, which intersects every majority that decided it before.

// settleBatch is how many keys one MsgSettleReply lists.
const settleBatch = 256

// The passes a MsgSettle asks for (in Level).
const (
	// settleGain: list the strong keys whose owners include the sender.
	settleGain = 1
	// settleAll: list the strong keys the change moves, whoever it
	// involves (the steward of a removal).
	settleAll = 2
)

// settleWait is a settling round in flight (origin.settle).
type settleWait struct {
	key  string
	pass *settlePass
}

// settlePass is one settling pass: the keys the members listed, and the
// rounds run on them.
type settlePass struct {
	gain     bool
	epoch    uint64
	from     map[crdt.NodeID]uint64 // each member's next hash to ask from
	complete map[crdt.NodeID]bool   // each member whose list is complete
	asked    map[crdt.NodeID]int64  // when each member was last asked
	keys     map[string]bool        // keys to settle: true once settled
	inflight map[string]bool
	retryAt  int64
}

func newPass(gain bool, epoch uint64) *settlePass {
	return &settlePass{gain: gain, epoch: epoch, from: map[crdt.NodeID]uint64{}, complete: map[crdt.NodeID]bool{},
		asked: map[crdt.NodeID]int64{}, keys: map[string]bool{}, inflight: map[string]bool{}}
}

// settler is the part of a Node that settles strong keys.
type settler struct {
	*core
	prop  *proposer
	trans *settlePass // the transition pass of the current change, nil for none
	gain  *settlePass // the gain pass under way, nil once settled
	prev  Placement   // the ring before the change the gain pass settles
}

func newSettler(c *core, p *proposer) *settler {
	s := &settler{core: c, prop: p}
	c.settleDone = s.settled
	return s
}

// unready reports whether this node refuses to vote on strong key, of
// which it holds no record: it gained the key in a ring change it has not
// settled yet.
func (s *settler) unready(key []byte) bool { return s.gain != nil && s.gained(key) }

// gained reports whether this node owns key since the change the gain pass
// settles, and did not before it.
func (s *settler) gained(key []byte) bool {
	p, _ := s.cfg.Strong.Of(key)
	if p.Scope == ScopeLocal && p.Home != s.cfg.region() {
		return false
	}
	return !slices.Contains(s.prev.Owners(key, s.cfg.Replicas), s.cfg.ID) && s.owns(key, s.cfg.ID)
}

// viewChanged notes a new view: a ring that changed with no change under
// way before or after it starts a gain pass.
func (s *settler) viewChanged(old View) {
	v := s.view
	if len(s.cfg.Strong) == 0 || old.Placement == nil || old.Next != nil || v.Next != nil || old.Epoch == v.Epoch {
		return
	}
	if s.gain == nil {
		s.prev = old.Placement // a change on top of one not settled keeps the ring before both
	}
	s.gain = newPass(true, v.Epoch)
}

// settling reports whether this node must settle the ring change of its
// view: a change is under way, it completes it, and keys are strong.
func (s *settler) settling() bool {
	return s.view.Next != nil && (s.view.Joining || s.view.Leaving || s.view.Steward) && len(s.cfg.Strong) > 0
}

// whom names the node the transition pass settles the keys of: this node,
// or any ("") for the steward of a removal.
func (s *settler) whom() crdt.NodeID {
	if s.view.Steward && !s.view.Joining && !s.view.Leaving {
		return ""
	}
	return s.cfg.ID
}

// done reports whether the change of the current view is settled.
func (s *settler) done() bool {
	if !s.settling() {
		return true
	}
	return s.trans != nil && s.trans.epoch == s.view.Epoch && s.passDone(s.trans)
}

func (s *settler) passDone(p *settlePass) bool {
	missing := 0
	for _, id := range s.view.Members {
		if id == s.cfg.ID || p.complete[id] || s.view.Older[id] { // a node of an older build keeps no acceptor records
			continue
		}
		if !s.view.Removing[id] {
			return false
		}
		// A member being removed may never answer. A value was decided by
		// a majority of its key's acceptors: while fewer than a majority
		// of N are missing, one that listed holds it.
		if missing++; missing > s.cfg.Replicas/2 {
			return false
		}
	}
	if remote := s.remoteListers(); len(remote) > 0 {
		// A global key's acceptors are in every region: those of the
		// other regions that did not answer (down, cut off) count with
		// the removed ones against the smallest majority of them.
		for _, id := range remote {
			if !p.complete[id] {
				missing++
			}
		}
		if missing > s.globalAcceptors()/2 {
			return false
		}
	}
	for _, ok := range p.keys {
		if !ok {
			return false
		}
	}
	return true
}

func (s *settler) tick() {
	switch {
	case !s.settling():
		s.trans = nil
	case s.trans == nil || s.trans.epoch != s.view.Epoch:
		s.trans = newPass(false, s.view.Epoch)
		s.scanOwn(s.trans)
	}
	if s.trans != nil {
		s.step(s.trans)
	}
	if g := s.gain; g != nil && s.view.Placement != nil {
		if g.epoch != s.view.Epoch {
			*g = *newPass(true, s.view.Epoch) // the ring changed again: start over
		}
		s.step(g)
		if s.passDone(g) {
			s.gain = nil
		}
	}
}

// step asks the members that have not listed their keys, and runs a round
// on each key not settled.
func (s *settler) step(p *settlePass) {
	for _, id := range append(slices.Clone(s.view.Members), s.remoteListers()...) {
		if id == s.cfg.ID || p.complete[id] || s.view.Older[id] || s.now-p.asked[id] < int64(s.cfg.RequestTimeout) {
			continue
		}
		p.asked[id] = s.now
		m := wire.Message{Type: wire.MsgSettle, To: id, ID: s.newID(partCoordinator), Epoch: p.epoch, Hashes: []uint64{p.from[id]}}
		switch {
		case p.gain:
			m.Level = settleGain
		case s.whom() == "":
			m.Level = settleAll
		}
		s.send(m)
	}
	if s.now < p.retryAt {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(p.keys)) {
		if !p.keys[k] && !p.inflight[k] {
			p.inflight[k] = true
			s.prop.propose(origin{settle: &settleWait{key: k, pass: p}}, &wire.Op{Kind: wire.OpGet, Key: []byte(k)})
		}
	}
}

// remoteListers returns the nodes of the other regions a pass asks for
// their keys, qualified: where a global prefix is declared, every member
// of every other region (a global key's acceptors are in every region,
// and a majority of them may hold none of this region); none otherwise.
func (s *settler) remoteListers() []crdt.NodeID {
	if !s.cfg.Strong.global() {
		return nil
	}
	var out []crdt.NodeID
	for _, rv := range s.view.Remote {
		out = append(out, rv.Members...)
	}
	return out
}

// globalAcceptors returns how many acceptors a global key has: N in every
// region, or fewer where a region has fewer members.
func (s *settler) globalAcceptors() int {
	n := min(s.cfg.Replicas, len(s.view.Members))
	for _, rv := range s.view.Remote {
		reps := rv.Replicas
		if reps == 0 {
			reps = s.cfg.Replicas
		}
		n += min(reps, len(rv.Members))
	}
	return n
}

// scanOwn adds the keys this node keeps a record of that the change moves.
func (s *settler) scanOwn(p *settlePass) {
	_ = s.store.ScanAcceptors(0, ^uint64(0), func(key []byte, _ wire.Acceptor) bool {
		if s.moves(key, s.whom()) {
			p.keys[string(key)] = false
		}
		return true
	})
}

// moves reports whether the change under way moves the acceptors of
// strong key, and involves node who (an owner before or after it; any
// node for "").
func (n *core) moves(key []byte, who crdt.NodeID) bool {
	p, ok := n.cfg.Strong.Of(key)
	if !ok || n.view.Next == nil || n.view.Placement == nil || (p.Scope == ScopeLocal && p.Home != n.cfg.region()) {
		return false
	}
	before, after := n.owners(key), n.nextOwners(key)
	if slices.Equal(before, after) {
		return false
	}
	return who == "" || slices.Contains(before, who) || slices.Contains(after, who)
}

// movesIn reports, for a pass of a node of region rv, whether strong key
// is global and the change of rv's ring moves its acceptors there and
// involves who (any node for a settleAll pass), or, for a gain pass,
// whether who is an owner of it there.
func (n *core) movesIn(rv *RegionView, key []byte, who crdt.NodeID, level uint8) bool {
	p, ok := n.cfg.Strong.Of(key)
	if !ok || p.Scope != ScopeGlobal || rv.Placement == nil {
		return false
	}
	reps := rv.Replicas
	if reps == 0 {
		reps = n.cfg.Replicas
	}
	before, after := rv.Placement.Owners(key, reps), nextIn(rv, key, reps)
	switch level {
	case settleGain:
		return slices.Contains(before, who) || slices.Contains(after, who)
	case settleAll:
		who = ""
	}
	if slices.Equal(before, after) {
		return false
	}
	return who == "" || slices.Contains(before, who) || slices.Contains(after, who)
}

// nextIn returns the owners of key in rv's ring once its change
// completes: in its ring now when none is under way.
func nextIn(rv *RegionView, key []byte, reps int) []crdt.NodeID {
	if rv.Next == nil {
		return rv.Placement.Owners(key, reps)
	}
	return rv.Next.Owners(key, reps)
}

// owns reports whether who is an owner of strong key in this region now.
func (n *core) owns(key []byte, who crdt.NodeID) bool {
	p, ok := n.cfg.Strong.Of(key)
	if !ok || n.view.Placement == nil || (p.Scope == ScopeLocal && p.Home != n.cfg.region()) {
		return false
	}
	return slices.Contains(n.owners(key), who) || slices.Contains(n.nextOwners(key), who)
}

// settled takes the answer of a settling round.
func (s *settler) settled(w *settleWait, r Response) {
	p := w.pass
	delete(p.inflight, w.key)
	if r.Err != nil {
		p.retryAt = s.now + int64(100*time.Millisecond)
		return
	}
	if !p.keys[w.key] {
		p.keys[w.key] = true
		s.stats.Settled++
	}
}

// onSettle lists, for a member's pass, the strong keys this node keeps a
// record of that the change moves and that involve the member (a
// transition pass), or whose owners include it (a gain pass).
func (s *settler) onSettle(m wire.Message) {
	reply := wire.Message{Type: wire.MsgSettleReply, To: m.From, ID: m.ID, Epoch: m.Epoch, Level: m.Level}
	epoch, match := s.view.Epoch, s.moves
	switch m.Level {
	case settleGain:
		match = s.owns
	case settleAll:
		match = func(key []byte, _ crdt.NodeID) bool { return s.moves(key, "") }
	}
	if region, _, ok := SplitQualified(m.From); ok {
		// A node of another region settles a change of its region's
		// ring: the global keys it moves, as this node sees that ring.
		epoch = 0
		if rv := s.view.remote(region); rv != nil {
			epoch, match = rv.Epoch, func(key []byte, who crdt.NodeID) bool { return s.movesIn(rv, key, who, m.Level) }
		}
	}
	if m.Epoch != epoch || len(m.Hashes) != 1 {
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
		if match(key, m.From) {
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
	p := s.trans
	if m.Level == settleGain {
		p = s.gain
	}
	if p == nil || m.Epoch != p.epoch || p.complete[m.From] || m.Code != wire.CodeOK {
		return // asked again after RequestTimeout
	}
	for _, k := range m.Keys {
		if _, ok := p.keys[string(k.Key)]; ok {
			continue
		}
		settled := false
		if p.gain {
			// Only a key this node gained, and holds no record of, needs a
			// round: on the others it votes as an acceptor that was there.
			rec, err := s.store.GetAcceptor(k.Key)
			settled = (err == nil && !rec.IsZero()) || !s.gained(k.Key)
		}
		p.keys[string(k.Key)] = settled
	}
	if len(m.Hashes) == 1 {
		p.from[m.From] = m.Hashes[0]
		p.asked[m.From] = 0 // ask for the rest at once
		return
	}
	p.complete[m.From] = true
}
