package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meridiankv/meridian/crdt"
)

// cluster serves GET /v1/cluster: the Backend's Cluster with its members
// sorted by id, its regions by name and each region's nodes by id, and
// empty lists as [] rather than null (the JSON is in the package doc).
func (h *handler) cluster(w http.ResponseWriter, _ *http.Request) error {
	c := h.b.Cluster()
	c.Members = sortedClone(c.Members, func(m Member) string { return string(m.ID) })
	c.Regions = sortedClone(c.Regions, func(r Region) string { return r.Name })
	for i := range c.Regions {
		c.Regions[i].Nodes = sortedClone(c.Regions[i].Nodes, func(n RegionNode) string { return string(n.ID) })
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// sortedClone returns a copy of s sorted by key, never nil: the Backend's
// slices are left alone.
func sortedClone[T any](s []T, key func(T) string) []T {
	out := append(make([]T, 0, len(s)), s...)
	slices.SortStableFunc(out, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	return out
}

// adminBody is the answer of a leave or a remove.
type adminBody struct {
	Node   string `json:"node"`
	Status string `json:"status"` // "left" or "removed"
}

func (h *handler) leave(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := h.adminContext(w, r)
	defer cancel()
	if err := h.b.Leave(ctx); err != nil {
		return adminError(err)
	}
	writeJSON(w, http.StatusOK, adminBody{Node: string(h.b.Cluster().Self), Status: "left"})
	return nil
}

func (h *handler) remove(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	force := false
	if s := r.URL.Query().Get("force"); s != "" {
		var err error
		if force, err = strconv.ParseBool(s); err != nil {
			return badRequest("bad force parameter %q: want true or false", s)
		}
	}
	ctx, cancel := h.adminContext(w, r)
	defer cancel()
	if err := h.b.Remove(ctx, crdt.NodeID(id), force); err != nil {
		return adminError(err)
	}
	writeJSON(w, http.StatusOK, adminBody{Node: id, Status: "removed"})
	return nil
}

// adminContext gives a leave or a remove AdminTimeout to run, and the
// response as long to be written, beyond the server's WriteTimeout.
func (h *handler) adminContext(w http.ResponseWriter, r *http.Request) (context.Context, context.CancelFunc) {
	// Without a deadline-capable writer (a test recorder), the server's own
	// timeouts apply; ignoring the error is the documented fallback.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(h.cfg.AdminTimeout + 5*time.Second))
	return context.WithTimeout(r.Context(), h.cfg.AdminTimeout)
}
