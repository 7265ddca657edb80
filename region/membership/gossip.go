package membership

import kvsync "github.com/meridiankv/meridian/sync"

// Gossip spreads the roster among the region's nodes and tells who is
// alive. Region implements it over memberlist; MemGossip is its in-memory
// twin. The Manager calls it from one goroutine; an implementation that
// also merges what peers send must guard its roster itself.
type Gossip interface {
	// Snapshot returns a copy of the roster as merged here, and the health
	// the failure detector reports for each member it knows (a member
	// absent from the map is Dead). The caller may modify both.
	Snapshot() (Roster, map[string]Health)
	// Update records a change of member m's entry with a version above the
	// one held, merges it into the local roster, spreads it, and returns
	// the entry recorded.
	Update(m Member) Member
	// Joined reports whether this node has reached its region (true when
	// no join was asked for).
	Joined() bool
	// Protocols returns the message protocol (wire.Protocol) each node it
	// hears announced, by id, itself included. A node absent from the map,
	// or announcing less than wire.Protocol, is sent the kinds of protocol
	// 1 (kvsync.View.Current). The caller may modify the map.
	Protocols() map[string]int
}

// Replica is the replication state machine the Manager installs views in
// and asks whether this node's joins and leaves are done. *kvsync.Node
// satisfies it.
type Replica interface {
	// SetView installs the view of the region's ring at time now
	// (nanoseconds).
	SetView(now int64, v kvsync.View)
	// Bootstrapped reports whether this node, joining, holds its ranges
	// under the view installed last.
	Bootstrapped() bool
	// HandedOff reports whether this node, leaving, has handed every key
	// off under the view installed last.
	HandedOff() bool
	// Settled reports whether the strong keys the ring change of the view
	// installed last moves are settled, where this node is the steward of
	// the removals under way (View.Steward).
	Settled() bool
}

var _ Replica = (*kvsync.Node)(nil)
