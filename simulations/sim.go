package simulations

import (
	"container/heap"
	"fmt"
	"hash"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/region"
	"github.com/meridiankv/meridian/ring"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// Config shapes a simulated run. Zero fields take the defaults of
// DefaultConfig.
type Config struct {
	Seed     uint64
	Nodes    int           // nodes in the region; default 5
	Replicas int           // N; default 3
	Keys     int           // distinct keys the clients use; default 24
	Ops      int           // client operations in the fault phase; default 400
	Faults   time.Duration // length of the fault phase; default 20s
	Quiet    time.Duration // time left to converge after it; default 30s
	Drop     float64       // probability a message is lost in the fault phase; default 0.05
	Dup      float64       // probability a message is delivered twice; default 0.05
	MaxDelay time.Duration // messages take 0.1ms to MaxDelay; default 20ms
	Detect   time.Duration // failure-detection delay; default 500ms
	MaxSkew  time.Duration // node clocks are off by up to this, either way; default 500ms
}

// DefaultConfig returns the defaults for seed.
func DefaultConfig(seed uint64) Config {
	return Config{Seed: seed, Nodes: 5, Replicas: 3, Keys: 24, Ops: 400,
		Faults: 20 * time.Second, Quiet: 30 * time.Second,
		Drop: 0.05, Dup: 0.05, MaxDelay: 20 * time.Millisecond, Detect: 500 * time.Millisecond,
		MaxSkew: 500 * time.Millisecond}
}

const tick = 10 * time.Millisecond

// Sim is one simulated region.
type Sim struct {
	cfg    Config
	rng    *rand.Rand
	now    int64
	seq    uint64
	events eventQueue
	nodes  []*simNode
	ids    []crdt.NodeID
	place  kvsync.Placement
	cut    map[[2]crdt.NodeID]bool
	faulty bool // in the fault phase
	trace  hash.Hash64
	hist   history
}

type simNode struct {
	id      crdt.NodeID
	store   *kvsync.MemStore
	node    *kvsync.Node // nil while crashed
	downAt  int64        // when it crashed; -1 while up
	inc     int          // incarnation: bumped at every start, so old ticks die
	skew    int64        // this node's wall clock minus true time
	waiting map[uint64]*clientOp
}

// New builds a simulated region.
func New(cfg Config) (*Sim, error) {
	def := DefaultConfig(cfg.Seed)
	if cfg.Nodes == 0 {
		cfg = def
	}
	s := &Sim{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		cut: map[[2]crdt.NodeID]bool{}, trace: fnv.New64a(), hist: newHistory()}
	var members []ring.Member
	for i := range cfg.Nodes {
		id := crdt.NodeID(fmt.Sprintf("n%d", i+1))
		s.ids = append(s.ids, id)
		members = append(members, ring.Member{ID: ring.NodeID(id)})
		skew := s.rng.Int64N(int64(2*cfg.MaxSkew+1)) - int64(cfg.MaxSkew)
		s.nodes = append(s.nodes, &simNode{id: id, store: kvsync.NewMemStore(), downAt: -1, skew: skew, waiting: map[uint64]*clientOp{}})
	}
	r, err := ring.New(members...)
	if err != nil {
		return nil, err
	}
	s.place = region.Placement(r)
	for _, n := range s.nodes {
		if err := s.start(n); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Sim) nodeConfig(id crdt.NodeID) kvsync.Config {
	c := kvsync.DefaultConfig(id)
	c.Replicas = s.cfg.Replicas
	c.RequestTimeout = 500 * time.Millisecond
	c.HintInterval = 100 * time.Millisecond
	c.AntiEntropyInterval = time.Second
	return c
}

// start (re)starts a node on its store: a crash keeps only what was committed.
func (s *Sim) start(n *simNode) error {
	node, err := kvsync.NewNode(s.nodeConfig(n.id), n.store, s.clock(n))
	if err != nil {
		return err
	}
	n.node, n.downAt = node, -1
	n.inc++
	node.SetView(s.clock(n), s.view(n.id))
	s.at(s.now+int64(tick), event{kind: evTick, node: n.id, inc: n.inc})
	return nil
}

// clock is node n's wall clock: skewed, and coarse (whole milliseconds) so
// that timestamps of different nodes tie often.
func (s *Sim) clock(n *simNode) int64 {
	t := simEpoch + s.now + n.skew
	return t - t%int64(time.Millisecond)
}

// simEpoch is the wall-clock time a run starts at: 2026-01-01T00:00:00Z.
const simEpoch = int64(1_767_225_600_000_000_000)

// view is what node id's failure detector says, as of now.
func (s *Sim) view(id crdt.NodeID) kvsync.View {
	down := map[crdt.NodeID]bool{}
	for _, o := range s.nodes {
		if o.id == id {
			continue
		}
		if (o.downAt >= 0 && s.now-o.downAt >= int64(s.cfg.Detect)) || s.cut[link(id, o.id)] {
			down[o.id] = true
		}
	}
	return kvsync.View{Placement: s.place, Members: s.ids, Down: down}
}

func (s *Sim) refreshViews() {
	for _, n := range s.nodes {
		if n.node != nil {
			n.node.SetView(s.clock(n), s.view(n.id))
		}
	}
}

func link(a, b crdt.NodeID) [2]crdt.NodeID {
	if a > b {
		a, b = b, a
	}
	return [2]crdt.NodeID{a, b}
}

func (s *Sim) node(id crdt.NodeID) *simNode {
	i := slices.Index(s.ids, id)
	if i < 0 {
		return nil
	}
	return s.nodes[i]
}

// flush commits what node n did and puts its output on the network.
func (s *Sim) flush(n *simNode) {
	rd, err := n.node.Flush()
	s.record("flush", n.id, err)
	for _, r := range rd.Responses {
		s.respond(n, r)
	}
	for _, m := range rd.Messages {
		s.send(m)
	}
}

// send encodes m, as a real node would, and schedules its delivery.
func (s *Sim) send(m wire.Message) {
	frame, err := wire.EncodeFrame([]wire.Message{m})
	if err != nil {
		panic(fmt.Sprintf("simulations: encoding %v: %v", m.Type, err)) // a broken invariant, not bad input
	}
	copies := 1
	if s.faulty {
		if s.rng.Float64() < s.cfg.Drop {
			s.record("drop", m.To, m.Type)
			return
		}
		if s.rng.Float64() < s.cfg.Dup {
			copies = 2
		}
	}
	for range copies {
		delay := int64(100*time.Microsecond) + s.rng.Int64N(int64(s.cfg.MaxDelay))
		s.at(s.now+delay, event{kind: evDeliver, node: m.To, from: m.From, frame: frame})
	}
}

func (s *Sim) deliver(e event) {
	n := s.node(e.node)
	if n == nil || n.node == nil || s.cut[link(e.from, e.node)] {
		s.record("lost", e.node, e.from)
		return
	}
	msgs, err := wire.DecodeFrame(e.frame)
	if err != nil {
		panic(fmt.Sprintf("simulations: decoding a frame we encoded: %v", err))
	}
	for _, m := range msgs {
		s.record("deliver", m.To, m.From, m.Type, m.ID, string(m.Key))
		n.node.Step(s.clock(n), m)
	}
	s.flush(n)
}

// record folds an event into the trace hash.
func (s *Sim) record(what string, args ...any) {
	fmt.Fprintf(s.trace, "%d %s %v\n", s.now, what, args)
}

// TraceHash returns the hash of everything the run did so far.
func (s *Sim) TraceHash() uint64 { return s.trace.Sum64() }

// event kinds
const (
	evTick = iota
	evDeliver
	evClient
	evCrash
	evRestart
	evCut
	evHeal
	evView
)

type event struct {
	at    int64
	seq   uint64
	kind  int
	node  crdt.NodeID
	from  crdt.NodeID
	frame []byte
	op    *clientOp
	inc   int
}

func (s *Sim) at(t int64, e event) {
	s.seq++
	e.at, e.seq = t, s.seq
	heap.Push(&s.events, e)
}

type eventQueue []event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}
