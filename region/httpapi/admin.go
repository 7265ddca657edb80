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

func (h *handler) cluster(w http.ResponseWriter, _ *http.Request) error {
	c := h.b.Cluster()
	if c.Members == nil {
		c.Members = []Member{}
	}
	c.Members = slices.Clone(c.Members)
	slices.SortFunc(c.Members, func(a, b Member) int { return strings.Compare(string(a.ID), string(b.ID)) })
	writeJSON(w, http.StatusOK, c)
	return nil
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
