package membership

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// Status is where a member stands in the region's ring.
type Status uint8

// The member statuses, in the order they are reached. A member's status only
// moves forward, except that a node starting again under the same id, or
// finding itself removed while it is alive, becomes Joining with a higher
// version.
const (
	Joining Status = iota + 1 // receiving its ranges; does not serve reads yet
	Active                    // owns its ranges
	Leaving                   // handing its data off before it exits
	Left                      // gone after handing off its data
	Removed                   // removed for good by an operator or the dead timeout
	// Removing: being removed (by an operator or the dead timeout) in a
	// region that declares strong keys. It stays in the ring, out of the
	// next one, until a member settles the strong keys the removal moves
	// (the steward, View.Steward) and marks it Removed: a removal changes
	// a key's acceptors only through a round that a majority of the old
	// ones took part in. Its value comes after Removed's, so that rosters
	// written before it existed keep theirs.
	Removing
)

var statusNames = map[Status]string{Joining: "joining", Active: "active", Leaving: "leaving", Left: "left", Removed: "removed",
	Removing: "removing"}

// String returns the status in lower case.
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// InRegion reports whether a member of this status belongs to the region:
// joining, active, leaving or being removed. Left and removed members are
// gone.
func (s Status) InRegion() bool { return s >= Joining && s <= Leaving || s == Removing }

// valid reports whether s is a status this build knows.
func (s Status) valid() bool { return s >= Joining && s <= Removing }

// Member is one node of the region as the roster records it: who it is, how
// to reach it, and its status. The roster outlives the failure detector's
// view of who is alive: a node that is down stays a member, and keeps owning
// its ranges, until it leaves or is removed.
type Member struct {
	ID     string `json:"id"`
	Region string `json:"region"`
	Peer   string `json:"peer"`   // QUIC address for node-to-node messages
	Gossip string `json:"gossip"` // memberlist address
	RESP   string `json:"resp"`   // Redis-protocol address
	HTTP   string `json:"http"`   // HTTP address
	VNodes int    `json:"vnodes"`
	Status Status `json:"status"`
	// Incarnation names the node's data: a node whose data directory is
	// new gets a new one. Empty in entries written before it existed.
	Incarnation string `json:"incarnation,omitempty"`
	// Strong is the node's declaration of strong keys (its --strong,
	// canonical): every member must declare the same. Empty for none, and
	// in entries written before it existed.
	Strong  string `json:"strong,omitempty"`
	Version uint64 `json:"version"` // raised by every change; the higher wins
}

// newer reports whether m should replace o in a merge: the higher version
// wins, then the later status, then the greater encoding, so that every node
// settles on the same entry.
func (m Member) newer(o Member) bool {
	if m.Version != o.Version {
		return m.Version > o.Version
	}
	if m.Status != o.Status {
		return m.Status > o.Status
	}
	if m == o {
		return false // the common case of a merge: the same entry again
	}
	a, _ := json.Marshal(m)
	b, _ := json.Marshal(o)
	return string(a) > string(b)
}

// Roster is the region's membership: a state-based CRDT (a map of
// last-writer-wins entries ordered by version) that nodes gossip and merge.
type Roster map[string]Member

// Merge merges o into r and returns the entries that changed, sorted by id.
// It never fails, and merging in any order gives the same roster.
func (r Roster) Merge(o Roster) []Member {
	var changed []Member
	for _, id := range slices.Sorted(maps.Keys(o)) {
		m := o[id]
		if cur, ok := r[id]; !ok || m.newer(cur) {
			r[id] = m
			changed = append(changed, m)
		}
	}
	return changed
}

// Clone returns a copy of r.
func (r Roster) Clone() Roster { return maps.Clone(r) }

// Sorted returns the members sorted by id.
func (r Roster) Sorted() []Member {
	out := slices.Collect(maps.Values(r))
	slices.SortFunc(out, func(a, b Member) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// InRing returns the members that own ranges now, sorted by id: active,
// leaving (a leaving node serves until it has handed off) and removing ones
// (until the removal is settled).
func (r Roster) InRing() []Member {
	return r.filter(func(m Member) bool { return m.Status == Active || m.Status == Leaving || m.Status == Removing })
}

// InNextRing returns the members that will own ranges once joins and leaves
// complete, sorted by id: joining and active ones.
func (r Roster) InNextRing() []Member {
	return r.filter(func(m Member) bool { return m.Status == Joining || m.Status == Active })
}

func (r Roster) filter(keep func(Member) bool) []Member {
	var out []Member
	for _, m := range r.Sorted() {
		if keep(m) {
			out = append(out, m)
		}
	}
	return out
}

// MaxRosterBytes bounds an encoded roster: DecodeRoster refuses more.
const MaxRosterBytes = 1 << 20

// EncodeRoster returns the gossip and storage format of r: a JSON array of
// its members sorted by id, small and readable in a dump.
func EncodeRoster(r Roster) []byte {
	b, _ := json.Marshal(r.Sorted()) // members hold only strings and numbers
	return b
}

// DecodeRoster decodes what EncodeRoster returns, entries written before
// Member.Incarnation existed included. It refuses more than MaxRosterBytes,
// and entries without an id or with an unknown status.
func DecodeRoster(b []byte) (Roster, error) {
	if len(b) > MaxRosterBytes {
		return nil, fmt.Errorf("membership: roster of %d bytes exceeds %d", len(b), MaxRosterBytes)
	}
	var ms []Member
	if err := json.Unmarshal(b, &ms); err != nil {
		return nil, fmt.Errorf("membership: decoding roster: %w", err)
	}
	r := Roster{}
	for _, m := range ms {
		if m.ID == "" || !m.Status.valid() {
			return nil, fmt.Errorf("membership: roster entry %+v is invalid", m)
		}
		if cur, ok := r[m.ID]; !ok || m.newer(cur) {
			r[m.ID] = m // an id listed twice: the newer entry, as a merge keeps
		}
	}
	return r, nil
}
