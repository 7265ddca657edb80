package sync

import (
	"fmt"
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
func (c *coordinator) coordinateWrite(o origin, op *wire.Op, owners []crdt.NodeID) {
	if o.span == nil && c.spanning(level(op)) {
		s, localLevel, ok := c.startSpan(o, op, len(owners))
		if ok {
			local := *op
			local.Level = uint8(localLevel)
			c.coordinateWrite(origin{span: s}, &local, owners)
		}
		return
	}
	lvl := level(op)
	need := lvl.Required(len(owners))
	plan := c.plan(op.Key, owners)
	if reach := 1 + len(plan.direct) + len(plan.fallback); reach < need {
		c.answer(o, Response{Err: &UnavailableError{Level: lvl, Alive: reach, Need: need, Write: true}})
		return
	}
	w := &writeOp{origin: o, op: *op, owners: owners, level: lvl, need: need,
		deadline: c.now + int64(c.cfg.RequestTimeout)}
	if prepares(lvl) && len(owners) > 1 {
		quorum := Quorum.Required(len(owners))
		if 1+len(plan.direct) >= quorum {
			c.startPrepare(w, quorum)
			return
		}
		// Too few owners reachable to read a quorum of them: the write goes
		// ahead on the fallbacks (a sloppy quorum), without the guarantee.
		w.sloppy = true
	}
	c.applyWrite(w, nil)
}

// applyWrite applies w's operation to this replica's state merged with the
// replies of its prepare phase (nil for none), and sends the result out.
func (c *coordinator) applyWrite(w *writeOp, replies map[crdt.NodeID]crdt.State) {
	key := w.op.Key
	if err := c.mintable(); err != nil {
		c.answerWrite(w, Response{Err: err})
		return
	}
	if c.left() {
		// It left while the write's prepare phase read: what its outbox
		// would owe the other regions would leave with it.
		c.answerWrite(w, Response{Err: rejectf("node %s left its region while this write was under way; nothing was applied: retry on another node", c.cfg.ID)})
		return
	}
	st, err := c.own(key)
	if err != nil {
		c.answerWrite(w, Response{Err: err})
		return
	}
	local := st.Clone()
	for _, id := range sortedNodes(replies) {
		if id != c.cfg.ID {
			st.Merge(replies[id])
		}
	}
	before := st.Clone()
	delta, changed, err := c.apply(&st, &w.op, c.timestamp(st))
	if err != nil {
		if !before.Equal(local) {
			c.merge(key, before) // what the prepare phase read: a read repair
		}
		c.answerWrite(w, Response{Err: err})
		return
	}
	w.applied, w.delta, w.result, w.changed, w.acks = true, delta, st, changed, 1
	c.stats.Coordinated++
	c.pending[string(key)] = st
	mine := delta
	if !before.Equal(local) {
		mine = st // this replica lacked what the others had: store it all
	}
	c.batch.Puts = append(c.batch.Puts, wire.Entry{Key: key, State: mine})
	c.owe(key, delta)

	owners := c.owners(key) // the view may have changed while it read
	if !slices.Contains(owners, c.cfg.ID) {
		owners = w.owners
	}
	plan := c.plan(key, owners)
	id := c.newID(partCoordinator)
	// A replica whose prepare reply lacked something gets the whole state,
	// so that what this write observed is on every replica that acknowledges
	// it; the others get the delta.
	payload := func(p crdt.NodeID) crdt.State {
		if r, ok := replies[p]; ok && !r.Equal(before) {
			return st
		}
		return delta
	}
	c.sendCopies(w, id, plan, payload)
	if c.view.Next != nil {
		for _, p := range c.nextOwners(key) {
			// Future owners get the write too, without counting towards
			// the level; anti-entropy covers a lost one.
			if p != c.cfg.ID && !slices.Contains(owners, p) && !c.view.Down[p] {
				c.send(wire.Message{Type: wire.MsgWrite, To: p, Key: key, State: st})
			}
		}
	}
	if s := w.origin.span; s != nil {
		// The other regions' part, at once: the whole state, so that what
		// this write observed reaches them with it. A delta would carry
		// only what the write itself changed: a remove that found its
		// element gone already (an earlier delete, not shipped yet) would
		// leave it present in the other regions after an acknowledgement
		// of ALL (simulator seed 232 with -strong).
		c.relayWrite(s, key, st)
	}
	c.await(w, id)
}

// sendCopies sends w's copies as plan says, each replica's payload(p):
// to the owners reachable, to fallbacks as hints for the owners down, and
// as hints kept here for the owners down with no fallback.
func (c *coordinator) sendCopies(w *writeOp, id uint64, plan writePlan, payload func(crdt.NodeID) crdt.State) {
	key := w.op.Key
	for _, p := range plan.direct {
		c.send(wire.Message{Type: wire.MsgWrite, To: p, ID: id, Key: key, State: payload(p)})
		w.waiting = append(w.waiting, ackWait{peer: p, target: p})
	}
	for _, f := range plan.fallback {
		c.send(wire.Message{Type: wire.MsgHint, To: f.peer, ID: id, Key: key, State: payload(f.target), Target: f.target})
		w.waiting = append(w.waiting, f)
	}
	for _, t := range plan.local {
		c.hints.hint(t, key, payload(t))
	}
}

// await answers w if its level is reached already, else keeps it under id
// for the acknowledgements; a write with none to wait for and not answered
// fails.
func (c *coordinator) await(w *writeOp, id uint64) {
	c.settle(w)
	if len(w.waiting) > 0 {
		c.writes[id] = w
		c.fresh = append(c.fresh, id)
	} else if !w.answered {
		c.failWrite(w)
	}
}

// writePlan says where a write's copies go.
type writePlan struct {
	direct   []crdt.NodeID // owners reachable
	fallback []ackWait     // fallbacks holding a hint for an owner down
	local    []crdt.NodeID // owners down with no fallback: hinted here
}

func (c *coordinator) plan(key []byte, owners []crdt.NodeID) writePlan {
	var p writePlan
	var down []crdt.NodeID
	for _, id := range owners {
		switch {
		case id == c.cfg.ID:
		case c.view.Down[id]:
			down = append(down, id)
		default:
			p.direct = append(p.direct, id)
		}
	}
	if len(down) == 0 {
		return p
	}
	// Fallbacks are the next nodes along the key's preference list.
	ext := c.view.Placement.Owners(key, len(c.view.Members))
	for _, f := range ext[min(len(owners), len(ext)):] {
		if len(down) == 0 {
			break
		}
		if f != c.cfg.ID && !c.view.Down[f] {
			p.fallback = append(p.fallback, ackWait{peer: f, target: down[0]})
			down = down[1:]
		}
	}
	p.local = down
	return p
}

// settle answers the write once enough replicas acknowledged it.
func (c *coordinator) settle(w *writeOp) {
	if !w.answered && w.acks >= w.need {
		if w.sloppy {
			c.stats.SloppyWrites++
		}
		c.answerWrite(w, Response{State: w.result, Changed: w.changed, Sloppy: w.sloppy})
	}
}

// answerWrite answers w's client once.
func (c *coordinator) answerWrite(w *writeOp, r Response) {
	if w.answered {
		return
	}
	w.answered = true
	c.answer(w.origin, r)
}

// failWrite answers a write that can no longer reach its level: every
// replica asked has answered or timed out.
func (c *coordinator) failWrite(w *writeOp) {
	if w.answered {
		return
	}
	c.stats.Timeouts++
	c.answerWrite(w, Response{Err: &TimeoutError{Level: w.level, Got: w.acks, Need: w.need,
		Timeout: c.cfg.RequestTimeout, Write: true, Refused: w.refused}})
}

// acked handles an acknowledgement of a write this part sent: a write it
// coordinates, or the copy of a blocking read repair.
func (c *coordinator) acked(m wire.Message) {
	if c.repairAcked(m) {
		return
	}
	w, ok := c.writes[m.ID]
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
		c.settle(w)
	} else {
		w.refused = append(w.refused, string(m.From)+": "+m.Err)
		if a.peer == a.target {
			c.hints.hint(a.target, w.op.Key, w.delta)
		}
	}
	if len(w.waiting) == 0 {
		delete(c.writes, m.ID)
		c.failWrite(w)
	}
}

