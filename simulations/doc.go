// Package simulations drives whole Meridian clusters inside one process,
// deterministically from a seed: one region, or two or three, with the
// real replication logic of package sync (coordination, quorums, hints,
// read repair, anti-entropy, handoff; between regions, the outbox shipped
// in batches, the levels that span regions and anti-entropy between
// regions) and the real membership
// logic of package region/membership (the roster, joins, leaves, removals,
// the dead timeout; between regions, the Directory that finds the other
// regions and tells whether their links work), on in-memory stores and an
// in-memory gossip, over a simulated network that delays, reorders, drops
// and duplicates messages.
//
// # A run
//
// During the fault phase, clients issue operations one at a time (a
// session), each to a node drawn at random, at ONE, QUORUM or ALL (in a
// run of one region; see below for several), while faults happen:
// crashes (kill -9: what was committed survives), power losses (the store
// drops what it had not synced, under batched sync), links cut and whole
// partitions, some longer than the dead timeout, commits and store reads
// that fail, disks wiped, nodes joining, leaving and removed by an
// operator (who forces a removal refused, or left removing, for 5 s, as
// one who knows the disk is gone would), skewed clocks, and in a third of
// the runs a hint budget of a few hints. Then the faults stop, every node that is still a member
// runs, every link heals (between regions too), and the cluster is left
// to go quiet.
//
// # Several regions
//
// An even seed simulates two or three regions (DefaultConfig), each with
// its own nodes, gossip (a membership.MemNetwork of its own), ring and N
// (the first of 4 nodes and N=3, the others of 3 or 4 nodes and N=2 or 3,
// drawn). Each node is a sync.Node with its region in its Config and an
// actor unique in the cluster (region/id.incarnation, as meridiand's);
// it keeps a membership.Directory of the other regions, stored with its
// data, and feeds the Directory's view to its Manager before every
// refresh, as meridiand does; its WAN seeds are the founding nodes of the
// other regions. A node of another region is addressed region/id, as sync
// and the Directory address it. Messages between regions travel as
// meridiand sends them, the messages of one flush to one node in one
// frame, with the run's delay between regions (20ms to 80ms, drawn) and
// its own loss (1% to 10%, drawn). The regions first find each other for
// a second; then clients and faults start. Besides the faults inside each
// region, a region is cut off from all the others for a while, once at
// least and half the time longer than the link timeout. Each client
// belongs to a region, and sends one operation in eight to a node of a
// region drawn at random; half of the operations are at LOCAL_QUORUM, the
// others at LOCAL_ONE, EACH_QUORUM, QUORUM, ALL and ONE. The outbox bound
// is the default (1 GiB) but in an eighth of the runs (512 bytes: the
// backlog of a region cut off is dropped); disks are lost (power loss,
// wipe, removal) in a third of the runs only, since the writes a lost
// outbox owed another region come back only through anti-entropy between
// regions, which runs every 5s in a third of the runs (it is off in the
// others, so that the regions converge through shipping alone). These
// runs last 12s of faults and 25s of quiet, against 20s and 40s for one
// region: the quiet phase leaves the outboxes seconds to drain (shipping
// to a healed region resumes within a second, 512 keys a batch), and the
// runs that pass converge within 18s of it.
//
// # Strong keys
//
// Every run declares the prefix "s:" strong (consensus: package sync's
// CASPaxos), local to its first region: the sync.Declaration is in every
// node's sync.Config and, as its String, in its membership.Config and the
// founding roster, so that every roster entry records it (the node of
// protocol 1, a build before consensus, knows no strong keys: its
// sync.Config declares none). Two or three strong keys (among those whose
// first owners leave out that node, which makes a key unavailable) each
// have five clients of their own beside the clients of eventual keys, each
// one operation at a time, to a node of its home region drawn at random
// or, one time in four, of any region, which forwards it to the key's
// home: GET, SET, SET NX, XX, IFEQ and IFNE, DEL, DEL IFEQ and INCR, on
// the values 1 to 4, so that conditions hold and fail often and INCR
// counts on what SET wrote (no PX: expiry depends on the clocks). A key
// takes at most 150 operations a run, spread over the fault phase
// (strong.go).
//
// Besides the faults above, a run arms one or two crashes at a point of a
// consensus round (three to five with more Events than the default,
// roundcrash.go): a proposer that gets only some of its prepares or
// accepts out; an acceptor right after its answer got out; or a rack: an
// acceptor right after its acceptance got out, and its proposer once it
// took it (it decides, answers, then crashes). Under batched sync half of
// them lose power.
//
// With Config.GlobalKeys (-global), a run of three regions also declares
// "g:" global. It is off by default: there a global key is seldom decided
// (a round that starts cold needs two round trips between regions, which
// outlast the proposer's round deadline, a quarter of the 500ms request
// timeout, so every retry starts cold again), and a ring change anywhere,
// which must settle it first, then never completes.
//
// The checker hands each strong key's history to package linear, which
// decides with porcupine whether it is linearizable (strongcheck.go): an
// operation whose outcome is unknown (sync.ErrUnknownOutcome, its node
// crashed under it, or never answered) may have taken effect at any time
// after it was submitted, or never; a failed condition is an answer it
// checks; an operation refused with nothing applied is left out. A
// history that is not linearizable, or that it cannot decide within 10s,
// fails the run: the failure lists it in the order it was submitted and
// marks the first operation, by the time it was answered, that no order
// of the others explains. Consensus cannot survive the loss of an
// acceptor's disk (a wipe, a removal by an operator): a key's history is
// checked up to the first such loss among its acceptors. Once quiet,
// every strong key must be decided (a read of each, tried up to four
// times, must succeed), no node may hold eventual state of a strong key
// nor an acceptor record of an eventual one, and no consensus message
// may reach the node of protocol 1. Strong keys have no CRDT state: the
// checks of eventual keys below leave them out.
// TestSimulationCatchesUnsyncedAcceptors shows the checker catch a
// planted bug (acceptors that answer before they sync).
//
// # The checker
//
// Writes are told apart by the unique values they write, never by their
// dots: the defect a checker must see is a dot minted twice. Once quiet,
// the checker asserts that
//
//   - every request got an answer (a result, a definite error, or an
//     unknown outcome), unless its node crashed under it; with several
//     regions, a level that spans them failing with sync.ErrUnavailable
//     (a region cut off) is a definite "not applied", a *sync.RegionError
//     on a write an unknown outcome;
//   - the running nodes of each region agree on its ring, and every owner
//     of every key in a region holds the same state;
//   - with several regions: every running node knows every other region
//     and holds its link up, and owes it nothing (its outbox drained); no
//     read at a level that spans regions was answered by a node whose view
//     lacked a region; a run with the small outbox bound dropped a
//     backlog; without anti-entropy between regions, no node left its
//     region owing another region writes and every write was owed to every
//     region; and every region holds the same state of every key, unless
//     a disk was lost or a backlog dropped with no anti-entropy between
//     regions to repair it;
//   - no dot names two different writes, in any answer or any store;
//   - every value held or returned was written by a write that may have
//     applied and had started;
//   - an acknowledged put or add is held, in the final state of every
//     region, unless a write that could have seen it ran (it started
//     before that write's outcome was settled); in another region than
//     its own only if it was acknowledged at EACH_QUORUM or ALL, or
//     anti-entropy between regions runs, or it was shipped there (no disk
//     of either region lost since, no backlog dropped);
//   - every counter lies between the acknowledged increments no delete
//     could have reset and every increment that may have applied, less
//     those a delete is known to have reset;
//   - operations acknowledged at a level of a quorum or more by the key's
//     owners (not by fallbacks, not while a ring they needed was
//     changing) keep the session guarantee: one acknowledged before
//     another started is seen by it, in the final state and in every such
//     read (a put replaced, a member removed, an increment reset: nothing
//     deleted comes back) unless a replica lost data in between, when
//     their levels reach a common quorum (scope.go): inside a region, at
//     LOCAL_QUORUM (QUORUM and ALL in a run of one region); from a write
//     at EACH_QUORUM or ALL, in every region; between QUORUM and QUORUM,
//     EACH_QUORUM or ALL across regions. A write's prepare phase reads its
//     own region only, and a LOCAL_QUORUM read of another region may lag;
//   - a client's reads of a key at such levels never go back in time, each
//     held to its last earlier read whose regions it reads a quorum of.
//
// A failure names what it can of the cause: the shipping between each pair
// of regions, the batches the relays refused and why, the writes a node
// coordinated while its view lacked a region (owed to none), and the
// operations served by a node whose view lacked a region.
//
// Everything a run does is folded into a trace hash: the same seed gives
// the same run, of one region or several. A failing test prints its seed,
// the faults of the run and the violations;
// `go test ./simulations -run TestSimulation -seed N -v` replays it.
// `make sim` runs thousands of seeds in parallel, and `make sim-survey`
// tabulates which kinds of violation which seeds find.
//
// Nothing here opens a socket or reads the clock: time is the scheduler's
// (the checker of strong keys bounds its search by the wall clock, which
// decides nothing about a run that passes).
package simulations
