package devcluster_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meridiankv/meridian/client"
	"github.com/meridiankv/meridian/region"
	"github.com/meridiankv/meridian/region/devcluster"
	"go.uber.org/goleak"
)

// These tests run real meridiand processes, built once by TestMain, on
// their own loopback addresses (127.0.<base+1>.x), the way `meridian dev`
// does. Each cleans its processes up, even when it fails.

var meridiand string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "meridiand-bin")
	if err != nil {
		panic(err)
	}
	meridiand = filepath.Join(dir, "meridiand")
	build := exec.Command("go", "build", "-o", meridiand, "github.com/meridiankv/meridian/cmd/meridiand")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building meridiand:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// fast are meridiand flags that make failure detection and repair quick
// enough for a test.
var fast = []string{"--probe-interval", "200ms", "--probe-timeout", "100ms", "--anti-entropy-interval", "1s", "--request-timeout", "2s"}

// startCluster starts nodes meridiand processes on 127.0.<base+1>.x with the
// fast flags and args.
func startCluster(t *testing.T, base, nodes int, args ...string) *devcluster.Cluster {
	t.Helper()
	c, err := devcluster.Start(t.Context(), devcluster.Config{Dir: t.TempDir(), Binary: meridiand, Nodes: nodes, Base: base, Args: slices.Concat(fast, args)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		if t.Failed() {
			for _, n := range c.Nodes() {
				if b, err := os.ReadFile(n.LogFile); err == nil {
					t.Logf("log of %s:\n%s", n.ID, tail(b, 40))
				}
			}
		}
	})
	return c
}

func tail(b []byte, lines int) string {
	n := 0
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			if n++; n > lines {
				return string(b[i+1:])
			}
		}
	}
	return string(b)
}

// load writes unique keys at QUORUM through the nodes that are up, and
// records the acknowledged ones and the longest time without a success.
type load struct {
	mu      sync.Mutex
	acked   map[string]string
	targets atomic.Pointer[[]string] // HTTP addresses to write through
	lastOK  atomic.Int64
	maxGap  atomic.Int64
	fails   atomic.Int64
	stop    chan struct{}
	done    sync.WaitGroup
}

func startLoad(addrs []string, writers int) *load {
	l := &load{acked: map[string]string{}, stop: make(chan struct{})}
	l.setTargets(addrs)
	l.lastOK.Store(time.Now().UnixNano())
	for w := range writers {
		l.done.Add(1)
		go l.write(w)
	}
	return l
}

func (l *load) setTargets(addrs []string) { l.targets.Store(&addrs) }

func (l *load) write(w int) {
	defer l.done.Done()
	rng := rand.New(rand.NewPCG(uint64(w), 7))
	for i := 0; ; i++ {
		select {
		case <-l.stop:
			return
		default:
		}
		addrs := *l.targets.Load()
		c := client.New(addrs[rng.IntN(len(addrs))])
		key, value := fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("v%d", i)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err := c.Put(ctx, key, []byte(value), client.WithConsistency(client.Quorum))
		cancel()
		if err != nil {
			l.fails.Add(1)
			time.Sleep(20 * time.Millisecond)
			continue
		}
		now := time.Now().UnixNano()
		if gap := now - l.lastOK.Swap(now); gap > l.maxGap.Load() {
			l.maxGap.Store(gap)
		}
		l.mu.Lock()
		l.acked[key] = value
		l.mu.Unlock()
	}
}

func (l *load) finish() map[string]string {
	close(l.stop)
	l.done.Wait()
	return l.acked
}

// converged reports whether every acknowledged key is on every one of its
// replicas, as /v1/inspect at addr shows them; it checks 8 keys at a time.
func converged(ctx context.Context, addr string, acked map[string]string) (bool, string) {
	c := client.New(addr)
	keys := make(chan string)
	var bad atomic.Pointer[string]
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for key := range keys {
				if why := check(ctx, c, key, acked[key]); why != "" {
					bad.CompareAndSwap(nil, &why)
				}
			}
		}()
	}
	for key := range acked {
		if bad.Load() != nil {
			break
		}
		keys <- key
	}
	close(keys)
	wg.Wait()
	if why := bad.Load(); why != nil {
		return false, *why
	}
	return true, ""
}

func check(ctx context.Context, c *client.Client, key, want string) string {
	in, err := c.Inspect(ctx, key)
	if err != nil {
		return fmt.Sprintf("%s: %v", key, err)
	}
	if len(in.Replicas) != 3 {
		return fmt.Sprintf("%s: %d replicas answered", key, len(in.Replicas))
	}
	for _, r := range in.Replicas {
		if r.Err != "" || !r.Agrees || r.State == nil || string(r.State.Value) != want {
			return fmt.Sprintf("%s on %s: %+v", key, r.Node, r)
		}
	}
	return ""
}

