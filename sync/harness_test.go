package sync_test

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// rendezvous places keys by highest random weight: simple, deterministic,
// and independent of the ring package, which sync may not import.
type rendezvous []crdt.NodeID

func (r rendezvous) Owners(key []byte, n int) []crdt.NodeID {
	type scored struct {
		id crdt.NodeID
		w  uint64
	}
	s := make([]scored, len(r))
	for i, id := range r {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], xxhash.Sum64(key))
		s[i] = scored{id, xxhash.Sum64(append(b[:], id...))}
	}
	slices.SortFunc(s, func(a, b scored) int { return cmp.Compare(b.w, a.w) })
	out := make([]crdt.NodeID, 0, n)
	for _, x := range s[:min(n, len(s))] {
		out = append(out, x.id)
	}
	return out
}

// cluster is a handful of Nodes wired by a FIFO queue, with time under the
// test's control.
type cluster struct {
	t       *testing.T
	now     int64
	ids     []crdt.NodeID
	nodes   map[crdt.NodeID]*kvsync.Node
	stores  map[crdt.NodeID]*kvsync.MemStore
	place   rendezvous
	down    map[crdt.NodeID]bool // what every view says
	drop    func(m wire.Message) bool
	queue   []wire.Message
	resps   map[uint64]kvsync.Response
	nextReq uint64
	cfg     func(*kvsync.Config)
	observe func(wire.Message)    // sees every message delivered
	skew    map[crdt.NodeID]int64 // each node's wall clock minus the cluster's time
	legacy  map[crdt.NodeID]bool  // nodes every view says speak only protocol 1
}

// current is the View.Current of every node: all but the legacy ones.
func (c *cluster) current() map[crdt.NodeID]bool {
	out := map[crdt.NodeID]bool{}
	for _, id := range c.ids {
		if !c.legacy[id] {
			out[id] = true
		}
	}
	return out
}

// clock is node id's wall clock.
func (c *cluster) clock(id crdt.NodeID) int64 { return c.now + c.skew[id] }

func newCluster(t *testing.T, n int, tweak func(*kvsync.Config)) *cluster {
	t.Helper()
	c := &cluster{t: t, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(),
		nodes: map[crdt.NodeID]*kvsync.Node{}, stores: map[crdt.NodeID]*kvsync.MemStore{},
		down: map[crdt.NodeID]bool{}, resps: map[uint64]kvsync.Response{}, cfg: tweak, skew: map[crdt.NodeID]int64{}}
	for i := range n {
		c.ids = append(c.ids, crdt.NodeID(fmt.Sprintf("n%d", i+1)))
	}
	c.place = rendezvous(c.ids)
	for _, id := range c.ids {
		c.stores[id] = kvsync.NewMemStore()
		c.start(id)
	}
	return c
}

func (c *cluster) start(id crdt.NodeID) {
	cfg := kvsync.DefaultConfig(id)
	cfg.AntiEntropyInterval = 0
	if c.cfg != nil {
		c.cfg(&cfg)
	}
	node, err := kvsync.NewNode(cfg, c.stores[id], c.clock(id))
	if err != nil {
		c.t.Fatal(err)
	}
	c.nodes[id] = node
	if len(c.nodes) == len(c.ids) {
		c.setViews()
	}
}

func (c *cluster) setViews() {
	for _, id := range c.ids {
		down := map[crdt.NodeID]bool{}
		for d := range c.down {
			if d != id {
				down[d] = true
			}
		}
		c.nodes[id].SetView(c.clock(id), kvsync.View{Placement: c.place, Members: c.ids, Down: down, Current: c.current()})
	}
}

// submit hands op to node at and returns the request id.
func (c *cluster) submit(at crdt.NodeID, op wire.Op) uint64 {
	c.nextReq++
	c.nodes[at].Submit(c.clock(at), kvsync.Request{ID: c.nextReq, Op: op})
	c.flush(at)
	return c.nextReq
}

func (c *cluster) flush(id crdt.NodeID) {
	rd, err := c.nodes[id].Flush()
	_ = err // failures show up in the responses
	for _, r := range rd.Responses {
		if _, dup := c.resps[r.ID]; dup {
			c.t.Fatalf("request %d answered twice", r.ID)
		}
		c.resps[r.ID] = r
	}
	c.queue = append(c.queue, rd.Messages...)
}

// run delivers messages until none is left.
func (c *cluster) run() {
	for len(c.queue) > 0 {
		m := c.queue[0]
		c.queue = c.queue[1:]
		if c.drop != nil && c.drop(m) {
			continue
		}
		if c.observe != nil {
			c.observe(m)
		}
		c.nodes[m.To].Step(c.clock(m.To), m)
		c.flush(m.To)
	}
}

// advance lets d pass in steps of 10ms, ticking every node.
func (c *cluster) advance(d time.Duration) {
	for end := c.now + int64(d); c.now < end; {
		c.now += int64(10 * time.Millisecond)
		for _, id := range c.ids {
			c.nodes[id].Tick(c.clock(id))
			c.flush(id)
		}
		c.run()
	}
}

// do submits op at node at and runs the cluster until it is answered.
func (c *cluster) do(at crdt.NodeID, op wire.Op) kvsync.Response {
	c.t.Helper()
	id := c.submit(at, op)
	c.run()
	for range 1000 {
		if r, ok := c.resps[id]; ok {
			return r
		}
		c.advance(10 * time.Millisecond)
	}
	c.t.Fatalf("request %d never answered", id)
	return kvsync.Response{}
}

// owners returns the replicas of key, and a node that is not one (or "").
func (c *cluster) owners(key string) ([]crdt.NodeID, crdt.NodeID) {
	owners := c.place.Owners([]byte(key), 3)
	for _, id := range c.ids {
		if !slices.Contains(owners, id) {
			return owners, id
		}
	}
	return owners, ""
}

func (c *cluster) stored(id crdt.NodeID, key string) crdt.State {
	s, _ := c.stores[id].Get([]byte(key))
	return s
}

func put(key, value string, lvl kvsync.Level) wire.Op {
	return wire.Op{Kind: wire.OpPut, Key: []byte(key), Value: []byte(value), Level: uint8(lvl)}
}

func get(key string, lvl kvsync.Level) wire.Op {
	return wire.Op{Kind: wire.OpGet, Key: []byte(key), Level: uint8(lvl)}
}

func value(t *testing.T, s crdt.State) string {
	t.Helper()
	w, ok := s.Get()
	if !ok {
		return "<none>"
	}
	return string(w.Value)
}

// setRing installs placement and next (nil: same) for every node, under a
// new epoch, with joining marking the nodes in next but not in placement.
func (c *cluster) setRing(epoch uint64, placement, next rendezvous) {
	for _, id := range c.ids {
		down := map[crdt.NodeID]bool{}
		for d := range c.down {
			if d != id {
				down[d] = true
			}
		}
		v := kvsync.View{Placement: placement, Members: c.ids, Down: down, Epoch: epoch, Current: c.current()}
		if next != nil {
			v.Next = next
			v.Joining = slices.Contains(next, id) && !slices.Contains(placement, id)
		}
		c.nodes[id].SetView(c.clock(id), v)
	}
	c.place = placement
}
