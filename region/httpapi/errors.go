package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
)

// The error codes of the JSON error body; see the package documentation.
const (
	codeBadRequest      = "bad_request"
	codeNotFound        = "not_found"
	codeRejected        = "rejected"
	codeWrongType       = "wrong_type"
	codeOverflow        = "overflow"
	codeUnavailable     = "unavailable"
	codeTimeout         = "timeout"
	codeUnknownOutcome  = "unknown_outcome"
	codeInternal        = "internal"
	codeConditionFailed = "condition_failed"
)

// apiError is an error answered to the client as it stands.
type apiError struct {
	status  int
	code    string
	maybe   bool // the operation may have been applied
	message string
	// current and etag are a strong key's value and ETag, when a condition
	// on it did not hold.
	current *valueBody
	etag    string
}

func (e *apiError) Error() string { return e.message }

// errorBody is the JSON shape of every error.
type errorBody struct {
	Error   string `json:"error"`
	Code    string `json:"code"`
	Applied string `json:"applied"` // "no" or "maybe"
	// A write to a strong key whose condition did not hold (412): the
	// key's version and its value as they are.
	Version *uint64    `json:"version,omitempty"`
	Current *valueBody `json:"current,omitempty"`
}

func badRequest(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeBadRequest, message: fmt.Sprintf(format, args...)}
}

// opError classifies an error the Backend answered an operation with. write
// says whether the operation writes, so may have been applied.
func opError(err error, write bool) *apiError {
	e := &apiError{message: err.Error()}
	var te *kvsync.TimeoutError
	switch {
	case errors.Is(err, crdt.ErrWrongType):
		e.status, e.code = http.StatusConflict, codeWrongType
	case errors.Is(err, crdt.ErrOverflow):
		e.status, e.code = http.StatusConflict, codeOverflow
	case errors.Is(err, kvsync.ErrConditionFailed):
		e.status, e.code = http.StatusPreconditionFailed, codeConditionFailed
	case errors.Is(err, kvsync.ErrRejected), errors.Is(err, kvsync.ErrNotInteger):
		e.status, e.code = http.StatusBadRequest, codeRejected
	case errors.Is(err, kvsync.ErrUnavailable):
		e.status, e.code = http.StatusServiceUnavailable, codeUnavailable
	case errors.Is(err, kvsync.ErrStopped):
		e.status, e.code, e.maybe = http.StatusServiceUnavailable, codeUnavailable, write
		e.message += ": the node is shutting down; retry on another node"
	case errors.Is(err, kvsync.ErrUnknownOutcome),
		write && (errors.As(err, &te) || errors.Is(err, context.DeadlineExceeded)):
		e.status, e.code, e.maybe = http.StatusGatewayTimeout, codeUnknownOutcome, true
	case errors.As(err, &te), errors.Is(err, context.DeadlineExceeded):
		e.status, e.code = http.StatusGatewayTimeout, codeTimeout
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this answer.
		e.status, e.code, e.maybe = http.StatusServiceUnavailable, codeUnavailable, write
	default:
		e.status, e.code, e.maybe = http.StatusInternalServerError, codeInternal, write
	}
	return e
}

// adminError classifies an error of Leave or Remove.
func adminError(err error) *apiError {
	e := opError(err, true)
	switch {
	case errors.Is(err, ErrUnknownNode):
		e.status, e.code, e.maybe = http.StatusNotFound, codeNotFound, false
	case e.code == codeRejected:
		e.status = http.StatusConflict
	}
	return e
}

// fail answers err: an *apiError as it stands, anything else as an internal
// error, which is logged.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		e = &apiError{status: http.StatusInternalServerError, code: codeInternal, message: err.Error()}
	}
	if e.status >= 500 {
		h.log.LogAttrs(r.Context(), slog.LevelWarn, "httpapi: request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", e.status), slog.String("error", e.message))
	}
	applied := "no"
	if e.maybe {
		applied = "maybe"
	}
	body := errorBody{Error: e.message, Code: e.code, Applied: applied, Current: e.current}
	if e.current != nil {
		body.Version = e.current.Version
		w.Header().Set("ETag", e.etag)
	}
	writeJSON(w, e.status, body)
}

// writeJSON answers v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only a programming error (an unsupported type) gets here.
		status = http.StatusInternalServerError
		body, _ = json.Marshal(errorBody{Error: "httpapi: encoding the answer: " + err.Error(), Code: codeInternal, Applied: "no"})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// routeError answers a request no route took, in the JSON error shape, with
// the status (404 or 405) and headers the mux chose; h is the handler the
// mux picked for it. A redirect (a path to clean) is served as the mux
// serves it.
func routeError(w http.ResponseWriter, r *http.Request, h http.Handler) {
	probe := &statusProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	switch {
	case probe.status == http.StatusMethodNotAllowed:
		allow := probe.header.Get("Allow")
		w.Header().Set("Allow", allow)
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{
			Error: fmt.Sprintf("method %s is not allowed on %s: use %s", r.Method, r.URL.Path, allow),
			Code:  codeBadRequest, Applied: "no",
		})
	case probe.status == http.StatusNotFound:
		writeJSON(w, http.StatusNotFound, errorBody{
			Error: fmt.Sprintf("no route for %s %s: the API lives under /v1, such as GET /v1/kv/KEY; a key is one path segment, with / encoded as %%2F", r.Method, r.URL.Path),
			Code:  codeNotFound, Applied: "no",
		})
	default:
		h.ServeHTTP(w, r)
	}
}

// statusProbe records the headers a handler sets and discards its body.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(status int)      { p.status = status }
