package httpapi

import (
	"context"
	"net/http"
	"sort"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
)

// Differ is a Backend that compares its region with another on demand:
// GET /v1/diff?region=NAME answers 501 when the Backend is not one.
type Differ interface {
	// Diff compares, as a dry run, the keys this node compares with
	// region (those it is the primary owner of in its own) with their
	// primary owners there (kvsync.Node.Diff).
	Diff(ctx context.Context, region string) (kvsync.DiffReport, error)
}

// Diff is what GET /v1/diff?region=NAME answers: the keys whose state
// differs between the node's region and region NAME, among the keys the
// node compares (those it is the primary owner of in its region). The
// answers of every node of a region make up the whole comparison
// (meridian diff A B asks them all). Keys are strings as stored (they may
// hold any bytes: a JSON string shows invalid UTF-8 as U+FFFD).
type Diff struct {
	Node   crdt.NodeID `json:"node"`   // the node that compared
	Region string      `json:"region"` // its region
	Other  string      `json:"other"`  // the region compared with
	// Peers lists the other region's nodes compared with, Incomplete the
	// ones that could not be, and why.
	Peers      []string `json:"peers"`
	Incomplete []string `json:"incomplete"`
	// OnlyHere and OnlyThere list the keys one region holds and the other
	// does not; Differ the keys both hold in different states. Sorted.
	OnlyHere  []string `json:"only_here"`
	OnlyThere []string `json:"only_there"`
	Differ    []string `json:"differ"`
}

func (h *handler) diff(w http.ResponseWriter, r *http.Request) error {
	region := r.URL.Query().Get("region")
	if region == "" {
		return badRequest("missing region parameter: GET /v1/diff?region=NAME compares this node's region with region NAME")
	}
	d, ok := h.b.(Differ)
	if !ok {
		return &apiError{status: http.StatusNotImplemented, code: codeInternal, message: "this node cannot compare regions"}
	}
	ctx, cancel := h.adminContext(w, r)
	defer cancel()
	rep, err := d.Diff(ctx, region)
	if err != nil {
		return opError(err, false)
	}
	c := h.b.Cluster()
	out := Diff{Node: c.Self, Region: c.Region, Other: rep.Region, Peers: []string{}, Incomplete: nonNil(rep.Incomplete),
		OnlyHere: keyStrings(rep.OnlyHere), OnlyThere: keyStrings(rep.OnlyThere), Differ: keyStrings(rep.Differ)}
	for _, p := range rep.Peers {
		out.Peers = append(out.Peers, string(p))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func keyStrings(ks [][]byte) []string {
	out := make([]string, 0, len(ks))
	for _, k := range ks {
		out = append(out, string(k))
	}
	sort.Strings(out)
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
