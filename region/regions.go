package region

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/region/membership"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// The node's side of the other regions: its membership.Directory, kept in
// the meta key "regions" so that a restarted node knows the regions (and
// owes them its writes) at once, and exchanged over the peer transport.

func (n *Node) openDirectory() error {
	stored, err := n.db.GetMeta("regions")
	if err != nil {
		return err
	}
	n.dir, err = membership.NewDirectory(membership.DirectoryConfig{Region: n.cfg.Region, ID: n.cfg.ID, Replicas: n.cfg.Replicas, VNodes: n.cfg.VNodes, Seeds: n.cfg.WANJoin}, stored)
	if err != nil {
		return err
	}
	n.dirStored = string(stored)
	return nil
}

// tickDirectory sends this node's directory to the other regions when it
// is time (every second).
func (n *Node) tickDirectory(now int64) {
	if n.local == nil {
		return // before the first refresh: nothing to say of this region
	}
	n.sendAll(n.dir.Tick(now, n.local, n.health))
}

// onDirectory takes a directory another region sent, answers it, and
// stores what changed.
func (n *Node) onDirectory(now int64, m wire.Message) {
	reply, changed, err := n.dir.Step(now, m, n.local, n.health)
	if err != nil {
		n.logEvery("directory", "refused a directory of regions", "from", m.From, "region", m.Region, "err", err)
		return
	}
	if changed {
		n.storeDirectory()
		n.refreshView(now) // the addresses of nodes just learned of, among the rest
	}
	n.sendAll(reply)
}

func (n *Node) storeDirectory() {
	if enc := string(n.dir.Encode()); enc != n.dirStored {
		if err := n.db.PutMeta("regions", []byte(enc)); err != nil {
			n.log.Error("could not store the directory of regions", "err", err)
		} else {
			n.dirStored = enc
		}
	}
}

// forMe reports whether the loop hands m to this node: a message to its
// id, to its qualified name (from another region), or a directory sent to
// a seed address, whose id the sender did not know.
func (n *Node) forMe(m wire.Message) bool {
	switch {
	case m.To == crdt.NodeID(n.cfg.ID):
		return true
	case m.Type == wire.MsgRegion:
		return true
	}
	r, id, ok := kvsync.SplitQualified(m.To)
	return ok && r == n.cfg.Region && id == crdt.NodeID(n.cfg.ID)
}

// mergePeers returns the addresses of this region's members and of the
// other regions' nodes, by the names messages go to.
func mergePeers(local map[crdt.NodeID]string, remote map[crdt.NodeID]string) map[crdt.NodeID]string {
	out := make(map[crdt.NodeID]string, len(local)+len(remote))
	maps.Copy(out, local)
	maps.Copy(out, remote)
	return out
}

// isRemote reports whether a peer name is another region's node, or a
// seed of one.
func isRemote(to crdt.NodeID) bool { return strings.Contains(string(to), "/") }

// noteRemoteAddrs records the addresses of the other regions' nodes, for
// wanDelay, when they changed.
func (n *Node) noteRemoteAddrs(peers map[crdt.NodeID]string) {
	addrs := map[string]bool{}
	for id, a := range peers {
		if isRemote(id) {
			addrs[a] = true
		}
	}
	if cur := n.remoteAddrs.Load(); cur == nil || !maps.Equal(*cur, addrs) {
		n.remoteAddrs.Store(&addrs)
	}
}

// wanDelay is the transport's Delay: --wan-delay plus up to --wan-jitter
// for a frame to another region's node, nothing inside the region; nil
// when no delay is set.
func (n *Node) wanDelay() func(addr string) time.Duration {
	d, j := n.cfg.WANDelay, n.cfg.WANJitter
	if d == 0 && j == 0 {
		return nil
	}
	return func(addr string) time.Duration {
		if m := n.remoteAddrs.Load(); m == nil || !(*m)[addr] {
			return 0
		}
		if j > 0 {
			return d + rand.N(j)
		}
		return d
	}
}

// RegionInfo is another region as this node sees it (ClusterInfo.Regions).
type RegionInfo struct {
	Name string
	// Up says the link works: a node of the region answered lately.
	Up bool
	// HeardAgo is how long ago a node of the region last answered, in
	// nanoseconds, -1 for never.
	HeardAgo int64
	// Members lists its nodes with the health its own region reports.
	Members []membership.MemberInfo
	// Replication is this node's shipping to the region.
	Replication kvsync.RegionStats
}

func (n *Node) regionInfos(now int64, stats map[string]kvsync.RegionStats) []RegionInfo {
	var out []RegionInfo
	for _, r := range n.dir.Regions(now) {
		info := RegionInfo{Name: r.Name, Up: r.Up, HeardAgo: -1, Members: slices.Clone(r.Members), Replication: stats[r.Name]}
		if r.Heard > 0 {
			info.HeardAgo = now - r.Heard
		}
		out = append(out, info)
	}
	return out
}

// logEvery logs a warning under topic at most once per keyLogInterval of
// the node's clock, with the number of records left out since: a
// misconfigured peer repeats itself several times a second. Loop only.
func (n *Node) logEvery(topic, msg string, args ...any) {
	now := n.cfg.Clock.Now().UnixNano()
	if n.logged == nil {
		n.logged = map[string]*logSpacing{}
	}
	s := n.logged[topic]
	if s == nil {
		s = &logSpacing{}
		n.logged[topic] = s
	}
	if s.last != 0 && now-s.last < int64(keyLogInterval) {
		s.left++
		return
	}
	n.log.Warn(msg, append(args, "left_out_since_last_record", s.left)...)
	s.last, s.left = now, 0
}

type logSpacing struct {
	last int64
	left int
}

// Diff compares, as a dry run, the keys this node is the primary owner of
// in its region with their primary owners in region (kvsync.Node.Diff):
// run it on every node of the region to compare two regions whole. It
// repairs nothing.
func (n *Node) Diff(ctx context.Context, region string) (kvsync.DiffReport, error) {
	ch := make(chan kvsync.Response, 1)
	id := n.nextReq.Add(1)
	if err := n.inLoop(ctx, func() {
		n.waiters[id] = ch
		n.sm.Diff(n.cfg.Clock.Now().UnixNano(), id, region)
	}); err != nil {
		return kvsync.DiffReport{}, err
	}
	select {
	case r := <-ch:
		if r.Err != nil {
			return kvsync.DiffReport{}, r.Err
		}
		return *r.Diff, nil
	case <-ctx.Done():
		return kvsync.DiffReport{}, fmt.Errorf("region: comparing with region %s: %w", region, ctx.Err())
	case <-n.done:
		return kvsync.DiffReport{}, kvsync.ErrStopped
	}
}
