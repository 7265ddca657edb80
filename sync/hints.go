package sync

import (
	"bytes"
	"slices"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// hintState tracks the replay of hints to returning replicas. A hint is
// deleted only when its target acknowledged it and no newer write was hinted
// for the same key meanwhile (the version check).
type hintState struct {
	version  map[hintKey]uint64  // bumped whenever a hint for the key is written
	inflight map[uint64]hintSend // replays waiting for an acknowledgement
	count    map[crdt.NodeID]int // replays in flight per target
	next     int64               // time of the next replay round
	bytes    int64               // disk used by hints, as of the last round
}

type hintKey struct {
	target crdt.NodeID
	key    string
}

type hintSend struct {
	hintKey
	version  uint64
	deadline int64
}

func newHintState() hintState {
	return hintState{version: map[hintKey]uint64{}, inflight: map[uint64]hintSend{}, count: map[crdt.NodeID]int{}}
}

// hint keeps s for target, which could not take it, to replay later.
func (n *Node) hint(target crdt.NodeID, key []byte, s crdt.State) {
	if n.hints.bytes >= n.cfg.MaxHintBytes {
		n.stats.HintsDropped++
		return
	}
	n.stats.HintsStored++
	hk := hintKey{target: target, key: string(key)}
	n.hints.version[hk]++
	// A hint written after a delivered one in the same batch must survive it.
	n.batch.HintDeletes = slices.DeleteFunc(n.batch.HintDeletes, func(d HintKey) bool {
		return d.Target == target && bytes.Equal(d.Key, key)
	})
	n.batch.Hints = append(n.batch.Hints, Hint{Target: target, Key: key, State: s})
}

// takeHint stores a hint another node asked this one to keep as a fallback.
func (n *Node) takeHint(target crdt.NodeID, key []byte, s crdt.State) error {
	if n.hints.bytes >= n.cfg.MaxHintBytes {
		n.stats.HintsDropped++
		return rejectf("hint budget of %d bytes on %s is full", n.cfg.MaxHintBytes, n.cfg.ID)
	}
	n.hint(target, key, s)
	return nil
}

// tickHints replays hints to targets that are up, a bounded number at a time.
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
		if b.Target == n.cfg.ID || n.view.Down[b.Target] || !slices.Contains(n.view.Members, b.Target) {
			continue
		}
		n.replay(b.Target)
	}
}

// replay sends target the hints it has no replay in flight for, up to the
// in-flight bound.
func (n *Node) replay(target crdt.NodeID) {
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
		id := n.newID()
		hk := hintKey{target: target, key: string(key)}
		n.hints.inflight[id] = hintSend{hintKey: hk, version: n.hints.version[hk], deadline: n.now + int64(n.cfg.RequestTimeout)}
		n.hints.count[target]++
		n.stats.HintsSent++
		n.send(wire.Message{Type: wire.MsgWrite, To: target, ID: id, Key: key, State: s})
		room--
		return room > 0
	})
}

// acked handles the acknowledgement of a replayed hint and reports whether m
// was one.
func (h *hintState) acked(n *Node, m wire.Message) bool {
	s, ok := h.inflight[m.ID]
	if !ok {
		return false
	}
	h.drop(m.ID)
	if m.Code == wire.CodeOK && h.version[s.hintKey] == s.version {
		delete(h.version, s.hintKey)
		n.batch.HintDeletes = append(n.batch.HintDeletes, HintKey{Target: s.target, Key: []byte(s.key)})
	}
	return true
}

func (h *hintState) drop(id uint64) {
	s := h.inflight[id]
	delete(h.inflight, id)
	if h.count[s.target]--; h.count[s.target] <= 0 {
		delete(h.count, s.target)
	}
}
