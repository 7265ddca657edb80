// Package simulations drives whole Meridian regions inside one process,
// deterministically from a seed: the real replication logic of package sync
// (coordination, quorums, hints, read repair, anti-entropy, handoff) and
// the real membership logic of package region/membership (the roster,
// joins, leaves, removals, the dead timeout), on in-memory stores and an
// in-memory gossip, over a simulated network that delays, reorders, drops
// and duplicates messages.
//
// # A run
//
// During the fault phase, clients issue operations one at a time (a
// session), each to a node drawn at random, at ONE, QUORUM or ALL, while
// faults happen: crashes (kill -9: what was committed survives), power
// losses (the store drops what it had not synced, under batched sync),
// links cut and whole partitions, some longer than the dead timeout,
// commits and store reads that fail, disks wiped, nodes joining, leaving
// and removed by an operator, skewed clocks, and in a third of the runs a
// hint budget of a few hints. Then the faults stop, every node that is
// still a member runs, every link heals, and the region is left to go
// quiet.
//
// # The checker
//
// Writes are told apart by the unique values they write, never by their
// dots: the defect a checker must see is a dot minted twice. Once quiet,
// the checker asserts that
//
//   - every request got an answer (a result, a definite error, or an
//     unknown outcome), unless its node crashed under it;
//   - the running nodes agree on the ring, and every owner of every key
//     holds the same state;
//   - no dot names two different writes, in any answer or any store;
//   - every value held or returned was written by a write that may have
//     applied and had started;
//   - an acknowledged put or add is held, unless a write that could have
//     seen it ran (it started before that write's outcome was settled);
//   - every counter lies between the acknowledged increments no delete
//     could have reset and every increment that may have applied, less
//     those a delete is known to have reset;
//   - operations acknowledged at QUORUM or ALL by the key's owners (not by
//     fallbacks, not while the ring was changing) keep the session
//     guarantee: one acknowledged before another started is seen by it,
//     in the final state and in every QUORUM read (a put replaced, a
//     member removed, an increment reset) unless a replica lost data in
//     between; and a client's QUORUM reads of a key never go back in time.
//
// Everything a run does is folded into a trace hash: the same seed gives
// the same run. A failing test prints its seed, the faults of the run and
// the violations; `go test ./simulations -run TestSimulation -seed N -v`
// replays it. `make sim` runs thousands of seeds in parallel, and `make
// sim-survey` tabulates which kinds of violation which seeds find.
//
// Nothing here opens a socket or reads the clock: time is the scheduler's.
package simulations
