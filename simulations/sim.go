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

// Sim is one simulated cluster: one region, or several (regions.go).
type Sim struct {
	cfg         Config
	rng         *rand.Rand
	now         int64 // true time, ns since the run started
	seq         uint64
	events      eventQueue
	regions     []*simRegion
	nodes       []*simNode // every node of every region, in the order they were added
	faulty      bool       // in the fault phase
	batched     bool
	hintBudget  int64
	outboxBytes int64         // each node's MaxOutboxBytes
	wanDelay    int64         // a message between regions takes this, plus up to MaxDelay
	wanDrop     float64       // probability a message between regions is lost in the fault phase
	warmup      int64         // when the clients and the faults start: the regions find each other first
	diskLoss    bool          // a run of several regions that may lose disks (power loss, wipe, removal)
	regionAE    time.Duration // each node's RegionAntiEntropyInterval: 0, off
	legacy      string        // the node that announces message protocol 1, if any
	refused     int           // frames it refused: they held kinds protocol 1 does not know
	trace       hash.Hash64
	hist        history
	clients     []*client
	suspect     map[*simNode][]span // when some view held a node down
	dataLoss    []loss              // when a node's data was lost for good (removal, wipe, power loss)
	owedLost    []string            // shipments owed to other regions that left with a node for good
	unowed      map[string]int64    // writes a node coordinated while its view lacked a region: owed to none
	dirErrors   []string            // directories of regions refused
	dropped     int64               // shipments given up on (MaxOutboxBytes), over every node's lives
	maxActors   int                 // the most actors a key's context held, in any store
	maxRetired  int                 // the most actors beyond one per node a key's context held
	rings       map[string]kvsync.Placement
	log         []string // faults injected, for the failure report

	refusedKinds []wire.MsgType // the kinds of the frames the node of protocol 1 refused

	// Strong keys (strong.go).
	decl         kvsync.Declaration
	strong       []*strongKey
	roundCrashes []int             // crashes armed at a point of a consensus round (crashMidRound)
	racks        map[*simNode]rack // proposers to crash once they take an acceptor's answer (crashRack)
}

// span is a time interval [from, to); to is -1 while open.
type span struct{ from, to int64 }

// loss is a node's data lost for good at a time, in a region.
type loss struct {
	at     int64
	region int
}

type simNode struct {
	id      crdt.NodeID // unique in its region
	name    crdt.NodeID // unique in the run: the id, qualified in a run of several regions
	region  *simRegion
	store   *kvsync.MemStore
	node    *kvsync.Node // nil while crashed
	downAt  int64        // when it crashed; -1 while up
	inc     int          // bumped at every start, so that the ticks of an old run die
	skew    int64        // this node's wall clock minus true time
	waiting map[uint64]*clientOp
	// Membership, as meridiand runs it: the roster stored with the data,
	// and the incarnation of the data (a wipe gives a new one).
	mgr    *membership.Manager
	stored membership.Roster
	data   int  // incarnation number
	gone   bool // left, or removed: stopped for good
	// removeFrom is when an operator first asked to remove it (0: never).
	removeFrom int64
	leaving    bool // asked to leave
	epoch      uint64
	ring       string // its ring members now and next, as it last refreshed
	// The other regions (several regions only), as meridiand keeps them:
	// the directory, stored with the data, and this region as the last
	// refresh saw it, which the directory tells the others.
	dir       *membership.Directory
	dirStored []byte
	health    map[string]membership.Health
	known     int   // other regions its view names, as last refreshed
	coordMark int64 // writes it coordinated since it started, as of its last refresh
}

