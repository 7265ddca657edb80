package membership

import (
	"bytes"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	kvsync "github.com/meridiankv/meridian/sync"
)

// fakeReplica stands in for the replication state machine: it keeps the
// view installed last, and says it is bootstrapped or handed off when the
// test says so.
type fakeReplica struct {
	view                    kvsync.View
	views                   int
	bootstrapped, handedOff bool
	unsettled               bool // the steward's removals are not settled yet
}

func (r *fakeReplica) SetView(_ int64, v kvsync.View) { r.view, r.views = v, r.views+1 }
func (r *fakeReplica) Bootstrapped() bool             { return r.bootstrapped }
func (r *fakeReplica) HandedOff() bool                { return r.handedOff }
func (r *fakeReplica) Settled() bool                  { return !r.unsettled }

// testNode is one node of a testRegion: what survives a crash (its stored
// roster and incarnation) and what does not.
type testNode struct {
	id          string
	incarnation string
	stored      Roster // as last persisted

	g    *MemGossip // nil while down
	m    *Manager
	r    *fakeReplica
	last Result
	logs bytes.Buffer
}

// testRegion drives nodes over a MemNetwork the way meridiand drives one:
// a gossip round, then a Refresh of every running node, every 100ms of
// simulated time.
type testRegion struct {
	t     *testing.T
	net   *MemNetwork
	now   int64
	nodes map[string]*testNode
	cut   map[[2]string]bool // {from, to}: messages lost
	cfg   func(c *Config)    // adjusts each node's Config
	incs  int
}

const step = int64(100 * time.Millisecond)

func newTestRegion(t *testing.T, adjust func(c *Config)) *testRegion {
	r := &testRegion{t: t, net: NewMemNetwork(), now: int64(time.Hour), nodes: map[string]*testNode{},
		cut: map[[2]string]bool{}, cfg: adjust}
	r.net.SetReach(func(from, to string) bool { return !r.cut[[2]string{from, to}] })
	return r
}

// formed starts n nodes, n1 founding the region and the others joining it,
// each replica bootstrapped at once, and runs until all are active.
func formed(t *testing.T, n int, adjust func(c *Config)) *testRegion {
	t.Helper()
	r := newTestRegion(t, adjust)
	for i := 1; i <= n; i++ {
		r.start(fmt.Sprintf("n%d", i), i > 1).r.bootstrapped = true
	}
	r.runUntil("the region to form", 2*time.Second, func() bool { return r.allSee(statusAll(r.ids(), Active)) })
	return r
}

func (r *testRegion) config(id, inc string) Config {
	c := DefaultConfig(id)
	c.Region, c.Incarnation = "eu", inc
	c.Peer, c.Gossip = id+":7000", id+":7946"
	c.VNodes = 8
	if r.cfg != nil {
		r.cfg(&c)
	}
	return c
}

// start starts node id on its stored data (none for a new node), asked to
// join the region when join.
func (r *testRegion) start(id string, join bool) *testNode {
	r.t.Helper()
	n := r.nodes[id]
	if n == nil {
		r.incs++
		n = &testNode{id: id, incarnation: fmt.Sprintf("inc%d", r.incs)}
		r.nodes[id] = n
	}
	cfg := r.config(id, n.incarnation)
	n.logs.Reset()
	cfg.Logger = slog.New(slog.NewTextHandler(&n.logs, nil))
	self := Initial(cfg, n.stored, join)
	n.g = r.net.Add(self, n.stored, !join)
	m, err := New(cfg, self, n.g)
	if err != nil {
		r.t.Fatal(err)
	}
	n.m, n.r = m, &fakeReplica{}
	return n
}

// crash stops node id; it keeps what it stored.
func (r *testRegion) crash(id string) {
	r.net.Stop(id)
	n := r.nodes[id]
	n.g, n.m, n.r = nil, nil, nil
}

// wipe gives node id, crashed, a new data directory: a new incarnation
// (inc, or a fresh one when empty) and no stored roster.
func (r *testRegion) wipe(id, inc string) {
	if inc == "" {
		r.incs++
		inc = fmt.Sprintf("inc%d", r.incs)
	}
	n := r.nodes[id]
	n.incarnation, n.stored = inc, nil
}

// isolate cuts node id off from every other; heal restores every link.
func (r *testRegion) isolate(id string) {
	for other := range r.nodes {
		if other != id {
			r.cut[[2]string{id, other}], r.cut[[2]string{other, id}] = true, true
		}
	}
}

func (r *testRegion) heal() { clear(r.cut) }

// tick runs one gossip round, then refreshes every running node in id
// order, and persists its roster.
func (r *testRegion) tick() {
	r.now += step
	r.net.Spread()
	for _, id := range r.ids() {
		n := r.nodes[id]
		if n.m == nil {
			continue
		}
		n.last = n.m.Refresh(r.now, n.r)
		n.stored = n.last.Roster.Clone()
	}
}

// run ticks for d of simulated time.
func (r *testRegion) run(d time.Duration) {
	for range int64(d) / step {
		r.tick()
	}
}

// runUntil ticks until cond holds, failing the test after d.
func (r *testRegion) runUntil(what string, d time.Duration, cond func() bool) {
	r.t.Helper()
	for range int64(d) / step {
		r.tick()
		if cond() {
			return
		}
	}
	r.t.Fatalf("after %s: still waiting for %s; statuses seen:\n%s", d, what, r.describe())
}

func (r *testRegion) ids() []string { return slices.Sorted(maps.Keys(r.nodes)) }

// statuses returns the status of every member as node id sees it.
func (r *testRegion) statuses(id string) map[string]Status {
	out := map[string]Status{}
	for _, m := range r.nodes[id].last.Members {
		out[m.ID] = m.Status
	}
	return out
}

// health returns the health of member as node observer sees it.
func (r *testRegion) health(observer, member string) Health {
	for _, m := range r.nodes[observer].last.Members {
		if m.ID == member {
			return m.Health
		}
	}
	return 0
}

// allSee reports whether every running node sees want.
func (r *testRegion) allSee(want map[string]Status) bool {
	for _, id := range r.ids() {
		if r.nodes[id].m != nil && !maps.Equal(r.statuses(id), want) {
			return false
		}
	}
	return true
}

func statusAll(ids []string, s Status) map[string]Status {
	out := map[string]Status{}
	for _, id := range ids {
		out[id] = s
	}
	return out
}

func (r *testRegion) describe() string {
	var b bytes.Buffer
	for _, id := range r.ids() {
		n := r.nodes[id]
		if n.m == nil {
			fmt.Fprintf(&b, "  %s: down\n", id)
			continue
		}
		fmt.Fprintf(&b, "  %s sees", id)
		for _, m := range n.last.Members {
			fmt.Fprintf(&b, " %s=%s/%s/v%d", m.ID, m.Status, m.Health, m.Version)
		}
		b.WriteString("\n")
	}
	return b.String()
}
