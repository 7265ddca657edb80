package sync

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// readOp is a read this node coordinates: it asks as many owners as its
// level needs (this node first, when it is one), asks the others too when
// one fails or the answers are late, and repairs the replicas that answered
// with less than the merged state.
//
// A read serves three purposes: a client's read, which at QUORUM and ALL
// answers only once the state it returns is held by as many owners as its
// level needs (a blocking read repair, so that a later read cannot go back
// in time); an inspection, which waits for every owner and shows each one's
// state; and the prepare phase of a write (write != nil), which hands the
// replies to the write instead of answering.
type readOp struct {
	origin   origin
	key      []byte
	level    Level
	need     int
	asked    []crdt.NodeID
	spare    []crdt.NodeID          // reachable owners not asked yet
	failed   map[crdt.NodeID]string // replicas that answered with an error, and why
	replies  map[crdt.NodeID]crdt.State
	retryAt  int64 // when the spare owners are asked if the level is not reached
	deadline int64
	answered bool
	inspect  bool          // answer once every replica answered, with each one's state
	owners   []crdt.NodeID // every owner, for an inspection
	write    *writeOp      // the write this read prepares
	// A blocking repair: the merged state answered once held holds.
	repairing  bool
	merged     crdt.State
	holds      int
	unrepaired []crdt.NodeID // replicas sent the merged state, not acknowledged yet
}

func (c *coordinator) coordinateRead(o origin, op *wire.Op) {
	if o.span == nil && !o.local && op.Kind == wire.OpGet && c.spanning(level(op)) {
		s, localLevel, ok := c.startSpan(o, op, len(c.owners(op.Key)))
		if ok {
			local := *op
			local.Level = uint8(localLevel)
			c.coordinateRead(origin{span: s}, &local)
		}
		return
	}
	c.stats.Reads++
	lvl := level(op)
	owners := c.owners(op.Key)
	need := lvl.Required(len(owners))
	inspect := op.Kind == wire.OpInspect
	r, err := c.newRead(op.Key, lvl, need, owners, inspect)
	if err != nil {
		c.answer(o, Response{Err: err})
		return
	}
	r.origin = o
	if _, local := r.replies[c.cfg.ID]; local && need == 1 && !inspect {
		// ONE served by this replica: no remote round trip, no repair.
		c.answer(o, Response{State: r.replies[c.cfg.ID]})
		return
	}
	c.sendReads(r)
}

// startPrepare starts the prepare phase of w: a read of quorum owners,
// this one included.
func (c *coordinator) startPrepare(w *writeOp, quorum int) {
	r, err := c.newRead(w.op.Key, Quorum, quorum, w.owners, false)
	if err != nil {
		var ue *UnavailableError
		if errors.As(err, &ue) {
			ue.Write = true
		}
		c.answerWrite(w, Response{Err: err})
		return
	}
	r.origin, r.write, r.deadline = w.origin, w, w.deadline
	c.sendReads(r)
}

// newRead builds a read of key from owners, with this node's own reply in
// it when it is one, or returns why it cannot be tried.
func (c *coordinator) newRead(key []byte, lvl Level, need int, owners []crdt.NodeID, inspect bool) (*readOp, error) {
	var reachable []crdt.NodeID
	local := false
	for _, id := range owners {
		if id == c.cfg.ID {
			local = true
		} else if !c.view.Down[id] {
			reachable = append(reachable, id)
		}
	}
	alive := len(reachable)
	if local {
		alive++
	}
	if (alive < need && !inspect) || len(owners) == 0 {
		return nil, &UnavailableError{Level: lvl, Alive: alive, Need: need}
	}
	// Ask this node and the first owners that make the level; an
	// inspection asks every reachable owner.
	remote := len(reachable)
	if !inspect {
		remote = need
		if local {
			remote--
		}
	}
	r := &readOp{key: key, level: lvl, need: need,
		asked: reachable[:remote:remote], spare: reachable[remote:],
		replies: make(map[crdt.NodeID]crdt.State, len(reachable)+1), failed: map[crdt.NodeID]string{},
		retryAt: c.now + int64(c.cfg.ReadRetryAfter), deadline: c.now + int64(c.cfg.RequestTimeout),
		inspect: inspect, owners: owners}
	if local {
		st, err := c.get(key)
		if err != nil {
			// This replica cannot read its own copy: ask another owner.
			r.failed[c.cfg.ID] = err.Error()
			r.asked = append([]crdt.NodeID{c.cfg.ID}, r.asked...)
			if len(r.spare) > 0 {
				r.asked = append(r.asked, r.spare[0])
				r.spare = r.spare[1:]
			}
			return r, nil
		}
		r.asked = append([]crdt.NodeID{c.cfg.ID}, r.asked...)
		r.replies[c.cfg.ID] = st
	}
	return r, nil
}

