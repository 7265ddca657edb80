package httpapi_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/region/httpapi"
	"github.com/meridiankv/meridian/region/httpapi/httpapitest"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// fakeBackend is a region of three replicas (httpapitest.Replicas) with
// knobs for the endpoint's tests: it records every op, can fail or block
// them, and answers the admin calls.
type fakeBackend struct {
	*httpapitest.Replicas

	mu        sync.Mutex
	ops       []wire.Op     // every op Do received
	fail      error         // when set, Do answers it
	lost      error         // when set, Do applies the op and answers this instead
	block     bool          // when set, Do waits for its context to end
	entered   chan struct{} // when set, a blocked Do sends on it first
	adminErr  error         // what Leave and Remove answer
	left      bool
	removed   []crdt.NodeID
	forced    []bool // the force of each Remove
	clusterOf httpapi.Cluster
	strong    *httpapitest.StrongKeys // set by newStrongFake
}

// start is the fake clock's first reading.
const start = httpapitest.Start

func newFake() *fakeBackend {
	f := &fakeBackend{Replicas: httpapitest.NewReplicas()}
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
	block, entered, fail, lost := f.block, f.entered, f.fail, f.lost
	f.mu.Unlock()
	switch {
	case block:
		if entered != nil {
			entered <- struct{}{}
		}
		<-ctx.Done()
		return kvsync.Response{Err: ctx.Err()}
	case fail != nil:
		return kvsync.Response{Err: fail}
	case lost != nil:
		f.Replicas.Do(op)
		return kvsync.Response{Err: lost}
	}
	return f.Replicas.Do(op)
}

// conflict makes key hold two concurrent siblings (Replicas.Conflict).
func (f *fakeBackend) conflict(t *testing.T, key, first, second string, tie bool) {
	t.Helper()
	if err := f.Conflict(key, first, second, tie); err != nil {
		t.Fatal(err)
	}
}

func (f *fakeBackend) setFail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

// setLost makes Do apply every op and answer err (nil: answer as usual).
func (f *fakeBackend) setLost(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lost = err
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

func (f *fakeBackend) Remove(ctx context.Context, id crdt.NodeID, force bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forced = append(f.forced, force)
	if f.adminErr != nil {
		return f.adminErr
	}
	f.removed = append(f.removed, id)
	return nil
}

// Diff answers a comparison with region: k1 only here, k2 there, k3 in
// both differently; region "cut" is unavailable.
func (f *fakeBackend) Diff(_ context.Context, region string) (kvsync.DiffReport, error) {
	if region == "cut" {
		return kvsync.DiffReport{}, &kvsync.UnavailableError{Level: kvsync.EachQuorum, Region: region}
	}
	return kvsync.DiffReport{Region: region, Peers: []crdt.NodeID{crdt.NodeID(region + "/x")}, OnlyHere: [][]byte{[]byte("k1")},
		OnlyThere: [][]byte{[]byte("k2")}, Differ: [][]byte{[]byte("k3")}}, nil
}
