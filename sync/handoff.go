package sync

import (
	"math"
	"slices"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// Handoff: when the ring changes, a node pushes every key it holds but will
// not own once the change completes to the key's next owners, and drops its
// copy once they all acknowledged it and it no longer serves the key. A
// leaving node does this for all its data before it exits; nodes that lose
// ranges to a joining one do it after the joiner is active. A pass scans the
// store in bounded chunks with a bounded number of keys in flight, so a big
// move cannot flood the network; it starts over until every key went.
type handoffState struct {
	epoch    uint64
	cursor   uint64
	scanned  bool  // the scan reached the end of the hash space
	done     bool  // a whole pass found nothing left to push
	redo     bool  // a key could not be pushed in this pass
	again    int64 // when a pass that must be redone starts over
	inflight map[uint64]*handoffKey
	bumped   uint64 // the view epoch under which dropping keys took a new actor epoch
}

type handoffKey struct {
	key      []byte
	state    crdt.State
	waiting  []crdt.NodeID
	deadline int64
}

func (h *handoffState) reset(epoch uint64) {
	*h = handoffState{epoch: epoch, inflight: map[uint64]*handoffKey{}, bumped: h.bumped}
}

// HandedOff reports whether a full handoff pass since the ring last changed
// found no key left to push: a leaving node may then exit.
func (n *Node) HandedOff() bool { return n.handoff.done && n.handoff.epoch == n.view.Epoch }

func (n *Node) tickHandoff() {
	h := &n.handoff
	if n.view.Placement == nil {
		return
	}
	if h.inflight == nil || h.epoch != n.view.Epoch {
		h.reset(n.view.Epoch)
	}
	for id, k := range h.inflight {
		if k.deadline <= n.now {
			delete(h.inflight, id)
			h.redo = true
		}
	}
	if h.done || len(h.inflight) >= n.cfg.HintsInFlight {
		return
	}
	if h.scanned {
		if len(h.inflight) > 0 {
			return
		}
		if !h.redo {
			h.done = true
			return
		}
		if h.again == 0 {
			h.again = n.now + 10*int64(n.cfg.HintInterval)
		}
		if n.now < h.again {
			return
		}
		h.cursor, h.scanned, h.redo, h.again = 0, false, false, 0
	}
	n.handoffScan()
}

// handoffScan pushes the next chunk of keys this node will not own.
func (n *Node) handoffScan() {
	h := &n.handoff
	count, last, stopped := 0, uint64(0), false
	err := n.store.Scan(h.cursor, math.MaxUint64, func(key []byte, s crdt.State, _ uint64) bool {
		hash := wire.KeyHash(key)
		if (count >= n.cfg.AntiEntropyScan || len(h.inflight) >= n.cfg.HintsInFlight) && hash != last {
			h.cursor, stopped = hash, true
			return false
		}
		count, last = count+1, hash
		if p, ok := n.pending[string(key)]; ok {
			s = p
		} else if d, ok := n.deltas[string(key)]; ok {
			s = crdt.Merge(s, d)
		}
		n.handoffKey(key, s)
		return true
	})
	if err != nil {
		h.redo = true
	}
	if !stopped {
		h.scanned = true
	}
}

func (n *Node) handoffKey(key []byte, s crdt.State) {
	next := n.nextOwners(key)
	if slices.Contains(next, n.cfg.ID) {
		return
	}
	var targets []crdt.NodeID
	for _, p := range next {
		if n.view.Down[p] {
			n.handoff.redo = true // try again when it is back
			return
		}
		targets = append(targets, p)
	}
	if len(targets) == 0 {
		return // no owner at all: keep the data
	}
	id := n.newID()
	n.handoff.inflight[id] = &handoffKey{key: key, state: s, waiting: targets, deadline: n.now + 4*int64(n.cfg.RequestTimeout)}
	for _, p := range targets {
		n.send(wire.Message{Type: wire.MsgWrite, To: p, ID: id, Key: key, State: s})
	}
}

// handoffAcked handles an acknowledgement of a handed-off key and reports
// whether m was one.
func (n *Node) handoffAcked(m wire.Message) bool {
	k, ok := n.handoff.inflight[m.ID]
	if !ok {
		return false
	}
	i := slices.Index(k.waiting, m.From)
	if i < 0 {
		return true
	}
	if m.Code != wire.CodeOK {
		delete(n.handoff.inflight, m.ID)
		n.handoff.redo = true
		return true
	}
	k.waiting = slices.Delete(k.waiting, i, i+1)
	if len(k.waiting) > 0 {
		return true
	}
	delete(n.handoff.inflight, m.ID)
	n.stats.HandoffPushed++
	if slices.Contains(n.owners(k.key), n.cfg.ID) {
		return true // still serving it until the ring change completes
	}
	if cur, err := n.get(k.key); err != nil || !cur.Equal(k.state) {
		n.handoff.redo = true // written meanwhile: push again
		return true
	}
	if n.handoff.bumped != n.view.Epoch {
		// This node may own the key again one day, holding nothing of
		// what it minted for it: from now on it mints under a new actor.
		// Once per ring: the keys dropped under this ring are ones it has
		// not owned, so not written, since the ring began.
		n.handoff.bumped = n.view.Epoch
		n.bumpEpoch()
	}
	delete(n.pending, string(k.key))
	n.batch.Deletes = append(n.batch.Deletes, k.key)
	n.stats.HandedOff++
	return true
}
