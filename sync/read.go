package sync

import (
	"fmt"
	"slices"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// readOp is a read this node coordinates: it asks every reachable owner,
// answers once the level is reached, and repairs the replicas that answered
// with less than the merged state.
type readOp struct {
	origin   origin
	key      []byte
	level    Level
	need     int
	asked    []crdt.NodeID
	replies  map[crdt.NodeID]crdt.State
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
	for _, id := range owners {
		if id == n.cfg.ID || !n.view.Down[id] {
			reachable = append(reachable, id)
		}
	}
	inspect := op.Kind == wire.OpInspect
	if (len(reachable) < need && !inspect) || len(owners) == 0 {
		n.answer(o, Response{Err: &UnavailableError{Level: lvl, Alive: len(reachable), Need: need}})
		return
	}
	r := &readOp{origin: o, key: op.Key, level: lvl, need: need, asked: reachable,
		replies: make(map[crdt.NodeID]crdt.State, len(reachable)), deadline: n.now + int64(n.cfg.RequestTimeout),
		inspect: inspect, owners: owners}
	local := slices.Contains(reachable, n.cfg.ID)
	if local {
		st, err := n.get(op.Key)
		if err != nil {
			n.answer(o, Response{Err: err})
			return
		}
		r.replies[n.cfg.ID] = st
		if need == 1 && !r.inspect {
			// ONE served by this replica: no remote round trip, no repair.
			n.answer(o, Response{State: st})
			return
		}
	}
	id := n.newID()
	for _, p := range reachable {
		if p != n.cfg.ID {
			n.send(wire.Message{Type: wire.MsgRead, To: p, ID: id, Key: op.Key})
		}
	}
	n.reads[id] = r
	if len(r.replies) == len(r.asked) { // a single-replica region
		n.finishRead(id, r)
	}
}

func (n *Node) onRead(m wire.Message) {
	st, err := n.get(m.Key)
	code, text := encodeErr(err)
	n.send(wire.Message{Type: wire.MsgReadReply, To: m.From, ID: m.ID, Key: m.Key, State: st, Code: code, Err: text})
}

func (n *Node) onReadReply(m wire.Message) {
	r, ok := n.reads[m.ID]
	if !ok || !slices.Contains(r.asked, m.From) || m.Code != wire.CodeOK {
		return
	}
	if _, dup := r.replies[m.From]; dup {
		return
	}
	r.replies[m.From] = m.State
	if !r.answered && !r.inspect && len(r.replies) >= r.need {
		r.answered = true
		n.answer(r.origin, Response{State: r.merged()})
	}
	if len(r.replies) == len(r.asked) {
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
			if err := n.merge(r.key, m); err != nil {
				continue
			}
		} else {
			n.send(wire.Message{Type: wire.MsgWrite, To: id, Key: r.key, State: m})
		}
	}
}