// expireWrites hints the replicas that did not answer in time and answers
// the writes that did not reach their level.
func (c *coordinator) expireWrites() {
	for _, id := range sortedIDs(c.writes) {
		w := c.writes[id]
		if w.deadline > c.now {
			continue
		}
		for _, a := range w.waiting {
			c.hints.hint(a.target, w.op.Key, w.delta)
		}
		c.failWrite(w)
		delete(c.writes, id)
	}
}

// forwardOp is a request sent to its coordinator, waiting for the answer.
type forwardOp struct {
	origin   origin
	op       wire.Op
	deadline int64
}

func (c *coordinator) forward(o origin, op *wire.Op, coordinator crdt.NodeID) {
	c.stats.Forwarded++
	id := c.newID(partCoordinator)
	c.forwards[id] = &forwardOp{origin: o, op: *op, deadline: c.now + int64(c.cfg.RequestTimeout)*3/2}
	c.send(wire.Message{Type: wire.MsgForward, To: coordinator, ID: id, Op: op})
}

// onForward coordinates a write another node forwarded here.
func (c *coordinator) onForward(m wire.Message) {
	_, _, remote := SplitQualified(m.From)
	o := origin{node: m.From, fwd: m.ID, local: remote}
	if _, dup := c.seen[o]; dup || m.Op == nil {
		return // a duplicate delivery: the first one is answered
	}
	c.seen[o] = c.now + 4*int64(c.cfg.RequestTimeout)
	if err := c.validate(m.Op); err != nil {
		c.answer(o, Response{Err: err})
		return
	}
	if c.routeStrong(o, m.Op, true) {
		return
	}
	if m.Op.Kind == wire.OpGet || m.Op.Kind == wire.OpInspect {
		c.coordinateRead(o, m.Op) // another region's part of a read across regions
		return
	}
	owners := c.owners(m.Op.Key)
	if !slices.Contains(owners, c.cfg.ID) {
		c.answer(o, Response{Err: rejectf("node %s is not a replica of this key in its view of the ring: membership is changing, retry", c.cfg.ID)})
		return
	}
	c.coordinateWrite(o, m.Op, owners)
}

