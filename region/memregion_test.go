package region

import (
	"fmt"
	"path/filepath"
	gosync "sync"
	"testing"
	"time"

	"github.com/meridiankv/meridian/region/membership"
	"github.com/meridiankv/meridian/region/transport"
	"go.uber.org/goleak"
)

// memGossipNet is membership's in-memory gossip made safe for nodes that
// run in goroutines: one lock around the network and its endpoints. A
// round of gossip runs when the test calls spread.
type memGossipNet struct {
	mu  gosync.Mutex
	net *membership.MemNetwork
	eps map[string]*memGossip
}

func newMemGossipNet() *memGossipNet {
	return &memGossipNet{net: membership.NewMemNetwork(), eps: map[string]*memGossip{}}
}

// start is seams.gossip: it adds the node's endpoint (replacing the one of
// a previous run).
func (g *memGossipNet) start(self membership.Member, stored membership.Roster, joined bool) (gossiper, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ep := &memGossip{net: g, id: self.ID, ep: g.net.Add(self, stored, joined), notify: make(chan struct{}, 1)}
	g.eps[self.ID] = ep
	return ep, nil
}

// spread runs one round of gossip and tells every node to look.
func (g *memGossipNet) spread() {
	g.mu.Lock()
	g.net.Spread()
	eps := make([]*memGossip, 0, len(g.eps))
	for _, ep := range g.eps {
		eps = append(eps, ep)
	}
	g.mu.Unlock()
	for _, ep := range eps {
		ep.signal()
	}
}

// memGossip is one node's endpoint of a memGossipNet.
type memGossip struct {
	net    *memGossipNet
	id     string
	ep     *membership.MemGossip
	notify chan struct{}
}

func (m *memGossip) Snapshot() (membership.Roster, map[string]membership.Health) {
	m.net.mu.Lock()
	defer m.net.mu.Unlock()
	return m.ep.Snapshot()
}

func (m *memGossip) Update(x membership.Member) membership.Member {
	m.net.mu.Lock()
	r := m.ep.Update(x)
	m.net.mu.Unlock()
	m.signal()
	return r
}

func (m *memGossip) Protocols() map[string]int {
	m.net.mu.Lock()
	defer m.net.mu.Unlock()
	return m.ep.Protocols()
}

func (m *memGossip) Joined() bool {
	m.net.mu.Lock()
	defer m.net.mu.Unlock()
	return m.ep.Joined()
}