func waitConverged(t *testing.T, addr string, acked map[string]string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var why string
	for time.Since(start) < limit {
		var ok bool
		if ok, why = converged(t.Context(), addr, acked); ok {
			return time.Since(start)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("not converged after %s: %s", limit, why)
	return 0
}

// hintsFor sums the hints the other nodes hold for node id.
func hintsFor(ctx context.Context, nodes []devcluster.Node, id string) int64 {
	var sum int64
	for _, n := range nodes {
		if n.ID == id {
			continue
		}
		cl, err := client.New(n.HTTP).Cluster(ctx)
		if err != nil {
			return -1
		}
		for _, m := range cl.Members {
			if m.ID == id {
				sum += m.HintsPending
			}
		}
	}
	return sum
}

// TestKillNineUnderQuorumWritesLosesNothing kills the region's first node
// (the one started without --join, so its restart must find the region
// from the members it remembers) while clients write at QUORUM.
func TestKillNineUnderQuorumWritesLosesNothing(t *testing.T) {
	c := startCluster(t, 110, 3)
	nodes := c.Nodes()
	victim, others := nodes[0], []string{nodes[1].HTTP, nodes[2].HTTP}
	l := startLoad([]string{victim.HTTP, nodes[1].HTTP, nodes[2].HTTP}, 8)
	time.Sleep(2 * time.Second)

	l.setTargets(others)
	l.maxGap.Store(0)
	killed := time.Now()
	if err := c.Kill(victim.ID); err != nil {
		t.Fatal(err)
	}
	// The time until the survivors see the node down and route around it.
	for !down(t.Context(), others[0], victim.ID) {
		if time.Since(killed) > 30*time.Second {
			t.Fatal("the survivors never noticed the kill")
		}
		time.Sleep(20 * time.Millisecond)
	}
	detected := time.Since(killed)
	time.Sleep(4 * time.Second)
	t.Logf("kill -9 of %s: marked down after %s; longest time without an acknowledged write %s",
		victim.ID, detected.Round(time.Millisecond), time.Duration(l.maxGap.Load()).Round(time.Millisecond))

	acked := l.finish()
	t.Logf("%d writes acknowledged, %d failed or timed out; %d hints held for %s",
		len(acked), l.fails.Load(), hintsFor(t.Context(), nodes, victim.ID), victim.ID)
	if err := c.StartNode(victim.ID); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	for hintsFor(t.Context(), nodes, victim.ID) != 0 {
		if time.Since(restarted) > time.Minute {
			t.Fatal("hints never drained")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("hints for the restarted node drained %s after its restart", time.Since(restarted).Round(time.Millisecond))
	waitConverged(t, victim.HTTP, acked, 60*time.Second)
	t.Logf("every replica of all %d acknowledged keys agreed %s after the restart", len(acked), time.Since(restarted).Round(time.Millisecond))
}

// down reports whether the node at addr sees id as not alive.
func down(ctx context.Context, addr, id string) bool {
	cl, err := client.New(addr).Cluster(ctx)
	if err != nil {
		return false
	}
	for _, m := range cl.Members {
		if m.ID == id {
			return m.State != "alive"
		}
	}
	return false
}

func TestJoinAndLeaveUnderLoadLoseNothing(t *testing.T) {
	c := startCluster(t, 111, 3)
	nodes := c.Nodes()
	l := startLoad([]string{nodes[0].HTTP, nodes[1].HTTP, nodes[2].HTTP}, 6)
	time.Sleep(time.Second)

	joined, err := c.AddNode()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s joined and became active in %s", joined.ID, time.Since(start).Round(time.Millisecond))
	l.setTargets([]string{nodes[0].HTTP, nodes[1].HTTP, joined.HTTP})
	time.Sleep(time.Second)

	start = time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := client.New(nodes[2].HTTP).Leave(ctx); err != nil {
		t.Fatalf("leave: %v", err)
	}
	t.Logf("%s handed off and left in %s", nodes[2].ID, time.Since(start).Round(time.Millisecond))
	if err := c.Stop(nodes[2].ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	logged, _ := os.ReadFile(nodes[2].LogFile)
	m := regexp.MustCompile(`left: every key handed off.*keys_pushed=(\d+)`).FindSubmatch(logged)
	if m == nil || string(m[1]) == "0" {
		t.Fatalf("the leaving node did not hand anything off: %q", m)
	}
	t.Logf("it pushed %s keys to their new owners", m[1])
	time.Sleep(time.Second)
	acked := l.finish()
	t.Logf("%d writes acknowledged, %d failed", len(acked), l.fails.Load())
	took := waitConverged(t, nodes[0].HTTP, acked, 60*time.Second)
	t.Logf("every replica of every acknowledged key agreed %s after the load stopped", took.Round(time.Millisecond))
}

// TestRemovedNodeIsReReplicated removes a dead node for good: the survivors
// take over its ranges and anti-entropy gives every key three copies again.
func TestRemovedNodeIsReReplicated(t *testing.T) {
	c := startCluster(t, 113, 4)
	nodes := c.Nodes()
	cl := client.New(nodes[0].HTTP)
	acked := putAll(t, cl, 300)
	dead := nodes[3]
	if err := c.Kill(dead.ID); err != nil {
		t.Fatal(err)
	}
	for !down(t.Context(), nodes[0].HTTP, dead.ID) {
		time.Sleep(50 * time.Millisecond)
	}
	if err := cl.Remove(t.Context(), nodes[0].ID); err == nil {
		t.Fatal("removing a live node must be refused")
	}
	start := time.Now()
	if err := cl.Remove(t.Context(), dead.ID); err != nil {
		t.Fatalf("remove: %v", err)
	}
	took := waitConverged(t, nodes[1].HTTP, acked, 60*time.Second)
	t.Logf("after removing %s, every key had 3 agreeing replicas again in %s (checked %s after the remove)",
		dead.ID, time.Since(start).Round(time.Millisecond), took.Round(time.Millisecond))
}

// TestWipedNodeJoinsAgainBeforeServing kills a node, wipes its data
// directory and starts it again under its id: it must not take its earlier
// life's entry (active) for its own and serve ranges it does not hold, but
// say so, join again with its new incarnation, pull its ranges, and only
// then serve them.
func TestWipedNodeJoinsAgainBeforeServing(t *testing.T) {
	c := startCluster(t, 114, 3)
	nodes := c.Nodes()
	cl := client.New(nodes[0].HTTP)
	acked := putAll(t, cl, 300)
	victim := nodes[2]
	if err := c.Kill(victim.ID); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(victim.DataDir); err != nil {
		t.Fatal(err)
	}
	if err := c.StartNode(victim.ID); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	if err := c.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Logf("the wiped node was active again %s after its restart", time.Since(restarted).Round(time.Millisecond))
	logged, _ := os.ReadFile(victim.LogFile)
	for _, want := range []string{`level=WARN msg="the region holds another entry for this node`, `msg="joined: serving my ranges"`} {
		if !regexp.MustCompile(regexp.QuoteMeta(want)).Match(logged) {
			t.Errorf("the wiped node did not log %s", want)
		}
	}
	took := waitConverged(t, victim.HTTP, acked, 60*time.Second)
	t.Logf("every acknowledged key had 3 agreeing replicas %s later", took.Round(time.Millisecond))
}

// putAll writes n keys at ALL and returns them with their values.
func putAll(t *testing.T, cl *client.Client, n int) map[string]string {
	t.Helper()
	acked := map[string]string{}
	for i := range n {
		key, value := fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i)
		if _, err := cl.Put(t.Context(), key, []byte(value), client.WithConsistency(client.All)); err != nil {
			t.Fatal(err)
		}
		acked[key] = value
	}
	return acked
}

// TestGossipKeyRotatesWithSIGHUP rotates the cluster's gossip key the way
// the README says (add the new key, make it first, drop the old one, each
// step a SIGHUP to every node) under QUORUM writes: every node logs each
// reload, no node is ever seen down, and no write fails.
func TestGossipKeyRotatesWithSIGHUP(t *testing.T) {
	c := startCluster(t, 115, 3)
	nodes := c.Nodes()
	path := c.GossipKeyFile()
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a := strings.TrimSpace(string(old))
	b, err := region.NewGossipKey()
	if err != nil {
		t.Fatal(err)
	}
	ld := startLoad([]string{nodes[0].HTTP, nodes[1].HTTP, nodes[2].HTTP}, 2)
	defer ld.finish()
	for step, keys := range []string{a + "\n" + b, b + "\n" + a, b} {
		if err := os.WriteFile(path, []byte(keys+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes { // in turn, as an operator would
			if err := c.Reload(n.ID); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				b, _ := os.ReadFile(n.LogFile)
				if strings.Count(string(b), "gossip keys reloaded") > step {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("step %d: %s did not log the reload", step+1, n.ID)
				}
				time.Sleep(50 * time.Millisecond)
			}
			for range 5 { // a few probe rounds with the nodes on different keys
				time.Sleep(200 * time.Millisecond)
				for _, m := range nodes {
					for _, o := range nodes {
						if down(t.Context(), m.HTTP, o.ID) {
							t.Fatalf("step %d, after reloading %s: %s sees %s down", step+1, n.ID, m.ID, o.ID)
						}
					}
				}
			}
		}
	}
	if f := ld.fails.Load(); f != 0 {
		t.Fatalf("%d writes failed during the rotation", f)
	}
}
