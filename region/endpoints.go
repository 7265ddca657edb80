package region

import (
	"context"
	"errors"
	"fmt"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/region/httpapi"
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
	return out
}

// memberState folds roster status and health into one word: a member that
// is joining, leaving, left or removed says so; one in the ring says how the
// failure detector sees it.
func memberState(m MemberInfo) httpapi.MemberState {
	switch m.Status {
	case Joining:
		return httpapi.StateJoining
	case Leaving:
		return httpapi.StateLeaving
	case Left, Removed:
		return httpapi.MemberState(m.Status.String())
	}
	return httpapi.MemberState(m.Health)
}

func (b httpBackend) Leave(ctx context.Context) error {
	err := b.Node.Leave(ctx)
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", kvsync.ErrRejected, err)
	}
	return err
}

func (b httpBackend) Remove(ctx context.Context, id crdt.NodeID) error {
	err := b.Node.Remove(ctx, string(id))
	switch {
	case errors.Is(err, ErrNotMember):
		return fmt.Errorf("%w: %w", httpapi.ErrUnknownNode, err)
	case err != nil:
		return fmt.Errorf("%w: %w", kvsync.ErrRejected, err)
	}
	return nil
}