func (c *coordinator) onForwardReply(m wire.Message) {
	if s, ok := c.spans[m.ID]; ok {
		c.onSpanReply(s, m)
		return
	}
	f, ok := c.forwards[m.ID]
	if !ok {
		return
	}
	delete(c.forwards, m.ID)
	r := Response{State: m.State, Changed: m.Changed, Err: decodeErr(m.Code, m.Err)}
	if len(m.Blob) > 0 {
		v, err := wire.DecodeStrong(m.Blob)
		if err != nil && r.Err == nil {
			r.Err = fmt.Errorf("%w: the answer of node %s does not decode (%v): the operation may have been applied", ErrUnknownOutcome, m.From, err)
		}
		r.Strong = &v
	}
	c.answer(f.origin, r)
}

func (c *coordinator) expireForwards() {
	for _, id := range sortedIDs(c.forwards) {
		f := c.forwards[id]
		if f.deadline > c.now {
			continue
		}
		delete(c.forwards, id)
		c.stats.Timeouts++
		lvl := level(&f.op)
		c.answer(f.origin, Response{Err: &TimeoutError{Level: lvl, Got: 0, Need: lvl.Required(c.cfg.Replicas),
			Timeout: c.cfg.RequestTimeout * 3 / 2, Write: true}})
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
