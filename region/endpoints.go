package region

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/region/httpapi"
	"github.com/meridiankv/meridian/region/membership"
	"github.com/meridiankv/meridian/region/resp"
	kvsync "github.com/meridiankv/meridian/sync"
)

// httpBackend adapts a Node to the HTTP endpoint.
type httpBackend struct{ *Node }

var _ httpapi.Backend = httpBackend{}

func (b httpBackend) Cluster() httpapi.Cluster {
	c := b.Node.Cluster()
	out := httpapi.Cluster{Self: crdt.NodeID(c.Self), Region: c.Region, Replicas: c.Replicas}
	for _, m := range c.Members {
		out.Members = append(out.Members, httpapi.Member{ID: crdt.NodeID(m.ID), Region: m.Region,
			State: memberState(m), GossipAddr: m.Gossip, PeerAddr: m.Peer, RESPAddr: m.RESP, HTTPAddr: m.HTTP,
			Ownership: m.Ownership, HintsPending: int64(m.HintsPending)})
	}
	for _, r := range c.Regions {
		out.Regions = append(out.Regions, httpRegion(r))
	}
	return out
}

// Diff compares this node's region with region, as a dry run.
func (b httpBackend) Diff(ctx context.Context, region string) (kvsync.DiffReport, error) {
	return b.Node.Diff(ctx, region)
}

// httpRegion renders another region for the HTTP endpoint.
func httpRegion(r RegionInfo) httpapi.Region {
	out := httpapi.Region{Name: r.Name, Link: httpapi.LinkDown, Nodes: []httpapi.RegionNode{}}
	if r.Up {
		out.Link = httpapi.LinkUp
	}
	if r.HeardAgo >= 0 {
		ms := time.Duration(r.HeardAgo).Milliseconds()
		out.HeardAgoMS = &ms
	}
	for _, m := range r.Members {
		out.Nodes = append(out.Nodes, httpapi.RegionNode{ID: crdt.NodeID(m.ID), Status: m.Status.String(),
			Health: m.Health.String(), RESPAddr: m.RESP, HTTPAddr: m.HTTP, PeerAddr: m.Peer})
	}
	st := r.Replication
	out.Replication = httpapi.Replication{LagMS: st.Lag.Milliseconds(), Pending: st.Pending, PendingBytes: st.PendingBytes,
		Shipped: st.Shipped, ShippedBytes: st.ShippedBytes, Resent: st.Resent, Dropped: st.Dropped}
	return out
}

// memberState folds roster status and health into one word: a member that
// is joining, leaving, left, removing or removed says so; one in the ring
// says how the failure detector sees it.
func memberState(m MemberInfo) httpapi.MemberState {
	switch m.Status {
	case membership.Joining:
		return httpapi.StateJoining
	case membership.Leaving:
		return httpapi.StateLeaving
	case membership.Removing:
		return httpapi.StateRemoving
	case membership.Left, membership.Removed:
		return httpapi.MemberState(m.Status.String())
	}
	return httpapi.MemberState(m.Health.String())
}

func (b httpBackend) Leave(ctx context.Context) error {
	err := b.Node.Leave(ctx)
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", kvsync.ErrRejected, err)
	}
	return err
}

func (b httpBackend) Remove(ctx context.Context, id crdt.NodeID, force bool) error {
	err := b.Node.Remove(ctx, string(id), force)
	switch {
	case errors.Is(err, ErrNotMember):
		return fmt.Errorf("%w: %w", httpapi.ErrUnknownNode, err)
	case err != nil:
		return fmt.Errorf("%w: %w", kvsync.ErrRejected, err)
	}
	return nil
}

// respBackend adapts a Node to the Redis-protocol endpoint.
type respBackend struct{ *Node }

var _ resp.Backend = respBackend{}

// Info returns INFO's "cluster" and "replication" sections.
func (b respBackend) Info() []resp.InfoSection {
	c, st := b.Node.Cluster(), b.Node.Stats()
	alive, hints := 0, 0
	for _, m := range c.Members {
		if m.Health == membership.Alive {
			alive++
		}
		hints += m.HintsPending
	}
	f := func(k string, v any) resp.InfoField { return resp.InfoField{Key: k, Value: fmt.Sprint(v)} }
	return []resp.InfoSection{
		{Name: "cluster", Fields: []resp.InfoField{
			f("cluster_enabled", 0), f("meridian_node", c.Self), f("meridian_region", c.Region),
			f("meridian_members", len(c.Members)), f("meridian_members_alive", alive),
			f("meridian_replicas", c.Replicas), f("meridian_ring_epoch", fmt.Sprintf("%016x", c.Epoch)),
		}},
		{Name: "replication", Fields: []resp.InfoField{
			f("role", "master"), f("meridian_writes_coordinated", st.Coordinated),
			f("meridian_requests_forwarded", st.Forwarded), f("meridian_read_repairs", st.ReadRepairs),
			f("meridian_hints_pending", hints), f("meridian_hints_replayed", st.HintsSent),
			f("meridian_anti_entropy_exchanges", st.AE.Exchanges), f("meridian_anti_entropy_repairs", st.AE.KeysSent),
		}},
	}
}
