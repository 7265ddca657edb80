package region

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hashicorp/memberlist"
	"github.com/meridiankv/meridian/ring"
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
}

// MemberInfo is one member in ClusterInfo.
type MemberInfo struct {
	Member
	Health       string  // alive, suspect or dead
	Ownership    float64 // fraction of keys this member is primary for
	HintsPending int     // hints this node holds for it
}

// Cluster returns the node's view of its region.
func (n *Node) Cluster() ClusterInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.cluster
	c.Members = slices.Clone(c.Members)
	return c
}

// Stats returns the replication counters of the node's state machine.
func (n *Node) Stats() kvsync.Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.smStats
}

func (n *Node) publishCluster(roster Roster, live map[string]memberlist.NodeStateType) {
	shares := n.members.shares
	hints := map[string]int{}
	if backlog, err := n.store.HintTargets(); err == nil {
		for _, b := range backlog {
			hints[string(b.Target)] = b.Count
		}
	}
	c := ClusterInfo{Self: n.cfg.ID, Region: n.cfg.Region, Replicas: n.cfg.Replicas, Epoch: n.members.epoch}
	for _, m := range roster.Sorted() {
		c.Members = append(c.Members, MemberInfo{Member: m, Health: health(live, m.ID),
			Ownership: shares[ring.NodeID(m.ID)], HintsPending: hints[m.ID]})
	}
	n.mu.Lock()
	n.cluster = c
	n.mu.Unlock()
}

// ErrNotMember is returned by Remove for an id the region does not know.
var ErrNotMember = errors.New("region: no such member")

// Leave hands every key this node holds to the nodes that take over its
// ranges, marks it as left and stops gossiping. It returns when the handoff
// is complete or ctx ends; Close the node afterwards.
func (n *Node) Leave(ctx context.Context) error {
	ch := make(chan error, 1)
	select {
	case n.leaveReq <- ch:
	case <-ctx.Done():
		return ctx.Err()
	case <-n.done:
		return kvsync.ErrStopped
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

// startLeave runs in the loop: it marks this node as leaving; advanceSelf
// marks it left, and answers ch, once the handoff is complete.
func (n *Node) startLeave(ch chan error) {
	roster, _ := n.g.snapshot()
	self := roster[n.cfg.ID]
	if self.Status == Left {
		ch <- nil
		return
	}
	others := 0
	for _, m := range roster.InNextRing() {
		if m.ID != n.cfg.ID {
			others++
		}
	}
	if others == 0 {
		ch <- fmt.Errorf("region: %s is the last node of region %s: there is no one to hand its data to", n.cfg.ID, n.cfg.Region)
		return
	}
	done := make(chan struct{})
	n.leaving = done
	go func() {
		select {
		case <-done:
			ch <- nil
		case <-n.stop:
			ch <- kvsync.ErrStopped
		}
	}()
	self.Status = Leaving
	n.g.update(self)
	n.log.Info("leaving: handing every key off")
}

// Remove removes a member for good: it leaves the ring and the survivors
// re-replicate its ranges. It refuses a member that is alive, which should
// leave instead.
func (n *Node) Remove(ctx context.Context, id string) error {
	roster, live := n.g.snapshot()
	m, ok := roster[id]
	switch {
	case !ok:
		return fmt.Errorf("%w: %q is not in region %s (see `meridian cluster`)", ErrNotMember, id, n.cfg.Region)
	case id == n.cfg.ID || health(live, id) == "alive":
		return fmt.Errorf("region: %s is alive: run `meridian node leave` against it instead, which hands its data off first", id)
	case m.Status >= Left:
		return nil
	}
	m.Status = Removed
	n.g.update(m)
	n.log.Warn("member removed by request; its ranges are re-replicated", "removed", id)
	return nil
}
