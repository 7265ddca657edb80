package sync

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// Placement maps a key to its replicas, primary first. ring.Ring provides it
// through an adapter in the region package.
type Placement interface {
	Owners(key []byte, n int) []crdt.NodeID
}

// View is what membership tells a node about the others.
type View struct {
	// Placement places keys on the members that serve them.
	Placement Placement
	// Next places keys on the members that will serve them once the joins
	// and leaves under way complete; nil means the same as Placement. Writes
	// also go to the next owners, anti-entropy and handoff work for them.
	Next Placement
	// Epoch names Placement and Next together, the same on every node that
	// has the same ones (the region layer hashes the ring's members), and
	// changes whenever they do: the anti-entropy trees, which cover the keys
	// a node shares with each peer, are rebuilt then, handoff starts over,
	// and two nodes compare trees only under the same epoch.
	Epoch uint64
	// Joining says this node is in Next but not yet in Placement: it pulls
	// its ranges by anti-entropy at a fast pace until Bootstrapped.
	Joining bool
	// Members lists every member of Placement and Next, sorted.
	Members []crdt.NodeID
	// Down holds the members believed unreachable (suspect or dead): writes
	// for them go to fallbacks as hints, reads skip them.
	Down map[crdt.NodeID]bool
}

// Request is an operation a client asked this node for.
type Request struct {
	ID uint64 // chosen by the caller, echoed in the Response
	Op wire.Op
}

// Response answers a Request.
type Response struct {
	ID uint64
	// State is the key's state after a write at its coordinator, or the
	// merged state of the replicas that answered a read.
	State crdt.State
	// Changed counts what the operation changed where a client wants to
	// know: elements added or removed, keys deleted (0 or 1).
	Changed int64
	// Replicas holds each replica's own answer to an OpInspect.
	Replicas []ReplicaState
	// Sloppy says that a write was acknowledged with the help of fallback
	// nodes standing in for owners that were down, or went ahead without
	// reading a quorum of owners first: it is durable, but the guarantees
	// of its level (a later QUORUM read sees it) hold only once the hints
	// are handed back. Only the coordinating node knows it: a forwarded
	// write's answer does not carry it.
	Sloppy bool
	Err    error
}

// ReplicaState is what one replica answered to an OpInspect.
type ReplicaState struct {
	Node  crdt.NodeID
	State crdt.State
	Err   error // the replica did not answer, or failed
}

// Ready is what a Flush releases, now that the writes behind it are durable:
// messages for other nodes and answers for clients. Its slices are the
// Node's buffers, valid until the next call of a Node method: copy out what
// is kept longer.
type Ready struct {
	Messages  []wire.Message
	Responses []Response
}

// Node is one replica's coordination and replication logic: the state
// machine of the region package's node loop, and of the simulations. It does
// no I/O but through its Store and reads no clock: every entry point takes
// the current time in nanoseconds. It is not safe for concurrent use.
//
// Writes are acknowledged only after they are durable: a Node holds the
// messages and responses it produces until Flush has committed the writes
// made since the last Flush, in one batch (group commit).
type Node struct {
	cfg   Config
	store Store
	clock *crdt.Clock
	now   int64
	view  View

	pending map[string]crdt.State // written since the last Flush
	deltas  map[string]crdt.State // merged since the last Flush into keys not read: the commit merges them
	batch   wire.Batch
	msgs    []wire.Message
	resps   []Response
	fresh   []uint64 // write ops created since the last Flush

	nextID   uint64
	writes   map[uint64]*writeOp
	reads    map[uint64]*readOp
	forwards map[uint64]*forwardOp
	seen     map[origin]int64 // forwarded requests taken, until when to remember them
	hints    hintState
	ae       aeState
	handoff  handoffState
	stats    Stats
	aeStats  AEStats

	// The actor dots are minted under (see Epochs).
	epoch    uint64
	epochs   Epochs
	epochErr error // the last reservation failed: mint nothing
	actor    crdt.NodeID
}

// Stats counts what a Node did since it started.
type Stats struct {
	Coordinated   int64 // writes coordinated here
	Forwarded     int64 // requests forwarded to a coordinator
	ReplicaWrites int64 // writes merged from other nodes
	Reads         int64 // reads coordinated here
	ReadRepairs   int64 // stale replicas sent a merged state
	Timeouts      int64 // requests answered with a timeout
	HintsStored   int64 // hints written here for unreachable replicas
	HintsSent     int64 // hints replayed to their target
	HintsDropped  int64 // hints refused for lack of budget
	SkewRefused   int64 // timestamps the clock refused as too far ahead
	CommitErrors  int64
	HandoffPushed int64 // keys pushed to all their new owners by handoff
	HandedOff     int64 // keys handed off and then dropped here
	EpochBumps    int64 // new epochs taken while running (not counting the start)
	SloppyWrites  int64 // writes acknowledged with a fallback's help, or without a first read of a quorum of owners
	AE            AEStats
}

