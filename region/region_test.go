package region

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/meridiankv/meridian/region/membership"
	"github.com/meridiankv/meridian/region/transport"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// testRegion starts n nodes on their own loopback addresses 127.0.<net>.<i>,
// with QUIC and TLS as in production, data on disk, and short timeouts.
type testRegion struct {
	t     *testing.T
	ca    *transport.CA
	dir   string
	net   int
	cfgs  []Config
	nodes []*Node
}

func newTestRegion(t *testing.T, n, subnet int) *testRegion {
	t.Helper()
	r := &testRegion{t: t, dir: t.TempDir(), net: subnet}
	ca, err := transport.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	r.ca = ca
	tlsDir := filepath.Join(r.dir, "tls")
	if err := ca.Write(tlsDir); err != nil {
		t.Fatal(err)
	}
	if err := WriteGossipKeyFile(filepath.Join(tlsDir, GossipKeyFile)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("n%d", i)
		ip := fmt.Sprintf("127.0.%d.%d", subnet, i)
		if err := ca.IssueFiles(tlsDir, id, []net.IP{net.ParseIP(ip)}); err != nil {
			t.Fatal(err)
		}
		c := DefaultConfig(id)
		c.DataDir, c.TLSDir = filepath.Join(r.dir, id), tlsDir
		c.RESPAddr, c.HTTPAddr = ip+":16379", ip+":18080"
		c.PeerAddr, c.GossipAddr = ip+":17000", ip+":17946"
		if i > 1 {
			c.Join = []string{fmt.Sprintf("127.0.%d.1:17946", subnet)}
		}
		c.ProbeInterval, c.ProbeTimeout = 200*time.Millisecond, 100*time.Millisecond
		c.AntiEntropyInterval = time.Second
		c.Logger = testLogger()
		r.cfgs = append(r.cfgs, c)
	}
	r.nodes = make([]*Node, n)
	for i := range n {
		r.start(i)
	}
	t.Cleanup(func() {
		for _, nd := range r.nodes {
			if nd != nil {
				nd.Close()
			}
		}
	})
	return r
}

// issue makes the TLS files of node id at ip with the region's CA.
func (r *testRegion) issue(id, ip string) error {
	return r.ca.IssueFiles(filepath.Join(r.dir, "tls"), id, []net.IP{net.ParseIP(ip)})
}

func testLogger() *slog.Logger {
	if os.Getenv("MERIDIAN_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (r *testRegion) start(i int) {
	r.t.Helper()
	n, err := Start(r.cfgs[i])
	if err != nil {
		r.t.Fatalf("starting %s: %v", r.cfgs[i].ID, err)
	}
	r.nodes[i] = n
}

func (r *testRegion) stop(i int) {
	r.t.Helper()
	if err := r.nodes[i].Close(); err != nil {
		r.t.Fatalf("stopping %s: %v", r.cfgs[i].ID, err)
	}
	r.nodes[i] = nil
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settled: every running node sees every member active and alive.
func (r *testRegion) settled() bool { return settled(r.nodes) }

// settled reports whether every running node of nodes (nil for a stopped
// one) sees every member active and alive.
func settled(nodes []*Node) bool {
	for _, n := range nodes {
		if n == nil {
			continue
		}
		c := n.Cluster()
		if len(c.Members) != len(nodes) {
			return false
		}
		for _, m := range c.Members {
			if m.Status != membership.Active || m.Health != membership.Alive {
				return false
			}
		}
	}
	return true
}

func put(key, value string, lvl kvsync.Level) wire.Op {
	return wire.Op{Kind: wire.OpPut, Key: []byte(key), Value: []byte(value), Level: uint8(lvl)}
}

func get(key string, lvl kvsync.Level) wire.Op {
	return wire.Op{Kind: wire.OpGet, Key: []byte(key), Level: uint8(lvl)}
}

func valueOf(r kvsync.Response) string {
	w, ok := r.State.Get()
	if !ok {
		return "<none>"
	}
	return string(w.Value)
}

func TestRegionServesAndHealsAfterANodeStops(t *testing.T) {
	servesAndHeals(t, newTestRegion(t, 3, 201))
}

// regionHarness is what servesAndHeals needs of a region of three nodes:
// their handles, stopping and starting one, and waiting on a condition
// (on the machine's clock, or moving the nodes' own).
type regionHarness interface {
	node(i int) *Node
	start(i int)
	stop(i int)
	await(what string, cond func() bool)
	settled() bool
}

func (r *testRegion) node(i int) *Node { return r.nodes[i] }
func (r *testRegion) await(what string, cond func() bool) {
	r.t.Helper()
	waitFor(r.t, what, 30*time.Second, cond)
}

// servesAndHeals writes at ALL and reads at QUORUM, stops the third node
// and writes at QUORUM while it is down (the others keep hints for it),
// then restarts it and waits until every replica holds every write.
func servesAndHeals(t *testing.T, r regionHarness) {
	t.Helper()
	r.await("the region settles", r.settled)
	ctx := t.Context()
	const keys = 30
	for i := range keys {
		if resp := r.node(i%3).Do(ctx, put(fmt.Sprintf("k%d", i), "v1", kvsync.All)); resp.Err != nil {
			t.Fatalf("put at ALL: %v", resp.Err)
		}
	}
	for i := range keys {
		if resp := r.node((i+1)%3).Do(ctx, get(fmt.Sprintf("k%d", i), kvsync.Quorum)); valueOf(resp) != "v1" {
			t.Fatalf("get: %q, %v", valueOf(resp), resp.Err)
		}
	}
	r.stop(2)
	r.await("the others see n3 down", func() bool {
		for i := range 2 {
			for _, m := range r.node(i).Cluster().Members {
				if m.ID == "n3" && m.Health == membership.Alive {
					return false
				}
			}
		}
		return true
	})
	for i := range keys {
		if resp := r.node(i%2).Do(ctx, put(fmt.Sprintf("k%d", i), "v2", kvsync.Quorum)); resp.Err != nil {
			t.Fatalf("put at QUORUM with a node down: %v", resp.Err)
		}
	}
	r.await("hints are kept for n3", func() bool {
		held := 0
		for i := range 2 {
			for _, m := range r.node(i).Cluster().Members {
				if m.ID == "n3" {
					held += m.HintsPending
				}
			}
		}
		return held > 0
	})
	r.start(2)
	r.await("the restarted node catches up", func() bool {
		for i := range keys {
			resp := r.node(2).Do(ctx, wire.Op{Kind: wire.OpInspect, Key: []byte(fmt.Sprintf("k%d", i))})
			for _, rs := range resp.Replicas {
				if w, ok := rs.State.Get(); rs.Err != nil || !ok || string(w.Value) != "v2" {
					return false
				}
			}
		}
		return true
	})
}

func TestClusterInfoAndContextCancel(t *testing.T) {
	r := newTestRegion(t, 1, 202)
	waitFor(t, "the node to be active", 10*time.Second, r.settled)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if resp := r.nodes[0].Do(ctx, put("k", "v", kvsync.One)); resp.Err == nil {
		t.Fatal("a cancelled context must fail the request")
	}
	c := r.nodes[0].Cluster()
	if c.Self != "n1" || len(c.Members) != 1 || c.Members[0].Ownership != 1 {
		t.Fatalf("cluster info: %+v", c)
	}
}
