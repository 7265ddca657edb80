package region

import (
	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/ring"
	kvsync "github.com/meridiankv/meridian/sync"
)

// Placement adapts a ring to the placement the replication logic reads.
func Placement(r *ring.Ring) kvsync.Placement { return placement{r} }

type placement struct{ r *ring.Ring }

var _ kvsync.Placement = placement{}

func (p placement) Owners(key []byte, n int) []crdt.NodeID {
	var buf [8]ring.NodeID
	ids := p.r.AppendOwners(buf[:0], key, n)
	out := make([]crdt.NodeID, len(ids))
	for i, id := range ids {
		out[i] = crdt.NodeID(id)
	}
	return out
}
