package region

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
// moves forward, except that a node starting again under the same id becomes
// Joining with a higher version.
const (
	Joining Status = iota + 1 // receiving its ranges; does not serve reads yet
	Active                    // owns its ranges
	Leaving                   // handing its data off before it exits
	Left                      // gone after handing off its data
	Removed                   // removed for good by an operator or the dead timeout
)

var statusNames = map[Status]string{Joining: "joining", Active: "active", Leaving: "leaving", Left: "left", Removed: "removed"}

// String returns the status in lower case.
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Member is one node of the region as the roster records it: who it is, how
// to reach it, and its status. The roster outlives memberlist's view of who
// is alive: a node that is down stays a member, and keeps owning its ranges,
// until it leaves or is removed.
type Member struct {
	ID      string `json:"id"`
	Region  string `json:"region"`
	Peer    string `json:"peer"`   // QUIC address for node-to-node messages
	Gossip  string `json:"gossip"` // memberlist address
	RESP    string `json:"resp"`   // Redis-protocol address
	HTTP    string `json:"http"`   // HTTP address
	VNodes  int    `json:"vnodes"`
	Status  Status `json:"status"`
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
	a, _ := json.Marshal(m)
	b, _ := json.Marshal(o)
	return string(a) > string(b)
}

// Roster is the region's membership: a state-based CRDT (a map of
// last-writer-wins entries ordered by version) that nodes gossip and merge.
type Roster map[string]Member

// Merge merges o into r and returns the entries that changed.
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

// InRing returns the members that own ranges now: active and leaving ones
// (a leaving node serves until it has handed off).
func (r Roster) InRing() []Member {
	return r.filter(func(m Member) bool { return m.Status == Active || m.Status == Leaving })
}

// InNextRing returns the members that will own ranges once joins and leaves
// complete: joining and active ones.
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

// encodeRoster and decodeRoster are the gossip and storage format: JSON,
// small and readable in a dump. Decoding refuses more than maxRosterBytes.
const maxRosterBytes = 1 << 20

func encodeRoster(r Roster) []byte {
	b, _ := json.Marshal(r.Sorted()) // members hold only strings and numbers
	return b
}

func decodeRoster(b []byte) (Roster, error) {
	if len(b) > maxRosterBytes {
		return nil, fmt.Errorf("region: roster of %d bytes exceeds %d", len(b), maxRosterBytes)
	}
	var ms []Member
	if err := json.Unmarshal(b, &ms); err != nil {
		return nil, fmt.Errorf("region: decoding roster: %w", err)
	}
	r := Roster{}
	for _, m := range ms {
		if m.ID == "" || m.Status < Joining || m.Status > Removed {
			return nil, fmt.Errorf("region: roster entry %+v is invalid", m)
		}
		r[m.ID] = m
	}
	return r, nil
}
