package httpapi

import (
	"net/http"
	"strings"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// inspectBody is the answer of GET /v1/inspect/{key}: everything that makes
// up the key's merged state, why a reader sees what it sees, and what each
// replica holds.
type inspectBody struct {
	Key  string `json:"key"`
	Type string `json:"type"`
	// Kinds lists the kinds of value with live entries, when writes of
	// different kinds were concurrent; Type is the one a reader sees.
	Kinds []string `json:"kinds,omitempty"`
	// Context is the token to send back with a write; Causality the same
	// context for humans, as "{a:3 b:5 +b:7}".
	Context   string `json:"context"`
	Causality string `json:"causality"`

	Siblings   []siblingBody `json:"siblings,omitempty"`
	Winner     *winnerBody   `json:"winner,omitempty"`
	Members    []memberBody  `json:"members,omitempty"`
	Count      *int64        `json:"count,omitempty"`
	CountError string        `json:"count_error,omitempty"`
	Shares     []shareBody   `json:"shares,omitempty"`
	// Resets are the counter's reset baselines: what deletes removed of
	// each node's share, which that node's share counts above.
	Resets []resetBody `json:"resets,omitempty"`

	Replicas []replicaBody `json:"replicas"`
}

// siblingBody is one concurrent register value.
type siblingBody struct {
	Value    string `json:"value"`
	Encoding string `json:"encoding,omitempty"`
	Dot      string `json:"dot"`    // "node:counter"
	Node     string `json:"node"`   // the replica that coordinated the write (its actor)
	Region   string `json:"region"` // the region it was written in
	hlc
	Winner bool `json:"winner"`
}

// winnerBody names the sibling a reader sees and why.
type winnerBody struct {
	Dot    string `json:"dot"`
	Reason string `json:"reason"`
}

// memberBody is one live add of a set element.
type memberBody struct {
	Value    string `json:"value"`
	Encoding string `json:"encoding,omitempty"`
	Dot      string `json:"dot"`
	Node     string `json:"node"`
	Region   string `json:"region"`
	hlc
}

// shareBody is one node's share of a counter.
type shareBody struct {
	Node   string `json:"node"`
	Region string `json:"region"`
	Dot    string `json:"dot"`
	Inc    uint64 `json:"inc"`
	Dec    uint64 `json:"dec"`
	hlc
}

// resetBody is one node's reset baseline: its share counts only above it.
type resetBody struct {
	Node string `json:"node"`
	Inc  uint64 `json:"inc"`
	Dec  uint64 `json:"dec"`
}

// replicaBody is what one replica answered.
type replicaBody struct {
	Node string `json:"node"`
	// Error is why the replica gave no state; empty when it answered.
	Error string `json:"error,omitempty"`
	// Agrees says whether its state equals the merged one.
	Agrees bool         `json:"agrees"`
	State  *summaryBody `json:"state,omitempty"`
}

// summaryBody is a replica's own state, in brief.
type summaryBody struct {
	Type     string   `json:"type"`
	Value    *string  `json:"value,omitempty"`
	Encoding string   `json:"encoding,omitempty"`
	Siblings []string `json:"siblings,omitempty"` // dots, winner first
	Members  []string `json:"members,omitempty"`
	Count    *int64   `json:"count,omitempty"`
	// Causality is the replica's context, as "{a:3 b:5}".
	Causality string `json:"causality"`
}

func (h *handler) inspect(w http.ResponseWriter, r *http.Request) error {
	op, err := keyOp(r, wire.OpInspect)
	if err != nil {
		return err
	}
	resp, err := h.do(r, op)
	if err != nil {
		return err
	}
	body, err := renderInspection(string(op.Key), resp)
	if err != nil {
		return err
	}
	w.Header().Set(ContextHeader, body.Context)
	writeJSON(w, http.StatusOK, body)
	return nil
}

// renderInspection explains resp, the answer to an OpInspect of key.
func renderInspection(key string, resp kvsync.Response) (inspectBody, error) {
	st := resp.State
	token, err := encodeContext(st.Context())
	if err != nil {
		return inspectBody{}, err
	}
	b := inspectBody{
		Key: key, Type: st.Kind().String(), Kinds: kinds(st),
		Context: token, Causality: st.Context().String(),
		Replicas: make([]replicaBody, 0, len(resp.Replicas)),
	}
	sibs := st.Siblings()
	for i, s := range sibs {
		v, enc := text(s.Value)
		b.Siblings = append(b.Siblings, siblingBody{
			Value: v, Encoding: enc, Dot: s.Dot.String(), Node: string(s.Dot.Node), Region: originRegion(s.Dot.Node),
			hlc: renderTime(s.Time), Winner: i == 0,
		})
	}
	if len(sibs) > 0 {
		b.Winner = &winnerBody{Dot: sibs[0].Dot.String(), Reason: winReason(sibs)}
	}
	for _, m := range st.MemberDots() {
		v, enc := text([]byte(m.Value))
		b.Members = append(b.Members, memberBody{Value: v, Encoding: enc, Dot: m.Dot.String(), Node: string(m.Dot.Node), Region: originRegion(m.Dot.Node), hlc: renderTime(m.Time)})
	}
	if shares := st.Shares(); len(shares) > 0 {
		for _, s := range shares {
			b.Shares = append(b.Shares, shareBody{Node: string(s.Dot.Node), Region: originRegion(s.Dot.Node), Dot: s.Dot.String(), Inc: s.Inc, Dec: s.Dec, hlc: renderTime(s.Time)})
		}
		if n, err := st.Value(); err != nil {
			b.CountError = err.Error()
		} else {
			b.Count = &n
		}
	}
	for _, r := range st.Resets() {
		b.Resets = append(b.Resets, resetBody{Node: string(r.Node), Inc: r.Inc, Dec: r.Dec})
	}
	for _, rep := range resp.Replicas {
		b.Replicas = append(b.Replicas, renderReplica(rep, st))
	}
	return b, nil
}

// kinds lists the kinds with live entries in st when there is more than one.
func kinds(st crdt.State) []string {
	var out []string
	if len(st.Siblings()) > 0 {
		out = append(out, crdt.KindRegister.String())
	}
	if st.Card() > 0 {
		out = append(out, crdt.KindSet.String())
	}
	if len(st.Shares()) > 0 {
		out = append(out, crdt.KindCounter.String())
	}
	if len(out) < 2 {
		return nil
	}
	return out
}

func renderReplica(rep kvsync.ReplicaState, merged crdt.State) replicaBody {
	b := replicaBody{Node: string(rep.Node)}
	if rep.Err != nil {
		b.Error = rep.Err.Error()
		return b
	}
	st := rep.State
	b.Agrees = st.Equal(merged)
	s := summaryBody{Type: st.Kind().String(), Causality: st.Context().String()}
	for _, sib := range st.Siblings() {
		s.Siblings = append(s.Siblings, sib.Dot.String())
	}
	switch st.Kind() {
	case crdt.KindRegister:
		win, _ := st.Get()
		v, enc := text(win.Value)
		s.Value, s.Encoding = &v, enc
	case crdt.KindSet:
		s.Members, s.Encoding = texts(st.Members())
	case crdt.KindCounter:
		if n, err := st.Value(); err == nil {
			s.Count = &n
		}
	}
	b.State = &s
	return b
}

// originRegion returns the region an actor wrote in: a node names its
// actors region/id.incarnation, except in the default region, "local",
// whose actors name none (see region.actorBase).
func originRegion(actor crdt.NodeID) string {
	if r, _, ok := strings.Cut(string(actor), "/"); ok {
		return r
	}
	return "local"
}