// New builds a simulated cluster.
func New(cfg Config) (*Sim, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Sim{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		trace: fnv.New64a(), suspect: map[*simNode][]span{}, rings: map[string]kvsync.Placement{}}
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
	s.outboxBytes = cfg.OutboxBytes
	if s.outboxBytes == 0 {
		s.outboxBytes = kvsync.DefaultConfig("x").MaxOutboxBytes
	}
	if cfg.Regions == 1 {
		r := s.addRegion("local", cfg.Nodes, cfg.Replicas)
		if s.rng.IntN(3) == 0 && !cfg.StrongKeys {
			// A node of the previous build in a rolling upgrade: it announces
			// message protocol 1, so the others send it only protocol 1's kinds.
			// Not with strong keys, which every node must run this build
			// before they are declared: a key with an acceptor of an older
			// build is unavailable, and so is a removal that moves one.
			s.legacy = fmt.Sprintf("n%d", 1+s.rng.IntN(cfg.Nodes))
			r.mnet.SetProtocol(s.legacy, 1)
		}
		r.found(s)
	} else {
		s.drawRegions()
	}
	if err := s.declare(); err != nil {
		return nil, err
	}
	for _, n := range s.nodes {
		if err := s.start(n, false); err != nil {
			return nil, err
		}
	}
	s.at(int64(memberTick), event{kind: evMembers})
	if s.batched {
		s.at(int64(syncInterval), event{kind: evSync})
	}
	s.record("config", s.batched, s.hintBudget, s.legacy)
	if len(s.regions) > 1 {
		s.record("regions", s.regionSizes(), s.wanDelay, s.wanDrop, s.outboxBytes, s.diskLoss, s.regionAE)
	}
	return s, nil
}

// newNode adds a node with an empty store to region r.
func (s *Sim) newNode(r *simRegion) *simNode {
	id := crdt.NodeID(fmt.Sprintf("n%d", len(r.nodes)+1))
	skew := s.rng.Int64N(int64(2*s.cfg.MaxSkew+1)) - int64(s.cfg.MaxSkew)
	n := &simNode{id: id, name: r.qualify(id), region: r, downAt: -1, skew: skew, waiting: map[uint64]*clientOp{}, data: 1}
	n.store = s.newStore()
	r.nodes = append(r.nodes, n)
	s.nodes = append(s.nodes, n)
	return n
}

// newStore returns an empty store, in the run's sync mode.
func (s *Sim) newStore() *kvsync.MemStore {
	st := kvsync.NewMemStore()
	st.Batched = s.batched
	st.UnsyncedAcceptors = s.cfg.unsyncedAcceptors
	return st
}

// incarnation names the node's data, as meridiand's random incarnation does.
func (n *simNode) incarnation() string { return fmt.Sprintf("d%d", n.data) }

// actor is the base of the actors n mints under, as meridiand's actorBase
// makes it: region/id.incarnation, without the region "local".
func (n *simNode) actor() crdt.NodeID {
	base := string(n.id) + "." + n.incarnation()
	if n.region.name != "local" {
		base = n.region.name + "/" + base
	}
	return crdt.NodeID(base)
}

func (s *Sim) memberConfig(n *simNode) membership.Config {
	c := membership.DefaultConfig(string(n.id))
	c.Region, c.Incarnation, c.VNodes, c.DeadTimeout = n.region.name, n.incarnation(), vnodes, deadTimeout
	c.Peer = string(n.name)
	c.Strong = s.decl.String()
	return c
}

func (s *Sim) nodeConfig(n *simNode) kvsync.Config {
	c := kvsync.DefaultConfig(n.id)
	c.Actor = n.actor()
	c.Region = n.region.name
	c.Replicas = n.region.replicas
	c.RequestTimeout = 500 * time.Millisecond
	c.HintInterval = 100 * time.Millisecond
	c.AntiEntropyInterval = time.Second
	c.MaxHintBytes = s.hintBudget
	c.MaxOutboxBytes = s.outboxBytes
	c.RegionAntiEntropyInterval = s.regionAE
	if string(n.name) != s.legacy {
		c.Strong = s.decl // a node of the previous build knows no strong keys
	}
	return c
}

