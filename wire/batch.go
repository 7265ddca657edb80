package wire

import "github.com/meridiankv/meridian/crdt"

// This file is the vocabulary of what a replica keeps, shared by the
// package that decides it (sync) and the one that keeps it on disk
// (storage): storage may not import sync, so the types live one rung down,
// here, once. Keys are ordered by KeyHash, then by their bytes.

// Batch is a set of changes committed together.
type Batch struct {
	Puts        []Entry   // states merged into the keys' stored states
	Deletes     [][]byte  // keys this replica no longer holds (handed off)
	Hints       []Hint    // states merged into the hints for (target, key)
	HintDeletes []HintKey // hints delivered to their target

	// The outbox: what this node owes the other regions.
	Outbox  []Shipment        // appended, each under its Seq
	Cursors map[string]uint64 // a region's cursor set: it took (or was given up on) every Seq up to it
	Trim    uint64            // shipments with Seq <= Trim are deleted: every region took them

	// Acceptors are the records of strong keys this node keeps as one of
	// their acceptors, each replacing the key's record. A batch that holds
	// any is synced before Commit returns, whatever the sync mode: an
	// acceptor answers only once its promise or acceptance is durable.
	Acceptors []AcceptorEntry
}

// AcceptorEntry is an acceptor's record of one strong key.
type AcceptorEntry struct {
	Key    []byte
	Record Acceptor
}

// IsEmpty reports whether b holds no change.
func (b *Batch) IsEmpty() bool {
	return len(b.Puts) == 0 && len(b.Deletes) == 0 && len(b.Hints) == 0 && len(b.HintDeletes) == 0 &&
		len(b.Outbox) == 0 && len(b.Cursors) == 0 && b.Trim == 0 && len(b.Acceptors) == 0
}

// Shipment is a write this node coordinated, kept in its outbox until every
// other region took it: the delta the write applied.
type Shipment struct {
	Seq   uint64 // the outbox's order: increasing, never reused
	Key   []byte
	State crdt.State
	At    int64 // when the write was applied, in nanoseconds: lag is measured from it
}

// OutboxState is what an outbox holds.
type OutboxState struct {
	Count int   // shipments held
	Bytes int64 // their keys plus encoded states, as the store counts them
	// First and Last are the Seq of the oldest and newest shipments held,
	// 0 when there are none.
	First, Last uint64
	// Cursors maps every region a cursor was stored for to it.
	Cursors map[string]uint64
}

// Entry is one key's state. A commit sets Before and After to the StateHash
// of the key's stored encoding before and after the put, 0 for none, so
// that a caller (anti-entropy's Merkle trees) can keep hashes of what is
// stored without encoding states again.
type Entry struct {
	Key           []byte
	State         crdt.State
	Before, After uint64
}

// Hint is a write kept for a replica that could not take it, to be replayed
// when it returns. Hints for the same target and key merge into one.
type Hint struct {
	Target crdt.NodeID
	Key    []byte
	State  crdt.State
}

// HintKey names one hint.
type HintKey struct {
	Target crdt.NodeID
	Key    []byte
}

// HintBacklog is the size of the hints held for one target: their number,
// and their bytes counted as each hint's key plus encoded state.
type HintBacklog struct {
	Target crdt.NodeID
	Count  int
	Bytes  int64
}
