package client

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Inspection is everything a node knows about one key: every concurrent
// value with where it came from, which one a reader sees and why, and what
// each replica holds.
type Inspection struct {
	// Key is the key inspected.
	Key string
	// Type is the type of value a reader sees.
	Type Type
	// Kinds lists the types with live values when writes of different types
	// were concurrent; Type is the one a reader sees.
	Kinds []Type
	// Context is the token to write with; Causality the same context for
	// humans, as "{a:3 b:5 +b:7}" (node:counter, + for a dot past a gap).
	Context   string
	Causality string
	// Siblings are the concurrent register values, the winner first.
	Siblings []Sibling
	// Winner names the sibling a reader sees and why.
	Winner Winner
	// Elements are the live adds of a set's members, one per concurrent add.
	Elements []Element
	// Count is a counter's value, the sum of its Shares, each counted above
	// its node's Reset, unless CountError says why it has none.
	Count      int64
	CountError string
	// Shares are the counter's per-node contributions, sorted by dot.
	Shares []Share
	// Resets are the counter's reset baselines, sorted by node: what
	// deletes removed of each node's share.
	Resets []Reset
	// Replicas is what each replica of the key answered.
	Replicas []Replica
}

// HLC is a hybrid logical clock reading: physical time, and a logical
// counter ordering events that share it.
type HLC struct {
	Time    time.Time // the physical part, to the nanosecond
	Logical uint32    // orders events with the same Time
}

// String renders the reading as RFC 3339 with nanoseconds, plus "+logical"
// when the logical part is not zero.
func (h HLC) String() string {
	s := h.Time.UTC().Format(time.RFC3339Nano)
	if h.Logical != 0 {
		s += fmt.Sprintf("+%d", h.Logical)
	}
	return s
}

// Sibling is one concurrent register value.
type Sibling struct {
	Value  []byte // the value written
	Dot    string // the write's id, "node:counter"
	Node   string // the node that coordinated the write (its actor)
	Region string // the region it was written in
	HLC    HLC    // when it was written, by the coordinator's clock
	// Winner marks the value a reader sees.
	Winner bool
}

// Winner names the sibling a reader sees and, in words, why it wins, such
// as "highest HLC timestamp" or "timestamps tie: highest node id wins".
type Winner struct {
	Dot    string // the winning sibling's dot
	Reason string // why it wins
}

// Element is one live add of a set member.
type Element struct {
	Value string // the member
	Dot   string // the add's id, "node:counter"
	Node  string // the node that coordinated the add
	HLC   HLC    // when it was added
}

// Share is one node's contribution to a counter: its running totals of
// increments and decrements.
type Share struct {
	Node     string // the node whose increments these are
	Dot      string // the id of its latest change, "node:counter"
	Inc, Dec uint64 // its running totals; it counts (Inc - Reset.Inc) - (Dec - Reset.Dec)
	HLC      HLC    // when it last changed
}

// Reset is a node's reset baseline for a counter: the totals of its share
// as the latest delete that removed it saw them. The node's share counts
// only above it, so that an increment concurrent with a delete counts
// alone.
type Reset struct {
	Node     string // the node whose share was reset
	Inc, Dec uint64 // the totals the delete removed
}

// Replica is what one replica answered to an inspection.
type Replica struct {
	// Node is the replica's id.
	Node string
	// Err says why the replica gave no state; empty when it answered.
	Err string
	// Agrees reports whether its state equals the merged one.
	Agrees bool
	// State is the replica's own state, nil when Err is set.
	State *ReplicaState
}

// ReplicaState is one replica's state of a key, in brief.
type ReplicaState struct {
	Type     Type     // the type of value a reader of this replica alone sees
	Value    []byte   // register: the value a reader of this replica alone sees
	Siblings []string // register: the dots of its values, winner first
	Members  []string // set
	Count    *int64   // counter
	// Causality is the replica's context, as "{a:3 b:5}".
	Causality string
}

type hlcJSON struct {
	Time    string `json:"time"`
	Logical uint32 `json:"logical"`
}

func (h hlcJSON) hlc() (HLC, error) {
	t, err := time.Parse(time.RFC3339Nano, h.Time)
	if err != nil {
		return HLC{}, fmt.Errorf("client: the node sent a bad time: %w", err)
	}
	return HLC{Time: t, Logical: h.Logical}, nil
}

