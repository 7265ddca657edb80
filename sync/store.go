package sync

import (
	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// Store is the durable storage a Node reads and writes: the states of the keys
// this replica holds, and the hints it keeps for replicas that were
// unreachable. The storage package implements it on disk; simulations use an
// in-memory one.
//
// Keys are ordered by wire.KeyHash(key), then by the key bytes, so that a range
// of the hash space can be scanned; anti-entropy and handoff rely on it.
//
// A Node calls a Store from one goroutine at a time; implementations need not
// be safe for concurrent use by several Nodes. Errors are reported, never
// hidden: a Node that cannot commit does not acknowledge.
type Store interface {
	// Get returns the state of key, or the zero State when the replica holds
	// nothing for it.
	Get(key []byte) (crdt.State, error)

	// Commit applies b atomically and durably (as durable as the store's sync
	// setting promises): after it returns nil, a crash does not lose it.
	// Every put is merged into the stored state (read-merge-write in one
	// transaction), so committing a state twice, or an older one, is harmless.
	// It sets each put's Before and After.
	Commit(b *wire.Batch) error

	// Scan calls fn for each key whose hash h satisfies lo <= h <= hi, in
	// (hash, key) order, until fn returns false or an error occurs. hash is
	// the wire.StateHash of the key's stored encoding.
	Scan(lo, hi uint64, fn func(key []byte, s crdt.State, hash uint64) bool) error

	// ScanHints calls fn for each hint held for target, in (hash, key) order,
	// until fn returns false.
	ScanHints(target crdt.NodeID, fn func(key []byte, s crdt.State) bool) error

	// HintTargets returns the nodes this store holds hints for, sorted, with
	// the number of hints and their encoded bytes for each.
	HintTargets() ([]wire.HintBacklog, error)

	// ScanOutbox calls fn for each shipment of the outbox with a Seq above
	// after, in Seq order, until fn returns false.
	ScanOutbox(after uint64, fn func(wire.Shipment) bool) error

	// Outbox returns what the outbox holds and the regions' cursors.
	Outbox() (wire.OutboxState, error)

	// Epochs returns the record of the epochs this replica's actors are
	// numbered from: the zero Epochs for a store that never had one.
	Epochs() (Epochs, error)

	// GetAcceptor returns this replica's acceptor record of strong key
	// key (Batch.Acceptors), the zero record when it has none.
	GetAcceptor(key []byte) (wire.Acceptor, error)

	// ScanAcceptors calls fn for each acceptor record of a key whose hash
	// h satisfies lo <= h <= hi, in (hash, key) order, until fn returns
	// false.
	ScanAcceptors(lo, hi uint64, fn func(key []byte, a wire.Acceptor) bool) error

	// SaveEpochs records e durably, whatever the store's sync mode: once it
	// returns nil, e and every commit before it survive a power loss.
	SaveEpochs(e Epochs) error
}

// Epochs is the durable record behind a replica's actors. A Node mints
// every dot under its actor, Config.Actor plus an epoch, and takes a new
// epoch whenever it may have lost a dot it minted: after a start that did
// not follow a clean Close (a power loss under batched sync drops what was
// not synced), and when it drops keys it handed off (it may own them again
// later, holding nothing of what it wrote). A dot is never minted twice:
// an epoch is used only after it was reserved here, durably.
type Epochs struct {
	// Reserved is the first epoch never reserved: every epoch below it may
	// have been used. A node reserves epochs in blocks, so that taking a
	// new one seldom costs a sync.
	Reserved uint64
	// Clean is the epoch in use when the node last stopped cleanly (Close,
	// after which everything it committed was synced), 0 otherwise: a clean
	// restart carries on under it rather than adding an actor to every key
	// it writes.
	Clean uint64
}
