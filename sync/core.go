package sync

import (
	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// core is what every part of a Node shares: its configuration and store,
// the time, the view, the actor it mints under, its counters, and the round
// (what the parts wrote and produced since the last Flush, released
// together once the writes are durable). The parts (coordinator, hinter,
// handoff, antiEntropy) each embed it and keep their own state; none reads
// another's.
type core struct {
	cfg   Config
	store Store
	clock *crdt.Clock
	now   int64
	view  View
	stats Stats

	// The round.
	pending map[string]crdt.State // written since the last Flush
	deltas  map[string]crdt.State // merged since the last Flush into keys not read: the commit merges them
	batch   wire.Batch
	msgs    []wire.Message
	resps   []Response

	nextID uint64
	seq    uint64 // the outbox's last Seq handed out (owe)

	// The actor dots are minted under (see Epochs, epoch.go).
	actorEpoch uint64
	epochs     Epochs
	epochErr   error // the last reservation failed: mint nothing
	actor      crdt.NodeID

	spanDone   func(*spanOp, Response)     // takes the answer of a span's local part (the coordinator's)
	shipDone   func(*shipWait, Response)   // takes the answer of a shipped key's merge (the relay's)
	settleDone func(*settleWait, Response) // takes the answer of a settling round (the settler's)
}

// part names the part of a Node that sent a message and awaits its
// acknowledgement: the low bits of every id newID hands out, so that an
// acknowledgement goes to its part without a search.
type part uint64

const (
	partCoordinator part = iota // writes, reads and their repairs, forwards
	partHints                   // hint replays
	partHandoff                 // keys handed off
	partAntiEntropy             // exchanges
	partBits        = 2
)

// partOf returns the part that handed out id.
func partOf(id uint64) part { return part(id & (1<<partBits - 1)) }

func (n *core) newID(p part) uint64 {
	n.nextID++
	return n.nextID<<partBits | uint64(p)
}

func (n *core) endRound() {
	clear(n.pending)
	clear(n.deltas)
	n.batch = wire.Batch{}
	// The Ready handed out holds these slices until the next call: see
	// Ready. Reusing them spares allocating large messages every round.
	n.msgs, n.resps = n.msgs[:0], n.resps[:0]
}

func (n *core) advance(now int64) { n.now = max(n.now, now) }

// owners returns the replicas of key under the current view.
func (n *core) owners(key []byte) []crdt.NodeID {
	if n.view.Placement == nil {
		return nil
	}
	return n.view.Placement.Owners(key, n.cfg.Replicas)
}

// nextOwners returns the replicas of key once membership changes complete.
func (n *core) nextOwners(key []byte) []crdt.NodeID {
	if n.view.Next == nil {
		return n.owners(key)
	}
	return n.view.Next.Owners(key, n.cfg.Replicas)
}

// get returns the state of key as this replica holds it, uncommitted writes
// included. The state may be shared: do not change it (see own).
func (n *core) get(key []byte) (crdt.State, error) {
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
func (n *core) own(key []byte) (crdt.State, error) {
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
func (n *core) merge(key []byte, s crdt.State) {
	if cur, ok := n.pending[string(key)]; ok {
		n.pending[string(key)] = crdt.Merge(cur, s)
	} else if d, ok := n.deltas[string(key)]; ok {
		n.deltas[string(key)] = crdt.Merge(d, s)
	} else {
		n.deltas[string(key)] = s
	}
	n.batch.Puts = append(n.batch.Puts, wire.Entry{Key: key, State: s})
}

func (n *core) send(m wire.Message) {
	m.From = n.cfg.ID
	if _, _, remote := SplitQualified(m.To); remote {
		m.Region = n.cfg.region() // the receiver knows this node as Region/ID
	} else if !n.view.Current[m.To] {
		m.Type = wire.Legacy(m.Type)
	}
	n.msgs = append(n.msgs, m)
}

// origin says whom to answer: a local client, or the node that forwarded
// the request.
type origin struct {
	client uint64
	node   crdt.NodeID
	fwd    uint64
	span   *spanOp     // the local part of an operation across regions (span.go)
	ship   *shipWait   // a key of a batch another region shipped (ship.go)
	settle *settleWait // a round settling a strong key before a ring change completes (settle.go)
	local  bool        // another region's part of an operation across regions: this region only
}

func (n *core) answer(o origin, r Response) {
	if o.span != nil {
		n.spanDone(o.span, r)
		return
	}
	if o.ship != nil {
		n.shipDone(o.ship, r)
		return
	}
	if o.settle != nil {
		n.settleDone(o.settle, r)
		return
	}
	if o.node == "" {
		r.ID = o.client
		n.resps = append(n.resps, r)
		return
	}
	code, text := encodeErr(r.Err)
	m := wire.Message{Type: wire.MsgForwardReply, To: o.node, ID: o.fwd, State: r.State, Changed: r.Changed, Code: code, Err: text}
	if r.Strong != nil {
		m.Blob, _ = wire.EncodeStrong(*r.Strong) // a value consensus decided encodes
	}
	n.send(m)
}