// start (re)starts a node on its store, and its membership as meridiand
// starts it: from the roster stored with its data, asking to join the
// region unless it founds it; and, with several regions, its directory of
// the others, from the one stored with its data.
func (s *Sim) start(n *simNode, join bool) error {
	node, err := kvsync.NewNode(s.nodeConfig(n), n.store, s.clock(n))
	if err != nil {
		return err
	}
	mcfg := s.memberConfig(n)
	self := membership.Initial(mcfg, n.stored, join)
	mgr, err := membership.New(mcfg, self, n.region.mnet.Add(self, n.stored, !join))
	if err != nil {
		return err
	}
	if len(s.regions) > 1 {
		if n.dir, err = membership.NewDirectory(s.directoryConfig(n), n.dirStored); err != nil {
			return err
		}
	}
	n.node, n.mgr, n.downAt = node, mgr, -1
	n.known, n.coordMark = 0, 0
	n.inc++
	s.refresh(n)
	s.at(s.now+int64(tick), event{kind: evTick, node: n, inc: n.inc})
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

// downFor reports whether observer's failure detector holds o down (both
// of one region).
func (s *Sim) downFor(observer crdt.NodeID, o *simNode) bool {
	return o.gone || (o.downAt >= 0 && s.now-o.downAt >= int64(s.cfg.Detect)) || o.region.cut[link(observer, o.id)]
}

// refreshViews runs a round of gossip in every region and refreshes every
// running node's membership, which installs its view.
func (s *Sim) refreshViews() {
	for _, r := range s.regions {
		r.mnet.Spread()
	}
	for _, n := range s.nodes {
		if n.node != nil {
			s.refresh(n)
		}
	}
	s.trackSuspects()
	for _, r := range s.regions {
		r.trackRing(s.now)
	}
}

// refresh refreshes n's membership, as meridiand's view ticker does: with
// several regions, the directory's view of the others first.
func (s *Sim) refresh(n *simNode) {
	if n.dir != nil {
		views := n.dir.Views(s.clock(n))
		s.noteUnowed(n)
		n.known = len(views)
		n.mgr.SetRemote(views)
		n.mgr.SetRegionsSettled(n.dir.Settled())
	}
	res := n.mgr.Refresh(s.clock(n), n.node)
	n.stored, n.epoch = res.Roster, res.Epoch
	n.ring = ringSig(res.Roster)
	n.health = make(map[string]membership.Health, len(res.Members))
	for _, m := range res.Members {
		n.health[m.ID] = m.Health
	}
	if res.Left && !n.gone {
		// As meridiand does, it gossips its departure before it exits.
		s.note("%s left the region", n.name)
		n.gone = true
		s.fault(s.now+int64(2*memberTick), func() { s.crash(n, false) })
	}
}

// trackSuspects records when some node's view holds another of its region
// down: a write coordinated then may count acknowledgements of fallbacks
// (a sloppy quorum), so the checker does not hold it to the guarantees of
// QUORUM.
func (s *Sim) trackSuspects() {
	for _, o := range s.nodes {
		down := false
		for _, n := range o.region.nodes {
			if n.node != nil && n != o && s.downFor(n.id, o) {
				down = true
			}
		}
		spans := s.suspect[o]
		open := len(spans) > 0 && spans[len(spans)-1].to < 0
		switch {
		case down && !open:
			s.suspect[o] = append(spans, span{from: s.now, to: -1})
		case !down && open:
			spans[len(spans)-1].to = s.now
		}
	}
}

// suspected reports whether some view held n down at some time in [from, to].
func (s *Sim) suspected(n *simNode, from, to int64) bool {
	for _, sp := range s.suspect[n] {
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

// flush commits what node n did and puts its output on the network.
func (s *Sim) flush(n *simNode) {
	rd, err := n.node.Flush()
	s.record("flush", n.name, err)
	for _, r := range rd.Responses {
		s.respond(n, r)
	}
	msgs, crash, power := s.crashMidRound(n, rd.Messages)
	s.sendAll(n, msgs)
	if crash {
		s.crashInRound(n, power)
	}
}

// sendAll puts messages of node from on the network. Inside a region each
// message travels on its own, and may be lost, duplicated or reordered on
// its own. Between regions they travel as meridiand sends them (sendAll in
// region/loop.go): the messages of one call to each node in one frame, so
// that a batch of shipments arrives whole or not at all; a frame takes the
// run's delay between regions and its own chance of loss.
func (s *Sim) sendAll(from *simNode, msgs []wire.Message) {
	type group struct {
		to   *simNode
		name crdt.NodeID
		msgs []wire.Message
	}
	var wan []group
	for _, m := range msgs {
		to := s.resolve(from, m.To)
		if to != nil && to.region == from.region {
			s.send(from, to, []wire.Message{m})
			continue
		}
		i := slices.IndexFunc(wan, func(g group) bool { return g.name == m.To })
		if i < 0 {
			wan = append(wan, group{to: to, name: m.To})
			i = len(wan) - 1
		}
		wan[i].msgs = append(wan[i].msgs, m)
	}
	for _, g := range wan {
		s.send(from, g.to, g.msgs)
	}
}

// send encodes msgs, as a real node would, in one frame for node to (nil:
// no such node), and schedules its delivery: a frame for another region's
// node takes the run's delay between regions and its own chance of loss.
func (s *Sim) send(from, to *simNode, msgs []wire.Message) {
	frame, err := wire.EncodeFrame(msgs)
	if err != nil {
		panic(fmt.Sprintf("simulations: encoding %v: %v", msgs[0].Type, err)) // a broken invariant, not bad input
	}
	m := msgs[0]
	wan := to == nil || to.region != from.region
	copies := 1
	if s.faulty {
		drop := s.cfg.Drop
		if wan {
			drop = s.wanDrop
		}
		if s.rng.Float64() < drop {
			s.record("drop", m.To, m.Type)
			return
		}
		if s.rng.Float64() < s.cfg.Dup {
			copies = 2
		}
	}
	if to == nil {
		s.record("nowhere", m.To, m.Type)
		return
	}
	for range copies {
		delay := int64(100*time.Microsecond) + s.rng.Int64N(int64(s.cfg.MaxDelay))
		if wan {
			delay += s.wanDelay
		}
		s.at(s.now+delay, event{kind: evDeliver, node: to, from: from, frame: frame})
	}
}

func (s *Sim) deliver(e event) {
	n := e.node
	if n.node == nil || s.severed(e.from, n) {
		s.record("lost", n.name, e.from.name)
		return
	}
	msgs, err := wire.DecodeFrame(e.frame)
	if err != nil {
		panic(fmt.Sprintf("simulations: decoding a frame we encoded: %v", err))
	}
	if string(n.id) == s.legacy && slices.ContainsFunc(msgs, func(m wire.Message) bool { return m.Type > wire.MsgKeysReply }) {
		// A node of protocol 1 refuses the whole frame: it knows no kind
		// after MsgKeysReply (wire.Protocol).
		s.refused++
		for _, m := range msgs {
			if m.Type > wire.MsgKeysReply && !slices.Contains(s.refusedKinds, m.Type) {
				s.refusedKinds = append(s.refusedKinds, m.Type)
			}
		}
		s.record("refused", n.name, e.from.name)
		return
	}
	for _, m := range msgs {
		s.record("deliver", m.To, m.From, m.Type, m.ID, string(m.Key))
		if m.Type == wire.MsgRegion {
			s.onDirectory(n, m)
			continue
		}
		n.node.Step(s.clock(n), m)
	}
	rack := s.rackTakes(n, msgs)
	s.flush(n)
	if rack {
		s.rackCrash(n)
	}
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
	node   *simNode // the node it is for
	from   *simNode // the sender of a message
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

// placement returns the ring of roster r now: the owners of keys as a node
// with r sees them. Rings are cached by their members.
func (s *Sim) placement(r membership.Roster) kvsync.Placement { return s.ringOf(r.InRing()) }

// nextPlacement returns the ring of roster r once the changes under way
// complete.
func (s *Sim) nextPlacement(r membership.Roster) kvsync.Placement { return s.ringOf(r.InNextRing()) }

// ringOf returns the ring of members in, cached.
func (s *Sim) ringOf(in []membership.Member) kvsync.Placement {
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
