package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Cluster is a region's membership, and the other regions, as the
// answering node sees them.
type Cluster struct {
	// Self is the id of the node that answered.
	Self string `json:"self"`
	// Region names its region.
	Region string `json:"region"`
	// Replicas is the number of copies of each key in the region.
	Replicas int `json:"replicas"`
	// Members lists every known member, sorted by id.
	Members []Member `json:"members"`
	// Regions lists every other region the node knows, sorted by name:
	// empty in a cluster of one region, nil from a node that predates
	// regions.
	Regions []Region `json:"regions"`
}

// Member is one node of a region.
type Member struct {
	// ID names the node in the ring and in membership.
	ID string `json:"id"`
	// Region names the region the node belongs to.
	Region string `json:"region"`
	// State is "alive", "suspect", "dead", "joining", "leaving" or
	// "removing" (where strong keys are declared, until the removal has
	// settled them).
	State string `json:"state"`
	// The node's listeners, as host:port.
	GossipAddr string `json:"gossip_addr"` // membership (gossip)
	PeerAddr   string `json:"peer_addr"`   // replication between nodes
	RESPAddr   string `json:"resp_addr"`   // Redis protocol; empty when it serves none
	HTTPAddr   string `json:"http_addr"`   // the HTTP API this package talks to
	// Ownership is the fraction of the key space the node is primary for,
	// from 0 to 1.
	Ownership float64 `json:"ownership"`
	// HintsPending counts the writes the answering node holds for this one
	// until it comes back.
	HintsPending int64 `json:"hints_pending"`
}

// Region is another region as the answering node sees it: whether the link
// to it works, its nodes as that region reports them, and the answering
// node's replication to it.
type Region struct {
	// Name names the region.
	Name string `json:"name"`
	// Link says whether the link to the region works.
	Link Link `json:"link"`
	// HeardAgoMS is how long ago, in milliseconds, a node of the region
	// last answered the answering node; nil when none ever did. HeardAgo
	// returns it as a duration.
	HeardAgoMS *int64 `json:"heard_ago_ms"`
	// Nodes lists the region's members, sorted by id.
	Nodes []RegionNode `json:"nodes"`
	// Replication is the answering node's shipping of writes to the region.
	Replication Replication `json:"replication"`
}

// HeardAgo returns how long ago a node of the region last answered, and
// false when none ever did.
func (r Region) HeardAgo() (time.Duration, bool) {
	if r.HeardAgoMS == nil {
		return 0, false
	}
	return time.Duration(*r.HeardAgoMS) * time.Millisecond, true
}

// Link is the state of the link to another region.
type Link string

// The states of a link.
const (
	LinkUp   Link = "up"   // a node of the region answered lately
	LinkDown Link = "down" // none did: the writes it is owed wait
)

// RegionNode is one member of another region, as that region reports it.
type RegionNode struct {
	// ID names the node in its region.
	ID string `json:"id"`
	// Status is its roster status: "joining", "active", "leaving", "left"
	// or "removed".
	Status string `json:"status"`
	// Health is how its own region's failure detector sees it: "alive",
	// "suspect" or "dead".
	Health string `json:"health"`
	// The node's listeners, as host:port.
	RESPAddr string `json:"resp_addr"` // Redis protocol; empty when it serves none
	HTTPAddr string `json:"http_addr"` // the HTTP API this package talks to
	PeerAddr string `json:"peer_addr"` // replication between nodes
}

// Replication is the answering node's replication to one other region.
// The counters run from the node's start.
type Replication struct {
	// LagMS is the age, in milliseconds, of the oldest write owed to the
	// region; 0 when none is. Lag returns it as a duration.
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
	// Dropped counts the writes the node gave up on because the backlog
	// outgrew its bound; anti-entropy repairs them.
	Dropped int64 `json:"dropped"`
}

// Lag returns LagMS as a duration.
func (r Replication) Lag() time.Duration { return time.Duration(r.LagMS) * time.Millisecond }

// Cluster returns the region's membership, and the other regions, as the
// node sees them.
func (c *Client) Cluster(ctx context.Context) (*Cluster, error) {
	var cl Cluster
	if err := c.send(ctx, request{method: http.MethodGet, path: "/v1/cluster"}, &cl); err != nil {
		return nil, err
	}
	return &cl, nil
}

// Leave asks the node to hand its data off to the others and leave the
// region. It returns when the node has left, which may take minutes: give
// ctx room, and the HTTP client no shorter timeout.
func (c *Client) Leave(ctx context.Context) error {
	err := c.send(ctx, request{method: http.MethodPost, path: "/v1/node/leave", write: true}, nil)
	return err
}

// Remove removes the dead node id from the region for good; the survivors
// re-replicate its data. An unknown id is an error matching ErrNotFound, a
// live one an error matching ErrRejected: ask a live node to Leave instead.
// The node also refuses, with an error matching ErrRejected, when it sees no
// more than half of the region alive (it may be on the minority side of a
// partition), unless the call is made WithForce.
func (c *Client) Remove(ctx context.Context, id string, opts ...CallOption) error {
	r := request{method: http.MethodPost, path: "/v1/nodes/" + url.PathEscape(id) + "/remove", write: true}
	if c.options(opts).force {
		r.query = url.Values{"force": {"true"}}
	}
	err := c.send(ctx, r, nil)
	return err
}

// Diff is what one node found comparing its region with another (Client.Diff):
// the keys whose state differs among those it compares, the keys it is the
// primary owner of in its region. The answers of every node of a region
// make up the whole comparison.
type Diff struct {
	Node   string `json:"node"`   // the node that compared
	Region string `json:"region"` // its region
	Other  string `json:"other"`  // the region compared with
	// Peers lists the other region's nodes compared with; Incomplete the
	// ones that could not be, and why.
	Peers      []string `json:"peers"`
	Incomplete []string `json:"incomplete"`
	// OnlyHere and OnlyThere list the keys one region holds and the other
	// does not; Differ the keys both hold in different states.
	OnlyHere  []string `json:"only_here"`
	OnlyThere []string `json:"only_there"`
	Differ    []string `json:"differ"`
}

// Diff asks the node to compare the keys it is the primary owner of with
// their primary owners in region, as a dry run that repairs nothing.
func (c *Client) Diff(ctx context.Context, region string) (*Diff, error) {
	var d Diff
	r := request{method: http.MethodGet, path: "/v1/diff", query: url.Values{"region": {region}}}
	if err := c.send(ctx, r, &d); err != nil {
		return nil, err
	}
	return &d, nil
}
