package httpapi_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/meridiankv/meridian/client"
	"github.com/meridiankv/meridian/region/httpapi"
)

// newClient serves the real endpoint over f and returns a client of it.
func newClient(t *testing.T, f *fakeBackend) *client.Client {
	t.Helper()
	srv := httptest.NewServer(newHandler(t, f, httpapi.Config{}))
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	return client.New(srv.URL, client.WithHTTPClient(&http.Client{Transport: tr}))
}

// TestClientReadModifyWrite runs the client against the real endpoint: the
// context a read returns, sent back, collapses the siblings it saw.
func TestClientReadModifyWrite(t *testing.T) {
	for _, withContext := range []bool{true, false} {
		f := newFake()
		c := newClient(t, f)
		ctx := t.Context()
		f.conflict(t, "k", "from-a", "from-b", true)

		v, err := c.Get(ctx, "k", client.WithConsistency(client.Quorum))
		if err != nil {
			t.Fatal(err)
		}
		if string(v.Value) != "from-b" || v.Siblings != 2 || v.Type != client.TypeRegister {
			t.Fatalf("Get = %+v, want from-b of 2 siblings", v)
		}
		in, err := c.Inspect(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if in.Winner.Reason != "timestamps tie: highest node id wins" || len(in.Siblings) != 2 ||
			in.Siblings[1].Node != "a" || in.Context != v.Context || len(in.Replicas) != 3 {
			t.Errorf("Inspect = %+v, want 2 siblings, b winning on the tie, the read's context, 3 replicas", in)
		}
		var opts []client.CallOption
		if withContext {
			opts = append(opts, client.WithContext(v.Context))
		}
		if _, err := c.Put(ctx, "k", []byte("both"), opts...); err != nil {
			t.Fatal(err)
		}
		after, err := c.Get(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 1, false: 2}[withContext]; after.Siblings != want {
			t.Errorf("with context %v: %d siblings after the write, want %d", withContext, after.Siblings, want)
		}
	}
}

func TestClientTypes(t *testing.T) {
	f := newFake()
	c := newClient(t, f)
	ctx := t.Context()

	if n, err := c.Incr(ctx, "n", 5); err != nil || n != 5 {
		t.Errorf("Incr = %d, %v; want 5", n, err)
	}
	if n, err := c.Incr(ctx, "n", -7); err != nil || n != -2 {
		t.Errorf("Incr = %d, %v; want -2", n, err)
	}
	if n, err := c.SAdd(ctx, "s", []string{"y", "x", "y"}); err != nil || n != 2 {
		t.Errorf("SAdd = %d, %v; want 2", n, err)
	}
	if n, err := c.SRem(ctx, "s", []string{"y", "z"}); err != nil || n != 1 {
		t.Errorf("SRem = %d, %v; want 1", n, err)
	}
	if m, err := c.SMembers(ctx, "s"); err != nil || !reflect.DeepEqual(m, []string{"x"}) {
		t.Errorf("SMembers = %v, %v; want [x]", m, err)
	}
	if v, err := c.Get(ctx, "n"); err != nil || v.Type != client.TypeCounter || v.Count != -2 {
		t.Errorf("Get counter = %+v, %v; want -2", v, err)
	}
	if ok, err := c.Delete(ctx, "s"); err != nil || !ok {
		t.Errorf("Delete = %v, %v; want true", ok, err)
	}
	if v, err := c.Get(ctx, "s"); err != nil || v.Exists() || v.Context == "" {
		t.Errorf("Get deleted = %+v, %v; want nothing, with a context", v, err)
	}
	if _, err := c.Put(ctx, "bin", []byte{0, 0xff}); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, "bin"); err != nil || !reflect.DeepEqual(v.Value, []byte{0, 0xff}) {
		t.Errorf("Get binary = %+v, %v", v, err)
	}
}

func TestClientErrors(t *testing.T) {
	f := newFake()
	c := newClient(t, f)
	ctx := t.Context()
	f.put("reg", "v")
	f.adminErr = httpapi.ErrUnknownNode

	tests := []struct {
		name     string
		call     func() error
		sentinel error
	}{
		{"incr a register", func() error { _, err := c.Incr(ctx, "reg", 1); return err }, client.ErrWrongType},
		{"sadd to a register", func() error { _, err := c.SAdd(ctx, "reg", []string{"x"}); return err }, client.ErrWrongType},
		{"bad consistency", func() error { _, err := c.Get(ctx, "k", client.WithConsistency("MOST")); return err }, client.ErrBadRequest},
		{"empty set add", func() error { _, err := c.SAdd(ctx, "s", nil); return err }, client.ErrBadRequest},
		{"remove unknown node", func() error { return c.Remove(ctx, "zz") }, client.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var e *client.Error
			if !errors.Is(err, tt.sentinel) || !errors.As(err, &e) || e.MaybeApplied() {
				t.Errorf("error %v, want a *client.Error matching %v, not applied", err, tt.sentinel)
			}
		})
	}
}

func TestClientCluster(t *testing.T) {
	f := newFake()
	c := newClient(t, f)
	cl, err := c.Cluster(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if cl.Self != "a" || cl.Replicas != 3 || len(cl.Members) != 3 || cl.Members[0].ID != "a" || cl.Members[0].State != "alive" {
		t.Errorf("Cluster = %+v", cl)
	}
	if len(cl.Regions) != 0 {
		t.Errorf("Regions = %+v, want none in a cluster of one region", cl.Regions)
	}
	withRegions(f)
	cl, err = c.Cluster(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	heard := int64(120)
	want := []client.Region{
		{Name: "ap", Link: client.LinkUp, HeardAgoMS: &heard,
			Nodes: []client.RegionNode{
				{ID: "d", Status: "active", Health: "alive", RESPAddr: "10.0.2.4:6379", HTTPAddr: "10.0.2.4:8080", PeerAddr: "10.0.2.4:7946"},
				{ID: "f", Status: "active", Health: "suspect", RESPAddr: "10.0.2.6:6379", HTTPAddr: "10.0.2.6:8080", PeerAddr: "10.0.2.6:7946"},
			},
			Replication: client.Replication{LagMS: 45, Shipped: 1234, ShippedBytes: 56789, Resent: 2}},
		{Name: "us", Link: client.LinkDown, Nodes: []client.RegionNode{},
			Replication: client.Replication{LagMS: 12_000, Pending: 40, PendingBytes: 4096, Dropped: 3}},
	}
	if !reflect.DeepEqual(cl.Regions, want) || len(cl.Members) != 3 {
		t.Errorf("Regions =\n%+v\nwant\n%+v", cl.Regions, want)
	}
	err = c.Leave(t.Context())
	f.mu.Lock()
	left := f.left
	f.mu.Unlock()
	if err != nil || !left {
		t.Errorf("Leave = %v, left %v", err, left)
	}
}
