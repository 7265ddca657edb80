package httpapi_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/meridiankv/meridian/region/httpapi"
	kvsync "github.com/meridiankv/meridian/sync"
)

func TestBackendErrors(t *testing.T) {
	write := request{method: "PUT", path: "/v1/kv/k", body: "v"}
	read := request{method: "GET", path: "/v1/kv/k"}
	tests := []struct {
		name    string
		err     error
		req     request
		status  int
		code    string
		applied string
	}{
		{"rejected", &kvsync.RejectedError{Reason: "key too large: 2000 bytes, the limit is 1024"}, write, 400, "rejected", "no"},
		{"unavailable", &kvsync.UnavailableError{Level: kvsync.Quorum, Alive: 1, Need: 2, Write: true}, write, 503, "unavailable", "no"},
		{"write timeout", &kvsync.TimeoutError{Level: kvsync.Quorum, Got: 1, Need: 2, Timeout: time.Second, Write: true}, write, 504, "unknown_outcome", "maybe"},
		{"read timeout", &kvsync.TimeoutError{Level: kvsync.All, Got: 2, Need: 3, Timeout: time.Second}, read, 504, "timeout", "no"},
		{"commit failed", fmt.Errorf("sync: %w: commit failed: disk full", kvsync.ErrUnknownOutcome), write, 504, "unknown_outcome", "maybe"},
		{"stopped during a write", kvsync.ErrStopped, write, 503, "unavailable", "maybe"},
		{"stopped during a read", kvsync.ErrStopped, read, 503, "unavailable", "no"},
		{"anything else on a write", errors.New("storage: checksum mismatch"), write, 500, "internal", "maybe"},
		{"anything else on a read", errors.New("storage: checksum mismatch"), read, 500, "internal", "no"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.setFail(tt.err)
			w := do(t, newHandler(t, f, httpapi.Config{}), tt.req)
			if w.Code != tt.status {
				t.Errorf("status = %d, want %d", w.Code, tt.status)
			}
			body := decode(t, w)
			checkFields(t, body, map[string]any{"code": tt.code, "applied": tt.applied})
			if msg, _ := body["error"].(string); len(msg) < len(tt.err.Error()) || msg[:len(tt.err.Error())] != tt.err.Error() {
				t.Errorf("error = %q, want the backend's text %q intact", msg, tt.err.Error())
			}
		})
	}
}

// TestRequestTimeout: a backend that never answers is cut off at
// Config.RequestTimeout; a write is then reported as maybe applied.
func TestRequestTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.block = true
		cfg := httpapi.Config{RequestTimeout: 3 * time.Second}
		for _, tt := range []struct {
			req     request
			code    string
			applied string
		}{
			{request{method: "PUT", path: "/v1/kv/k", body: "v"}, "unknown_outcome", "maybe"},
			{request{method: "GET", path: "/v1/kv/k"}, "timeout", "no"},
		} {
			began := time.Now()
			w := do(t, newHandler(t, f, cfg), tt.req)
			if waited := time.Since(began); waited != 3*time.Second {
				t.Errorf("%s waited %s, want the request timeout 3s", tt.req.method, waited)
			}
			if w.Code != http.StatusGatewayTimeout {
				t.Errorf("%s status = %d, want 504", tt.req.method, w.Code)
			}
			checkFields(t, decode(t, w), map[string]any{"code": tt.code, "applied": tt.applied})
		}
	})
}

func TestRouteErrors(t *testing.T) {
	tests := []struct {
		name   string
		req    request
		status int
		code   string
		allow  string
	}{
		{"unknown path", request{method: "GET", path: "/v2/kv/k"}, 404, "not_found", ""},
		{"empty key", request{method: "GET", path: "/v1/kv/"}, 404, "not_found", ""},
		{"key with a raw slash", request{method: "GET", path: "/v1/kv/a/b"}, 404, "not_found", ""},
		{"wrong method", request{method: "POST", path: "/v1/kv/k"}, 405, "bad_request", "DELETE, GET, HEAD, PUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, newHandler(t, newFake(), httpapi.Config{}), tt.req)
			if w.Code != tt.status {
				t.Errorf("status = %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			checkFields(t, decode(t, w), map[string]any{"code": tt.code, "applied": "no"})
			if got := w.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
		})
	}
}
