package membership

import (
	"maps"
	"slices"

	"github.com/meridiankv/meridian/wire"
)

// MemNetwork is an in-memory twin of the region's gossip, for simulations
// and tests: endpoints (MemGossip) that hold a roster each, and rounds of
// gossip that the caller runs with Spread. The caller decides who reaches
// whom and what the failure detector reports, through the functions it
// installs. Nothing runs on its own: no goroutines, no clock, and the same
// calls give the same results.
type MemNetwork struct {
	eps    map[string]*MemGossip
	proto  map[string]int // protocols set by SetProtocol; wire.Protocol otherwise
	reach  func(from, to string) bool
	health func(observer, member string) Health
}

// NewMemNetwork returns a network without endpoints, in which every
// endpoint reaches every other.
func NewMemNetwork() *MemNetwork {
	return &MemNetwork{eps: map[string]*MemGossip{}}
}

// SetReach installs f to tell whether a message from one endpoint gets to
// another (both ids); nil means every endpoint reaches every other.
func (n *MemNetwork) SetReach(f func(from, to string) bool) { n.reach = f }

// SetHealth installs f to tell what the failure detector of observer says
// of member (whether or not member has an endpoint). Nil means the default:
// Alive when member has an endpoint and the two reach each other, Dead
// otherwise.
func (n *MemNetwork) SetHealth(f func(observer, member string) Health) { n.health = f }

// Add starts the endpoint of node self.ID, with the roster stored with its
// data (nil for none) and self's entry in it, as a node starting its gossip
// does. joined says whether it has reached its region already (true when
// it was not asked to join one); if not, it has once a Spread let it
// exchange rosters with another endpoint both ways. An endpoint of the same
// id is replaced: a restart, or with a new incarnation and no roster, a node
// restarted on a wiped disk.
func (n *MemNetwork) Add(self Member, stored Roster, joined bool) *MemGossip {
	g := &MemGossip{net: n, id: self.ID, roster: stored.Clone(), joined: joined}
	if g.roster == nil {
		g.roster = Roster{}
	}
	g.roster[self.ID] = self
	if old, ok := n.eps[self.ID]; ok {
		old.stopped = true
	}
	n.eps[self.ID] = g
	return g
}

// SetProtocol makes the endpoint of id announce message protocol p, as a
// node of an older build would (0: none at all).
func (n *MemNetwork) SetProtocol(id string, p int) {
	if n.proto == nil {
		n.proto = map[string]int{}
	}
	n.proto[id] = p
}

func (n *MemNetwork) protocolOf(id string) int {
	if p, ok := n.proto[id]; ok {
		return p
	}
	return wire.Protocol
}

// Stop takes the endpoint of id off the network, as a crash or a shutdown
// does: it gossips no more, and the default health holds it Dead. Its
// MemGossip keeps working on its own.
func (n *MemNetwork) Stop(id string) {
	if g, ok := n.eps[id]; ok {
		g.stopped = true
		delete(n.eps, id)
	}
}

// Endpoint returns the endpoint of id, or nil.
func (n *MemNetwork) Endpoint(id string) *MemGossip { return n.eps[id] }

// Spread runs one round of gossip: the roster every endpoint held at the
// start of the round is merged into every endpoint it reaches, in the order
// of their ids. An endpoint not joined yet joins when it and another reach
// each other.
func (n *MemNetwork) Spread() {
	ids := slices.Sorted(maps.Keys(n.eps))
	sent := make(map[string]Roster, len(ids))
	for _, id := range ids {
		sent[id] = n.eps[id].roster.Clone()
	}
	for _, from := range ids {
		for _, to := range ids {
			if from != to && n.reaches(from, to) {
				n.eps[to].roster.Merge(sent[from])
			}
		}
	}
	for _, id := range ids {
		g := n.eps[id]
		g.joined = g.joined || slices.ContainsFunc(ids, func(other string) bool {
			return other != id && n.reaches(id, other) && n.reaches(other, id)
		})
	}
}

func (n *MemNetwork) reaches(from, to string) bool {
	return n.reach == nil || n.reach(from, to)
}

func (n *MemNetwork) healthOf(observer, member string) Health {
	if n.health != nil {
		return n.health(observer, member)
	}
	if _, up := n.eps[member]; up && n.reaches(observer, member) && n.reaches(member, observer) {
		return Alive
	}
	return Dead
}

// MemGossip is one endpoint of a MemNetwork: a Gossip for one node.
type MemGossip struct {
	net     *MemNetwork
	id      string
	roster  Roster
	joined  bool
	stopped bool
}

var _ Gossip = (*MemGossip)(nil)

// Snapshot returns a copy of the endpoint's roster, and the health of each
// of its members as the network's health function tells it (the endpoint's
// own node is Alive; after Stop, every other is Dead).
func (g *MemGossip) Snapshot() (Roster, map[string]Health) {
	health := map[string]Health{}
	for id := range g.roster {
		switch {
		case id == g.id:
			health[id] = Alive
		case !g.stopped:
			health[id] = g.net.healthOf(g.id, id)
		}
	}
	return g.roster.Clone(), health
}

// Update records m with a version above the one held; the next Spread
// carries it.
func (g *MemGossip) Update(m Member) Member {
	m.Version = max(m.Version, g.roster[m.ID].Version) + 1
	g.roster[m.ID] = m
	return m
}

// Joined reports whether the endpoint has reached its region.
func (g *MemGossip) Joined() bool { return g.joined }

// Protocols returns the protocol of each member with an endpoint that this
// one sees alive or suspect, and its own.
func (g *MemGossip) Protocols() map[string]int {
	out := map[string]int{g.id: g.net.protocolOf(g.id)}
	if g.stopped {
		return out
	}
	for id := range g.roster {
		if _, up := g.net.eps[id]; up && id != g.id && g.net.healthOf(g.id, id) != Dead {
			out[id] = g.net.protocolOf(id)
		}
	}
	return out
}

// Roster returns a copy of the endpoint's roster.
func (g *MemGossip) Roster() Roster { return g.roster.Clone() }
