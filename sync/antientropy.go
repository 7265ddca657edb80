package sync

import (
	"math"
	"slices"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// antiEntropy is the part of a Node that repairs what the other parts
// missed. Every replica keeps, for each peer it shares keys with, a
// Merkle tree over exactly the keys both own, updated on every write. Now
// and then it compares its tree with the peer's, from the root down, and
// only differing segments are descended; for those, the two exchange key
// digests and ship each other the states that differ. The cost follows the
// divergence, and MaxSegments caps one exchange (the rest waits for the
// next), so a badly diverged pair cannot eat the cluster (ANCHORS.md 6).
type antiEntropy struct {
	*core
	stats  AEStats
	epoch  uint64                // the view epoch the trees were built for
	trees  map[crdt.NodeID]*Tree // per peer
	cursor uint64                // next key hash the build scan reads
	built  bool                  // every stored key is in the trees
	next   int64                 // time of the next exchange
	turn   int                   // round-robin over peers
	ex     *exchange             // the exchange in progress, if any
	synced map[crdt.NodeID]bool  // peers found in sync since the epoch began
}

type exchange struct {
	id       uint64
	peer     crdt.NodeID
	deadline int64
}

// AEStats counts anti-entropy work.
type AEStats struct {
	Exchanges    int64 // exchanges started
	InSync       int64 // exchanges that found the trees equal
	Segments     int64 // differing leaf segments compared key by key
	KeysSent     int64 // states shipped to repair a peer
	TreeRebuilds int64 // full rebuilds after a ring change
}

func newAntiEntropy(c *core) *antiEntropy { return &antiEntropy{core: c} }

// reset starts the trees over for the current placement.
func (ae *antiEntropy) reset() {
	ae.epoch = ae.view.Epoch
	if ae.trees == nil {
		ae.trees = map[crdt.NodeID]*Tree{}
	}
	for id, t := range ae.trees {
		if slices.Contains(ae.view.Members, id) {
			t.Reset()
		} else {
			delete(ae.trees, id)
		}
	}
	for _, id := range ae.view.Members {
		if id != ae.cfg.ID {
			ae.tree(id)
		}
	}
	ae.cursor, ae.built, ae.ex = 0, false, nil
	ae.synced = map[crdt.NodeID]bool{}
	ae.stats.TreeRebuilds++
}

func (ae *antiEntropy) tree(peer crdt.NodeID) *Tree {
	t := ae.trees[peer]
	if t == nil {
		t = NewTree()
		ae.trees[peer] = t
	}
	return t
}

// track updates the trees for the puts of a committed batch, from the
// hashes of the stored encodings before and after that Commit reported.
func (ae *antiEntropy) track(puts []wire.Entry) {
	if ae.trees == nil {
		return
	}
	for _, e := range puts {
		if e.Before == e.After {
			continue
		}
		h := wire.KeyHash(e.Key)
		if !ae.built && h >= ae.cursor {
			continue // the build scan has yet to reach it and will read it then
		}
		owners := ae.sharers(e.Key)
		if !slices.Contains(owners, ae.cfg.ID) {
			continue
		}
		od, nd := Digest(e.Key, e.Before), Digest(e.Key, e.After)
		for _, p := range owners {
			if p != ae.cfg.ID {
				ae.tree(p).Update(h, od, nd)
			}
		}
	}
}

// build adds the next chunk of stored keys to the trees.
func (ae *antiEntropy) build() {
	count, last, stopped := 0, uint64(0), false
	// Stored hashes, not pending states: a pending put updates the trees
	// from the stored hash when it commits.
	err := ae.store.Scan(ae.cursor, math.MaxUint64, func(key []byte, _ crdt.State, hash uint64) bool {
		h := wire.KeyHash(key)
		if count >= ae.cfg.AntiEntropyScan && h != last {
			ae.cursor, stopped = h, true
			return false
		}
		count, last = count+1, h
		owners := ae.sharers(key)
		if slices.Contains(owners, ae.cfg.ID) {
			d := Digest(key, hash)
			for _, p := range owners {
				if p != ae.cfg.ID {
					ae.tree(p).Update(h, 0, d)
				}
			}
		}
		return true
	})
	if err == nil && !stopped {
		ae.built = true
	}
}

// tick builds the trees and starts an exchange when one is due.
func (ae *antiEntropy) tick() {
	if ae.cfg.AntiEntropyInterval <= 0 || ae.view.Placement == nil {
		return
	}
	if ae.trees == nil || ae.epoch != ae.view.Epoch {
		ae.reset()
	}
	if !ae.built {
		ae.build()
		return
	}
	if ex := ae.ex; ex != nil && ex.deadline <= ae.now {
		ae.ex = nil
	}
	if ae.ex != nil || ae.now < ae.next {
		return
	}
	interval := ae.cfg.AntiEntropyInterval
	if ae.view.Joining {
		interval = min(interval, ae.cfg.HintInterval) // pull the ranges fast
	}
	ae.next = ae.now + int64(interval)
	var peers []crdt.NodeID
	for _, p := range ae.view.Members {
		if p != ae.cfg.ID && !ae.view.Down[p] && ae.trees[p] != nil {
			peers = append(peers, p)
		}
	}
	if len(peers) == 0 {
		return
	}
	peer := peers[ae.turn%len(peers)]
	ae.turn++
	ae.ex = &exchange{id: ae.newID(partAntiEntropy), peer: peer, deadline: ae.now + 4*int64(ae.cfg.RequestTimeout)}
	ae.stats.Exchanges++
	ae.send(wire.Message{Type: wire.MsgTreeRequest, To: peer, ID: ae.ex.id, Level: 0, Indexes: []uint32{0}, Epoch: ae.view.Epoch})
}

// onTreeRequest answers with this node's hashes of the nodes asked for.
func (ae *antiEntropy) onTreeRequest(m wire.Message) {
	reply := wire.Message{Type: wire.MsgTreeReply, To: m.From, ID: m.ID, Level: m.Level, Indexes: m.Indexes}
	if !ae.built || ae.epoch != ae.view.Epoch || m.Epoch != ae.view.Epoch || int(m.Level) > LeafLevel {
		reply.Code, reply.Err = wire.CodeUnavailable, "anti-entropy tree not ready"
		ae.send(reply)
		return
	}
	t := ae.tree(m.From)
	reply.Hashes = make([]uint64, len(m.Indexes))
	for i, idx := range m.Indexes {
		reply.Hashes[i] = t.Hash(m.Level, idx)
	}
	ae.send(reply)
}

// onTreeReply compares the peer's hashes with ours and descends into the
// nodes that differ, or asks for the keys of differing leaves.
func (ae *antiEntropy) onTreeReply(m wire.Message) {
	ex := ae.ex
	if ex == nil || ex.id != m.ID || ex.peer != m.From {
		return
	}
	if m.Code != wire.CodeOK || len(m.Hashes) != len(m.Indexes) || ae.epoch != ae.view.Epoch {
		ae.ex = nil
		return
	}
	t := ae.tree(m.From)
	var diff []uint32
	for i, idx := range m.Indexes {
		if t.Hash(m.Level, idx) != m.Hashes[i] {
			diff = append(diff, idx)
		}
	}
	if len(diff) == 0 {
		if m.Level == 0 {
			ae.stats.InSync++
			ae.synced[m.From] = true
		}
		ae.ex = nil
		return
	}
	ex.deadline = ae.now + 4*int64(ae.cfg.RequestTimeout)
	if int(m.Level) < LeafLevel {
		limit := max(1, ae.cfg.MaxSegments>>(fanoutBits*(LeafLevel-int(m.Level)-1)))
		var next []uint32
		for _, idx := range diff[:min(len(diff), limit)] {
			next = append(next, Children(m.Level, idx)...)
		}
		ae.send(wire.Message{Type: wire.MsgTreeRequest, To: m.From, ID: m.ID, Level: m.Level + 1, Indexes: next, Epoch: ae.view.Epoch})
		return
	}
	segs := diff[:min(len(diff), ae.cfg.MaxSegments)]
	ae.stats.Segments += int64(len(segs))
	var keys []wire.KeyDigest
	ae.sharedKeys(m.From, segs, func(key []byte, _ crdt.State, hash uint64) {
		keys = append(keys, wire.KeyDigest{Key: key, Hash: hash})
	})
	ae.send(wire.Message{Type: wire.MsgKeysRequest, To: m.From, ID: m.ID, Indexes: segs, Keys: keys, Epoch: ae.view.Epoch})
}

// onKeysRequest ships the peer the states that differ from its digests and
// asks for the ones it has that this node lacks or holds differently.
func (ae *antiEntropy) onKeysRequest(m wire.Message) {
	if m.Epoch != ae.view.Epoch {
		ae.send(wire.Message{Type: wire.MsgKeysReply, To: m.From, ID: m.ID})
		return // the placements differ: shipping by our own could misplace keys
	}
	theirs := make(map[string]uint64, len(m.Keys))
	for _, k := range m.Keys {
		theirs[string(k.Key)] = k.Hash
	}
	var want []wire.KeyDigest
	mine := map[string]bool{}
	ae.sharedKeys(m.From, m.Indexes, func(key []byte, s crdt.State, hash uint64) {
		mine[string(key)] = true
		if d, ok := theirs[string(key)]; !ok || d != hash {
			ae.stats.KeysSent++
			ae.send(wire.Message{Type: wire.MsgRepair, To: m.From, Key: key, State: s})
			if ok {
				want = append(want, wire.KeyDigest{Key: key})
			}
		}
	})
	for _, k := range m.Keys {
		if !mine[string(k.Key)] {
			want = append(want, wire.KeyDigest{Key: k.Key})
		}
	}
	ae.send(wire.Message{Type: wire.MsgKeysReply, To: m.From, ID: m.ID, Keys: want})
}

// onKeysReply ships the states the peer asked for and ends the exchange.
func (ae *antiEntropy) onKeysReply(m wire.Message) {
	ex := ae.ex
	if ex == nil || ex.id != m.ID || ex.peer != m.From {
		return
	}
	ae.ex = nil
	for _, k := range m.Keys {
		s, err := ae.get(k.Key)
		if err != nil || s.IsZero() {
			continue
		}
		ae.stats.KeysSent++
		ae.send(wire.Message{Type: wire.MsgRepair, To: m.From, Key: k.Key, State: s})
	}
}

// sharers returns the nodes that hold key now or will once the ring change
// under way completes: the anti-entropy trees cover, for each pair of
// nodes, the keys both hold either way, so that a joiner compares its
// future ranges with the nodes that hold them today.
func (ae *antiEntropy) sharers(key []byte) []crdt.NodeID {
	out := ae.nextOwners(key)
	if ae.view.Next == nil {
		return out
	}
	for _, p := range ae.owners(key) {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// sharedKeys calls fn for each key this node has stored in the given
// segments that peer owns too, with the hash of its stored encoding.
// Writes not yet committed are left to the next exchange.
func (ae *antiEntropy) sharedKeys(peer crdt.NodeID, segs []uint32, fn func(key []byte, s crdt.State, hash uint64)) {
	for _, seg := range segs {
		lo, hi := SegmentRange(seg)
		_ = ae.store.Scan(lo, hi, func(key []byte, s crdt.State, hash uint64) bool {
			owners := ae.sharers(key)
			if slices.Contains(owners, ae.cfg.ID) && slices.Contains(owners, peer) {
				fn(key, s, hash)
			}
			return true
		})
	}
}

// Bootstrapped reports whether, since the ring last changed, this node's
// trees have been found equal to those of every other member, down ones
// included: a joining node then holds every key its ranges hold anywhere
// and may start serving them. A member that is down holds keys nobody else
// may have (a write acknowledged by it and one other owner, that other one
// down too), so the joiner waits until it is back, or removed.
func (n *Node) Bootstrapped() bool {
	if !n.ae.built || n.ae.epoch != n.view.Epoch {
		return false
	}
	for _, p := range n.view.Members {
		if p != n.cfg.ID && !n.ae.synced[p] {
			return false
		}
	}
	return true
}
