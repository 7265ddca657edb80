package crdt

import (
	"cmp"
	"fmt"
)

// NodeID names the replica that minted a dot: the actor of every write it
// coordinates. Two replicas must never share a NodeID, and a replica that lost
// its data must come back under a new one (see the region package), or it
// would mint dots that others have already seen.
type NodeID string

// Dot identifies one write: the Counter-th event minted by Node for a key.
// Counters start at 1; the zero Dot names no event.
type Dot struct {
	Node    NodeID
	Counter uint64
}

// IsZero reports whether d is the zero Dot, which names no event.
func (d Dot) IsZero() bool { return d.Node == "" && d.Counter == 0 }

// Valid reports whether d can name an event: a non-empty node and a counter of
// at least 1.
func (d Dot) Valid() bool { return d.Node != "" && d.Counter > 0 }

// String returns "node:counter".
func (d Dot) String() string { return fmt.Sprintf("%s:%d", d.Node, d.Counter) }

// CompareDots orders dots by node, then counter. It is the total order used
// wherever dots must be listed deterministically.
func CompareDots(a, b Dot) int {
	if c := cmp.Compare(a.Node, b.Node); c != 0 {
		return c
	}
	return cmp.Compare(a.Counter, b.Counter)
}
