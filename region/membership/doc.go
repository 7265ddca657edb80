// Package membership is the membership logic of a Meridian region: the
// roster of its members, the statuses they go through (joining, active,
// leaving, left, removing, removed), and the decisions a node takes from the roster
// and its failure detector: the rings and the view it installs in its
// replication state machine, when it becomes active or left, when a dead
// member is removed, and whether an operator's leave or remove goes ahead.
//
// The same code runs in meridiand (package region, over memberlist) and in
// the simulator (over MemNetwork). It does no I/O, reads no clock and starts
// no goroutines: time comes in as nanoseconds, the roster and the verdicts
// of the failure detector through the Gossip interface, and the view goes
// out through the Replica interface (*kvsync.Node). It does not detect
// failures (the Gossip's detector does), spread the roster (the Gossip
// does), store it (Refresh returns it to the caller), or move data (the
// Replica does, given the view).
//
// The main types: Roster, Member, Status and Health; Manager with its
// Config, Result and the errors of Leave and Remove; the Gossip and Replica
// interfaces; MemNetwork and MemGossip, the in-memory Gossip.
//
// # The roster
//
// Roster is a state-based CRDT: a map from member id to a last-writer-wins
// Member entry, ordered by version (then status, then encoding, so that
// every node settles on the same entry). A node changes only its own entry,
// except that any node may mark another Removed, or mark Joining a member
// back on other data that did not join (below); Gossip.Update gives each
// change a version above the one held. Entries carry the Incarnation of the
// node's data, so that a node whose disk was wiped tells its earlier life's
// entry from its own.
//
// # Usage
//
// A node starts its gossip with the entry Initial decides, then refreshes
// on every roster change and at a steady pace:
//
//	self := membership.Initial(cfg, stored, len(join) > 0)
//	g := startGossip(self, stored)             // or net.Add(self, stored, !join)
//	m, err := membership.New(cfg, self, g)
//	...
//	res := m.Refresh(now, replica)              // every 100ms and on changes
//	persist(res.Roster)
//	if res.Left { /* the leave is complete */ }
//
// Leave and Remove answer an operator; call them from the goroutine that
// calls Refresh.
//
// # Safety rules
//
//   - Dead timeout: a node removes a member dead for longer than
//     DeadTimeout only when more than half of the region's members
//     (joining, active or leaving, itself included) are alive in its view.
//     Otherwise each side of a long partition would remove the other, and
//     after the heal the removals would win the merge and empty the ring.
//     Remove applies the same rule unless forced.
//   - Removals settle strong keys: where strong keys are declared
//     (Config.Strong), a removed member is first Removing: still in the
//     ring, out of the next one (a joining one is Removed at once: it is
//     in no ring but the next). The steward (the active member of lowest
//     id alive) settles the strong keys the removal moves (Replica.Settled)
//     and marks it Removed. A removal by the majority side of a partition
//     therefore never hands a key to new acceptors while the old ones,
//     on the other side, still decide it. A node that finds itself
//     Removing while alive, or restarts so, cancels its removal (it is
//     still in the ring); a forced Remove skips the settling.
//   - Removed while alive: a node that finds its own entry Removed (by the
//     other side of a partition) logs an error and enters the region again
//     as Joining, with a version above the removal: it pulls its ranges
//     before it serves them.
//   - Another incarnation: a node that finds its own entry with another
//     incarnation than its own (its data was wiped and its earlier life's
//     entry won the merge), or a status it did not decide, announces itself
//     Joining with its own incarnation, rather than serving ranges it does
//     not hold. A node whose data is new starts at version 0, below any
//     entry of an earlier life. The one case it cannot see for itself, a
//     wiped first node restarted without --join whose new entry ties with
//     its earlier one and wins, the others see: a member back under
//     another incarnation, active at the version its earlier life held,
//     is marked Joining by them.
//
// Membership by gossip and failure detection follows SWIM (Das, Gupta,
// Motivala 2002) as hashicorp/memberlist implements it; the roster is a
// map of last-writer-wins registers (Shapiro et al., "Conflict-free
// Replicated Data Types", 2011).
package membership
