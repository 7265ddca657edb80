package main

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/region/httpapi"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// fakeBackend is three replicas, a, b and c, in one map over the real crdt
// mutators (a smaller twin of region/httpapi's test fake, which this package
// cannot import). a coordinates writes and spreads them to the replicas not
// cut off; reads merge those.
type fakeBackend struct {
	mu       sync.Mutex
	nodes    []crdt.NodeID
	data     map[crdt.NodeID]map[string]crdt.State
	cut      map[crdt.NodeID]bool
	wall     int64
	adminErr error
}

// serve runs the real HTTP endpoint over a new fake and returns both.
func serve(t *testing.T) (*fakeBackend, string) {
	t.Helper()
	f := &fakeBackend{
		nodes: []crdt.NodeID{"a", "b", "c"},
		data:  map[crdt.NodeID]map[string]crdt.State{"a": {}, "b": {}, "c": {}},
		cut:   map[crdt.NodeID]bool{},
		wall:  1_735_787_045e9, // 2025-01-02T03:04:05Z
	}
	h, err := httpapi.NewHandler(httpapi.Config{}, f)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func (f *fakeBackend) Do(_ context.Context, op wire.Op) kvsync.Response {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := string(op.Key)
	switch op.Kind {
	case wire.OpGet:
		return kvsync.Response{State: f.merged(key)}
	case wire.OpInspect:
		r := kvsync.Response{State: f.merged(key)}
		for _, n := range f.nodes {
			rep := kvsync.ReplicaState{Node: n, State: f.data[n][key]}
			if f.cut[n] {
				rep = kvsync.ReplicaState{Node: n, Err: &kvsync.TimeoutError{Level: kvsync.All, Got: 2, Need: 3}}
			}
			r.Replicas = append(r.Replicas, rep)
		}
		return r
	}
	return f.write("a", op, true)
}

func (f *fakeBackend) merged(key string) crdt.State {
	var m crdt.State
	for _, n := range f.nodes {
		if !f.cut[n] {
			m.Merge(f.data[n][key])
		}
	}
	return m
}

func (f *fakeBackend) write(node crdt.NodeID, op wire.Op, spread bool) kvsync.Response {
	key := string(op.Key)
	st := f.data[node][key].Clone()
	delta, changed, err := kvsync.Apply(&st, node, &op, crdt.Timestamp{Wall: f.wall})
	if err != nil {
		return kvsync.Response{Err: err}
	}
	f.wall += 1e9
	f.data[node][key] = st
	for _, n := range f.nodes {
		if spread && n != node && !f.cut[n] {
			s := f.data[n][key].Clone()
			s.Merge(delta)
			f.data[n][key] = s
		}
	}
	return kvsync.Response{State: st, Changed: changed}
}

// conflict makes key hold two siblings written at the same time: first
// through a while b is cut off, then second at b alone, which wins the tie
// by its node id.
func (f *fakeBackend) conflict(key, first, second string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut["b"] = true
	f.write("a", wire.Op{Kind: wire.OpPut, Key: []byte(key), Value: []byte(first)}, true)
	f.wall -= 1e9
	f.write("b", wire.Op{Kind: wire.OpPut, Key: []byte(key), Value: []byte(second)}, false)
	f.cut["b"] = false
}

func (f *fakeBackend) setCut(n crdt.NodeID, cut bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut[n] = cut
}

func (f *fakeBackend) Cluster() httpapi.Cluster {
	c := httpapi.Cluster{Self: "a", Region: "eu", Replicas: 3}
	for _, n := range []crdt.NodeID{"a", "b", "c"} {
		c.Members = append(c.Members, httpapi.Member{ID: n, Region: "eu", State: httpapi.StateAlive,
			HTTPAddr: "127.0.0.1:808" + string(n[0]-'a'+'0'), Ownership: 1.0 / 3})
	}
	c.Members[2].State, c.Members[2].HintsPending = httpapi.StateDead, 12
	return c
}

func (f *fakeBackend) Leave(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.adminErr
}

func (f *fakeBackend) Remove(_ context.Context, id crdt.NodeID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.adminErr
}