// NewNode returns a node with configuration cfg over store, at time now.
func NewNode(cfg Config, store Store, now int64) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Node{
		cfg:      cfg,
		store:    store,
		clock:    crdt.NewClock(cfg.MaxSkew),
		now:      now,
		pending:  map[string]crdt.State{},
		deltas:   map[string]crdt.State{},
		writes:   map[uint64]*writeOp{},
		reads:    map[uint64]*readOp{},
		forwards: map[uint64]*forwardOp{},
		seen:     map[origin]int64{},
		hints:    newHintState(),
		// Ids start at the clock so that they do not repeat across restarts:
		// a node that deduplicates forwarded requests by (sender, id) must
		// not mistake a new request for an old one.
		nextID: uint64(max(now, 0)),
	}
	if err := n.startEpoch(); err != nil {
		return nil, err
	}
	return n, nil
}

// ID returns the node's id.
func (n *Node) ID() crdt.NodeID { return n.cfg.ID }

// Stats returns the node's counters.
func (n *Node) Stats() Stats {
	s := n.stats
	s.AE = n.aeStats
	return s
}

// SetView installs a new membership view.
func (n *Node) SetView(now int64, v View) {
	n.advance(now)
	n.view = v
}

// Submit takes a client request. Its Response comes out of a later Flush.
func (n *Node) Submit(now int64, r Request) {
	n.advance(now)
	o := origin{client: r.ID}
	if err := n.validate(&r.Op); err != nil {
		n.answer(o, Response{Err: err})
		return
	}
	if r.Op.Kind == wire.OpGet || r.Op.Kind == wire.OpInspect {
		n.coordinateRead(o, &r.Op)
		return
	}
	owners := n.owners(r.Op.Key)
	if slices.Contains(owners, n.cfg.ID) {
		n.coordinateWrite(o, &r.Op, owners)
		return
	}
	for _, id := range owners {
		if !n.view.Down[id] {
			n.forward(o, &r.Op, id)
			return
		}
	}
	n.answer(o, Response{Err: &UnavailableError{Level: level(&r.Op), Need: level(&r.Op).Required(len(owners)), Write: true}})
}

// Step takes a message from another node.
func (n *Node) Step(now int64, m wire.Message) {
	n.advance(now)
	switch m.Type {
	case wire.MsgWrite:
		n.onWrite(m)
	case wire.MsgWriteAck:
		n.onWriteAck(m)
	case wire.MsgRead:
		n.onRead(m)
	case wire.MsgReadReply:
		n.onReadReply(m)
	case wire.MsgForward:
		n.onForward(m)
	case wire.MsgForwardReply:
		n.onForwardReply(m)
	case wire.MsgTreeRequest:
		n.onTreeRequest(m)
	case wire.MsgTreeReply:
		n.onTreeReply(m)
	case wire.MsgKeysRequest:
		n.onKeysRequest(m)
	case wire.MsgKeysReply:
		n.onKeysReply(m)
	}
}

// Tick lets time pass: requests past their deadline are answered, hints are
// replayed.
func (n *Node) Tick(now int64) {
	n.advance(now)
	n.expireWrites()
	n.expireReads()
	n.expireForwards()
	for o, until := range n.seen {
		if until <= n.now {
			delete(n.seen, o)
		}
	}
	n.tickHints()
	n.tickAE()
	n.tickHandoff()
}

// Flush commits the writes made since the last Flush in one batch and
// releases the messages and responses that waited for them. If the commit
// fails, nothing is released but error responses, and the error is returned.
func (n *Node) Flush() (Ready, error) {
	if !n.batch.IsEmpty() {
		if err := n.store.Commit(&n.batch); err != nil {
			return n.failRound(err), err
		}
		n.track(n.batch.Puts)
	}
	r := Ready{Messages: n.msgs, Responses: n.resps}
	n.endRound()
	return r, nil
}

