// Package sync is Meridian's replication logic inside a region: request
// coordination with per-operation consistency, read repair, hinted handoff
// and Merkle-tree anti-entropy. The folder shadows the standard library's
// name; import it as kvsync.
//
// # A state machine with no I/O
//
// Node follows etcd-raft's design: it never touches a socket, a clock or a
// goroutine. The caller feeds it events and drains what it produced:
//
//	node, _ := kvsync.NewNode(cfg, store, now)
//	node.SetView(now, view)            // membership: placement, who is down
//	for {
//		select {
//		case r := <-requests:
//			node.Submit(now, r)         // a client operation
//		case m := <-inbound:
//			node.Step(now, m)           // a message from another node
//		case <-ticker:
//			node.Tick(now)              // time passes: timeouts, hints, anti-entropy
//		}
//		rd, err := node.Flush()        // commit the writes, in one batch
//		send(rd.Messages)               // only now: they may acknowledge writes
//		answer(rd.Responses)
//	}
//
// Storage is the only dependency with side effects, behind the Store
// interface this package defines (package storage implements it on disk,
// MemStore in memory). Writes made while handling events are held in memory
// and committed by Flush in one batch: group commit. Nothing that depends on
// them (an acknowledgement, a replica write, a client answer) leaves the
// node before that commit, so a crash never loses an acknowledged write and
// a node never sends a dot it could mint again after a restart. The
// simulations package drives many Nodes this way in one process,
// deterministically from a seed.
//
// # Parts
//
// Node is a facade (Submit, Step, Tick, Flush) over parts that each keep
// their own state and share a core: the coordinator (clients' writes and
// reads, forwards), the hinter (hints and their replay), the handoff (keys
// that move when the ring changes) and anti-entropy (Merkle exchanges).
// Every id a part hands out carries the part in its low bits, so an
// acknowledgement finds its part without a search.
//
// # Writes
//
// Any node takes any request. A write is coordinated by the node that took
// it when that node owns the key, else by the key's first reachable owner.
// At QUORUM and ALL the coordinator first reads a quorum of owners (the
// prepare phase) and merges their states into its own, so that the write
// follows every write a quorum of owners acknowledged before it: a client's
// sequential operations then take effect in order on every replica,
// whichever node coordinates them and whatever the clocks say. It then
// applies the operation to its state, minting the write's dot (crdt), and
// sends the resulting delta to the other owners (the whole state to an
// owner whose prepare reply lacked something). Owners that membership says are down are replaced by the next
// nodes on the preference list, which keep the delta as a hint for them
// (a sloppy quorum). The coordinator answers when the consistency level is
// reached (ONE, QUORUM, ALL; the LOCAL_ and EACH_ forms equal their plain
// form inside one region). Replicas that stay silent until the deadline get
// a hint kept by the coordinator. Hints for one key merge into one, are
// bounded by a disk budget and are replayed at a bounded rate when their
// target returns (ANCHORS.md 5: no hint storms).
//
// Errors say what happened to the write: *RejectedError (ErrRejected) and
// *UnavailableError (ErrUnavailable) mean nothing was applied; a
// *TimeoutError for a write (ErrUnknownOutcome) means it may have been.
// Every request is answered within its timeout, whatever fails: replicas
// that refuse or fail to read, or a commit of this node's own.
//
// # Dots
//
// A Node mints every dot under its actor, Config.Actor plus an epoch, and
// a key's next dot is the actor's highest in the key's context plus one, so
// that a key's dots stay dense (a gap is a write not yet received). A node
// that may have lost a dot it minted takes a new epoch before it mints
// again: when it starts after anything but a clean Close (a power loss
// drops what was not synced), and when it drops keys it handed off, once
// per ring. Epochs are reserved durably through the Store (Epochs) in
// blocks, so no dot is ever minted twice.
//
// # Reads
//
// The coordinator of a read is the node that took it. It reads its own copy
// when it is an owner and asks only as many other owners as the level
// needs (one for QUORUM of 3 at an owner), so that a read costs the cluster
// as few replica reads as its level allows. When one of them fails, or the
// level is not reached within ReadRetryAfter, it asks the remaining
// reachable owners too (a speculative retry, as Cassandra's). It answers
// with the merge of the replies that make the level, and when all it asked
// have answered (or time is up) sends the merged state to each replica that
// had less: read repair. Owners a read did not ask are kept in step by
// hints and anti-entropy. At QUORUM and ALL the read answers only once the
// state it returns is held by as many owners as its level needs (a blocking
// read repair), so that a later read cannot return less. An inspection asks
// every owner.
//
// # Anti-entropy
//
// Each node keeps, for each peer, a Merkle tree over the keys they both own,
// on a fixed segmentation of the key-hash space (Tree, 65,536 segments),
// updated incrementally on every write. Nodes compare trees with one peer at
// a time, descend only into differing subtrees, and ship only the states
// that differ: the cost follows the divergence, within a per-exchange
// budget. The segmentation does not depend on the ring, so trees of regions
// with different node counts compare directly. (Merkle, 1987; the exchange
// follows Dynamo, DeCandia et al., SOSP 2007, with fixed segments as in
// Riak's active anti-entropy.)
package sync
