package sync

import (
	"math"
	"slices"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// Anti-entropy: every replica keeps, for each peer it shares keys with, a
// Merkle tree over exactly the keys both own, updated on every write. Now
// and then it compares its tree with the peer's, from the root down, and
// only differing segments are descended; for those, the two exchange key
// digests and ship each other the states that differ. The cost follows the
// divergence, and MaxSegments caps one exchange (the rest waits for the
// next), so a badly diverged pair cannot eat the cluster (ANCHORS.md 6).
type aeState struct {
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

// aeReset starts the trees over for the current placement.
func (n *Node) aeReset() {
	n.ae.epoch = n.view.Epoch
	if n.ae.trees == nil {
		n.ae.trees = map[crdt.NodeID]*Tree{}
	}
	for id, t := range n.ae.trees {
		if slices.Contains(n.view.Members, id) {
			t.Reset()
		} else {
			delete(n.ae.trees, id)
		}
	}
	for _, id := range n.view.Members {
		if id != n.cfg.ID {
			n.tree(id)
		}
	}
	n.ae.cursor, n.ae.built, n.ae.ex = 0, false, nil
	n.ae.synced = map[crdt.NodeID]bool{}
	n.aeStats.TreeRebuilds++
}

func (n *Node) tree(peer crdt.NodeID) *Tree {
	t := n.ae.trees[peer]
	if t == nil {
		t = NewTree()
		n.ae.trees[peer] = t
	}
	return t
}

// track updates the trees for the puts of a committed batch, from the
// hashes of the stored encodings before and after that Commit reported.
func (n *Node) track(puts []wire.Entry) {
	if n.ae.trees == nil {
		return
	}
	for _, e := range puts {
		if e.Before == e.After {
			continue
		}
		h := wire.KeyHash(e.Key)
		if !n.ae.built && h >= n.ae.cursor {
			continue // the build scan has yet to reach it and will read it then
		}
		owners := n.sharers(e.Key)
		if !slices.Contains(owners, n.cfg.ID) {
			continue
		}
		od, nd := Digest(e.Key, e.Before), Digest(e.Key, e.After)
		for _, p := range owners {
			if p != n.cfg.ID {
				n.tree(p).Update(h, od, nd)
			}
		}
	}
}

// aeBuild adds the next chunk of stored keys to the trees.
func (n *Node) aeBuild() {
	count, last, stopped := 0, uint64(0), false
	// Stored hashes, not pending states: a pending put updates the trees
	// from the stored hash when it commits.
	err := n.store.Scan(n.ae.cursor, math.MaxUint64, func(key []byte, _ crdt.State, hash uint64) bool {
		h := wire.KeyHash(key)
		if count >= n.cfg.AntiEntropyScan && h != last {
			n.ae.cursor, stopped = h, true
			return false
		}
		count, last = count+1, h
		owners := n.sharers(key)
		if slices.Contains(owners, n.cfg.ID) {
			d := Digest(key, hash)
			for _, p := range owners {
				if p != n.cfg.ID {
					n.tree(p).Update(h, 0, d)
				}
			}
		}
		return true
	})
	if err == nil && !stopped {
		n.ae.built = true
	}
}

// tickAE builds the trees and starts an exchange when one is due.
func (n *Node) tickAE() {
	if n.cfg.AntiEntropyInterval <= 0 || n.view.Placement == nil {
		return
	}
	if n.ae.trees == nil || n.ae.epoch != n.view.Epoch {
		n.aeReset()
	}
	if !n.ae.built {
		n.aeBuild()
		return
	}
	if ex := n.ae.ex; ex != nil && ex.deadline <= n.now {
		n.ae.ex = nil
	}
	if n.ae.ex != nil || n.now < n.ae.next {
		return
	}
	interval := n.cfg.AntiEntropyInterval
	if n.view.Joining {
		interval = min(interval, n.cfg.HintInterval) // pull the ranges fast
	}
	n.ae.next = n.now + int64(interval)
	var peers []crdt.NodeID
	for _, p := range n.view.Members {
		if p != n.cfg.ID && !n.view.Down[p] && n.ae.trees[p] != nil {
			peers = append(peers, p)
		}
	}
	if len(peers) == 0 {
		return
	}
	peer := peers[n.ae.turn%len(peers)]
	n.ae.turn++
	n.ae.ex = &exchange{id: n.newID(), peer: peer, deadline: n.now + 4*int64(n.cfg.RequestTimeout)}
	n.aeStats.Exchanges++
	n.send(wire.Message{Type: wire.MsgTreeRequest, To: peer, ID: n.ae.ex.id, Level: 0, Indexes: []uint32{0}, Epoch: n.view.Epoch})
}

// onTreeRequest answers with this node's hashes of the nodes asked for.
func (n *Node) onTreeRequest(m wire.Message) {
	reply := wire.Message{Type: wire.MsgTreeReply, To: m.From, ID: m.ID, Level: m.Level, Indexes: m.Indexes}
	if !n.ae.built || n.ae.epoch != n.view.Epoch || m.Epoch != n.view.Epoch || int(m.Level) > LeafLevel {
		reply.Code, reply.Err = wire.CodeUnavailable, "anti-entropy tree not ready"
		n.send(reply)
		return
	}
	t := n.tree(m.From)
	reply.Hashes = make([]uint64, len(m.Indexes))
	for i, idx := range m.Indexes {
		reply.Hashes[i] = t.Hash(m.Level, idx)
	}
	n.send(reply)
}

// onTreeReply compares the peer's hashes with ours and descends into the
// nodes that differ, or asks for the keys of differing leaves.
func (n *Node) onTreeReply(m wire.Message) {
	ex := n.ae.ex
	if ex == nil || ex.id != m.ID || ex.peer != m.From {
		return
	}
	if m.Code != wire.CodeOK || len(m.Hashes) != len(m.Indexes) || n.ae.epoch != n.view.Epoch {
		n.ae.ex = nil
		return
	}
	t := n.tree(m.From)
	var diff []uint32
	for i, idx := range m.Indexes {
		if t.Hash(m.Level, idx) != m.Hashes[i] {
			diff = append(diff, idx)
		}
	}
	if len(diff) == 0 {
		if m.Level == 0 {
			n.aeStats.InSync++
			n.ae.synced[m.From] = true
		}
		n.ae.ex = nil
		return
	}
	ex.deadline = n.now + 4*int64(n.cfg.RequestTimeout)
	if int(m.Level) < LeafLevel {
		limit := max(1, n.cfg.MaxSegments>>(fanoutBits*(LeafLevel-int(m.Level)-1)))
		var next []uint32
		for _, idx := range diff[:min(len(diff), limit)] {
			next = append(next, Children(m.Level, idx)...)
		}
		n.send(wire.Message{Type: wire.MsgTreeRequest, To: m.From, ID: m.ID, Level: m.Level + 1, Indexes: next, Epoch: n.view.Epoch})
		return
	}
	segs := diff[:min(len(diff), n.cfg.MaxSegments)]
	n.aeStats.Segments += int64(len(segs))
	var keys []wire.KeyDigest
	n.sharedKeys(m.From, segs, func(key []byte, _ crdt.State, hash uint64) {
		keys = append(keys, wire.KeyDigest{Key: key, Hash: hash})
	})
	n.send(wire.Message{Type: wire.MsgKeysRequest, To: m.From, ID: m.ID, Indexes: segs, Keys: keys, Epoch: n.view.Epoch})
}

// onKeysRequest ships the peer the states that differ from its digests and
// asks for the ones it has that this node lacks or holds differently.
func (n *Node) onKeysRequest(m wire.Message) {
	if m.Epoch != n.view.Epoch {
		n.send(wire.Message{Type: wire.MsgKeysReply, To: m.From, ID: m.ID})
		return // the placements differ: shipping by our own could misplace keys
	}
	theirs := make(map[string]uint64, len(m.Keys))
	for _, k := range m.Keys {
		theirs[string(k.Key)] = k.Hash
	}
	var want []wire.KeyDigest
	mine := map[string]bool{}
	n.sharedKeys(m.From, m.Indexes, func(key []byte, s crdt.State, hash uint64) {
		mine[string(key)] = true
		if d, ok := theirs[string(key)]; !ok || d != hash {
			n.aeStats.KeysSent++
			n.send(wire.Message{Type: wire.MsgWrite, To: m.From, Key: key, State: s})
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
	n.send(wire.Message{Type: wire.MsgKeysReply, To: m.From, ID: m.ID, Keys: want})
}

// onKeysReply ships the states the peer asked for and ends the exchange.
func (n *Node) onKeysReply(m wire.Message) {
	ex := n.ae.ex
	if ex == nil || ex.id != m.ID || ex.peer != m.From {
		return
	}
	n.ae.ex = nil
	for _, k := range m.Keys {
		s, err := n.get(k.Key)
		if err != nil || s.IsZero() {
			continue
		}
		n.aeStats.KeysSent++
		n.send(wire.Message{Type: wire.MsgWrite, To: m.From, Key: k.Key, State: s})
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

// sharers returns the nodes that hold key now or will once the ring change
// under way completes: the anti-entropy trees cover, for each pair of
// nodes, the keys both hold either way, so that a joiner compares its
// future ranges with the nodes that hold them today.
func (n *Node) sharers(key []byte) []crdt.NodeID {
	out := n.nextOwners(key)
	if n.view.Next == nil {
		return out
	}
	for _, p := range n.owners(key) {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// sharedKeys calls fn for each key this node has stored in the given
// segments that peer owns too, with the hash of its stored encoding.
// Writes not yet committed are left to the next exchange.
func (n *Node) sharedKeys(peer crdt.NodeID, segs []uint32, fn func(key []byte, s crdt.State, hash uint64)) {
	for _, seg := range segs {
		lo, hi := SegmentRange(seg)
		_ = n.store.Scan(lo, hi, func(key []byte, s crdt.State, hash uint64) bool {
			owners := n.sharers(key)
			if slices.Contains(owners, n.cfg.ID) && slices.Contains(owners, peer) {
				fn(key, s, hash)
			}
			return true
		})
	}
}
