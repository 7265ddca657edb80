package sync

import (
	"slices"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// writeOp is a write this node coordinates. At QUORUM and ALL it first
// reads a quorum of the key's owners (the prepare phase), so that the dot it
// mints and the context it carries follow every write a quorum of owners
// acknowledged before it: a client's sequential writes then take effect in
// order on every replica, whatever the clocks say. It then applies the
// operation and waits for the acknowledgements its level needs.
type writeOp struct {
	origin   origin
	op       wire.Op
	owners   []crdt.NodeID
	delta    crdt.State
	result   crdt.State
	changed  int64
	level    Level
	need     int
	acks     int
	sloppy   bool // a fallback's acknowledgement counted, or no quorum of owners was read first
	waiting  []ackWait
	refused  []string // why replicas refused the write
	deadline int64
	answered bool
	applied  bool // past the prepare phase: the dot is minted
}

// ackWait is a replica, or a fallback holding a hint for one, that has not
// acknowledged yet.
type ackWait struct {
	peer, target crdt.NodeID
}

// prepares reports whether writes at lvl read a quorum of owners before
// they mint: every level that promises to see earlier acknowledged writes.
func prepares(lvl Level) bool { return lvl != One && lvl != LocalOne }

// coordinateWrite coordinates op as one of the key's owners: at QUORUM and
// ALL it reads a quorum of owners first (startPrepare), then applies op
// here, minting the write's dot, and sends the result to the other owners,
// or to fallbacks as hints for the ones down.
func (n *Node) coordinateWrite(o origin, op *wire.Op, owners []crdt.NodeID) {
	lvl := level(op)
	need := lvl.Required(len(owners))
	plan := n.plan(op.Key, owners)
	if reach := 1 + len(plan.direct) + len(plan.fallback); reach < need {
		n.answer(o, Response{Err: &UnavailableError{Level: lvl, Alive: reach, Need: need, Write: true}})
		return
	}
	w := &writeOp{origin: o, op: *op, owners: owners, level: lvl, need: need,
		deadline: n.now + int64(n.cfg.RequestTimeout)}
	if prepares(lvl) && len(owners) > 1 {
		quorum := Quorum.Required(len(owners))
		if 1+len(plan.direct) >= quorum {
			n.startPrepare(w, quorum)
			return
		}
		// Too few owners reachable to read a quorum of them: the write goes
		// ahead on the fallbacks (a sloppy quorum), without the guarantee.
		w.sloppy = true
	}
	n.applyWrite(w, nil)
}

// applyWrite applies w's operation to this replica's state merged with the
// replies of its prepare phase (nil for none), and sends the result out.
func (n *Node) applyWrite(w *writeOp, replies map[crdt.NodeID]crdt.State) {
	key := w.op.Key
	if err := n.mintable(); err != nil {
		n.answerWrite(w, Response{Err: err})
		return
	}
	st, err := n.own(key)
	if err != nil {
		n.answerWrite(w, Response{Err: err})
		return
	}
	local := st.Clone()
	for _, id := range sortedNodes(replies) {
		if id != n.cfg.ID {
			st.Merge(replies[id])
		}
	}
	before := st.Clone()
	delta, changed, err := n.apply(&st, &w.op, n.timestamp(st))
	if err != nil {
		if !before.Equal(local) {
			n.merge(key, before) // what the prepare phase read: a read repair
		}
		n.answerWrite(w, Response{Err: err})
		return
	}
	w.applied, w.delta, w.result, w.changed, w.acks = true, delta, st, changed, 1
	n.stats.Coordinated++
	n.pending[string(key)] = st
	mine := delta
	if !before.Equal(local) {
		mine = st // this replica lacked what the others had: store it all
	}
	n.batch.Puts = append(n.batch.Puts, wire.Entry{Key: key, State: mine})

	owners := n.owners(key) // the view may have changed while it read
	if !slices.Contains(owners, n.cfg.ID) {
		owners = w.owners
	}
	plan := n.plan(key, owners)
	id := n.newID()
	// A replica whose prepare reply lacked something gets the whole state,
	// so that what this write observed is on every replica that acknowledges
	// it; the others get the delta.
	payload := func(p crdt.NodeID) crdt.State {
		if r, ok := replies[p]; ok && !r.Equal(before) {
			return st
		}
		return delta
	}
	for _, p := range plan.direct {
		n.send(wire.Message{Type: wire.MsgWrite, To: p, ID: id, Key: key, State: payload(p)})
		w.waiting = append(w.waiting, ackWait{peer: p, target: p})
	}
	for _, f := range plan.fallback {
		n.send(wire.Message{Type: wire.MsgWrite, To: f.peer, ID: id, Key: key, State: payload(f.target), Target: f.target})
		w.waiting = append(w.waiting, f)
	}
	for _, t := range plan.local {
		n.hint(t, key, payload(t))
	}
	if n.view.Next != nil {
		for _, p := range n.nextOwners(key) {
			// Future owners get the write too, without counting towards
			// the level; anti-entropy covers a lost one.
			if p != n.cfg.ID && !slices.Contains(owners, p) && !n.view.Down[p] {
				n.send(wire.Message{Type: wire.MsgWrite, To: p, Key: key, State: st})
			}
		}
	}
	n.settle(w)
	if len(w.waiting) > 0 {
		n.writes[id] = w
		n.fresh = append(n.fresh, id)
	} else if !w.answered {
		n.failWrite(w)
	}
}

// writePlan says where a write's copies go.
type writePlan struct {
	direct   []crdt.NodeID // owners reachable
	fallback []ackWait     // fallbacks holding a hint for an owner down
	local    []crdt.NodeID // owners down with no fallback: hinted here
}

func (n *Node) plan(key []byte, owners []crdt.NodeID) writePlan {
	var p writePlan
	var down []crdt.NodeID
	for _, id := range owners {
		switch {
		case id == n.cfg.ID:
		case n.view.Down[id]:
			down = append(down, id)
		default:
			p.direct = append(p.direct, id)
		}
	}
	if len(down) == 0 {
		return p
	}
	// Fallbacks are the next nodes along the key's preference list.
	ext := n.view.Placement.Owners(key, len(n.view.Members))
	for _, f := range ext[min(len(owners), len(ext)):] {
		if len(down) == 0 {
			break
		}
		if f != n.cfg.ID && !n.view.Down[f] {
			p.fallback = append(p.fallback, ackWait{peer: f, target: down[0]})
			down = down[1:]
		}
	}
	p.local = down
	return p
}

// settle answers the write once enough replicas acknowledged it.
func (n *Node) settle(w *writeOp) {
	if !w.answered && w.acks >= w.need {
		if w.sloppy {
			n.stats.SloppyWrites++
		}
		n.answerWrite(w, Response{State: w.result, Changed: w.changed, Sloppy: w.sloppy})
	}
}

// answerWrite answers w's client once.
func (n *Node) answerWrite(w *writeOp, r Response) {
	if w.answered {
		return
	}
	w.answered = true
	n.answer(w.origin, r)
}

// failWrite answers a write that can no longer reach its level: every
// replica asked has answered or timed out.
func (n *Node) failWrite(w *writeOp) {
	if w.answered {
		return
	}
	n.stats.Timeouts++
	n.answerWrite(w, Response{Err: &TimeoutError{Level: w.level, Got: w.acks, Need: w.need,
		Timeout: n.cfg.RequestTimeout, Write: true, Refused: w.refused}})
}

// onWrite merges a replicated write, or keeps it as a hint for its target,
// and acknowledges it.
func (n *Node) onWrite(m wire.Message) {
	var err error
	switch {
	case m.Target != "" && m.Target != n.cfg.ID:
		err = n.takeHint(m.Target, m.Key, m.State)
	default:
		n.stats.ReplicaWrites++
		n.merge(m.Key, m.State)
	}
	if m.ID == 0 {
		return
	}
	ack := wire.Message{Type: wire.MsgWriteAck, To: m.From, ID: m.ID}
	ack.Code, ack.Err = encodeErr(err)
	n.send(ack)
}

func (n *Node) onWriteAck(m wire.Message) {
	if n.hints.acked(n, m) || n.handoffAcked(m) || n.repairAcked(m) {
		return
	}
	w, ok := n.writes[m.ID]
	if !ok {
		return
	}
	i := slices.IndexFunc(w.waiting, func(a ackWait) bool { return a.peer == m.From })
	if i < 0 {
		return
	}
	a := w.waiting[i]
	w.waiting = slices.Delete(w.waiting, i, i+1)
	if m.Code == wire.CodeOK {
		w.acks++
		if a.peer != a.target && !w.answered {
			w.sloppy = true
		}
		n.settle(w)
	} else {
		w.refused = append(w.refused, string(m.From)+": "+m.Err)
		if a.peer == a.target {
			n.hint(a.target, w.op.Key, w.delta)
		}
	}
	if len(w.waiting) == 0 {
		delete(n.writes, m.ID)
		n.failWrite(w)
	}
}

// expireWrites hints the replicas that did not answer in time and answers
// the writes that did not reach their level.
func (n *Node) expireWrites() {
	for _, id := range sortedIDs(n.writes) {
		w := n.writes[id]
		if w.deadline > n.now {
			continue
		}
		for _, a := range w.waiting {
			n.hint(a.target, w.op.Key, w.delta)
		}
		n.failWrite(w)
		delete(n.writes, id)
	}
}

// forwardOp is a request sent to its coordinator, waiting for the answer.
type forwardOp struct {
	origin   origin
	op       wire.Op
	deadline int64
}

func (n *Node) forward(o origin, op *wire.Op, coordinator crdt.NodeID) {
	n.stats.Forwarded++
	id := n.newID()
	n.forwards[id] = &forwardOp{origin: o, op: *op, deadline: n.now + int64(n.cfg.RequestTimeout)*3/2}
	n.send(wire.Message{Type: wire.MsgForward, To: coordinator, ID: id, Op: op})
}

// onForward coordinates a write another node forwarded here.
func (n *Node) onForward(m wire.Message) {
	o := origin{node: m.From, fwd: m.ID}
	if _, dup := n.seen[o]; dup || m.Op == nil {
		return // a duplicate delivery: the first one is answered
	}
	n.seen[o] = n.now + 4*int64(n.cfg.RequestTimeout)
	if err := n.validate(m.Op); err != nil {
		n.answer(o, Response{Err: err})
		return
	}
	owners := n.owners(m.Op.Key)
	if !slices.Contains(owners, n.cfg.ID) {
		n.answer(o, Response{Err: rejectf("node %s is not a replica of this key in its view of the ring: membership is changing, retry", n.cfg.ID)})
		return
	}
	n.coordinateWrite(o, m.Op, owners)
}

func (n *Node) onForwardReply(m wire.Message) {
	f, ok := n.forwards[m.ID]
	if !ok {
		return
	}
	delete(n.forwards, m.ID)
	n.answer(f.origin, Response{State: m.State, Changed: m.Changed, Err: decodeErr(m.Code, m.Err)})
}

func (n *Node) expireForwards() {
	for _, id := range sortedIDs(n.forwards) {
		f := n.forwards[id]
		if f.deadline > n.now {
			continue
		}
		delete(n.forwards, id)
		n.stats.Timeouts++
		lvl := level(&f.op)
		n.answer(f.origin, Response{Err: &TimeoutError{Level: lvl, Got: 0, Need: lvl.Required(n.cfg.Replicas),
			Timeout: n.cfg.RequestTimeout * 3 / 2, Write: true}})
	}
}

func sortedNodes[V any](m map[crdt.NodeID]V) []crdt.NodeID {
	out := make([]crdt.NodeID, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}
