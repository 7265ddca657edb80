package httpapi_test

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/meridiankv/meridian/region/httpapi"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// request is one HTTP request of a test.
type request struct {
	method, path, body string
	header             map[string]string
}

// do serves req with h and returns the recorded answer.
func do(t *testing.T, h http.Handler, req request) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), req.method, req.path, strings.NewReader(req.body))
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// decode returns the JSON object of an answer.
func decode(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v: %s", w.Code, err, w.Body)
	}
	return m
}

// checkFields fails unless every field of want is in got with that value
// (numbers as float64); a want of "*" only needs the field present.
func checkFields(t *testing.T, got, want map[string]any) {
	t.Helper()
	for k, v := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("field %q missing from %v", k, got)
		case v == "*":
		case !reflect.DeepEqual(g, v):
			t.Errorf("field %q = %#v, want %#v", k, g, v)
		}
	}
}

func newHandler(t *testing.T, f *fakeBackend, cfg httpapi.Config) http.Handler {
	t.Helper()
	h, err := httpapi.NewHandler(cfg, f)
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	return h
}

// put writes through the fake as a client would.
func (f *fakeBackend) put(key, value string) {
	f.Write("a", wire.Op{Kind: wire.OpPut, Key: []byte(key), Value: []byte(value)}, true)
}

func (f *fakeBackend) run(op wire.Op) {
	f.Write("a", op, true)
}