func (m *memGossip) changed() <-chan struct{}  { return m.notify }
func (m *memGossip) leave(time.Duration) error { return nil } // the roster says Left; spread carries it
func (m *memGossip) signal() {
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

func (m *memGossip) stop() error {
	m.net.mu.Lock()
	defer m.net.mu.Unlock()
	if m.net.eps[m.id] == m {
		m.net.net.Stop(m.id)
		delete(m.net.eps, m.id)
	}
	return nil
}

// memRegion runs n nodes in this process with no socket: the in-memory
// transport and gossip, data on disk in a temporary directory (so a
// restart keeps it), no client endpoints, and one manual clock. Time moves
// only in step.
type memRegion struct {
	t      *testing.T
	clock  *manualClock
	tr     *transport.MemNetwork
	gossip *memGossipNet
	cfgs   []Config
	nodes  []*Node
}

// newMemRegion starts n nodes; tune, when not nil, changes each node's
// configuration first.
func newMemRegion(t *testing.T, n int, tune func(*Config)) *memRegion {
	t.Helper()
	// Registered first, so run last: once every node is closed, none of
	// their goroutines is left.
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
	return newMemRegionOn(t, newManualClock(), transport.NewMemNetwork(), DefaultRegion, n, tune)
}

// newMemRegions starts regions r1, r2, ... of n nodes each, on one clock
// and one in-memory transport; every region but the first joins the
// first through node 1 (--wan-join).
func newMemRegions(t *testing.T, regions, n int, tune func(*Config)) []*memRegion {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
	clock, tr := newManualClock(), transport.NewMemNetwork()
	var out []*memRegion
	for i := 1; i <= regions; i++ {
		name := fmt.Sprintf("r%d", i)
		out = append(out, newMemRegionOn(t, clock, tr, name, n, func(c *Config) {
			if i > 1 {
				c.WANJoin = []string{"r1n1:7000"}
			}
			if tune != nil {
				tune(c)
			}
		}))
	}
	return out
}

// newMemRegionOn starts region name's n nodes on clock and tr. Outside the
// default region, node i's addresses are named <region>n<i>.
func newMemRegionOn(t *testing.T, clock *manualClock, tr *transport.MemNetwork, name string, n int, tune func(*Config)) *memRegion {
	t.Helper()
	r := &memRegion{t: t, clock: clock, tr: tr, gossip: newMemGossipNet()}
	dir := t.TempDir()
	prefix := ""
	if name != DefaultRegion {
		prefix = name
	}
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("n%d", i)
		host := prefix + id
		c := DefaultConfig(id)
		c.Region = name
		c.DataDir, c.TLSDir = filepath.Join(dir, id), "unused: the transport is in memory"
		c.PeerAddr, c.GossipAddr = host+":7000", host+":7946" // names on the in-memory networks
		c.RESPAddr, c.HTTPAddr = host+":6379", host+":8080"   // not listened on
		if i > 1 {
			c.Join = []string{prefix + "n1:7946"}
		}
		c.Clock, c.Logger = clock, testLogger()
		if tune != nil {
			tune(&c)
		}
		r.cfgs = append(r.cfgs, c)
	}
	r.nodes = make([]*Node, n)
	t.Cleanup(func() {
		for _, nd := range r.nodes {
			if nd != nil {
				nd.Close()
			}
		}
	})
	for i := range n {
		r.start(i)
	}
	return r
}

func (r *memRegion) start(i int) {
	r.t.Helper()
	n, err := start(r.cfgs[i], seams{transport: r.tr, gossip: r.gossip.start, noEndpoints: true})
	if err != nil {
		r.t.Fatalf("starting %s: %v", r.cfgs[i].ID, err)
	}
	r.nodes[i] = n
	r.gossip.spread()
}

func (r *memRegion) stop(i int) {
	r.t.Helper()
	if err := r.nodes[i].Close(); err != nil {
		r.t.Fatalf("stopping %s: %v", r.cfgs[i].ID, err)
	}
	r.nodes[i] = nil
	r.gossip.spread()
}

// until moves time on, 10ms of the nodes' clock and a round of gossip per
// step, until cond holds, and fails the test after limit of the nodes'
// time. Between steps it gives the nodes' loops a moment of the machine's
// time to handle what the step delivered: the clock runs at most about ten
// times faster than the machine's, so a loop that is slow under the race
// detector does not see its requests time out for that alone.
func (r *memRegion) until(what string, limit time.Duration, cond func() bool) {
	r.t.Helper()
	for elapsed := time.Duration(0); !cond(); elapsed += 10 * time.Millisecond {
		if elapsed > limit {
			r.t.Fatalf("%s: not within %s of the nodes' time", what, limit)
		}
		r.clock.Advance(10 * time.Millisecond)
		r.gossip.spread()
		time.Sleep(time.Millisecond)
	}
}

// settled: every running node sees every member active and alive.
func (r *memRegion) settled() bool { return settled(r.nodes) }

func (r *memRegion) node(i int) *Node { return r.nodes[i] }

// await is until with a limit of a minute of the nodes' time.
func (r *memRegion) await(what string, cond func() bool) {
	r.t.Helper()
	r.until(what, time.Minute, cond)
}

// TestRegionOverInMemoryNetworks is TestRegionServesAndHealsAfterANodeStops
// without a socket: three nodes over the in-memory transport and gossip,
// on one clock that moves only when the test waits.
func TestRegionOverInMemoryNetworks(t *testing.T) {
	servesAndHeals(t, newMemRegion(t, 3, nil))
}
