package httpapi_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/meridiankv/meridian/region/httpapi"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// newStrongFake returns a fake whose keys lock: and acct: are strong,
// local to the default region, and the strong keys' clock.
func newStrongFake(t *testing.T) *fakeBackend {
	t.Helper()
	decl, err := kvsync.ParseDeclaration("lock:,acct:")
	if err != nil {
		t.Fatal(err)
	}
	f := newFake()
	f.strong = f.DeclareStrong(decl)
	return f
}

// strongStep is one request of a scenario on strong keys and what it must
// answer.
type strongStep struct {
	req    request
	status int
	want   map[string]any // fields of the JSON answer
	absent []string       // fields the answer must not have
	etag   string         // the ETag header; "" for none
	op     func(t *testing.T, op wire.Op)
}

// ifMatch and the other helpers build a request's headers.
func hdr(kv ...string) map[string]string {
	h := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = kv[i+1]
	}
	return h
}

func TestStrongKeys(t *testing.T) {
	strongRule := "key %q is eventual: conditions (%s) apply to strong keys only (declare its prefix strong with --strong)"
	tests := []struct {
		name  string
		steps []strongStep
	}{
		{"versions and ETags", []strongStep{
			{req: request{method: "GET", path: "/v1/kv/lock:a"}, status: 404, etag: `"0"`,
				want: map[string]any{"key": "lock:a", "type": "none", "strong": true, "version": 0.0}, absent: []string{"context"}},
			{req: request{method: "PUT", path: "/v1/kv/lock:a", body: "w1"}, status: 200, etag: `"1"`,
				want: map[string]any{"type": "register", "value": "w1", "strong": true, "version": 1.0, "siblings": 1.0}, absent: []string{"context", "expires"}},
			{req: request{method: "GET", path: "/v1/kv/lock:a?consistency=LOCAL_SERIAL"}, status: 200, etag: `"1"`,
				want: map[string]any{"value": "w1", "version": 1.0},
				op: func(t *testing.T, op wire.Op) {
					if kvsync.Level(op.Level) != kvsync.LocalSerial {
						t.Errorf("level %s, want LOCAL_SERIAL", kvsync.Level(op.Level))
					}
				}},
			{req: request{method: "PUT", path: "/v1/kv/lock:a", body: "w2", header: hdr("If-Match", `"1"`)}, status: 200, etag: `"2"`,
				want: map[string]any{"value": "w2", "version": 2.0},
				op: func(t *testing.T, op wire.Op) {
					if op.Cond != wire.CondVersion || op.Version != 1 {
						t.Errorf("op %+v, want the condition version 1", op)
					}
				}},
			{req: request{method: "PUT", path: "/v1/kv/lock:a", body: "w3", header: hdr("If-Match", `"1"`)}, status: 412, etag: `"2"`,
				want: map[string]any{"code": "condition_failed", "applied": "no", "version": 2.0,
					"current": map[string]any{"key": "lock:a", "type": "register", "value": "w2", "siblings": 1.0, "strong": true, "version": 2.0}}},
			{req: request{method: "DELETE", path: "/v1/kv/lock:a", header: hdr("If-Match", "2")}, status: 200, etag: `"3"`,
				want: map[string]any{"key": "lock:a", "deleted": true, "strong": true, "version": 3.0}, absent: []string{"context"}},
			{req: request{method: "DELETE", path: "/v1/kv/lock:a"}, status: 200, etag: `"4"`, // every write whose condition held counts
				want: map[string]any{"deleted": false, "version": 4.0}},
		}},
		{"a lock: If-None-Match, px, ifeq", []strongStep{
			{req: request{method: "PUT", path: "/v1/kv/lock:job?px=1500", body: "w1", header: hdr("If-None-Match", "*")}, status: 200,
				want: map[string]any{"value": "w1", "expires": "2025-01-02T03:04:06.5Z"},
				op: func(t *testing.T, op wire.Op) {
					if op.Cond != wire.CondNX || op.TTL != 1500 {
						t.Errorf("op %+v, want NX with a TTL of 1500 ms", op)
					}
				}},
			{req: request{method: "PUT", path: "/v1/kv/lock:job", body: "w2", header: hdr("If-None-Match", "*")}, status: 412,
				want: map[string]any{"code": "condition_failed", "current": map[string]any{"key": "lock:job", "type": "register", "value": "w1", "siblings": 1.0,
					"strong": true, "version": 1.0, "expires": "2025-01-02T03:04:06.5Z"}}},
			{req: request{method: "DELETE", path: "/v1/kv/lock:job?ifeq=w2"}, status: 412, want: map[string]any{"code": "condition_failed"}},
			{req: request{method: "PUT", path: "/v1/kv/lock:job?ifne=w1", body: "w2"}, status: 412, want: map[string]any{"code": "condition_failed"}},
			{req: request{method: "PUT", path: "/v1/kv/lock:job?ifeq=w1&px=3000", body: "w1"}, status: 200,
				want: map[string]any{"version": 2.0, "expires": "2025-01-02T03:04:08Z"}},
			{req: request{method: "DELETE", path: "/v1/kv/lock:job?ifeq=w1"}, status: 200, want: map[string]any{"deleted": true},
				op: func(t *testing.T, op wire.Op) {
					if op.Cond != wire.CondIfEq || string(op.Expect) != "w1" {
						t.Errorf("op %+v, want IFEQ w1", op)
					}
				}},
			{req: request{method: "PUT", path: "/v1/kv/lock:job", body: "x", header: hdr("If-Match", "*")}, status: 412,
				want: map[string]any{"code": "condition_failed", "current": map[string]any{"key": "lock:job", "type": "none", "siblings": 0.0, "strong": true, "version": 3.0}}},
		}},
		{"counters and sets", []strongStep{
			{req: request{method: "POST", path: "/v1/counter/acct:n?by=5"}, status: 200, etag: `"1"`, want: map[string]any{"key": "acct:n", "value": 5.0, "version": 1.0}},
			{req: request{method: "POST", path: "/v1/counter/acct:n?by=-7"}, status: 200, want: map[string]any{"value": -2.0, "version": 2.0}},
			{req: request{method: "GET", path: "/v1/kv/acct:n"}, status: 200, want: map[string]any{"type": "counter", "count": -2.0, "strong": true}},
			{req: request{method: "POST", path: "/v1/set/acct:s/add", body: `["y","x","y"]`}, status: 200, etag: `"1"`, want: map[string]any{"added": 2.0, "version": 1.0}},
			{req: request{method: "POST", path: "/v1/set/acct:s/remove", body: `["y","z"]`}, status: 200, want: map[string]any{"removed": 1.0}},
			{req: request{method: "GET", path: "/v1/kv/acct:s"}, status: 200, want: map[string]any{"type": "set", "members": []any{"x"}, "version": 2.0}},
			{req: request{method: "PUT", path: "/v1/kv/acct:t", body: "abc"}, status: 200},
			{req: request{method: "POST", path: "/v1/counter/acct:t"}, status: 400, want: map[string]any{"code": "rejected", "applied": "no"}},
			{req: request{method: "POST", path: "/v1/counter/acct:s"}, status: 409, want: map[string]any{"code": "wrong_type"}},
			{req: request{method: "GET", path: "/v1/inspect/acct:s"}, status: 400, want: map[string]any{"code": "rejected"}},
		}},
		{"request ids", []strongStep{
			{req: request{method: "POST", path: "/v1/counter/acct:n", header: hdr("Idempotency-Key", "req-1")}, status: 200, want: map[string]any{"value": 1.0},
				op: func(t *testing.T, op wire.Op) {
					if string(op.ReqID) != "req-1" {
						t.Errorf("request id %q, want req-1", op.ReqID)
					}
				}},
			{req: request{method: "POST", path: "/v1/counter/acct:n", header: hdr("Idempotency-Key", "req-1")}, status: 200,
				want: map[string]any{"value": 1.0}, absent: []string{"version"}}, // answered, not applied again
			{req: request{method: "POST", path: "/v1/counter/acct:n"}, status: 200, want: map[string]any{"value": 2.0}},
			{req: request{method: "PUT", path: "/v1/kv/lock:a", body: "v", header: hdr("Idempotency-Key", "req-2", "If-None-Match", "*")}, status: 200,
				want: map[string]any{"value": "v", "version": 1.0}},
			{req: request{method: "PUT", path: "/v1/kv/lock:a", body: "v", header: hdr("Idempotency-Key", "req-2", "If-None-Match", "*")}, status: 200,
				want: map[string]any{"key": "lock:a", "strong": true, "replayed": true}, absent: []string{"value", "version"}},
			{req: request{method: "PUT", path: "/v1/kv/lock:a", body: "v", header: hdr("Idempotency-Key", strings.Repeat("x", 65))}, status: 400,
				want: map[string]any{"code": "bad_request", "error": "Idempotency-Key of 65 bytes: the limit is 64"}},
		}},
		{"bad conditions", []strongStep{
			{req: request{method: "PUT", path: "/v1/kv/lock:a", body: "v", header: hdr("If-Match", `W/"1"`)}, status: 400, want: map[string]any{"code": "bad_request"}},
			{req: request{method: "PUT", path: "/v1/kv/lock:a", body: "v", header: hdr("If-Match", `"1", "2"`)}, status: 400, want: map[string]any{"code": "bad_request"}},
			{req: request{method: "PUT", path: "/v1/kv/lock:a", body: "v", header: hdr("If-Match", "abc")}, status: 400, want: map[string]any{"code": "bad_request"}},
			{req: request{method: "PUT", path: "/v1/kv/lock:a", body: "v", header: hdr("If-None-Match", `"1"`)}, status: 400, want: map[string]any{"code": "bad_request"}},
			{req: request{method: "PUT", path: "/v1/kv/lock:a?ifeq=x", body: "v", header: hdr("If-None-Match", "*")}, status: 400,
				want: map[string]any{"error": "conditions If-None-Match and ?ifeq given together: give one"}},
			{req: request{method: "PUT", path: "/v1/kv/lock:a?px=0", body: "v"}, status: 400, want: map[string]any{"code": "bad_request"}},
			{req: request{method: "PUT", path: "/v1/kv/lock:a?px=soon", body: "v"}, status: 400, want: map[string]any{"code": "bad_request"}},
			{req: request{method: "DELETE", path: "/v1/kv/lock:a?px=10"}, status: 400, want: map[string]any{"code": "rejected", "error": "rejected: an expiry (PX) applies to SET only"}},
			{req: request{method: "POST", path: "/v1/counter/acct:n", header: hdr("If-Match", `"0"`)}, status: 400,
				want: map[string]any{"code": "rejected", "error": "rejected: a condition (version) applies to SET and DEL only"}},
			{req: request{method: "GET", path: "/v1/kv/lock:a", header: hdr("If-None-Match", `"3"`)}, status: 404}, // reads ignore them
		}},
		{"eventual keys refuse what is strong", []strongStep{
			{req: request{method: "PUT", path: "/v1/kv/k", body: "v", header: hdr("If-None-Match", "*")}, status: 400,
				want: map[string]any{"code": "rejected", "applied": "no", "error": "rejected: " + strings.ReplaceAll(strings.ReplaceAll(strongRule, "%q", `"k"`), "%s", "NX")}},
			{req: request{method: "DELETE", path: "/v1/kv/k?ifeq=v"}, status: 400,
				want: map[string]any{"error": "rejected: " + strings.ReplaceAll(strings.ReplaceAll(strongRule, "%q", `"k"`), "%s", "IFEQ")}},
			{req: request{method: "PUT", path: "/v1/kv/k?px=100", body: "v"}, status: 400,
				want: map[string]any{"error": `rejected: key "k" is eventual: expiry (PX) applies to strong keys only (declare its prefix strong with --strong)`}},
			{req: request{method: "GET", path: "/v1/kv/k?consistency=SERIAL"}, status: 400,
				want: map[string]any{"error": `rejected: key "k" is eventual: SERIAL applies to strong keys only (declare its prefix strong with --strong)`}},
			{req: request{method: "GET", path: "/v1/kv/lock:a?consistency=QUORUM"}, status: 400,
				want: map[string]any{"error": `rejected: key "lock:a" is strong (lock:=local:local): its operations use LOCAL_SERIAL, not QUORUM`}},
			{req: request{method: "PUT", path: "/v1/kv/k", body: "v", header: hdr("Idempotency-Key", "r1")}, status: 200,
				want: map[string]any{"type": "register", "context": "*"}, absent: []string{"strong", "version"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newStrongFake(t)
			h := newHandler(t, f, httpapi.Config{})
			for i, s := range tt.steps {
				w := do(t, h, s.req)
				if w.Code != s.status {
					t.Errorf("step %d %s %s: status %d, want %d: %s", i, s.req.method, s.req.path, w.Code, s.status, w.Body)
				}
				if got := w.Header().Get("ETag"); s.etag != "" && got != s.etag {
					t.Errorf("step %d %s %s: ETag %q, want %q", i, s.req.method, s.req.path, got, s.etag)
				}
				body := decode(t, w)
				checkFields(t, body, s.want)
				for _, k := range s.absent {
					if _, ok := body[k]; ok {
						t.Errorf("step %d %s %s: field %q present in %v", i, s.req.method, s.req.path, k, body)
					}
				}
				if s.op != nil {
					s.op(t, f.lastOp())
				}
			}
		})
	}
}

// TestStrongExpiry: a value written with ?px= lapses: a read then finds
// nothing, and If-None-Match: * takes the key again.
func TestStrongExpiry(t *testing.T) {
	f := newStrongFake(t)
	h := newHandler(t, f, httpapi.Config{})
	nx := hdr("If-None-Match", "*")
	if w := do(t, h, request{method: "PUT", path: "/v1/kv/lock:a?px=1000", body: "w1", header: nx}); w.Code != 200 {
		t.Fatalf("first take: %d %s", w.Code, w.Body)
	}
	f.strong.Advance(999 * time.Millisecond)
	if w := do(t, h, request{method: "PUT", path: "/v1/kv/lock:a", body: "w2", header: nx}); w.Code != 412 {
		t.Fatalf("take before it lapsed: %d %s, want 412", w.Code, w.Body)
	}
	f.strong.Advance(time.Millisecond)
	if w := do(t, h, request{method: "GET", path: "/v1/kv/lock:a"}); w.Code != 404 || !bytes.Contains(w.Body.Bytes(), []byte(`"version":1`)) {
		t.Errorf("read once lapsed: %d %s, want 404 at version 1", w.Code, w.Body)
	}
	if w := do(t, h, request{method: "PUT", path: "/v1/kv/lock:a", body: "w2", header: nx}); w.Code != 200 {
		t.Errorf("take once lapsed: %d %s", w.Code, w.Body)
	}
}