func TestKeyRoutes(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(f *fakeBackend)
		req    request
		status int
		want   map[string]any
		op     func(t *testing.T, op wire.Op) // checks the op the backend got
	}{
		{
			name: "get missing key", req: request{method: "GET", path: "/v1/kv/nope"},
			status: 404, want: map[string]any{"key": "nope", "type": "none", "siblings": 0.0, "context": "*"},
		},
		{
			name: "get register", setup: func(f *fakeBackend) { f.put("k", "héllo") },
			req:    request{method: "GET", path: "/v1/kv/k"},
			status: 200, want: map[string]any{"type": "register", "value": "héllo", "siblings": 1.0},
		},
		{
			name: "get binary register is base64", setup: func(f *fakeBackend) { f.put("k", "\xff\x00") },
			req:    request{method: "GET", path: "/v1/kv/k"},
			status: 200, want: map[string]any{"value": "/wA=", "encoding": "base64"},
		},
		{
			name: "get key with an escaped slash",
			setup: func(f *fakeBackend) {
				f.put("a/b", "v")
			},
			req:    request{method: "GET", path: "/v1/kv/a%2Fb"},
			status: 200, want: map[string]any{"key": "a/b", "value": "v"},
		},
		{
			name: "get set",
			setup: func(f *fakeBackend) {
				f.run(wire.Op{Kind: wire.OpAdd, Key: []byte("s"), Elems: [][]byte{[]byte("y"), []byte("x")}})
			},
			req:    request{method: "GET", path: "/v1/kv/s"},
			status: 200, want: map[string]any{"type": "set", "members": []any{"x", "y"}},
		},
		{
			name:   "get counter",
			setup:  func(f *fakeBackend) { f.run(wire.Op{Kind: wire.OpIncr, Key: []byte("n"), By: -3}) },
			req:    request{method: "GET", path: "/v1/kv/n"},
			status: 200, want: map[string]any{"type": "counter", "count": -3.0},
		},
		{
			name: "put with consistency", req: request{method: "PUT", path: "/v1/kv/k?consistency=all", body: "v1"},
			status: 200, want: map[string]any{"type": "register", "value": "v1", "siblings": 1.0},
			op: func(t *testing.T, op wire.Op) {
				if op.Kind != wire.OpPut || kvsync.Level(op.Level) != kvsync.All || op.Context != nil || string(op.Value) != "v1" {
					t.Errorf("op = %+v, want a blind OpPut of v1 at ALL", op)
				}
			},
		},
		{
			name: "bad consistency names the levels", req: request{method: "PUT", path: "/v1/kv/k?consistency=most", body: "v"},
			status: 400, want: map[string]any{"code": "bad_request", "applied": "no"},
		},
		{
			name: "bad context header", req: request{method: "PUT", path: "/v1/kv/k", body: "v", header: map[string]string{"X-Meridian-Context": "!!"}},
			status: 400, want: map[string]any{"code": "bad_request"},
		},
		{
			name: "context that is not a context", req: request{method: "DELETE", path: "/v1/kv/k", header: map[string]string{"X-Meridian-Context": "aGVsbG8"}},
			status: 400, want: map[string]any{"code": "bad_request"},
		},
		{
			name: "value too large", req: request{method: "PUT", path: "/v1/kv/k", body: strings.Repeat("x", 65)},
			status: 413, want: map[string]any{"code": "rejected", "applied": "no"},
		},
		{
			name: "delete", setup: func(f *fakeBackend) { f.put("k", "v") }, req: request{method: "DELETE", path: "/v1/kv/k"},
			status: 200, want: map[string]any{"key": "k", "deleted": true, "context": "*"},
		},
		{
			name: "delete missing", req: request{method: "DELETE", path: "/v1/kv/k"},
			status: 200, want: map[string]any{"deleted": false},
		},
		{
			name: "incr by default", req: request{method: "POST", path: "/v1/counter/n"},
			status: 200, want: map[string]any{"key": "n", "value": 1.0},
		},
		{
			name: "incr negative", setup: func(f *fakeBackend) { f.run(wire.Op{Kind: wire.OpIncr, Key: []byte("n"), By: 10}) },
			req:    request{method: "POST", path: "/v1/counter/n?by=-15"},
			status: 200, want: map[string]any{"value": -5.0},
		},
		{
			name: "incr bad by", req: request{method: "POST", path: "/v1/counter/n?by=two"},
			status: 400, want: map[string]any{"code": "bad_request"},
		},
		{
			name: "incr a register", setup: func(f *fakeBackend) { f.put("k", "v") }, req: request{method: "POST", path: "/v1/counter/k"},
			status: 409, want: map[string]any{"code": "wrong_type", "applied": "no"},
		},
		{
			name:  "incr overflow",
			setup: func(f *fakeBackend) { f.run(wire.Op{Kind: wire.OpIncr, Key: []byte("n"), By: math.MaxInt64}) },
			req:   request{method: "POST", path: "/v1/counter/n"}, status: 409, want: map[string]any{"code": "overflow", "applied": "no"},
		},
		{
			name: "set add counts new members", req: request{method: "POST", path: "/v1/set/s/add", body: `["x","y","x"]`},
			status: 200, want: map[string]any{"key": "s", "added": 2.0},
		},
		{
			name: "set remove counts present members",
			setup: func(f *fakeBackend) {
				f.run(wire.Op{Kind: wire.OpAdd, Key: []byte("s"), Elems: [][]byte{[]byte("x")}})
			},
			req:    request{method: "POST", path: "/v1/set/s/remove", body: `["x","z"]`},
			status: 200, want: map[string]any{"removed": 1.0},
		},
		{
			name: "set add to a register", setup: func(f *fakeBackend) { f.put("k", "v") },
			req:    request{method: "POST", path: "/v1/set/k/add", body: `["x"]`},
			status: 409, want: map[string]any{"code": "wrong_type"},
		},
		{
			name: "set body not an array", req: request{method: "POST", path: "/v1/set/s/add", body: `{"x":1}`},
			status: 400, want: map[string]any{"code": "bad_request"},
		},
		{
			name: "set body empty array", req: request{method: "POST", path: "/v1/set/s/add", body: `[]`},
			status: 400, want: map[string]any{"code": "bad_request"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			if tt.setup != nil {
				tt.setup(f)
			}
			cfg := httpapi.DefaultConfig()
			cfg.MaxValueSize = 64
			w := do(t, newHandler(t, f, cfg), tt.req)
			if w.Code != tt.status {
				t.Errorf("status = %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			body := decode(t, w)
			checkFields(t, body, tt.want)
			if ctx, ok := body["context"].(string); ok && w.Header().Get(httpapi.ContextHeader) != ctx {
				t.Errorf("header %s = %q, want the body's context %q", httpapi.ContextHeader, w.Header().Get(httpapi.ContextHeader), ctx)
			}
			if tt.op != nil {
				tt.op(t, f.lastOp())
			}
		})
	}
}

func TestConsistencyErrorNamesLevels(t *testing.T) {
	w := do(t, newHandler(t, newFake(), httpapi.Config{}), request{method: "GET", path: "/v1/kv/k?consistency=most"})
	msg, _ := decode(t, w)["error"].(string)
	for _, level := range []string{"ONE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", `"most"`} {
		if !strings.Contains(msg, level) {
			t.Errorf("error %q does not name %s", msg, level)
		}
	}
}