// sendReads asks the remote owners r lists, and registers r.
func (c *coordinator) sendReads(r *readOp) {
	id := c.newID(partCoordinator)
	for _, p := range r.asked {
		if p != c.cfg.ID {
			c.send(wire.Message{Type: wire.MsgRead, To: p, ID: id, Key: r.key})
		}
	}
	c.reads[id] = r
	c.progress(id, r)
}

// widen asks the spare owners too: a replica failed, or the level was not
// reached by the time the first ones should have answered.
func (c *coordinator) widen(id uint64, r *readOp) {
	for _, p := range r.spare {
		c.send(wire.Message{Type: wire.MsgRead, To: p, ID: id, Key: r.key})
		r.asked = append(r.asked, p)
	}
	r.spare = nil
}

func (c *coordinator) onRead(m wire.Message) {
	st, err := c.get(m.Key)
	code, text := encodeErr(err)
	c.send(wire.Message{Type: wire.MsgReadReply, To: m.From, ID: m.ID, Key: m.Key, State: st, Code: code, Err: text})
}

func (c *coordinator) onReadReply(m wire.Message) {
	r, ok := c.reads[m.ID]
	if !ok || !slices.Contains(r.asked, m.From) {
		return
	}
	if _, dup := r.replies[m.From]; dup || r.failed[m.From] != "" {
		return
	}
	if m.Code != wire.CodeOK {
		r.failed[m.From] = cmp.Or(m.Err, "failed")
		c.widen(m.ID, r)
	} else {
		r.replies[m.From] = m.State
	}
	c.progress(m.ID, r)
}

// failures lists the replicas that failed and why, in order.
func (r *readOp) failures() []string {
	out := make([]string, 0, len(r.failed))
	for _, id := range sortedNodes(r.failed) {
		out = append(out, fmt.Sprintf("%s: %s", id, r.failed[id]))
	}
	return out
}

// progress acts on what r has gathered: it answers, hands the replies to
// the write r prepares, starts a blocking repair, or gives up when every
// owner asked has answered without making the level.
func (c *coordinator) progress(id uint64, r *readOp) {
	if !r.answered && !r.repairing && !r.inspect && len(r.replies) >= r.need {
		switch {
		case r.write != nil:
			r.answered = true
			c.applyWrite(r.write, r.replies)
		case r.level == One || r.level == LocalOne:
			r.answered = true
			c.answer(r.origin, Response{State: r.merge()})
		default:
			c.startRepair(id, r)
		}
	}
	// Owners not asked (spares) need not answer: a failure asks them (widen).
	done := len(r.replies)+len(r.failed) >= len(r.asked)
	if done && !r.answered && !r.repairing && !r.inspect {
		c.failRead(r, fmt.Sprintf("the replicas asked answered with errors: %s", strings.Join(r.failures(), "; ")))
	}
	if done && !r.repairing {
		c.finishRead(id, r)
	}
}

// startRepair answers a QUORUM or ALL read once the merged state is held
// by as many owners as the level needs: at once when enough replies are
// equal to it, else after the replicas that had less acknowledge it.
func (c *coordinator) startRepair(id uint64, r *readOp) {
	r.merged = r.merge()
	r.holds = 0
	var stale []crdt.NodeID
	for _, p := range r.asked {
		s, ok := r.replies[p]
		switch {
		case !ok:
		case s.Equal(r.merged):
			r.holds++
		case p == c.cfg.ID:
			// Committed before the answer leaves: it holds it.
			c.stats.ReadRepairs++
			c.merge(r.key, r.merged)
			r.replies[p] = r.merged
			r.holds++
		default:
			stale = append(stale, p)
		}
	}
	if r.holds >= r.need {
		r.answered = true
		c.answer(r.origin, Response{State: r.merged})
		return
	}
	r.repairing = true
	for _, p := range stale {
		c.stats.ReadRepairs++
		c.send(wire.Message{Type: wire.MsgRepair, To: p, ID: id, Key: r.key, State: r.merged})
		r.unrepaired = append(r.unrepaired, p)
	}
}