// failRound answers every request of the round with an error, since
// nothing it wrote is durable: the answers it had, the answers forwarded
// to other nodes, and the writes it started that were still waiting for
// acknowledgements (they are forgotten: their copies were not sent). Every
// other message of the round is dropped; the nodes waiting on them time
// out, hint or retry.
func (n *Node) failRound(err error) Ready {
	n.stats.CommitErrors++
	fail := fmt.Errorf("%w: the commit this request depended on failed (a write may or may not have been applied; retry): %w", ErrUnknownOutcome, err)
	code, text := encodeErr(fail)
	resps := make([]Response, 0, len(n.resps))
	for _, r := range n.resps {
		resps = append(resps, Response{ID: r.ID, Err: fail})
	}
	var msgs []wire.Message
	for _, m := range n.msgs {
		if m.Type == wire.MsgForwardReply {
			msgs = append(msgs, wire.Message{Type: m.Type, From: m.From, To: m.To, ID: m.ID, Code: code, Err: text})
		}
	}
	for _, id := range n.fresh {
		w := n.writes[id]
		delete(n.writes, id)
		if w == nil || w.answered {
			continue
		}
		w.answered = true
		if w.origin.node == "" {
			resps = append(resps, Response{ID: w.origin.client, Err: fail})
		} else {
			msgs = append(msgs, wire.Message{Type: wire.MsgForwardReply, From: n.cfg.ID, To: w.origin.node, ID: w.origin.fwd, Code: code, Err: text})
		}
	}
	n.endRound()
	return Ready{Messages: msgs, Responses: resps}
}

func (n *Node) endRound() {
	clear(n.pending)
	clear(n.deltas)
	n.batch = wire.Batch{}
	// The Ready handed out holds these slices until the next call: see
	// Ready. Reusing them spares allocating large messages every round.
	n.msgs, n.resps = n.msgs[:0], n.resps[:0]
	n.fresh = nil
}

func (n *Node) advance(now int64) { n.now = max(n.now, now) }

func (n *Node) newID() uint64 {
	n.nextID++
	return n.nextID
}

// owners returns the replicas of key under the current view.
func (n *Node) owners(key []byte) []crdt.NodeID {
	if n.view.Placement == nil {
		return nil
	}
	return n.view.Placement.Owners(key, n.cfg.Replicas)
}

// nextOwners returns the replicas of key once membership changes complete.
func (n *Node) nextOwners(key []byte) []crdt.NodeID {
	if n.view.Next == nil {
		return n.owners(key)
	}
	return n.view.Next.Owners(key, n.cfg.Replicas)
}

// get returns the state of key as this replica holds it, uncommitted writes
// included. The state may be shared: do not change it (see own).
func (n *Node) get(key []byte) (crdt.State, error) {
	if s, ok := n.pending[string(key)]; ok {
		return s, nil
	}
	s, err := n.store.Get(key)
	if err != nil {
		return s, err
	}
	if d, ok := n.deltas[string(key)]; ok {
		s.Merge(d) // a state read from the store is the caller's
		n.pending[string(key)] = s
		delete(n.deltas, string(key))
	}
	return s, nil
}

// own returns the state of key like get, as a copy the caller may change:
// a state read from the store is already one.
func (n *Node) own(key []byte) (crdt.State, error) {
	_, pending := n.pending[string(key)]
	_, delta := n.deltas[string(key)]
	if pending || delta {
		s, err := n.get(key)
		return s.Clone(), err
	}
	return n.store.Get(key)
}

// merge merges s into this replica's state of key. Unless the key was read
// in this round, it does not read the key: the commit's read-merge-write
// does, once.
func (n *Node) merge(key []byte, s crdt.State) {
	if cur, ok := n.pending[string(key)]; ok {
		n.pending[string(key)] = crdt.Merge(cur, s)
	} else if d, ok := n.deltas[string(key)]; ok {
		n.deltas[string(key)] = crdt.Merge(d, s)
	} else {
		n.deltas[string(key)] = s
	}
	n.batch.Puts = append(n.batch.Puts, wire.Entry{Key: key, State: s})
}

func (n *Node) send(m wire.Message) {
	m.From = n.cfg.ID
	n.msgs = append(n.msgs, m)
}

// origin says whom to answer: a local client, or the node that forwarded
// the request.
type origin struct {
	client uint64
	node   crdt.NodeID
	fwd    uint64
}

func (n *Node) answer(o origin, r Response) {
	if o.node == "" {
		r.ID = o.client
		n.resps = append(n.resps, r)
		return
	}
	code, text := encodeErr(r.Err)
	n.send(wire.Message{Type: wire.MsgForwardReply, To: o.node, ID: o.fwd, State: r.State, Changed: r.Changed, Code: code, Err: text})
}

// sortedIDs returns the keys of m in order, so that expiry is deterministic.
func sortedIDs[V any](m map[uint64]V) []uint64 {
	ids := slices.Collect(maps.Keys(m))
	slices.SortFunc(ids, cmp.Compare)
	return ids
}
