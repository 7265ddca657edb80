package sync

import (
	"bytes"
	"slices"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// hinter is the part of a Node that keeps hints and replays them: it
// tracks the hint budget and the replays in flight. A hint is
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
type hinter struct {
	*core
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

func newHinter(c *core) *hinter {
	return &hinter{core: c, version: map[hintKey]uint64{}, inflight: map[uint64]hintSend{}, count: map[crdt.NodeID]int{}}
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
func (h *hinter) hint(target crdt.NodeID, key []byte, s crdt.State) bool {
	size := hintSize(key, s)
	if h.bytes+size > h.cfg.MaxHintBytes {
		h.stats.HintsDropped++
		return false
	}
	h.bytes += size
	h.stats.HintsStored++
	hk := hintKey{target: target, key: string(key)}
	h.version[hk]++
	// A hint written after a delivered one in the same batch must survive it.
	h.batch.HintDeletes = slices.DeleteFunc(h.batch.HintDeletes, func(d wire.HintKey) bool {
		return d.Target == target && bytes.Equal(d.Key, key)
	})
	h.batch.Hints = append(h.batch.Hints, wire.Hint{Target: target, Key: key, State: s})
	return true
}

// take stores a hint another node asked this one to keep as a fallback.
func (h *hinter) take(target crdt.NodeID, key []byte, s crdt.State) error {
	if !h.hint(target, key, s) {
		return rejectf("hint budget of %d bytes on %s is full", h.cfg.MaxHintBytes, h.cfg.ID)
	}
	return nil
}

// tick replays hints, a bounded number at a time: to their target
// when it is up and still holds the key, else to the key's owners.
func (h *hinter) tick() {
	for _, id := range sortedIDs(h.inflight) {
		if s := h.inflight[id]; s.deadline <= h.now {
			h.drop(id)
		}
	}
	if h.now < h.next {
		return
	}
	h.next = h.now + int64(h.cfg.HintInterval)
	backlog, err := h.store.HintTargets()
	if err != nil {
		return
	}
	h.bytes = 0
	for _, b := range backlog {
		h.bytes += b.Bytes
	}
	if h.view.Placement == nil {
		return
	}
	for _, b := range backlog {
		member := slices.Contains(h.view.Members, b.Target) && b.Target != h.cfg.ID
		if member && h.view.Down[b.Target] {
			continue // it will take its hints when it is back
		}
		h.replay(b.Target, member)
	}
}

// replay sends target's hints that have no replay in flight, up to the
// in-flight bound. A hint goes to its target when the target is a member
// that owns the key (now or once the ring change under way completes);
// otherwise (the target was removed, left, or no longer owns the key) it
// goes to the key's owners, so that the write it holds is not orphaned.
func (h *hinter) replay(target crdt.NodeID, member bool) {
	room := h.cfg.HintsInFlight - h.count[target]
	if room <= 0 {
		return
	}
	busy := map[string]bool{}
	for _, s := range h.inflight {
		if s.target == target {
			busy[s.key] = true
		}
	}
	_ = h.store.ScanHints(target, func(key []byte, s crdt.State) bool {
		if busy[string(key)] {
			return true
		}
		to := []crdt.NodeID{target}
		if !member || !h.owns(target, key) {
			if to = h.hintOwners(key); to == nil {
				return true // an owner is down: try again later
			}
		}
		id := h.newID(partHints)
		hk := hintKey{target: target, key: string(key)}
		send := hintSend{hintKey: hk, version: h.version[hk], deadline: h.now + int64(h.cfg.RequestTimeout)}
		for _, p := range to {
			if p == h.cfg.ID {
				h.merge(key, s)
				continue
			}
			send.waiting = append(send.waiting, p)
			h.send(wire.Message{Type: wire.MsgReplay, To: p, ID: id, Key: key, State: s})
		}
		h.stats.HintsSent++
		if len(send.waiting) == 0 {
			h.deliver(send) // this node was the only owner: merged here
			return true
		}
		h.inflight[id] = send
		h.count[target]++
		room--
		return room > 0
	})
}

// owns reports whether id owns key now or will once the ring change under
// way completes.
func (h *hinter) owns(id crdt.NodeID, key []byte) bool {
	return slices.Contains(h.owners(key), id) || slices.Contains(h.nextOwners(key), id)
}

// hintOwners returns the replicas a redirected hint of key goes to: its
// owners now and once the ring change completes; nil when one of them is
// down (the hint waits), or when the key has no owner at all.
func (h *hinter) hintOwners(key []byte) []crdt.NodeID {
	var out []crdt.NodeID
	for _, p := range append(h.owners(key), h.nextOwners(key)...) {
		if h.view.Down[p] {
			return nil
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// acked handles an acknowledgement of a replayed hint. The hint is deleted once every replica it went to took it,
// unless a newer write was hinted for the key meanwhile.
func (h *hinter) acked(m wire.Message) {
	s, ok := h.inflight[m.ID]
	if !ok {
		return
	}
	if m.Code != wire.CodeOK {
		h.drop(m.ID)
		return
	}
	s.waiting = slices.DeleteFunc(s.waiting, func(p crdt.NodeID) bool { return p == m.From })
	if len(s.waiting) > 0 {
		h.inflight[m.ID] = s
		return
	}
	h.drop(m.ID)
	h.deliver(s)
}

// deliver deletes a hint that reached every replica it went to, unless
// a newer write was hinted for the key meanwhile.
func (h *hinter) deliver(s hintSend) {
	if h.version[s.hintKey] == s.version {
		delete(h.version, s.hintKey)
		h.batch.HintDeletes = append(h.batch.HintDeletes, wire.HintKey{Target: s.target, Key: []byte(s.key)})
	}
}

func (h *hinter) drop(id uint64) {
	s := h.inflight[id]
	delete(h.inflight, id)
	if h.count[s.target]--; h.count[s.target] <= 0 {
		delete(h.count, s.target)
	}
}