// repairAcked handles the acknowledgement of a blocking read repair and
// reports whether m was one.
func (c *coordinator) repairAcked(m wire.Message) bool {
	r, ok := c.reads[m.ID]
	if !ok || !r.repairing {
		return false
	}
	i := slices.Index(r.unrepaired, m.From)
	if i < 0 {
		return true
	}
	r.unrepaired = slices.Delete(r.unrepaired, i, i+1)
	if m.Code == wire.CodeOK {
		r.replies[m.From] = r.merged
		r.holds++
		if r.holds >= r.need && !r.answered {
			r.answered = true
			c.answer(r.origin, Response{State: r.merged})
		}
	}
	if r.answered || len(r.unrepaired) == 0 {
		r.repairing = false
		if !r.answered {
			c.failRead(r, "the replicas sent the merged state did not all take it")
		}
		c.progress(m.ID, r)
	}
	return true
}

// failRead answers a read, or the write it prepares, that cannot reach its
// level.
func (c *coordinator) failRead(r *readOp, why string) {
	r.answered = true
	c.stats.Timeouts++
	if r.write != nil {
		c.answerWrite(r.write, Response{Err: &UnavailableError{Level: r.write.level, Alive: len(r.replies),
			Need: r.need, Write: true, Prepare: why}})
		return
	}
	c.answer(r.origin, Response{Err: &TimeoutError{Level: r.level, Got: len(r.replies), Need: r.need,
		Timeout: c.cfg.RequestTimeout, Refused: r.failures()}})
}

// finishRead answers an inspection, repairs and forgets the read.
func (c *coordinator) finishRead(id uint64, r *readOp) {
	if r.inspect && !r.answered {
		r.answered = true
		resp := Response{State: r.merge()}
		for _, p := range r.owners {
			rs := ReplicaState{Node: p}
			if st, ok := r.replies[p]; ok {
				rs.State = st
			} else if !slices.Contains(r.asked, p) {
				rs.Err = fmt.Errorf("replica %s is down", p)
			} else if r.failed[p] != "" {
				rs.Err = fmt.Errorf("replica %s failed to read its copy", p)
			} else {
				rs.Err = fmt.Errorf("replica %s did not answer within %s", p, c.cfg.RequestTimeout)
			}
			resp.Replicas = append(resp.Replicas, rs)
		}
		c.answer(r.origin, resp)
	}
	if r.write == nil {
		c.repair(r)
	}
	delete(c.reads, id)
}

func (c *coordinator) expireReads() {
	for _, id := range sortedIDs(c.reads) {
		r := c.reads[id]
		if len(r.spare) > 0 && !r.answered && r.retryAt <= c.now {
			c.widen(id, r)
		}
		if r.deadline > c.now {
			continue
		}
		if !r.answered && !r.inspect {
			if r.write != nil {
				c.failRead(r, fmt.Sprintf("%d of the %d owners needed answered within %s", len(r.replies), r.need, c.cfg.RequestTimeout))
			} else {
				c.failRead(r, "")
			}
		}
		r.repairing = false
		c.finishRead(id, r)
	}
}

// merge returns the join of the replies, in a fixed order.
func (r *readOp) merge() crdt.State {
	var m crdt.State
	for _, id := range r.asked {
		if s, ok := r.replies[id]; ok {
			m.Merge(s)
		}
	}
	return m
}

// repair sends the merged state to every replica that answered with less.
func (c *coordinator) repair(r *readOp) {
	if len(r.replies) < 2 {
		return
	}
	m := r.merge()
	for _, id := range r.asked {
		s, ok := r.replies[id]
		if !ok || s.Equal(m) {
			continue
		}
		c.stats.ReadRepairs++
		if id == c.cfg.ID {
			c.merge(r.key, m)
		} else {
			c.send(wire.Message{Type: wire.MsgRepair, To: id, Key: r.key, State: m})
		}
	}
}
