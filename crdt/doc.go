// Package crdt holds Meridian's value model: the conflict-free replicated
// data types every key holds, and the causality that lets replicas merge them
// without coordination.
//
// Everything here is pure. Nothing reads a clock, does I/O, draws unseeded
// randomness or starts a goroutine: time is passed in, and merging is a
// function of its arguments. The replication machinery lives in the sync and
// region packages; the byte format in wire.
//
// # Causality
//
// Every write is named by a Dot, (node, counter), minted by the replica that
// coordinates it. A Context is the set of dots a replica has seen for a key,
// kept as a version vector plus a dot cloud and compacted as gaps close, so a
// key written and deleted a million times by three nodes still carries three
// numbers of causal metadata. A write carries the context its writer read
// and supersedes exactly the entries in it: a write that has seen another
// always replaces it, whatever the wall clocks say, and writes that had not
// seen each other are kept side by side. This is a dotted version vector per
// key (Preguiça, Baquero, Almeida et al., "Dotted Version Vectors: Logical
// Clocks for Optimistic Replication", 2010/2012; Almeida et al., "Scalable
// and Accurate Causality Tracking for Eventually Consistent Stores", 2014).
//
// # Values
//
// A State is one key. It holds a causal context and the live entries of
// three kinds of value, which all follow the delta-state design of Almeida,
// Shoker and Baquero ("Delta State Replicated Data Types", JPDC 2018): each
// mutator changes the state and returns a delta, a small State that, merged
// into any replica, has the effect of the operation there. Merge is the join
// of a semilattice: commutative, associative, idempotent, and it never fails.
//
//   - Register (Put, Siblings, Get): a multi-value register. Concurrent writes
//     are all kept as siblings, at most one per concurrent writer. A read
//     resolves them to one winner: the highest hybrid logical clock
//     timestamp, then the highest node id, then the highest counter. Losers
//     stay inspectable until a write that has seen them supersedes them.
//   - Set (Add, Remove, Members): an add-wins observed-remove set without
//     tombstones (ORSWOT; Bieniusa et al., "An Optimized Conflict-free
//     Replicated Set", 2012). A remove removes the adds it saw; an add it did
//     not see survives.
//   - Counter (Incr, Value, Resets): a PN-counter kept as one share per
//     replica, the replica's running increment and decrement totals under
//     the dot of its latest change (a causal counter), so that a delete can
//     remove it, plus a reset baseline per replica: the totals of its share
//     as the latest write that removed it observed them. A share counts
//     only above its replica's baseline. The value is exact under any order
//     and repetition of merges, and an increment that would leave the int64
//     range fails with ErrOverflow.
//
// Delete is an observed remove for every kind: it removes what its context
// has seen and leaves a tombstone made of the context and the counter's reset
// baselines, which a stale replay of an old write cannot get past. A write
// concurrent with a delete survives it. For a counter, what survives is the
// concurrent increment alone, not its replica's history: a causal counter's
// share carries its replica's whole running total, so a delete that only
// removed dots would see a concurrent increment bring back every earlier one.
// This is the problem of counters embedded in maps, such as Riak's
// riak_dt_emcntr, that Baquero, Almeida, Cunha and Ferreira describe in "The
// problem with embedded CRDT counters and a solution" (PaPoC 2016). Their
// solution has a replica move its increments to a fresh dot, so that a reset
// removes only the dots it saw; Meridian keeps one share per replica and
// records instead what each removal saw of it: every write that removes
// counter shares (Delete, Put, and Add or Remove superseding a counter)
// records the totals of each share it removes as that replica's reset
// baseline, and carries the baselines its replica knows, so that its delta is
// a complete tombstone. Baselines join by componentwise maximum (a replica's
// totals only grow along its dots), an increment counts from the later of its
// replica's share and baseline, and its delta carries the baseline and
// supersedes every earlier share of its replica, so that a replica the delete
// has not reached yet counts only the new increments at once. The metadata
// stays bounded by the number of writers.
//
// A removal learns a share's totals from the replica that coordinates it,
// and a client's context names dots, not totals. A delete sent with a
// client context that names an increment its coordinator has not received
// removes that share wherever it arrives but cannot record what it held;
// one whose context names an older share of a replica than the coordinator
// holds leaves that replica's newer share whole. A blind delete, and one
// whose context holds the same increments as its coordinator's, reset
// exactly what they observed.
//
// Nothing here depends on wall-clock time to decide when a tombstone may go:
// a tombstone is a context and at most one baseline per writer.
//
// The kinds share the key's context so that a Put replaces a set or counter
// (as a Redis SET does) and so that a set created in one region while another
// wrote a string still merges: Kind reports the kind of the most recent live
// entry, and the next typed write supersedes the other kind's entries it saw.
// Add, Remove and Incr on a key of another kind return ErrWrongType.
//
// # Time
//
// Clock is a hybrid logical clock (Kulkarni, Demirbas et al., "Logical
// Physical Clocks and Consistent Snapshots in Globally Distributed
// Databases", 2014). It never goes backwards, absorbs remote timestamps, and
// refuses with a *SkewError (ErrClockSkew) a remote timestamp more than
// MaxSkew ahead of local physical time. Timestamps only order concurrent
// siblings; causality, not time, decides which write supersedes which.
package crdt
