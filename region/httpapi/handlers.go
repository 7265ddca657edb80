package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// keyOp returns an op of kind on the request's key, at the consistency level
// its query asks for.
func keyOp(r *http.Request, kind wire.OpKind) (wire.Op, error) {
	op := wire.Op{Kind: kind, Key: []byte(r.PathValue("key"))}
	if name := r.URL.Query().Get("consistency"); name != "" {
		l, err := kvsync.ParseLevel(name)
		if err != nil {
			return wire.Op{}, badRequest("bad consistency parameter: %v", err)
		}
		op.Level = uint8(l)
	}
	return op, nil
}

// withContext sets op's context from the request's header, when it has one.
func withContext(r *http.Request, op *wire.Op) error {
	token := r.Header.Get(ContextHeader)
	if token == "" {
		return nil
	}
	ctx, err := decodeContext(token)
	if err != nil {
		return err
	}
	op.Context = ctx
	return nil
}

// writeOp returns a write of kind on the request's key, at the consistency
// level its query asks for, with the request id, condition and expiry of
// strong keys it asks for (withStrong).
func writeOp(r *http.Request, kind wire.OpKind) (wire.Op, error) {
	op, err := keyOp(r, kind)
	if err != nil {
		return wire.Op{}, err
	}
	if err := withStrong(r, &op); err != nil {
		return wire.Op{}, err
	}
	return op, nil
}

// do runs op on the Backend within the request timeout; the error is the
// Backend's, classified.
func (h *handler) do(r *http.Request, op wire.Op) (kvsync.Response, error) {
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.RequestTimeout)
	defer cancel()
	resp := h.b.Do(ctx, op)
	switch {
	case errors.Is(resp.Err, kvsync.ErrConditionFailed):
		return resp, conditionFailed(op.Key, resp)
	case resp.Err != nil:
		return resp, opError(resp.Err, op.Kind != wire.OpGet && op.Kind != wire.OpInspect)
	}
	return resp, nil
}

// readBody reads the request's body, refusing one over the size limit
// before reading past it.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxValueSize))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, &apiError{status: http.StatusRequestEntityTooLarge, code: codeRejected,
			message: fmt.Sprintf("request body too large: the limit is %d bytes", tooLarge.Limit)}
	case err != nil:
		return nil, badRequest("reading the request body: %v", err)
	}
	return body, nil
}

// answerValue writes what resp holds of the request's key: a strong key's
// value with its version as the ETag, or an eventual key's state with its
// context in the header too. A key that holds nothing is answered with 404
// when missing404 is set.
func answerValue(w http.ResponseWriter, key []byte, resp kvsync.Response, missing404 bool) error {
	var body valueBody
	switch {
	case resp.Strong != nil:
		body = renderStrong(string(key), resp.Strong)
		strongHeader(w, resp)
	case !missing404 && resp.State.Kind() == crdt.KindNone:
		// A write answered from a strong key's request-id memory: no value.
		body = valueBody{Key: string(key), Strong: true, Replayed: true}
	default:
		var err error
		if body, err = renderValue(string(key), resp.State); err != nil {
			return err
		}
		w.Header().Set(ContextHeader, body.Context)
	}
	status := http.StatusOK
	if missing404 && body.Type == crdt.KindNone.String() {
		status = http.StatusNotFound
	}
	writeJSON(w, status, body)
	return nil
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) error {
	op, err := keyOp(r, wire.OpGet)
	if err != nil {
		return err
	}
	resp, err := h.do(r, op)
	if err != nil {
		return err
	}
	return answerValue(w, op.Key, resp, true)
}

func (h *handler) put(w http.ResponseWriter, r *http.Request) error {
	op, err := writeOp(r, wire.OpPut)
	if err != nil {
		return err
	}
	if err := withContext(r, &op); err != nil {
		return err
	}
	if op.Value, err = h.readBody(w, r); err != nil {
		return err
	}
	resp, err := h.do(r, op)
	if err != nil {
		return err
	}
	return answerValue(w, op.Key, resp, false)
}

// deleteBody is the answer of a DELETE.
type deleteBody struct {
	Key     string  `json:"key"`
	Deleted bool    `json:"deleted"`           // the key held a value
	Context string  `json:"context,omitempty"` // eventual keys
	Strong  bool    `json:"strong,omitempty"`
	Version *uint64 `json:"version,omitempty"` // strong keys: the version after it
}

func (h *handler) del(w http.ResponseWriter, r *http.Request) error {
	op, err := writeOp(r, wire.OpDelete)
	if err != nil {
		return err
	}
	if err := withContext(r, &op); err != nil {
		return err
	}
	resp, err := h.do(r, op)
	if err != nil {
		return err
	}
	body := deleteBody{Key: string(op.Key), Deleted: resp.Changed > 0}
	if body.Version = strongHeader(w, resp); body.Version != nil {
		body.Strong = true
		writeJSON(w, http.StatusOK, body)
		return nil
	}
	if body.Context, err = encodeContext(resp.State.Context()); err != nil {
		return err
	}
	w.Header().Set(ContextHeader, body.Context)
	writeJSON(w, http.StatusOK, body)
	return nil
}

// counterBody is the answer of an increment.
type counterBody struct {
	Key     string  `json:"key"`
	Value   int64   `json:"value"`
	Version *uint64 `json:"version,omitempty"` // strong keys: the version after it
}

func (h *handler) incr(w http.ResponseWriter, r *http.Request) error {
	op, err := writeOp(r, wire.OpIncr)
	if err != nil {
		return err
	}
	op.By = 1
	if s := r.URL.Query().Get("by"); s != "" {
		if op.By, err = strconv.ParseInt(s, 10, 64); err != nil {
			return badRequest("bad by parameter %q: want a whole number, negative to decrement, within the int64 range", s)
		}
	}
	resp, err := h.do(r, op)
	if err != nil {
		return err
	}
	n, err := counterValue(resp)
	if err != nil {
		return opError(err, false)
	}
	writeJSON(w, http.StatusOK, counterBody{Key: string(op.Key), Value: n, Version: strongHeader(w, resp)})
	return nil
}

// setBody is the answer of a set add or remove; one of the counts is set.
type setBody struct {
	Key     string  `json:"key"`
	Added   *int64  `json:"added,omitempty"`
	Removed *int64  `json:"removed,omitempty"`
	Version *uint64 `json:"version,omitempty"` // strong keys: the version after it
}

func (h *handler) setAdd(w http.ResponseWriter, r *http.Request) error {
	return h.setOp(w, r, wire.OpAdd)
}

func (h *handler) setRemove(w http.ResponseWriter, r *http.Request) error {
	return h.setOp(w, r, wire.OpRemove)
}

func (h *handler) setOp(w http.ResponseWriter, r *http.Request, kind wire.OpKind) error {
	op, err := writeOp(r, kind)
	if err != nil {
		return err
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	var members []string
	if err := json.Unmarshal(body, &members); err != nil {
		return badRequest(`bad body: want a JSON array of strings, such as ["a","b"]: %v`, err)
	}
	if len(members) == 0 {
		return badRequest(`empty member list: send at least one member, such as ["a"]`)
	}
	for _, m := range members {
		op.Elems = append(op.Elems, []byte(m))
	}
	resp, err := h.do(r, op)
	if err != nil {
		return err
	}
	n := resp.Changed
	out := setBody{Key: string(op.Key), Added: &n, Version: strongHeader(w, resp)}
	if kind == wire.OpRemove {
		out.Added, out.Removed = nil, &n
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
