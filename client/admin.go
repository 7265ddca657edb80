package client

import (
	"context"
	"net/http"
	"net/url"
)

// Cluster is a region's membership as the answering node sees it.
type Cluster struct {
	// Self is the id of the node that answered.
	Self string `json:"self"`
	// Region names its region.
	Region string `json:"region"`
	// Replicas is the number of copies of each key in the region.
	Replicas int `json:"replicas"`
	// Members lists every known member, sorted by id.
	Members []Member `json:"members"`
}

// Member is one node of a region.
type Member struct {
	// ID names the node in the ring and in membership.
	ID string `json:"id"`
	// Region names the region the node belongs to.
	Region string `json:"region"`
	// State is "alive", "suspect", "dead", "joining" or "leaving".
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

// Cluster returns the region's membership as the node sees it.
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
