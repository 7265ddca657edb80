package sync

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

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
	// Leaving says this node is in Placement but leaves: it hands its
	// ranges off, and its strong keys are settled (settle.go), before it
	// reports HandedOff.
	Leaving bool
	// Removing holds the members being removed (down for good, in
	// Placement, not in Next): a settling pass lists keys without them
	// while too few are missing to hide a decided value (settle.go).
	Removing map[crdt.NodeID]bool
	// Steward says this node settles the strong keys the removals under
	// way move, and reports Settled once it has.
	Steward bool
	// Members lists every member of Placement and Next, sorted.
	Members []crdt.NodeID
	// Down holds the members believed unreachable (suspect or dead): writes
	// for them go to fallbacks as hints, reads skip them.
	Down map[crdt.NodeID]bool
	// Current holds the nodes that announced message protocol
	// wire.Protocol. Every other node (an older build, or one not heard
	// from) is sent only the kinds of protocol 1 (wire.Legacy), so that a
	// rolling upgrade never sends a frame its receiver would refuse.
	Current map[crdt.NodeID]bool
	// Older holds the nodes of this region heard announcing a protocol
	// older than wire.ProtocolConsensus: they are sent no consensus
	// message, and a strong key one of them is an acceptor of is
	// unavailable.
	Older map[crdt.NodeID]bool
	// Remote describes every other region this node knows, sorted by
	// name: empty in a cluster of one region.
	Remote []RegionView
}

// RegionView is what a node knows of another region. Its node ids are
// qualified with the region's name (Qualify), so that they never clash
// with a local one.
type RegionView struct {
	// Name names the region.
	Name string
	// Replicas is the region's N, the copies of each key it keeps; zero
	// means the same as this node's.
	Replicas int
	// Placement places keys on the region's members, qualified, as the
	// region's own ring does; nil when its roster is not known. Epoch
	// names it as the region's nodes name it (View.Epoch): anti-entropy
	// between regions compares the trees of two nodes only when both see
	// both regions' rings alike.
	Placement Placement
	Epoch     uint64
	// Next places keys once the region's ring change under way completes,
	// qualified; nil when none is under way. The acceptors of a global
	// strong key follow it (joint groups, paxos.go).
	Next Placement
	// Members lists the region's nodes in its ring, qualified, sorted.
	Members []crdt.NodeID
	// Down holds the members the region itself reports unreachable, or
	// that stopped answering this node.
	Down map[crdt.NodeID]bool
	// Up says the link to the region works: this node heard from it
	// recently. A level that needs a region whose link is down fails at
	// once, naming it.
	Up bool
}

// Qualify names node id of region: region/id. Nodes of another region
// are known by such names, so that ids need only be unique in a region.
func Qualify(region string, id crdt.NodeID) crdt.NodeID { return crdt.NodeID(region) + "/" + id }

// SplitQualified returns the region and id of a qualified name, and false
// for a local id (one without a region).
func SplitQualified(q crdt.NodeID) (region string, id crdt.NodeID, ok bool) {
	r, i, ok := strings.Cut(string(q), "/")
	return r, crdt.NodeID(i), ok
}

