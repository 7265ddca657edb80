package client_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// fakeNode is a small stand-in for a node's HTTP API, over real crdt states,
// for the client's own tests. The client is tested against the real server
// in region/httpapi, which may import this package but not the reverse.
type fakeNode struct {
	mu     sync.Mutex
	states map[string]crdt.State
	wall   int64
	last   *http.Request // the last request, its body in lastBody
	body   string
	answer *answer           // when set, every request gets it
	locks  map[string]string // strong keys lock:*, with NX and ifeq only (putLock)
	lockV  map[string]uint64 // their versions
}

// answer is a canned reply.
type answer struct {
	status int
	body   string
}

func newFakeNode(t testing.TB) (*fakeNode, *httptest.Server) {
	f := &fakeNode{states: map[string]crdt.State{}, wall: 1_735_787_045e9, locks: map[string]string{}, lockV: map[string]uint64{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/kv/{key}", f.get)
	mux.HandleFunc("PUT /v1/kv/{key}", f.put)
	mux.HandleFunc("POST /v1/counter/{key}", f.incr)
	mux.HandleFunc("DELETE /v1/kv/{key}", f.delLock)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.last, f.body = r, string(body)
		a := f.answer
		f.mu.Unlock()
		if a != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(a.status)
			io.WriteString(w, a.body)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	if t != nil {
		t.Cleanup(srv.Close)
	}
	return f, srv
}

// conflict writes value at node "b" without having seen anything: a write
// concurrent with every other, which stays as a sibling.
func (f *fakeNode) conflict(key, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.states[key]
	var none crdt.Context
	st.Put("b", []byte(value), crdt.Timestamp{Wall: f.wall}, &none)
	f.wall += 1e9
	f.states[key] = st
}

func (f *fakeNode) render(w http.ResponseWriter, key string, st crdt.State, status int) {
	b, err := wire.EncodeContext(st.Context())
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	v := map[string]any{
		"key": key, "type": st.Kind().String(), "siblings": len(st.Siblings()),
		"context": base64.RawURLEncoding.EncodeToString(b),
	}
	if win, ok := st.Get(); ok {
		v["value"] = string(win.Value)
	}
	if n, err := st.Value(); err == nil && st.Kind() == crdt.KindCounter {
		v["count"] = n
	}
	if st.Kind() == crdt.KindSet {
		v["members"] = st.Members()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *fakeNode) get(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := r.PathValue("key")
	st := f.states[key]
	status := 200
	if st.Kind() == crdt.KindNone {
		status = 404
	}
	f.render(w, key, st, status)
}

func (f *fakeNode) put(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.PathValue("key"), "lock:") {
		f.putLock(w, r)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var seen *crdt.Context
	if h := r.Header.Get("X-Meridian-Context"); h != "" {
		b, err := base64.RawURLEncoding.DecodeString(h)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		ctx, err := wire.DecodeContext(b)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		seen = &ctx
	}
	key := r.PathValue("key")
	st := f.states[key]
	st.Put("a", []byte(f.body), crdt.Timestamp{Wall: f.wall}, seen)
	f.wall += 1e9
	f.states[key] = st
	f.render(w, key, st, 200)
}

func (f *fakeNode) incr(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := r.PathValue("key")
	by, _ := strconv.ParseInt(r.URL.Query().Get("by"), 10, 64)
	st := f.states[key]
	if _, err := st.Incr("a", by, crdt.Timestamp{Wall: f.wall}); err != nil {
		w.WriteHeader(409)
		json.NewEncoder(w).Encode(map[string]string{"error": err.Error(), "code": "wrong_type", "applied": "no"})
		return
	}
	f.states[key] = st
	n, _ := st.Value()
	json.NewEncoder(w).Encode(map[string]any{"key": key, "value": n})
}

// setAnswer makes every request get status and body.
func (f *fakeNode) setAnswer(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = &answer{status, body}
}

// header returns a header of the last request.
func (f *fakeNode) header(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == nil {
		return ""
	}
	return f.last.Header.Get(name)
}

// request returns the last request's method, path with query, context
// header and body.
func (f *fakeNode) request() (method, target, context, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == nil {
		return "", "", "", ""
	}
	return f.last.Method, f.last.URL.RequestURI(), f.last.Header.Get("X-Meridian-Context"), f.body
}

// putLock writes a strong key lock:NAME, with If-None-Match: * only.
func (f *fakeNode) putLock(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := r.PathValue("key")
	if cur, held := f.locks[key]; held && r.Header.Get("If-None-Match") == "*" {
		f.strongAnswer(w, 412, map[string]any{"error": "sync: condition not met, nothing applied", "code": "condition_failed", "applied": "no",
			"version": f.lockV[key], "current": map[string]any{"key": key, "type": "register", "value": cur, "strong": true, "version": f.lockV[key]}})
		return
	}
	f.locks[key] = f.body
	f.lockV[key]++
	f.strongAnswer(w, 200, map[string]any{"key": key, "type": "register", "value": f.body, "siblings": 1, "strong": true, "version": f.lockV[key]})
}

// delLock deletes a strong key lock:NAME, with ?ifeq= only.
func (f *fakeNode) delLock(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := r.PathValue("key")
	cur, held := f.locks[key]
	if want := r.URL.Query(); want.Has("ifeq") && (!held || cur != want.Get("ifeq")) {
		f.strongAnswer(w, 412, map[string]any{"error": "sync: condition not met, nothing applied", "code": "condition_failed", "applied": "no"})
		return
	}
	delete(f.locks, key)
	f.lockV[key]++
	f.strongAnswer(w, 200, map[string]any{"key": key, "deleted": held, "strong": true, "version": f.lockV[key]})
}

func (f *fakeNode) strongAnswer(w http.ResponseWriter, status int, body map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	if v, ok := body["version"].(uint64); ok {
		w.Header().Set("ETag", `"`+strconv.FormatUint(v, 10)+`"`)
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}