type inspectJSON struct {
	Key       string `json:"key"`
	Type      Type   `json:"type"`
	Kinds     []Type `json:"kinds"`
	Context   string `json:"context"`
	Causality string `json:"causality"`
	Siblings  []struct {
		Value    string `json:"value"`
		Encoding string `json:"encoding"`
		Dot      string `json:"dot"`
		Node     string `json:"node"`
		Region   string `json:"region"`
		hlcJSON
		Winner bool `json:"winner"`
	} `json:"siblings"`
	Winner  *Winner `json:"winner"`
	Members []struct {
		Value    string `json:"value"`
		Encoding string `json:"encoding"`
		Dot      string `json:"dot"`
		Node     string `json:"node"`
		hlcJSON
	} `json:"members"`
	Count      int64  `json:"count"`
	CountError string `json:"count_error"`
	Shares     []struct {
		Node string `json:"node"`
		Dot  string `json:"dot"`
		Inc  uint64 `json:"inc"`
		Dec  uint64 `json:"dec"`
		hlcJSON
	} `json:"shares"`
	Resets []struct {
		Node string `json:"node"`
		Inc  uint64 `json:"inc"`
		Dec  uint64 `json:"dec"`
	} `json:"resets"`
	Replicas []struct {
		Node   string `json:"node"`
		Error  string `json:"error"`
		Agrees bool   `json:"agrees"`
		State  *struct {
			Type      Type     `json:"type"`
			Value     *string  `json:"value"`
			Encoding  string   `json:"encoding"`
			Siblings  []string `json:"siblings"`
			Members   []string `json:"members"`
			Count     *int64   `json:"count"`
			Causality string   `json:"causality"`
		} `json:"state"`
	} `json:"replicas"`
}

// Inspect returns everything the node's replicas know about key.
func (c *Client) Inspect(ctx context.Context, key string, opts ...CallOption) (*Inspection, error) {
	var j inspectJSON
	r := request{method: http.MethodGet, path: keyPath("/v1/inspect/", key, ""), call: c.options(opts)}
	if err := c.send(ctx, r, &j); err != nil {
		return nil, err
	}
	return j.inspection()
}

func (j *inspectJSON) inspection() (*Inspection, error) {
	in := &Inspection{
		Key: j.Key, Type: j.Type, Kinds: j.Kinds, Context: j.Context, Causality: j.Causality,
		Count: j.Count, CountError: j.CountError,
	}
	if j.Winner != nil {
		in.Winner = *j.Winner
	}
	for _, s := range j.Siblings {
		v, err := decodeText(s.Value, s.Encoding)
		if err != nil {
			return nil, err
		}
		h, err := s.hlc()
		if err != nil {
			return nil, err
		}
		in.Siblings = append(in.Siblings, Sibling{Value: v, Dot: s.Dot, Node: s.Node, Region: s.Region, HLC: h, Winner: s.Winner})
	}
	for _, m := range j.Members {
		v, err := decodeText(m.Value, m.Encoding)
		if err != nil {
			return nil, err
		}
		h, err := m.hlc()
		if err != nil {
			return nil, err
		}
		in.Elements = append(in.Elements, Element{Value: string(v), Dot: m.Dot, Node: m.Node, HLC: h})
	}
	for _, s := range j.Shares {
		h, err := s.hlc()
		if err != nil {
			return nil, err
		}
		in.Shares = append(in.Shares, Share{Node: s.Node, Dot: s.Dot, Inc: s.Inc, Dec: s.Dec, HLC: h})
	}
	for _, r := range j.Resets {
		in.Resets = append(in.Resets, Reset{Node: r.Node, Inc: r.Inc, Dec: r.Dec})
	}
	for _, r := range j.Replicas {
		rep := Replica{Node: r.Node, Err: r.Error, Agrees: r.Agrees}
		if s := r.State; s != nil {
			st := &ReplicaState{Type: s.Type, Siblings: s.Siblings, Count: s.Count, Causality: s.Causality}
			if s.Value != nil {
				v, err := decodeText(*s.Value, s.Encoding)
				if err != nil {
					return nil, err
				}
				st.Value = v
			}
			for _, m := range s.Members {
				b, err := decodeText(m, s.Encoding)
				if err != nil {
					return nil, err
				}
				st.Members = append(st.Members, string(b))
			}
			rep.State = st
		}
		in.Replicas = append(in.Replicas, rep)
	}
	return in, nil
}
