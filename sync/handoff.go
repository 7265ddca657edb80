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
type handoff struct {
	*core
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

func newHandoff(c *core) *handoff { return &handoff{core: c} }

// reset starts the handoff over for the ring of view epoch.
func (h *handoff) reset(epoch uint64) {
	*h = handoff{core: h.core, epoch: epoch, inflight: map[uint64]*handoffKey{}, bumped: h.bumped}
}

// HandedOff reports whether a full handoff pass since the ring last changed
// found no key left to push: a leaving node may then exit.
func (n *Node) HandedOff() bool {
	return n.handoff.done && n.handoff.epoch == n.view.Epoch && n.ship.drained() && n.settle.done()
}

// Settled reports whether the strong keys the ring change of the current
// view moves are settled, where this node settles them: joining, leaving,
// or the steward of a removal (View.Steward). True when it settles none.
func (n *Node) Settled() bool { return n.settle.done() }

// handoff is the part of a Node that pushes the keys it will not own once
// the ring change under way completes to their next owners, and drops them.

func (h *handoff) tick() {
	if h.view.Placement == nil {
		return
	}
	if h.inflight == nil || h.epoch != h.view.Epoch {
		h.reset(h.view.Epoch)
	}
	for id, k := range h.inflight {
		if k.deadline <= h.now {
			delete(h.inflight, id)
			h.redo = true
		}
	}
	if h.done || len(h.inflight) >= h.cfg.HintsInFlight {
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
			h.again = h.now + 10*int64(h.cfg.HintInterval)
		}
		if h.now < h.again {
			return
		}
		h.cursor, h.scanned, h.redo, h.again = 0, false, false, 0
	}
	h.scan()
}

// scan pushes the next chunk of keys this node will not own.
func (h *handoff) scan() {
	count, last, stopped := 0, uint64(0), false
	err := h.store.Scan(h.cursor, math.MaxUint64, func(key []byte, s crdt.State, _ uint64) bool {
		hash := wire.KeyHash(key)
		if (count >= h.cfg.AntiEntropyScan || len(h.inflight) >= h.cfg.HintsInFlight) && hash != last {
			h.cursor, stopped = hash, true
			return false
		}
		count, last = count+1, hash
		if p, ok := h.pending[string(key)]; ok {
			s = p
		} else if d, ok := h.deltas[string(key)]; ok {
			s = crdt.Merge(s, d)
		}
		h.push(key, s)
		return true
	})
	if err != nil {
		h.redo = true
	}
	if !stopped {
		h.scanned = true
	}
}

func (h *handoff) push(key []byte, s crdt.State) {
	next := h.nextOwners(key)
	if slices.Contains(next, h.cfg.ID) {
		return
	}
	var targets []crdt.NodeID
	for _, p := range next {
		if h.view.Down[p] {
			h.redo = true // try again when it is back
			return
		}
		targets = append(targets, p)
	}
	if len(targets) == 0 {
		return // no owner at all: keep the data
	}
	id := h.newID(partHandoff)
	h.inflight[id] = &handoffKey{key: key, state: s, waiting: targets, deadline: h.now + 4*int64(h.cfg.RequestTimeout)}
	for _, p := range targets {
		h.send(wire.Message{Type: wire.MsgHandoff, To: p, ID: id, Key: key, State: s})
	}
}

// acked handles an acknowledgement of a handed-off key.
func (h *handoff) acked(m wire.Message) {
	k, ok := h.inflight[m.ID]
	if !ok {
		return
	}
	i := slices.Index(k.waiting, m.From)
	if i < 0 {
		return
	}
	if m.Code != wire.CodeOK {
		delete(h.inflight, m.ID)
		h.redo = true
		return
	}
	k.waiting = slices.Delete(k.waiting, i, i+1)
	if len(k.waiting) > 0 {
		return
	}
	delete(h.inflight, m.ID)
	h.stats.HandoffPushed++
	if slices.Contains(h.owners(k.key), h.cfg.ID) {
		return // still serving it until the ring change completes
	}
	if cur, err := h.get(k.key); err != nil || !cur.Equal(k.state) {
		h.redo = true // written meanwhile: push again
		return
	}
	if h.bumped != h.view.Epoch {
		// This node may own the key again one day, holding nothing of
		// what it minted for it: from now on it mints under a new actor.
		// Once per ring: the keys dropped under this ring are ones it has
		// not owned, so not written, since the ring began.
		h.bumped = h.view.Epoch
		h.bumpEpoch()
	}
	delete(h.pending, string(k.key))
	h.batch.Deletes = append(h.batch.Deletes, k.key)
	h.stats.HandedOff++
}
