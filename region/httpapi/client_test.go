package httpapi_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/meridiankv/meridian/client"
	"github.com/meridiankv/meridian/region/httpapi"
	kvsync "github.com/meridiankv/meridian/sync"
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

// TestClientStrongKeys runs the client's options of strong keys against
// the real endpoint: a lock, a read-modify-write by version, and an
// increment retried after an unknown outcome, applied once.
func TestClientStrongKeys(t *testing.T) {
	f := newStrongFake(t)
	c := newClient(t, f)
	ctx := t.Context()

	v, err := c.Put(ctx, "lock:job", []byte("w1"), client.NX(), client.WithTTL(2*time.Second))
	if err != nil || !v.Strong || v.Version != 1 || v.Expires.IsZero() {
		t.Fatalf("take the lock: %+v, %v", v, err)
	}
	_, err = c.Put(ctx, "lock:job", []byte("w2"), client.NX())
	var e *client.Error
	if !errors.As(err, &e) || !errors.Is(err, client.ErrConditionFailed) || e.Current == nil || string(e.Current.Value) != "w1" {
		t.Fatalf("take a held lock: %v, want ErrConditionFailed naming w1", err)
	}
	if ok, err := c.DelIf(ctx, "lock:job", []byte("w2")); ok || err != nil {
		t.Errorf("release another's lock: %v, %v", ok, err)
	}
	f.strong.Advance(2 * time.Second)
	if v, err := c.Put(ctx, "lock:job", []byte("w2"), client.NX()); err != nil || v.Version != 2 {
		t.Errorf("take a lapsed lock: %+v, %v", v, err)
	}
	if ok, err := c.DelIf(ctx, "lock:job", []byte("w2")); !ok || err != nil {
		t.Errorf("release one's own lock: %v, %v", ok, err)
	}

	read, err := c.Get(ctx, "acct:balance", client.WithConsistency(client.LocalSerial))
	if err != nil || read.Exists() || read.Version != 0 || !read.Strong {
		t.Fatalf("read a strong key never written: %+v, %v", read, err)
	}
	if _, err := c.Put(ctx, "acct:balance", []byte("100"), client.IfVersion(read.Version)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, "acct:balance", []byte("90"), client.IfVersion(read.Version)); !errors.Is(err, client.ErrConditionFailed) {
		t.Errorf("a write at a version that moved on: %v, want ErrConditionFailed", err)
	}

	f.setLost(&kvsync.TimeoutError{Level: kvsync.LocalSerial, Got: 1, Need: 2, Timeout: time.Second, Write: true})
	_, err = c.Incr(ctx, "acct:balance", 5)
	if !errors.Is(err, client.ErrUnknownOutcome) {
		t.Fatalf("Incr whose answer was lost: %v, want an unknown outcome", err)
	}
	f.setLost(nil)
	if n, err := c.Incr(ctx, "acct:balance", 5, client.RetryOf(err)); err != nil || n != 105 {
		t.Errorf("the retry = %d, %v; want 105, the first try's answer", n, err)
	}
	if v, err := c.Get(ctx, "acct:balance"); err != nil || v.Type != client.TypeCounter || v.Count != 105 || v.Version != 2 {
		t.Errorf("after the retry: %+v, %v; want 105 at version 2, applied once", v, err)
	}
	if _, err := c.Put(ctx, "plain", []byte("v"), client.NX()); !errors.Is(err, client.ErrRejected) {
		t.Errorf("NX on an eventual key: %v, want ErrRejected", err)
	}
}
