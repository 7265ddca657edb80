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
	sig    uint64                // the rings of every region the trees were built for (viewSig)
	trees  map[crdt.NodeID]*Tree // per peer
	cursor uint64                // next key hash the build scan reads
	built  bool                  // every stored key is in the trees
	next   int64                 // time of the next exchange
	turn   int                   // round-robin over peers
	ex     *exchange             // the exchange in progress, if any
	synced map[crdt.NodeID]bool  // peers found in sync since the epoch began

	// Between regions (see regionPeers).
	rnext int64           // time of the next exchange with another region
	rturn int             // round-robin over the other regions' peers
	rex   *exchange       // the exchange with another region in progress
	wasUp map[string]bool // each region's link at the last tick: a heal compares at once
	diffs []*exchange     // comparisons asked for (Diff), dry runs
}

type exchange struct {
	id       uint64
	peer     crdt.NodeID
	deadline int64
	diff     *diffOp // a dry run for Diff: collect, repair nothing
	differed bool    // the trees differed: there is more to repair
}

// AEStats counts anti-entropy work.
type AEStats struct {
	Exchanges    int64 // exchanges started
	InSync       int64 // exchanges that found the trees equal
	Segments     int64 // differing leaf segments compared key by key
	KeysSent     int64 // states shipped to repair a peer
	TreeRebuilds int64 // full rebuilds after a ring change
	// Between regions: exchanges with a node of another region, those that
	// found the trees equal, and the states shipped to repair one.
	RegionExchanges, RegionInSync, RegionKeysSent int64
	// RegionBytesSent counts the bytes of the states shipped to repair
	// another region (keys plus encoded states).
	RegionBytesSent int64
}

func newAntiEntropy(c *core) *antiEntropy { return &antiEntropy{core: c} }

