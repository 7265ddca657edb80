package sync

import (
	"slices"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// writeOp is a write this node coordinates, waiting for acknowledgements.
type writeOp struct {
	origin   origin
	key      []byte
	delta    crdt.State
	result   crdt.State
	changed  int64
	level    Level
	need     int
	acks     int
	waiting  []ackWait
	deadline int64
	answered bool
}

// ackWait is a replica, or a fallback holding a hint for one, that has not
// acknowledged yet.
type ackWait struct {
	peer, target crdt.NodeID
}

// coordinateWrite applies op here, as one of the key's owners, and sends the
// delta to the other owners, or to fallbacks as hints for the ones down.
func (n *Node) coordinateWrite(o origin, op *wire.Op, owners []crdt.NodeID) {
	lvl := level(op)
	need := lvl.Required(len(owners))
	plan := n.plan(op.Key, owners)
	if reach := 1 + len(plan.direct) + len(plan.fallback); reach < need {
		n.answer(o, Response{Err: &UnavailableError{Level: lvl, Alive: reach, Need: need, Write: true}})
		return
	}
	st, err := n.own(op.Key)
	if err != nil {
		n.answer(o, Response{Err: err})
		return
	}
	delta, changed, err := n.apply(&st, op, n.timestamp(st))
	if err != nil {
		n.answer(o, Response{Err: err})
		return
	}
	n.stats.Coordinated++
	n.pending[string(op.Key)] = st
	n.batch.Puts = append(n.batch.Puts, Entry{Key: op.Key, State: delta})

	w := &writeOp{origin: o, key: op.Key, delta: delta, result: st, changed: changed,
		level: lvl, need: need, acks: 1, deadline: n.now + int64(n.cfg.RequestTimeout)}
	id := n.newID()
	for _, p := range plan.direct {
		n.send(wire.Message{Type: wire.MsgWrite, To: p, ID: id, Key: op.Key, State: delta})
		w.waiting = append(w.waiting, ackWait{peer: p, target: p})
	}
	for _, f := range plan.fallback {
		n.send(wire.Message{Type: wire.MsgWrite, To: f.peer, ID: id, Key: op.Key, State: delta, Target: f.target})
		w.waiting = append(w.waiting, f)
	}
	for _, t := range plan.local {
		n.hint(t, op.Key, delta)
	}
	if n.view.Next != nil {
		for _, p := range n.nextOwners(op.Key) {
			// Future owners get the write too, without counting towards
			// the level; anti-entropy covers a lost one.
			if p != n.cfg.ID && !slices.Contains(owners, p) && !n.view.Down[p] {
				n.send(wire.Message{Type: wire.MsgWrite, To: p, Key: op.Key, State: delta})
			}
		}
	}
	n.settle(w)
	if len(w.waiting) > 0 {
		n.writes[id] = w
		n.fresh = append(n.fresh, id)
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
		w.answered = true
		n.answer(w.origin, Response{State: w.result, Changed: w.changed})
	}
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
	if err == nil && m.Target == "" && m.State.Kind() == crdt.KindCounter {
		// A counter's reply is its value: send back what this replica
		// holds, so that the coordinator answers with every increment a
		// quorum has acknowledged, not only the ones it has itself. If
		// the key cannot be read, the write is still merged: acknowledge
		// it without a state.
		if st, rerr := n.get(m.Key); rerr == nil {
			ack.State = st
		}
	}
	ack.Code, ack.Err = encodeErr(err)
	n.send(ack)
}

func (n *Node) onWriteAck(m wire.Message) {
	if n.hints.acked(n, m) || n.handoffAcked(m) {
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
		if !w.answered && !m.State.IsZero() {
			w.result = crdt.Merge(w.result, m.State)
		}
		n.settle(w)
	} else if a.peer == a.target {
		n.hint(a.target, w.key, w.delta)
	}
	if len(w.waiting) == 0 {
		delete(n.writes, m.ID)
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
			n.hint(a.target, w.key, w.delta)
		}
		if !w.answered {
			n.stats.Timeouts++
			w.answered = true
			n.answer(w.origin, Response{Err: &TimeoutError{Level: w.level, Got: w.acks, Need: w.need, Timeout: n.cfg.RequestTimeout, Write: true}})
		}
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
