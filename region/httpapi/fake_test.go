package httpapi_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/region/httpapi"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// fakeBackend is a region of three replicas, a, b and c, in one map, built
// on the real crdt mutators. Writes are coordinated by a and spread to every
// replica not cut off; reads merge the replicas not cut off. Cutting a
// replica off and writing there makes concurrent siblings.
type fakeBackend struct {
	mu    sync.Mutex
	nodes []crdt.NodeID
	data  map[crdt.NodeID]map[string]crdt.State
	cut   map[crdt.NodeID]bool
	wall  int64 // physical time of the next write, ns; advanced 1s per write

	ops       []wire.Op     // every op Do received
	fail      error         // when set, Do answers it
	block     bool          // when set, Do waits for its context to end
	entered   chan struct{} // when set, a blocked Do sends on it first
	adminErr  error         // what Leave and Remove answer
	left      bool
	removed   []crdt.NodeID
	clusterOf httpapi.Cluster
}

// start is the fake clock's first reading: 2025-01-02T03:04:05Z.
const start = int64(1735787045) * 1e9

func newFake() *fakeBackend {
	f := &fakeBackend{
		nodes: []crdt.NodeID{"a", "b", "c"},
		data:  map[crdt.NodeID]map[string]crdt.State{},
		cut:   map[crdt.NodeID]bool{},
		wall:  start,
	}
	for _, n := range f.nodes {
		f.data[n] = map[string]crdt.State{}
	}
	f.clusterOf = httpapi.Cluster{Self: "a", Region: "eu", Replicas: 3}
	for _, n := range []crdt.NodeID{"c", "a", "b"} {
		f.clusterOf.Members = append(f.clusterOf.Members, httpapi.Member{
			ID: n, Region: "eu", State: httpapi.StateAlive, HTTPAddr: "127.0.0.1:8080", Ownership: 1.0 / 3,
		})
	}
	return f
}

var _ httpapi.Backend = (*fakeBackend)(nil)

func (f *fakeBackend) Do(ctx context.Context, op wire.Op) kvsync.Response {
	f.mu.Lock()
	f.ops = append(f.ops, op)
	if f.block {
		entered := f.entered
		f.mu.Unlock()
		if entered != nil {
			entered <- struct{}{}
		}
		<-ctx.Done()
		return kvsync.Response{Err: ctx.Err()}
	}
	defer f.mu.Unlock()
	switch {
	case f.fail != nil:
		return kvsync.Response{Err: f.fail}
	case op.Kind == wire.OpGet:
		return kvsync.Response{State: f.merged(string(op.Key))}
	case op.Kind == wire.OpInspect:
		r := kvsync.Response{State: f.merged(string(op.Key))}
		for _, n := range f.nodes {
			rep := kvsync.ReplicaState{Node: n, State: f.data[n][string(op.Key)]}
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

// write applies op at node and, when spread is set, merges the delta into
// every replica not cut off.
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

// conflict makes key hold two concurrent siblings: first written through a
// while b is cut off, second written at b alone. With tie, both get the same
// timestamp, so the node id decides; else second is a second later and wins
// by time.
func (f *fakeBackend) conflict(t *testing.T, key, first, second string, tie bool) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut["b"] = true
	if r := f.write("a", wire.Op{Kind: wire.OpPut, Key: []byte(key), Value: []byte(first)}, true); r.Err != nil {
		t.Fatalf("fake: writing %q at a: %v", first, r.Err)
	}
	if tie {
		f.wall -= 1e9
	}
	if r := f.write("b", wire.Op{Kind: wire.OpPut, Key: []byte(key), Value: []byte(second)}, false); r.Err != nil {
		t.Fatalf("fake: writing %q at b: %v", second, r.Err)
	}
	f.cut["b"] = false
}

func (f *fakeBackend) setCut(n crdt.NodeID, cut bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut[n] = cut
}

func (f *fakeBackend) setFail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

func (f *fakeBackend) lastOp() wire.Op {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.ops) == 0 {
		return wire.Op{}
	}
	return f.ops[len(f.ops)-1]
}

func (f *fakeBackend) Cluster() httpapi.Cluster {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.clusterOf
	c.Members = slices.Clone(c.Members)
	return c
}

func (f *fakeBackend) Leave(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.adminErr != nil {
		return f.adminErr
	}
	f.left = true
	return nil
}

func (f *fakeBackend) Remove(ctx context.Context, id crdt.NodeID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.adminErr != nil {
		return f.adminErr
	}
	f.removed = append(f.removed, id)
	return nil
}
