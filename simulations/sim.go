package simulations

import (
	"container/heap"
	"fmt"
	"hash"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/region/membership"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

const (
	tick         = 10 * time.Millisecond
	memberTick   = 100 * time.Millisecond // how often membership gossips and refreshes, as meridiand's view ticker
	syncInterval = 100 * time.Millisecond // the batched sync mode's fsync period
	smallBudget  = 1024                   // MaxHintBytes of the runs drawn to have a tiny hint budget
	deadTimeout  = 3 * time.Second        // each node's --dead-timeout
	vnodes       = 64                     // each node's weight in the ring
	maxNodes     = 8                      // joins stop there
)

// Sim is one simulated region.
type Sim struct {
	cfg        Config
	rng        *rand.Rand
	now        int64 // true time, ns since the run started
	seq        uint64
	events     eventQueue
	nodes      []*simNode
	mnet       *membership.MemNetwork
	cut        map[[2]crdt.NodeID]bool
	faulty     bool // in the fault phase
	batched    bool
	hintBudget int64
	legacy     string // the node that announces message protocol 1, if any
	refused    int    // frames it refused: they held kinds protocol 1 does not know
	trace      hash.Hash64
	hist       history
	clients    []*client
	suspect    map[crdt.NodeID][]span // when some view held a node down
	unstable   []span                 // when the ring was changing (see trackRing)
	dataLoss   []int64                // when a node's data was lost for good (removal, wipe)
	maxActors  int                    // the most actors a key's context held, in any store
	maxRetired int                    // the most actors beyond one per node a key's context held
	rings      map[string]kvsync.Placement
	log        []string // faults injected, for the failure report
}

// span is a time interval [from, to); to is -1 while open.
type span struct{ from, to int64 }

type simNode struct {
	id      crdt.NodeID
	store   *kvsync.MemStore
	node    *kvsync.Node // nil while crashed
	downAt  int64        // when it crashed; -1 while up
	inc     int          // bumped at every start, so that the ticks of an old run die
	skew    int64        // this node's wall clock minus true time
	waiting map[uint64]*clientOp
	// Membership, as meridiand runs it: the roster stored with the data,
	// and the incarnation of the data (a wipe gives a new one).
	mgr     *membership.Manager
	stored  membership.Roster
	data    int  // incarnation number
	gone    bool // left, or removed: stopped for good
	leaving bool // asked to leave
	epoch   uint64
	ring    string // its ring members now and next, as it last refreshed
}

// New builds a simulated region.
func New(cfg Config) (*Sim, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Sim{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		cut: map[[2]crdt.NodeID]bool{}, trace: fnv.New64a(), suspect: map[crdt.NodeID][]span{},
		rings: map[string]kvsync.Placement{}}
	s.hist = newHistory(cfg.Keys)
	s.batched = s.rng.IntN(2) == 0
	if cfg.Batched != nil {
		s.batched = *cfg.Batched
	}
	s.hintBudget = cfg.HintBudget
	if s.hintBudget == 0 {
		s.hintBudget = kvsync.DefaultConfig("x").MaxHintBytes
		if s.rng.IntN(3) == 0 {
			s.hintBudget = smallBudget
		}
	}
	s.mnet = membership.NewMemNetwork()
	s.mnet.SetReach(s.reaches)
	s.mnet.SetHealth(s.health)
	if s.rng.IntN(3) == 0 {
		// A node of the previous build in a rolling upgrade: it announces
		// message protocol 1, so the others send it only protocol 1's kinds.
		s.legacy = fmt.Sprintf("n%d", 1+s.rng.IntN(cfg.Nodes))
		s.mnet.SetProtocol(s.legacy, 1)
	}
	founding := membership.Roster{}
	for range cfg.Nodes {
		n := s.newNode()
		founding[string(n.id)] = membership.Member{ID: string(n.id), Region: "sim", VNodes: vnodes,
			Status: membership.Active, Incarnation: n.incarnation(), Version: 1}
	}
	for _, n := range s.nodes {
		n.stored = founding.Clone()
		if err := s.start(n, false); err != nil {
			return nil, err
		}
	}
	s.at(int64(memberTick), event{kind: evMembers})
	if s.batched {
		s.at(int64(syncInterval), event{kind: evSync})
	}
	s.record("config", s.batched, s.hintBudget, s.legacy)
	return s, nil
}

// newNode adds a node with an empty store to the simulation.
func (s *Sim) newNode() *simNode {
	id := crdt.NodeID(fmt.Sprintf("n%d", len(s.nodes)+1))
	skew := s.rng.Int64N(int64(2*s.cfg.MaxSkew+1)) - int64(s.cfg.MaxSkew)
	n := &simNode{id: id, downAt: -1, skew: skew, waiting: map[uint64]*clientOp{}, data: 1}
	n.store = kvsync.NewMemStore()
	n.store.Batched = s.batched
	s.nodes = append(s.nodes, n)
	return n
}

// incarnation names the node's data, as meridiand's random incarnation does.
func (n *simNode) incarnation() string { return fmt.Sprintf("d%d", n.data) }

func (s *Sim) memberConfig(n *simNode) membership.Config {
	c := membership.DefaultConfig(string(n.id))
	c.Region, c.Incarnation, c.VNodes, c.DeadTimeout = "sim", n.incarnation(), vnodes, deadTimeout
	c.Peer = string(n.id)
	return c
}

func (s *Sim) nodeConfig(n *simNode) kvsync.Config {
	c := kvsync.DefaultConfig(n.id)
	c.Actor = crdt.NodeID(string(n.id) + "." + n.incarnation())
	c.Replicas = s.cfg.Replicas
	c.RequestTimeout = 500 * time.Millisecond
	c.HintInterval = 100 * time.Millisecond
	c.AntiEntropyInterval = time.Second
	c.MaxHintBytes = s.hintBudget
	return c
}

// start (re)starts a node on its store, and its membership as meridiand
// starts it: from the roster stored with its data, asking to join the
// region unless it founds it.
func (s *Sim) start(n *simNode, join bool) error {
	node, err := kvsync.NewNode(s.nodeConfig(n), n.store, s.clock(n))
	if err != nil {
		return err
	}
	mcfg := s.memberConfig(n)
	self := membership.Initial(mcfg, n.stored, join)
	mgr, err := membership.New(mcfg, self, s.mnet.Add(self, n.stored, !join))
	if err != nil {
		return err
	}
	n.node, n.mgr, n.downAt = node, mgr, -1
	n.inc++
	s.refresh(n)
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

// ids returns the ids of the nodes of the region, in order.
func (s *Sim) ids() []crdt.NodeID {
	out := make([]crdt.NodeID, len(s.nodes))
	for i, n := range s.nodes {
		out[i] = n.id
	}
	return out
}

// downFor reports whether observer's failure detector holds o down.
func (s *Sim) downFor(observer crdt.NodeID, o *simNode) bool {
	return o.gone || (o.downAt >= 0 && s.now-o.downAt >= int64(s.cfg.Detect)) || s.cut[link(observer, o.id)]
}

// reaches says whether gossip from one node gets to another.
func (s *Sim) reaches(from, to string) bool {
	a, b := s.node(crdt.NodeID(from)), s.node(crdt.NodeID(to))
	return a != nil && b != nil && a.node != nil && b.node != nil && !s.cut[link(a.id, b.id)]
}

// health is what observer's failure detector says of member.
func (s *Sim) health(observer, member string) membership.Health {
	m := s.node(crdt.NodeID(member))
	if m == nil || s.downFor(crdt.NodeID(observer), m) {
		return membership.Dead
	}
	return membership.Alive
}

// refreshViews runs a round of gossip and refreshes every running node's
// membership, which installs its view.
func (s *Sim) refreshViews() {
	s.mnet.Spread()
	for _, n := range s.nodes {
		if n.node != nil {
			s.refresh(n)
		}
	}
	s.trackSuspects()
	s.trackRing()
}

// refresh refreshes n's membership, as meridiand's view ticker does.
func (s *Sim) refresh(n *simNode) {
	res := n.mgr.Refresh(s.clock(n), n.node)
	n.stored, n.epoch = res.Roster, res.Epoch
	n.ring = ringSig(res.Roster)
	if res.Left && !n.gone {
		// As meridiand does, it gossips its departure before it exits.
		s.note("%s left the region", n.id)
		n.gone = true
		s.fault(s.now+int64(2*memberTick), func() { s.crash(n, false) })
	}
}

// trackSuspects records when some node's view holds another down: a write
// coordinated then may count acknowledgements of fallbacks (a sloppy
// quorum), so the checker does not hold it to the guarantees of QUORUM.
func (s *Sim) trackSuspects() {
	for _, o := range s.nodes {
		down := false
		for _, n := range s.nodes {
			if n.node != nil && n != o && s.downFor(n.id, o) {
				down = true
			}
		}
		spans := s.suspect[o.id]
		open := len(spans) > 0 && spans[len(spans)-1].to < 0
		switch {
		case down && !open:
			s.suspect[o.id] = append(spans, span{from: s.now, to: -1})
		case !down && open:
			spans[len(spans)-1].to = s.now
		}
	}
}

// suspected reports whether some view held id down at some time in [from, to].
func (s *Sim) suspected(id crdt.NodeID, from, to int64) bool {
	for _, sp := range s.suspect[id] {
		if sp.from <= to && (sp.to < 0 || sp.to >= from) {
			return true
		}
	}
	return false
}

func link(a, b crdt.NodeID) [2]crdt.NodeID {
	if a > b {
		a, b = b, a
	}
	return [2]crdt.NodeID{a, b}
}

func (s *Sim) node(id crdt.NodeID) *simNode {
	i := slices.IndexFunc(s.nodes, func(n *simNode) bool { return n.id == id })
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
	if string(e.node) == s.legacy && slices.ContainsFunc(msgs, func(m wire.Message) bool { return wire.Legacy(m.Type) != m.Type }) {
		// A node of the previous build refuses the whole frame.
		s.refused++
		s.record("refused", e.node, e.from)
		return
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

// note records a fault for the failure report, and in the trace.
func (s *Sim) note(format string, args ...any) {
	line := fmt.Sprintf("%8.3fs ", float64(s.now)/1e9) + fmt.Sprintf(format, args...)
	s.log = append(s.log, line)
	s.record("fault", line)
}

// TraceHash returns the hash of everything the run did so far.
func (s *Sim) TraceHash() uint64 { return s.trace.Sum64() }

// event kinds
const (
	evTick = iota
	evDeliver
	evClient
	evFault
	evView
	evSync
	evMembers
)

type event struct {
	at     int64
	seq    uint64
	kind   int
	node   crdt.NodeID
	from   crdt.NodeID
	frame  []byte
	client *client
	inc    int
	fault  func()
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

// ringSig names the ring members of a roster now and next.
func ringSig(r membership.Roster) string {
	var b []byte
	for _, m := range r.InRing() {
		b = append(b, m.ID...)
		b = append(b, ',')
	}
	b = append(b, '|')
	for _, m := range r.InNextRing() {
		b = append(b, m.ID...)
		b = append(b, ',')
	}
	return string(b)
}

// trackRing records when the ring is changing: a join, leave or removal
// under way (a roster whose ring now and next differ), or running nodes
// that disagree on the ring. The checker does not hold operations that
// overlap such a time to the guarantees of QUORUM (see check).
func (s *Sim) trackRing() {
	sigs := map[string]bool{}
	moving := false
	for _, n := range s.nodes {
		if n.node == nil {
			continue
		}
		sigs[n.ring] = true
		now, next, _ := strings.Cut(n.ring, "|")
		moving = moving || now != next
	}
	changing := moving || len(sigs) > 1
	open := len(s.unstable) > 0 && s.unstable[len(s.unstable)-1].to < 0
	switch {
	case changing && !open:
		s.unstable = append(s.unstable, span{from: s.now, to: -1})
	case !changing && open:
		s.unstable[len(s.unstable)-1].to = s.now
	}
}

// placement returns the ring of roster r now: the owners of keys as a node
// with r sees them. Rings are cached by their members.
func (s *Sim) placement(r membership.Roster) kvsync.Placement {
	in := r.InRing()
	var sig []byte
	for _, m := range in {
		sig = append(sig, m.ID...)
		sig = append(sig, ',')
	}
	p, ok := s.rings[string(sig)]
	if !ok {
		p = membership.PlacementOf(in, vnodes)
		s.rings[string(sig)] = p
	}
	return p
}
