package httpapi

import (
	"context"
	"errors"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// Backend is the node behind the endpoint. All its methods must be safe for
// concurrent use: the endpoint calls them from one goroutine per request.
type Backend interface {
	// Do runs op and blocks until it is answered or ctx ends; when ctx ends
	// first, the Response's Err matches ctx.Err(). Errors are those of a
	// kvsync.Node: kvsync.ErrRejected, ErrUnavailable, ErrUnknownOutcome,
	// *kvsync.TimeoutError, crdt.ErrWrongType, crdt.ErrOverflow. For
	// wire.OpInspect, Response.State is the merged state and
	// Response.Replicas holds each replica's own answer.
	Do(ctx context.Context, op wire.Op) kvsync.Response
	// Cluster returns a snapshot of the region's membership, and of the
	// other regions, as this node sees it.
	Cluster() Cluster
	// Leave hands this node's data off to the nodes that take over its
	// ranges and leaves the region; it blocks until done or ctx ends. An
	// error matching kvsync.ErrRejected (the region's state forbids it, such
	// as the last node leaving) is answered with 409, kvsync.ErrUnavailable
	// with 503.
	Leave(ctx context.Context) error
	// Remove removes the dead node id from the region for good; the
	// survivors re-replicate its ranges. Unless force, the node refuses
	// when it sees no more than half of the region alive (it may be on the
	// minority side of a partition). An error matching ErrUnknownNode is
	// answered with 404, kvsync.ErrRejected (such as removing a live node,
	// or a removal by a minority) with 409, kvsync.ErrUnavailable with 503.
	Remove(ctx context.Context, id crdt.NodeID, force bool) error
}

// ErrUnknownNode is what a Backend's Remove wraps when id names no member,
// so that the endpoint answers 404. Use errors.Is(err, ErrUnknownNode).
var ErrUnknownNode = errors.New("httpapi: no such node")

// Cluster is a snapshot of a region's membership and of the other regions,
// served by GET /v1/cluster.
type Cluster struct {
	// Self is the id of the node that answered.
	Self crdt.NodeID `json:"self"`
	// Region names the region the node belongs to.
	Region string `json:"region"`
	// Replicas is N, the number of copies of each key in the region.
	Replicas int `json:"replicas"`
	// Members lists every known member, Self included, sorted by id.
	Members []Member `json:"members"`
	// Regions describes every other region the node knows, sorted by name:
	// empty in a cluster of one region.
	Regions []Region `json:"regions"`
}

// Member is one node of a region as this node sees it.
type Member struct {
	// ID names the node in the ring and in membership.
	ID crdt.NodeID `json:"id"`
	// Region names the region the node belongs to.
	Region string `json:"region"`
	// State is what membership believes about the node.
	State MemberState `json:"state"`
	// GossipAddr is the host:port of its membership (gossip) listener.
	GossipAddr string `json:"gossip_addr"`
	// PeerAddr is the host:port of its replication (QUIC) listener.
	PeerAddr string `json:"peer_addr"`
	// RESPAddr is the host:port of its Redis-protocol listener, empty when
	// it serves none.
	RESPAddr string `json:"resp_addr"`
	// HTTPAddr is the host:port of its HTTP endpoint.
	HTTPAddr string `json:"http_addr"`
	// Ownership is the fraction of the key space the node is the primary
	// owner of, from 0 to 1; the fractions of the members in the ring sum
	// to 1.
	Ownership float64 `json:"ownership"`
	// HintsPending counts the hinted writes the answering node holds for
	// this node, waiting for it to come back.
	HintsPending int64 `json:"hints_pending"`
}

// MemberState is what membership believes about a node.
type MemberState string

// The states of a member.
const (
	StateAlive   MemberState = "alive"   // answering gossip
	StateSuspect MemberState = "suspect" // missed probes: may be down
	StateDead    MemberState = "dead"    // declared down; its writes go to hints
	StateJoining MemberState = "joining" // receiving its ranges before serving them
	StateLeaving MemberState = "leaving" // handing its ranges off before it goes
	// StateRemoving: being removed where strong keys are declared, until the
	// strong keys it was an acceptor of are settled.
	StateRemoving MemberState = "removing"
)

// Region is another region as the answering node sees it: whether the link
// to it works, its nodes as that region reports them, and the answering
// node's replication to it.
type Region struct {
	// Name names the region.
	Name string `json:"name"`
	// Link says whether the link to the region works: LinkUp when one of
	// its nodes answered lately.
	Link Link `json:"link"`
	// HeardAgoMS is how long ago, in milliseconds, a node of the region
	// last answered the answering node; nil (JSON null) when none ever did.
	HeardAgoMS *int64 `json:"heard_ago_ms"`
	// Nodes lists the region's members, sorted by id.
	Nodes []RegionNode `json:"nodes"`
	// Replication is the answering node's shipping of writes to the region.
	Replication Replication `json:"replication"`
}

// Link is the state of the link to another region.
type Link string

// The states of a link.
const (
	LinkUp   Link = "up"   // a node of the region answered lately
	LinkDown Link = "down" // none did: writes for it wait in the outbox
)

// RegionNode is one member of another region, as that region reports it.
type RegionNode struct {
	// ID names the node in its region.
	ID crdt.NodeID `json:"id"`
	// Status is its roster status: "joining", "active", "leaving", "left"
	// or "removed".
	Status string `json:"status"`
	// Health is how its own region's failure detector sees it: "alive",
	// "suspect" or "dead".
	Health string `json:"health"`
	// RESPAddr is the host:port of its Redis-protocol listener, empty when
	// it serves none.
	RESPAddr string `json:"resp_addr"`
	// HTTPAddr is the host:port of its HTTP endpoint.
	HTTPAddr string `json:"http_addr"`
	// PeerAddr is the host:port of its replication (QUIC) listener.
	PeerAddr string `json:"peer_addr"`
}

// Replication describes the answering node's replication to one other
// region (kvsync.RegionStats): what it owes the region and what the region
// took. The counters run from the node's start.
type Replication struct {
	// LagMS is the age, in milliseconds, of the oldest write owed to the
	// region; 0 when none is.
	LagMS int64 `json:"lag_ms"`
	// Pending counts the writes owed to the region, PendingBytes their
	// estimated size.
	Pending      int64 `json:"pending"`
	PendingBytes int64 `json:"pending_bytes"`
	// Shipped counts the writes the region took, ShippedBytes their keys
	// and encoded deltas.
	Shipped      int64 `json:"shipped"`
	ShippedBytes int64 `json:"shipped_bytes"`
	// Resent counts the batches sent again after a timeout or a refusal.
	Resent int64 `json:"resent"`
	// Dropped counts the writes given up on because the backlog outgrew
	// its bound; anti-entropy has to repair them.
	Dropped int64 `json:"dropped"`
}
