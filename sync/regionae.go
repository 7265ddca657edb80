package sync

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/cespare/xxhash/v2"
	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// Anti-entropy between regions. Each key is compared between two regions
// by one pair of nodes: its primary owner in each (treePeers). A node keeps
// one tree per node of another region it is paired with, over the keys of
// that pair, on the same fixed segmentation as every tree, so that regions
// with different node counts and rings compare directly. Every
// RegionAntiEntropyInterval, and at once when a region's link comes back,
// a node compares one of those trees with its peer (round robin), with the
// exchange of the trees inside a region: only differing segments are
// descended, only differing keys shipped, within MaxSegments. The repair a
// region takes is kept for every owner of the key there (relay.take).
//
// Two nodes compare only when they see both regions' rings alike: the
// exchange carries the pair's epoch, made of both regions' ring epochs
// (epochFor). Diff runs the same comparison on demand, as a dry run.

// viewSig names the rings every tree was built for: this region's and the
// other regions'.
func (ae *antiEntropy) viewSig() uint64 {
	if len(ae.view.Remote) == 0 {
		return ae.view.Epoch
	}
	h := xxhash.New()
	fmt.Fprintf(h, "%d", ae.view.Epoch)
	for _, rv := range ae.view.Remote {
		fmt.Fprintf(h, "|%s:%d", rv.Name, rv.Epoch)
	}
	return h.Sum64()
}

// epochFor returns the epoch an exchange with peer compares under: the
// view's inside the region, the pair of rings' with another region's node.
func (ae *antiEntropy) epochFor(peer crdt.NodeID) uint64 {
	region, _, ok := SplitQualified(peer)
	if !ok {
		return ae.view.Epoch
	}
	rv := ae.view.remote(region)
	if rv == nil || rv.Placement == nil {
		return 0 // never equal to a sender's: it has a ring for us
	}
	return pairEpoch(ae.cfg.region(), ae.view.Epoch, region, rv.Epoch)
}

// pairEpoch names two regions' rings, the same at both ends.
func pairEpoch(a string, ea uint64, b string, eb uint64) uint64 {
	if b < a {
		a, ea, b, eb = b, eb, a, ea
	}
	return xxhash.Sum64String(fmt.Sprintf("%s:%d|%s:%d", a, ea, b, eb)) | 1
}

// tickRegions starts an exchange with another region's node when one is
// due: every RegionAntiEntropyInterval, and at once after a link heals.
func (ae *antiEntropy) tickRegions() {
	if ex := ae.rex; ex != nil && ex.deadline <= ae.now {
		ae.rex = nil
	}
	for _, ex := range slices.Clone(ae.diffs) {
		if ex.deadline <= ae.now {
			ex.diff.incomplete(ex.peer, fmt.Sprintf("did not answer within %s", 4*ae.cfg.RequestTimeout))
			ae.end(ex)
		}
	}
	if ae.cfg.RegionAntiEntropyInterval <= 0 || len(ae.view.Remote) == 0 {
		return
	}
	if ae.wasUp == nil {
		ae.wasUp = map[string]bool{}
	}
	if ae.rnext == 0 {
		ae.rnext = ae.now + int64(ae.cfg.RegionAntiEntropyInterval)
	}
	for _, rv := range ae.view.Remote {
		if was, known := ae.wasUp[rv.Name]; known && !was && rv.Up {
			ae.rnext = ae.now // a link came back: compare now
		}
		ae.wasUp[rv.Name] = rv.Up
	}
	if ae.rex != nil || ae.now < ae.rnext {
		return
	}
	peers := ae.regionPeers()
	if len(peers) == 0 {
		ae.rnext = ae.now + int64(ae.cfg.RegionAntiEntropyInterval)
		return
	}
	// Go through every peer quickly after a heal, then one per interval.
	peer := peers[ae.rturn%len(peers)]
	ae.rturn++
	if ae.rturn%len(peers) == 0 {
		ae.rnext = ae.now + int64(ae.cfg.RegionAntiEntropyInterval)
	}
	ae.rex = &exchange{id: ae.newID(partAntiEntropy), peer: peer, deadline: ae.now + 4*int64(ae.cfg.RequestTimeout)}
	ae.stats.RegionExchanges++
	ae.send(wire.Message{Type: wire.MsgTreeRequest, To: peer, ID: ae.rex.id, Indexes: []uint32{0}, Epoch: ae.epochFor(peer)})
}