// reset starts the trees over for the current placements.
func (ae *antiEntropy) reset() {
	ae.epoch, ae.sig = ae.view.Epoch, ae.viewSig()
	if ae.trees == nil {
		ae.trees = map[crdt.NodeID]*Tree{}
	}
	for id, t := range ae.trees {
		if slices.Contains(ae.view.Members, id) {
			t.Reset()
		} else {
			delete(ae.trees, id) // trees of other regions' nodes come back as keys are added
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
		od, nd := Digest(e.Key, e.Before), Digest(e.Key, e.After)
		for _, p := range ae.treePeers(e.Key) {
			ae.tree(p).Update(h, od, nd)
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
		d := Digest(key, hash)
		for _, p := range ae.treePeers(key) {
			ae.tree(p).Update(h, 0, d)
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
	if ae.trees == nil || ae.epoch != ae.view.Epoch || ae.sig != ae.viewSig() {
		ae.reset()
	}
	if !ae.built {
		ae.build()
		return
	}
	if ex := ae.ex; ex != nil && ex.deadline <= ae.now {
		ae.ex = nil
	}
	ae.tickRegions()
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

// find returns the exchange of id with peer: the one inside the region,
// the one with another region, or a dry run.
func (ae *antiEntropy) find(id uint64, peer crdt.NodeID) *exchange {
	for _, ex := range append([]*exchange{ae.ex, ae.rex}, ae.diffs...) {
		if ex != nil && ex.id == id && ex.peer == peer {
			return ex
		}
	}
	return nil
}

// end forgets exchange ex.
func (ae *antiEntropy) end(ex *exchange) {
	switch {
	case ex == ae.ex:
		ae.ex = nil
	case ex == ae.rex:
		ae.rex = nil
		if ex.differed {
			// Repair on, one exchange after another, until the trees
			// agree: each is bounded by MaxSegments.
			ae.rnext = ae.now
		}
	default:
		ae.diffs = slices.DeleteFunc(ae.diffs, func(d *exchange) bool { return d == ex })
		if ex.diff != nil {
			ex.diff.peerDone(ae, ex.peer)
		}
	}
}

// onTreeRequest answers with this node's hashes of the nodes asked for.
func (ae *antiEntropy) onTreeRequest(m wire.Message) {
	reply := wire.Message{Type: wire.MsgTreeReply, To: m.From, ID: m.ID, Level: m.Level, Indexes: m.Indexes}
	if !ae.built || ae.epoch != ae.view.Epoch || ae.sig != ae.viewSig() || m.Epoch != ae.epochFor(m.From) || int(m.Level) > LeafLevel {
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
	ex := ae.find(m.ID, m.From)
	if ex == nil {
		return
	}
	if m.Code != wire.CodeOK || len(m.Hashes) != len(m.Indexes) || ae.epoch != ae.view.Epoch || ae.sig != ae.viewSig() {
		if ex.diff != nil {
			ex.diff.incomplete(ex.peer, cmpOrText(m.Err, "the trees changed during the comparison"))
		}
		ae.end(ex)
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
		if m.Level == 0 && ex.diff == nil {
			if _, _, remote := SplitQualified(m.From); remote {
				ae.stats.RegionInSync++
			} else {
				ae.stats.InSync++
				ae.synced[m.From] = true
			}
		}
		ae.end(ex)
		return
	}
	ex.deadline = ae.now + 4*int64(ae.cfg.RequestTimeout)
	budget := ae.cfg.MaxSegments
	if ex.diff != nil {
		budget = 1 << SegmentBits // a comparison on demand lists every key that differs
	}
	epoch := ae.epochFor(m.From)
	ex.differed = true
	if int(m.Level) < LeafLevel {
		// Descend into as many differing nodes as keep the next request
		// within the budget: every level asks at most budget hashes, and
		// the leaves compared key by key are at most budget segments.
		limit := max(1, budget>>fanoutBits)
		var next []uint32
		for _, idx := range diff[:min(len(diff), limit)] {
			next = append(next, Children(m.Level, idx)...)
		}
		ae.send(wire.Message{Type: wire.MsgTreeRequest, To: m.From, ID: m.ID, Level: m.Level + 1, Indexes: next, Epoch: epoch})
		return
	}
	segs := diff[:min(len(diff), budget)]
	if ex.diff != nil {
		// A dry run: ask for the peer's digests, and compare them here.
		ex.diff.segs[m.From] = segs
		ae.send(wire.Message{Type: wire.MsgKeysRequest, To: m.From, ID: m.ID, Indexes: segs, Epoch: epoch, Changed: dryRun})
		return
	}
	ae.stats.Segments += int64(len(segs))
	var keys []wire.KeyDigest
	ae.sharedKeys(m.From, segs, func(key []byte, _ crdt.State, hash uint64) {
		keys = append(keys, wire.KeyDigest{Key: key, Hash: hash})
	})
	ae.send(wire.Message{Type: wire.MsgKeysRequest, To: m.From, ID: m.ID, Indexes: segs, Keys: keys, Epoch: epoch})
}

// dryRun marks a MsgKeysRequest (in Changed) of a comparison on demand:
// the receiver answers with its digests of the segments, and repairs
// nothing.
const dryRun = 1

func cmpOrText(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// onKeysRequest ships the peer the states that differ from its digests and
// asks for the ones it has that this node lacks or holds differently.
func (ae *antiEntropy) onKeysRequest(m wire.Message) {
	if m.Epoch != ae.epochFor(m.From) {
		ae.send(wire.Message{Type: wire.MsgKeysReply, To: m.From, ID: m.ID, Code: wire.CodeUnavailable,
			Err: "the placements differ: the trees compare different keys"})
		return // the placements differ: shipping by our own could misplace keys
	}
	if m.Changed == dryRun {
		var mine []wire.KeyDigest
		ae.sharedKeys(m.From, m.Indexes, func(key []byte, _ crdt.State, hash uint64) {
			mine = append(mine, wire.KeyDigest{Key: key, Hash: hash})
		})
		ae.send(wire.Message{Type: wire.MsgKeysReply, To: m.From, ID: m.ID, Keys: mine, Changed: dryRun})
		return
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
			ae.repair(m.From, key, s)
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
	ex := ae.find(m.ID, m.From)
	if ex == nil {
		return
	}
	if ex.diff != nil {
		if m.Code != wire.CodeOK {
			ex.diff.incomplete(ex.peer, m.Err)
		} else {
			ex.diff.compare(ae, ex.peer, m.Keys)
		}
		ae.end(ex)
		return
	}
	ae.end(ex)
	for _, k := range m.Keys {
		s, err := ae.get(k.Key)
		if err != nil || s.IsZero() {
			continue
		}
		ae.repair(m.From, k.Key, s)
	}
}

// repair ships s, this node's state of key, to peer.
func (ae *antiEntropy) repair(peer crdt.NodeID, key []byte, s crdt.State) {
	if _, _, remote := SplitQualified(peer); remote {
		ae.stats.RegionKeysSent++
		ae.stats.RegionBytesSent += hintSize(key, s)
	} else {
		ae.stats.KeysSent++
	}
	ae.send(wire.Message{Type: wire.MsgRepair, To: peer, Key: key, State: s})
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
			if slices.Contains(ae.treePeers(key), peer) {
				fn(key, s, hash)
			}
			return true
		})
	}
}

// treePeers returns the peers whose trees cover key: inside the region,
// the other nodes that hold it (now or once the ring change completes)
// when this node does; and, when this node is the key's primary owner (the
// first in its region's ring), the key's primary owner in every other
// region. So between regions each key is compared by one pair of nodes,
// chosen by placement, whatever the regions' node counts.
func (ae *antiEntropy) treePeers(key []byte) []crdt.NodeID {
	owners := ae.sharers(key)
	if !slices.Contains(owners, ae.cfg.ID) {
		return nil
	}
	out := make([]crdt.NodeID, 0, len(owners)+len(ae.view.Remote))
	for _, p := range owners {
		if p != ae.cfg.ID {
			out = append(out, p)
		}
	}
	if len(ae.view.Remote) == 0 || ae.cfg.RegionAntiEntropyInterval <= 0 {
		return out
	}
	if primary := ae.owners(key); len(primary) == 0 || primary[0] != ae.cfg.ID {
		return out
	}
	for _, rv := range ae.view.Remote {
		if rv.Placement != nil {
			if p := rv.Placement.Owners(key, 1); len(p) > 0 {
				out = append(out, p[0])
			}
		}
	}
	return out
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
	return n.settle.done()
}
