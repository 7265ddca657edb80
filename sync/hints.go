package sync

import (
	"bytes"
	"slices"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// hintState tracks the hint budget and the replay of hints. A hint is
// deleted only when the replicas it is delivered to acknowledged it and no
// newer write was hinted for the same key meanwhile (the version check).
//
// The budget is one rule, kept here and nowhere else: a hint is taken when
// the bytes held (as the store last reported them, plus the hints taken
// since) and its own size (key plus encoded state, as the store counts it)
// fit MaxHintBytes. A hint that does not fit is dropped and left to
// anti-entropy; the write around it goes on (a fallback refuses it, which
// the coordinator counts as one acknowledgement fewer). The store itself
// never refuses a batch for its hints.
type hintState struct {
	version  map[hintKey]uint64  // bumped whenever a hint for the key is written
	inflight map[uint64]hintSend // replays waiting for acknowledgements
	count    map[crdt.NodeID]int // replays in flight per target
	next     int64               // time of the next replay round
	bytes    int64               // bytes held: the store's figure, plus hints taken since
}

type hintKey struct {
	target crdt.NodeID
	key    string
}

type hintSend struct {
	hintKey
	version  uint64
	deadline int64
	waiting  []crdt.NodeID // replicas that have not acknowledged yet
}

func newHintState() hintState {
	return hintState{version: map[hintKey]uint64{}, inflight: map[uint64]hintSend{}, count: map[crdt.NodeID]int{}}
}

// hintSize is what a hint counts against the budget: its key and encoded
// state, as the stores count it.
func hintSize(key []byte, s crdt.State) int64 {
	enc, err := wire.EncodeState(s)
	if err != nil {
		return int64(len(key)) + 1<<20 // a state the store could not encode either
	}
	return int64(len(key) + len(enc))
}

// hint keeps s for target, which could not take it, to replay later, and
// reports whether it fit the budget.
func (n *Node) hint(target crdt.NodeID, key []byte, s crdt.State) bool {
	size := hintSize(key, s)
	if n.hints.bytes+size > n.cfg.MaxHintBytes {
		n.stats.HintsDropped++
		return false
	}
	n.hints.bytes += size
	n.stats.HintsStored++
	hk := hintKey{target: target, key: string(key)}
	n.hints.version[hk]++
	// A hint written after a delivered one in the same batch must survive it.
	n.batch.HintDeletes = slices.DeleteFunc(n.batch.HintDeletes, func(d wire.HintKey) bool {
		return d.Target == target && bytes.Equal(d.Key, key)
	})
	n.batch.Hints = append(n.batch.Hints, wire.Hint{Target: target, Key: key, State: s})
	return true
}

// takeHint stores a hint another node asked this one to keep as a fallback.
func (n *Node) takeHint(target crdt.NodeID, key []byte, s crdt.State) error {
	if !n.hint(target, key, s) {
		return rejectf("hint budget of %d bytes on %s is full", n.cfg.MaxHintBytes, n.cfg.ID)
	}
	return nil
}

// tickHints replays hints, a bounded number at a time: to their target
// when it is up and still holds the key, else to the key's owners.
func (n *Node) tickHints() {
	for _, id := range sortedIDs(n.hints.inflight) {
		if h := n.hints.inflight[id]; h.deadline <= n.now {
			n.hints.drop(id)
		}
	}
	if n.now < n.hints.next {
		return
	}
	n.hints.next = n.now + int64(n.cfg.HintInterval)
	backlog, err := n.store.HintTargets()
	if err != nil {
		return
	}
	n.hints.bytes = 0
	for _, b := range backlog {
		n.hints.bytes += b.Bytes
	}
	if n.view.Placement == nil {
		return
	}
	for _, b := range backlog {
		member := slices.Contains(n.view.Members, b.Target) && b.Target != n.cfg.ID
		if member && n.view.Down[b.Target] {
			continue // it will take its hints when it is back
		}
		n.replay(b.Target, member)
	}
}

// replay sends target's hints that have no replay in flight, up to the
// in-flight bound. A hint goes to its target when the target is a member
// that owns the key (now or once the ring change under way completes);
// otherwise (the target was removed, left, or no longer owns the key) it
// goes to the key's owners, so that the write it holds is not orphaned.
func (n *Node) replay(target crdt.NodeID, member bool) {
	room := n.cfg.HintsInFlight - n.hints.count[target]
	if room <= 0 {
		return
	}
	busy := map[string]bool{}
	for _, h := range n.hints.inflight {
		if h.target == target {
			busy[h.key] = true
		}
	}
	_ = n.store.ScanHints(target, func(key []byte, s crdt.State) bool {
		if busy[string(key)] {
			return true
		}
		to := []crdt.NodeID{target}
		if !member || !n.owns(target, key) {
			if to = n.hintOwners(key); to == nil {
				return true // an owner is down: try again later
			}
		}
		id := n.newID()
		hk := hintKey{target: target, key: string(key)}
		send := hintSend{hintKey: hk, version: n.hints.version[hk], deadline: n.now + int64(n.cfg.RequestTimeout)}
		for _, p := range to {
			if p == n.cfg.ID {
				n.merge(key, s)
				continue
			}
			send.waiting = append(send.waiting, p)
			n.send(wire.Message{Type: wire.MsgWrite, To: p, ID: id, Key: key, State: s})
		}
		n.stats.HintsSent++
		if len(send.waiting) == 0 {
			n.deliverHint(send) // this node was the only owner: merged here
			return true
		}
		n.hints.inflight[id] = send
		n.hints.count[target]++
		room--
		return room > 0
	})
}

// owns reports whether id owns key now or will once the ring change under
// way completes.
func (n *Node) owns(id crdt.NodeID, key []byte) bool {
	return slices.Contains(n.owners(key), id) || slices.Contains(n.nextOwners(key), id)
}

// hintOwners returns the replicas a redirected hint of key goes to: its
// owners now and once the ring change completes; nil when one of them is
// down (the hint waits), or when the key has no owner at all.
func (n *Node) hintOwners(key []byte) []crdt.NodeID {
	var out []crdt.NodeID
	for _, p := range append(n.owners(key), n.nextOwners(key)...) {
		if n.view.Down[p] {
			return nil
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// acked handles an acknowledgement of a replayed hint and reports whether
// m was one. The hint is deleted once every replica it went to took it,
// unless a newer write was hinted for the key meanwhile.
func (h *hintState) acked(n *Node, m wire.Message) bool {
	s, ok := h.inflight[m.ID]
	if !ok {
		return false
	}
	if m.Code != wire.CodeOK {
		h.drop(m.ID)
		return true
	}
	s.waiting = slices.DeleteFunc(s.waiting, func(p crdt.NodeID) bool { return p == m.From })
	if len(s.waiting) > 0 {
		h.inflight[m.ID] = s
		return true
	}
	h.drop(m.ID)
	n.deliverHint(s)
	return true
}

// deliverHint deletes a hint that reached every replica it went to, unless
// a newer write was hinted for the key meanwhile.
func (n *Node) deliverHint(s hintSend) {
	if n.hints.version[s.hintKey] == s.version {
		delete(n.hints.version, s.hintKey)
		n.batch.HintDeletes = append(n.batch.HintDeletes, wire.HintKey{Target: s.target, Key: []byte(s.key)})
	}
}

func (h *hintState) drop(id uint64) {
	s := h.inflight[id]
	delete(h.inflight, id)
	if h.count[s.target]--; h.count[s.target] <= 0 {
		delete(h.count, s.target)
	}
}
