// Package simulations drives whole Meridian clusters inside one process,
// deterministically from a seed: the real replication logic of package sync
// (coordination, quorums, hints, read repair) on in-memory stores, over a
// simulated network that delays, reorders, drops and duplicates messages,
// with nodes that crash and restart and links that are cut and healed.
//
// A run has two phases. During the fault phase, clients submit random
// operations to random nodes while faults happen. Then the faults stop:
// every node is up, every link healed, no message is lost, and the cluster
// is left to go quiet. The checker then asserts that
//
//   - every replica of every key holds the same state;
//   - no acknowledged write is lost: the final state of its key has seen the
//     write (its dot is in the key's causal context), and the values agree
//     with the acknowledged history (counters hold at least the sum of the
//     acknowledged increments and at most that plus the unacknowledged ones;
//     acknowledged set additions that nothing removed are members).
//
// Everything a run does is folded into a trace hash, printed at the end: the
// same seed gives the same run and the same hash. A failing test prints its
// seed; `go test ./simulations -run TestSimulation -seed N -v` replays it.
// `make sim` runs thousands of seeds.
//
// Nothing here opens a socket or reads the clock: time is the scheduler's.
package simulations