// remote returns the view of the region named name, nil for none.
func (v *View) remote(name string) *RegionView {
	for i := range v.Remote {
		if v.Remote[i].Name == name {
			return &v.Remote[i]
		}
	}
	return nil
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
	// Diff is what a comparison with another region found (Node.Diff).
	Diff *DiffReport
	// Strong is a strong key's value right after the operation, as readers
	// see it (nil for an eventual key). With ErrConditionFailed it is the
	// value that failed the condition. It is nil for a write decided in an
	// earlier round whose answer was lost (a retry of a request id):
	// Changed and Err answer it as they did then.
	Strong *wire.Strong
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
//
// A Node is a facade over parts, each its own type with its own state,
// sharing the core (configuration, store, view, time, actor and the round):
// the coordinator (client reads and writes, forwards; coordinator.go,
// write.go, read.go), the hinter (hints.go), the handoff (handoff.go) and
// anti-entropy (antientropy.go). Step hands each message to its part; an
// acknowledgement goes to the part whose id it echoes (partOf).
type Node struct {
	*core
	coord   *coordinator
	hints   *hinter
	handoff *handoff
	ae      *antiEntropy
	ship    *shipper
	relay   *relay
	acc     *acceptor
	prop    *proposer
	settle  *settler
	later   []wire.Message // to this node itself, past maxSelfLoops: taken by the next Flush
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
	Settled       int64 // strong keys settled before a ring change this node completes (settle.go)
	Strong        StrongStats
	Taken         Taken // states taken from other nodes, by kind
	AE            AEStats
	// Regions describes the replication to each other region, by name.
	Regions map[string]RegionStats
	// Shipped counts the writes other regions shipped here that this node
	// took for its region's owners (MsgShip), and refused.
	ShipsTaken, ShipsRefused int64
	// OutboxErrors counts reads of the outbox that failed, and OutboxErr
	// is the last one: shipping to the regions stops where it failed.
	OutboxErrors int64
	OutboxErr    error
}

// StrongStats counts the consensus rounds on strong keys (proposer.go,
// paxos.go).
type StrongStats struct {
	Rounds   int64 // rounds decided here as proposer
	FastPath int64 // of them, decided with an accept alone (the piggybacked prepare)
	Ops      int64 // operations those rounds decided
	Lost     int64 // attempts given up on: a higher ballot, a refusal or a timeout
	Promised int64 // prepares this node promised as acceptor
	Accepted int64 // accepts this node took as acceptor
	Refusals int64 // prepares and accepts this node refused as acceptor
}

// Taken counts the states a node took from others, by the kind of message
// that carried them (a protocol-1 peer sends them all as writes).
type Taken struct {
	Writes   int64 // coordinators' copies (MsgWrite)
	Hints    int64 // hints kept as a fallback (MsgHint)
	Replays  int64 // hints delivered (MsgReplay)
	Handoffs int64 // keys handed off (MsgHandoff)
	Repairs  int64 // read and anti-entropy repairs (MsgRepair)
}

// NewNode returns a node with configuration cfg over store, at time now.
func NewNode(cfg Config, store Store, now int64) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &core{
		cfg:     cfg,
		store:   store,
		clock:   crdt.NewClock(cfg.MaxSkew),
		now:     now,
		pending: map[string]crdt.State{},
		deltas:  map[string]crdt.State{},
		// Ids start at the clock so that they do not repeat across restarts:
		// a node that deduplicates forwarded requests by (sender, id) must
		// not mistake a new request for an old one.
		nextID: uint64(max(now, 0)),
	}
	hints := newHinter(c)
	coord := newCoordinator(c, hints)
	n := &Node{core: c, coord: coord, hints: hints, handoff: newHandoff(c), ae: newAntiEntropy(c),
		relay: newRelay(c, hints, coord), prop: coord.prop, settle: newSettler(c, coord.prop)}
	n.acc = newAcceptor(c, n.settle)
	if err := n.startEpoch(); err != nil {
		return nil, err
	}
	var err error
	if n.ship, err = newShipper(c); err != nil {
		return nil, err
	}
	return n, nil
}

// ID returns the node's id.
func (n *Node) ID() crdt.NodeID { return n.cfg.ID }

// Stats returns the node's counters.
func (n *Node) Stats() Stats {
	s := n.stats
	s.AE = n.ae.stats
	s.Regions = n.ship.stats()
	return s
}

// SetView installs a new membership view.
func (n *Node) SetView(now int64, v View) {
	n.advance(now)
	old := n.view
	n.view = v
	n.ship.setRegions()
	n.settle.viewChanged(old)
}

// Submit takes a client request. Its Response comes out of a later Flush.
func (n *Node) Submit(now int64, r Request) {
	n.advance(now)
	n.coord.submit(r)
}

// Step takes a message from another node. Each kind goes to the part that
// handles it; an acknowledgement of a write goes to the part that sent the
// write, which the acknowledged id names (partOf).
func (n *Node) Step(now int64, m wire.Message) {
	n.advance(now)
	if m.Region != "" && m.Region != n.cfg.region() {
		m.From = Qualify(m.Region, m.From) // from another region
	}
	if wire.Carries(m.Type) {
		n.onWrite(m)
		return
	}
	switch m.Type {
	case wire.MsgWriteAck:
		switch partOf(m.ID) {
		case partHints:
			n.hints.acked(m)
		case partHandoff:
			n.handoff.acked(m)
		case partCoordinator:
			n.coord.acked(m)
		}
	case wire.MsgRead:
		n.coord.onRead(m)
	case wire.MsgReadReply:
		n.coord.onReadReply(m)
	case wire.MsgForward:
		n.coord.onForward(m)
	case wire.MsgForwardReply:
		n.coord.onForwardReply(m)
	case wire.MsgTreeRequest:
		n.ae.onTreeRequest(m)
	case wire.MsgTreeReply:
		n.ae.onTreeReply(m)
	case wire.MsgKeysRequest:
		n.ae.onKeysRequest(m)
	case wire.MsgKeysReply:
		n.ae.onKeysReply(m)
	case wire.MsgShip:
		n.relay.onShip(m)
	case wire.MsgShipAck:
		n.ship.acked(m)
	case wire.MsgRelay:
		n.coord.onRelay(m)
	case wire.MsgPrepare:
		n.acc.onPrepare(m)
	case wire.MsgAccept:
		n.acc.onAccept(m)
	case wire.MsgPromise, wire.MsgAccepted:
		n.prop.onReply(m)
	case wire.MsgSettle:
		n.settle.onSettle(m)
	case wire.MsgSettleReply:
		n.settle.onSettleReply(m)
	}
}

