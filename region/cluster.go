package region

import (
	"context"
	"fmt"
	"slices"

	"github.com/meridiankv/meridian/region/membership"
	kvsync "github.com/meridiankv/meridian/sync"
)

// ClusterInfo is what a node knows of its region: each member's roster
// entry, its health as the failure detector sees it, the share of keys it is
// primary for, and the hints held here for it.
type ClusterInfo struct {
	Self     string
	Region   string
	Replicas int
	Epoch    uint64
	Members  []MemberInfo
	// Regions describes every other region this node knows, sorted by
	// name: empty in a cluster of one region.
	Regions []RegionInfo
}

// MemberInfo is one member in ClusterInfo: its entry and health as the
// membership logic reports them, its ownership, and the hints held here for
// it.
type MemberInfo struct {
	membership.MemberInfo
	Ownership    float64 // fraction of keys it is primary for
	HintsPending int     // hints this node holds for it
}

// ErrNotMember is returned by Remove for an id the region does not know.
// Use errors.Is.
var ErrNotMember = membership.ErrNotMember

// Cluster returns the node's view of its region.
func (n *Node) Cluster() ClusterInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.cluster
	c.Members = slices.Clone(c.Members)
	c.Regions = slices.Clone(c.Regions)
	return c
}

// Stats returns the replication counters of the node's state machine.
func (n *Node) Stats() kvsync.Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.smStats
}

func (n *Node) publishCluster(now int64, res membership.Result) {
	hints := map[string]int{}
	if backlog, err := n.store.HintTargets(); err == nil {
		for _, b := range backlog {
			hints[string(b.Target)] = b.Count
		}
	}
	c := ClusterInfo{Self: n.cfg.ID, Region: n.cfg.Region, Replicas: n.cfg.Replicas, Epoch: res.Epoch}
	shares := n.mgr.Ownership()
	for _, m := range res.Members {
		c.Members = append(c.Members, MemberInfo{MemberInfo: m, Ownership: shares[m.ID], HintsPending: hints[m.ID]})
	}
	c.Regions = n.regionInfos(now, n.sm.Stats().Regions)
	n.mu.Lock()
	n.cluster = c
	n.mu.Unlock()
}

// inLoop runs fn in the loop goroutine, which owns the membership logic,
// and returns once it ran.
func (n *Node) inLoop(ctx context.Context, fn func()) error {
	ran := make(chan struct{})
	select {
	case n.admin <- func() { fn(); close(ran) }:
	case <-ctx.Done():
		return ctx.Err()
	case <-n.done:
		return kvsync.ErrStopped
	}
	<-ran // the loop runs it as it takes it
	return nil
}

// Leave hands every key this node holds to the nodes that take over its
// ranges, marks it as left and stops gossiping. It returns when the handoff
// is complete or ctx ends; Close the node afterwards.
func (n *Node) Leave(ctx context.Context) error {
	ch := make(chan error, 1)
	if err := n.inLoop(ctx, func() { n.startLeave(ch) }); err != nil {
		return err
	}
	select {
	case err := <-ch:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		return fmt.Errorf("region: leave interrupted before the handoff completed (the node is still leaving): %w", ctx.Err())
	}
	return n.g.leave(n.cfg.ProbeInterval * 4)
}

// startLeave runs in the loop: it marks this node as leaving; refreshView
// answers ch once the handoff is complete (or the loop stops).
func (n *Node) startLeave(ch chan error) {
	done, err := n.mgr.Leave()
	switch {
	case err != nil:
		ch <- err
	case done:
		ch <- nil
	default:
		n.leaveWaiters = append(n.leaveWaiters, ch)
	}
}

// Remove removes a member for good: it leaves the ring and the survivors
// re-replicate its ranges. It refuses a member that is alive, which should
// leave instead, and, unless force, a removal asked of a node that sees no
// more than half of the region alive (membership.Manager.Remove).
func (n *Node) Remove(ctx context.Context, id string, force bool) error {
	var err error
	if e := n.inLoop(ctx, func() { err = n.mgr.Remove(id, force) }); e != nil {
		return e
	}
	return err
}

// ReloadGossipKeys installs the keys the gossip key file holds now, the
// first one the primary (see NewGossipKey for rotating a key). meridiand
// calls it on SIGHUP.
func (n *Node) ReloadGossipKeys() error {
	g, ok := n.g.(*gossip)
	if !ok {
		return fmt.Errorf("%w: this node's gossip is not memberlist's: there is no key to reload", ErrGossipKey)
	}
	if err := g.reloadKeys(n.cfg.gossipKeyFile()); err != nil {
		return err
	}
	n.log.Info("gossip keys reloaded", "file", n.cfg.gossipKeyFile(), "keys", len(g.keyring.GetKeys()))
	return nil
}