// regionPeers returns the nodes this node starts exchanges with in the
// other regions whose name sorts after its own (an exchange repairs both
// ends, so one end of each pair starts them), that it keeps trees for,
// whose region is up and which are not down, sorted.
func (ae *antiEntropy) regionPeers() []crdt.NodeID {
	var out []crdt.NodeID
	for p := range ae.trees {
		r, _, ok := SplitQualified(p)
		if !ok || r < ae.cfg.region() {
			continue
		}
		if rv := ae.view.remote(r); rv != nil && rv.Up && !rv.Down[p] {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// DiffReport is what Diff found: the keys whose state differs between this
// node's region and another, among the keys this node compares (those it
// is the primary owner of here).
type DiffReport struct {
	Region string // the other region
	// Peers lists the other region's nodes compared with; Incomplete the
	// ones that could not be, and why.
	Peers      []crdt.NodeID
	Incomplete []string
	// OnlyHere and OnlyThere list the keys held in one region only;
	// Differ the keys both hold in different states. Sorted.
	OnlyHere, OnlyThere, Differ [][]byte
}

// diffOp is a comparison on demand with another region (Diff).
type diffOp struct {
	id      uint64 // the request id the report answers
	report  DiffReport
	pending map[crdt.NodeID]bool
	segs    map[crdt.NodeID][]uint32 // the differing segments, per peer
}

func (d *diffOp) incomplete(peer crdt.NodeID, why string) {
	d.report.Incomplete = append(d.report.Incomplete, fmt.Sprintf("%s: %s", peer, why))
}

// compare lists the keys of the segments compared with peer whose digests
// differ: theirs are the peer's.
func (d *diffOp) compare(ae *antiEntropy, peer crdt.NodeID, theirs []wire.KeyDigest) {
	other := make(map[string]uint64, len(theirs))
	for _, k := range theirs {
		other[string(k.Key)] = k.Hash
	}
	ae.sharedKeys(peer, d.segs[peer], func(key []byte, _ crdt.State, hash uint64) {
		h, ok := other[string(key)]
		switch {
		case !ok:
			d.report.OnlyHere = append(d.report.OnlyHere, slices.Clone(key))
		case h != hash:
			d.report.Differ = append(d.report.Differ, slices.Clone(key))
		}
		delete(other, string(key))
	})
	for k := range other {
		d.report.OnlyThere = append(d.report.OnlyThere, []byte(k))
	}
}

// peerDone answers the comparison once every peer is done.
func (d *diffOp) peerDone(ae *antiEntropy, peer crdt.NodeID) {
	delete(d.pending, peer)
	if len(d.pending) > 0 {
		return
	}
	for _, ks := range [][][]byte{d.report.OnlyHere, d.report.OnlyThere, d.report.Differ} {
		slices.SortFunc(ks, bytes.Compare)
	}
	slices.Sort(d.report.Incomplete)
	r := d.report
	ae.answer(origin{client: d.id}, Response{Diff: &r})
}

// Diff compares, as a dry run, the keys this node compares with region
// (those it is the primary owner of in its own region) with their primary
// owners there, and answers request id with a Response whose Diff lists
// the keys that differ. Run it on every node of the region to compare two
// regions whole (meridian diff does). It repairs nothing.
func (n *Node) Diff(now int64, id uint64, region string) {
	n.advance(now)
	ae := n.ae
	fail := func(format string, args ...any) {
		n.answer(origin{client: id}, Response{Err: rejectf(format, args...)})
	}
	rv := n.view.remote(region)
	switch {
	case rv == nil:
		fail("this node knows no region %q: see meridian cluster for the regions it knows", region)
		return
	case !rv.Up:
		n.answer(origin{client: id}, Response{Err: &UnavailableError{Region: region, Level: EachQuorum}})
		return
	case n.cfg.RegionAntiEntropyInterval <= 0 || n.cfg.AntiEntropyInterval <= 0:
		fail("anti-entropy between regions is off on %s (--region-anti-entropy-interval or --anti-entropy-interval 0): it keeps no trees to compare", n.cfg.ID)
		return
	case ae.trees == nil || !ae.built || ae.sig != ae.viewSig():
		n.answer(origin{client: id}, Response{Err: &UnavailableError{Level: EachQuorum, Reason: "the anti-entropy trees are being built: retry in a few seconds"}})
		return
	}
	d := &diffOp{id: id, report: DiffReport{Region: region}, pending: map[crdt.NodeID]bool{}, segs: map[crdt.NodeID][]uint32{}}
	var peers []crdt.NodeID
	for p := range ae.trees {
		if r, _, ok := SplitQualified(p); ok && r == region {
			peers = append(peers, p)
		}
	}
	slices.Sort(peers)
	d.report.Peers = peers
	if len(peers) == 0 {
		r := d.report
		n.answer(origin{client: id}, Response{Diff: &r})
		return
	}
	for _, p := range peers {
		if rv.Down[p] {
			d.incomplete(p, "down")
			continue
		}
		d.pending[p] = true
		ex := &exchange{id: n.newID(partAntiEntropy), peer: p, deadline: n.now + 4*int64(n.cfg.RequestTimeout), diff: d}
		ae.diffs = append(ae.diffs, ex)
		n.send(wire.Message{Type: wire.MsgTreeRequest, To: p, ID: ex.id, Indexes: []uint32{0}, Epoch: ae.epochFor(p)})
	}
	if len(d.pending) == 0 {
		d.pending[""] = true
		d.peerDone(ae, "")
	}
}