// onWrite merges a state another node sent, or keeps it as a hint for
// its target, and acknowledges it: a coordinator's copy (MsgWrite), a hint
// for an owner that is down (MsgHint, or a protocol-1 MsgWrite with a
// Target), a replayed hint, a handed-off key, a repair.
func (n *Node) onWrite(m wire.Message) {
	var err error
	_, _, remote := SplitQualified(m.From)
	switch {
	case remote && m.Type == wire.MsgRepair:
		// Another region's anti-entropy: for every owner of the key here.
		n.stats.Taken.Repairs++
		err = n.relay.take(m.Key, m.State)
	case m.Target != "" && m.Target != n.cfg.ID:
		n.stats.Taken.Hints++
		err = n.hints.take(m.Target, m.Key, m.State)
	default:
		n.stats.ReplicaWrites++
		switch m.Type {
		case wire.MsgReplay:
			n.stats.Taken.Replays++
		case wire.MsgHandoff:
			n.stats.Taken.Handoffs++
		case wire.MsgRepair:
			n.stats.Taken.Repairs++
		default:
			n.stats.Taken.Writes++
		}
		n.merge(m.Key, m.State)
	}
	if m.ID == 0 {
		return
	}
	ack := wire.Message{Type: wire.MsgWriteAck, To: m.From, ID: m.ID}
	ack.Code, ack.Err = encodeErr(err)
	n.send(ack)
}

// Tick lets time pass: requests past their deadline are answered, hints are
// replayed, handoff and anti-entropy move on.
func (n *Node) Tick(now int64) {
	n.advance(now)
	n.coord.tick()
	n.hints.tick()
	n.ae.tick()
	n.handoff.tick()
	n.ship.tick()
	n.relay.tick()
	n.prop.tick()
	n.settle.tick()
}

// Flush commits the writes made since the last Flush in one batch and
// releases the messages and responses that waited for them. If the commit
// fails, nothing is released but error responses, and the error is returned.
//
// A message this node sends itself (a proposer of a strong key is one of
// its acceptors) is taken once the round that sent it is committed, in
// another round of the same Flush.
func (n *Node) Flush() (Ready, error) {
	var out Ready
	if later := n.later; len(later) > 0 {
		n.later = nil
		for _, m := range later {
			n.Step(n.now, m)
		}
	}
	for loops := 0; ; loops++ {
		if !n.batch.IsEmpty() {
			if err := n.store.Commit(&n.batch); err != nil {
				fr := n.failRound(err)
				if loops == 0 {
					return fr, err
				}
				out.Messages = append(out.Messages, fr.Messages...)
				out.Responses = append(out.Responses, fr.Responses...)
				return out, err
			}
			n.ae.track(n.batch.Puts)
		}
		self := n.toSelf()
		if loops == 0 && len(self) == 0 {
			out = Ready{Messages: n.msgs, Responses: n.resps}
		} else {
			for _, m := range n.msgs {
				if m.To != n.cfg.ID {
					out.Messages = append(out.Messages, m)
				}
			}
			out.Responses = append(out.Responses, n.resps...)
		}
		n.endRound()
		n.coord.endRound()
		n.acc.endRound()
		if len(self) == 0 {
			return out, nil
		}
		if loops == maxSelfLoops {
			n.later = append(n.later, self...) // taken at the start of the next Flush
			return out, nil
		}
		for _, m := range self {
			n.Step(n.now, m)
		}
	}
}

// maxSelfLoops bounds the rounds one Flush runs for messages a node sends
// itself: a consensus round needs two (its prepare or accept, then the
// answer).
const maxSelfLoops = 4

// toSelf returns a copy of the round's messages to this node itself.
func (n *Node) toSelf() []wire.Message {
	var self []wire.Message
	for _, m := range n.msgs {
		if m.To == n.cfg.ID {
			self = append(self, m)
		}
	}
	return self
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
	for _, w := range n.coord.forgetFresh() {
		o := w.origin
		if o.ship != nil {
			continue // a shipped key: its batch is not acknowledged, and comes again
		}
		if s := o.span; s != nil { // the local part of an operation across regions
			o = s.origin
			s.answered = true
			delete(n.coord.spans, s.id)
		}
		if o.node == "" {
			resps = append(resps, Response{ID: o.client, Err: fail})
		} else {
			msgs = append(msgs, wire.Message{Type: wire.MsgForwardReply, From: n.cfg.ID, To: o.node, ID: o.fwd, Code: code, Err: text})
		}
	}
	n.endRound()
	n.acc.endRound()
	return Ready{Messages: msgs, Responses: resps}
}

// sortedIDs returns the keys of m in order, so that expiry is deterministic.
func sortedIDs[V any](m map[uint64]V) []uint64 {
	ids := slices.Collect(maps.Keys(m))
	slices.SortFunc(ids, cmp.Compare)
	return ids
}
