package sync

import (
	"fmt"
	"slices"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// readOp is a read this node coordinates: it asks as many owners as its
// level needs (this node first, when it is one), asks the others too when
// one fails or the answers are late, answers once the level is reached, and
// repairs the replicas that answered with less than the merged state.
type readOp struct {
	origin   origin
	key      []byte
	level    Level
	need     int
	asked    []crdt.NodeID
	spare    []crdt.NodeID // reachable owners not asked yet
	failed   int           // replicas that answered with an error
	replies  map[crdt.NodeID]crdt.State
	retryAt  int64 // when the spare owners are asked if the level is not reached
	deadline int64
	answered bool
	inspect  bool          // answer once every replica answered, with each one's state
	owners   []crdt.NodeID // every owner, for an inspection
}

func (n *Node) coordinateRead(o origin, op *wire.Op) {
	n.stats.Reads++
	lvl := level(op)
	owners := n.owners(op.Key)
	need := lvl.Required(len(owners))
	var reachable []crdt.NodeID
	local := false
	for _, id := range owners {
		if id == n.cfg.ID {
			local = true
		} else if !n.view.Down[id] {
			reachable = append(reachable, id)
		}
	}
	inspect := op.Kind == wire.OpInspect
	alive := len(reachable)
	if local {
		alive++
	}
	if (alive < need && !inspect) || len(owners) == 0 {
		n.answer(o, Response{Err: &UnavailableError{Level: lvl, Alive: alive, Need: need}})
		return
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
	r := &readOp{origin: o, key: op.Key, level: lvl, need: need,
		asked: reachable[:remote:remote], spare: reachable[remote:],
		replies: make(map[crdt.NodeID]crdt.State, len(reachable)+1),
		retryAt: n.now + int64(n.cfg.ReadRetryAfter), deadline: n.now + int64(n.cfg.RequestTimeout),
		inspect: inspect, owners: owners}
	if local {
		st, err := n.get(op.Key)
		if err != nil {
			n.answer(o, Response{Err: err})
			return
		}
		r.asked = append([]crdt.NodeID{n.cfg.ID}, r.asked...)
		r.replies[n.cfg.ID] = st
		if need == 1 && !r.inspect {
			// ONE served by this replica: no remote round trip, no repair.
			n.answer(o, Response{State: st})
			return
		}
	}
	id := n.newID()
	for _, p := range r.asked {
		if p != n.cfg.ID {
			n.send(wire.Message{Type: wire.MsgRead, To: p, ID: id, Key: op.Key})
		}
	}
	n.reads[id] = r
	if len(r.replies) == len(r.asked) { // a single-replica region
		n.finishRead(id, r)
	}
}

// widen asks the spare owners too: a replica failed, or the level was not
// reached by the time the first ones should have answered.
func (n *Node) widen(id uint64, r *readOp) {
	for _, p := range r.spare {
		n.send(wire.Message{Type: wire.MsgRead, To: p, ID: id, Key: r.key})
		r.asked = append(r.asked, p)
	}
	r.spare = nil
}

func (n *Node) onRead(m wire.Message) {
	st, err := n.get(m.Key)
	code, text := encodeErr(err)
	n.send(wire.Message{Type: wire.MsgReadReply, To: m.From, ID: m.ID, Key: m.Key, State: st, Code: code, Err: text})
}

func (n *Node) onReadReply(m wire.Message) {
	r, ok := n.reads[m.ID]
	if !ok || !slices.Contains(r.asked, m.From) {
		return
	}
	if _, dup := r.replies[m.From]; dup {
		return
	}
	if m.Code != wire.CodeOK {
		r.failed++
		n.widen(m.ID, r)
	} else {
		r.replies[m.From] = m.State
		if !r.answered && !r.inspect && len(r.replies) >= r.need {
			r.answered = true
			n.answer(r.origin, Response{State: r.merged()})
		}
	}
	if len(r.replies)+r.failed >= len(r.asked) {
		n.finishRead(m.ID, r)
	}
}

// finishRead answers an inspection, repairs and forgets the read.
func (n *Node) finishRead(id uint64, r *readOp) {
	if r.inspect && !r.answered {
		r.answered = true
		resp := Response{State: r.merged()}
		for _, p := range r.owners {
			rs := ReplicaState{Node: p}
			if st, ok := r.replies[p]; ok {
				rs.State = st
			} else if !slices.Contains(r.asked, p) {
				rs.Err = fmt.Errorf("replica %s is down", p)
			} else {
				rs.Err = fmt.Errorf("replica %s did not answer within %s", p, n.cfg.RequestTimeout)
			}
			resp.Replicas = append(resp.Replicas, rs)
		}
		n.answer(r.origin, resp)
	}
	n.repair(r)
	delete(n.reads, id)
}

func (n *Node) expireReads() {
	for _, id := range sortedIDs(n.reads) {
		r := n.reads[id]
		if len(r.spare) > 0 && !r.answered && r.retryAt <= n.now {
			n.widen(id, r)
		}
		if r.deadline > n.now {
			continue
		}
		if !r.answered && !r.inspect {
			r.answered = true
			n.stats.Timeouts++
			n.answer(r.origin, Response{Err: &TimeoutError{Level: r.level, Got: len(r.replies), Need: r.need, Timeout: n.cfg.RequestTimeout}})
		}
		n.finishRead(id, r)
	}
}

// merged returns the join of the replies, in a fixed order.
func (r *readOp) merged() crdt.State {
	var m crdt.State
	for _, id := range r.asked {
		if s, ok := r.replies[id]; ok {
			m.Merge(s)
		}
	}
	return m
}

// repair sends the merged state to every replica that answered with less.
func (n *Node) repair(r *readOp) {
	if len(r.replies) < 2 {
		return
	}
	m := r.merged()
	for _, id := range r.asked {
		s, ok := r.replies[id]
		if !ok || s.Equal(m) {
			continue
		}
		n.stats.ReadRepairs++
		if id == n.cfg.ID {
			n.merge(r.key, m)
		} else {
			n.send(wire.Message{Type: wire.MsgWrite, To: id, Key: r.key, State: m})
		}
	}
}
