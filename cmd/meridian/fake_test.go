package main

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/region/httpapi"
	"github.com/meridiankv/meridian/region/httpapi/httpapitest"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// fakeBackend is three replicas (httpapitest.Replicas) behind the real HTTP
// endpoint, with a cluster view in which c is dead and no other region
// unless setRegions gives some.
type fakeBackend struct {
	*httpapitest.Replicas
	mu       sync.Mutex
	adminErr error
	forced   []bool           // the force of each Remove
	regions  []httpapi.Region // the other regions Cluster reports
	lost     error            // when set, Do applies an op and answers this instead
	strong   *httpapitest.StrongKeys
}

// strongDecl declares the fake's strong keys: lock: and acct:, local to the
// default region.
const strongDecl = "lock:,acct:"

// serve runs the real HTTP endpoint over a new fake and returns both.
func serve(t *testing.T) (*fakeBackend, string) {
	t.Helper()
	f := &fakeBackend{Replicas: httpapitest.NewReplicas()}
	decl, err := kvsync.ParseDeclaration(strongDecl)
	if err != nil {
		t.Fatal(err)
	}
	f.strong = f.DeclareStrong(decl)
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
	lost := f.lost
	f.mu.Unlock()
	resp := f.Replicas.Do(op)
	if lost != nil {
		return kvsync.Response{Err: lost}
	}
	return resp
}

// setLost makes Do apply every op and answer err instead (nil: as usual).
func (f *fakeBackend) setLost(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lost = err
}

// conflict makes key hold two siblings written at the same time: first
// through a while b is cut off, then second at b alone, which wins the tie
// by its node id.
func (f *fakeBackend) conflict(key, first, second string) {
	_ = f.Conflict(key, first, second, true)
}

func (f *fakeBackend) Cluster() httpapi.Cluster {
	c := httpapi.Cluster{Self: "a", Region: "eu", Replicas: 3}
	for _, n := range []crdt.NodeID{"a", "b", "c"} {
		c.Members = append(c.Members, httpapi.Member{ID: n, Region: "eu", State: httpapi.StateAlive,
			HTTPAddr: "127.0.0.1:808" + string(n[0]-'a'+'0'), Ownership: 1.0 / 3})
	}
	c.Members[2].State, c.Members[2].HintsPending = httpapi.StateDead, 12
	f.mu.Lock()
	defer f.mu.Unlock()
	c.Regions = f.regions
	return c
}

// setRegions makes Cluster report regions besides eu.
func (f *fakeBackend) setRegions(regions []httpapi.Region) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.regions = regions
}

func (f *fakeBackend) Leave(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.adminErr
}

func (f *fakeBackend) Remove(_ context.Context, id crdt.NodeID, force bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forced = append(f.forced, force)
	return f.adminErr
}
