package membership

import (
	"strconv"
	"strings"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/ring"
	kvsync "github.com/meridiankv/meridian/sync"
)

// rings are the current and next rings built from a roster, named by an
// epoch that is the same on every node with the same ring members.
type rings struct {
	sig       string // the ring members they were built from
	epoch     uint64
	now, next *ring.Ring
	shares    map[string]float64 // of now, by member id; nil until asked for
}

// buildRings builds the rings of the members in the ring now and next;
// members without a weight weigh defVNodes.
func buildRings(inRing, inNext []Member, defVNodes int) rings {
	sig := ringSig(inRing) + "|" + ringSig(inNext)
	return rings{sig: sig, epoch: ring.KeyHash([]byte(sig)) | 1, // xxhash64, as ever
		now: buildRing(inRing, defVNodes), next: buildRing(inNext, defVNodes)}
}

// ownership returns the shares of the current ring, computed the first
// time they are asked for: ring.Shares walks the whole ring, some 25ms.
func (rs *rings) ownership() map[string]float64 {
	if rs.shares == nil {
		rs.shares = map[string]float64{}
		if rs.now != nil && rs.now.Len() > 0 {
			for id, s := range rs.now.Shares(1) {
				rs.shares[string(id)] = s
			}
		}
	}
	return rs.shares
}

func ringSig(ms []Member) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.ID + "/" + strconv.Itoa(m.VNodes)
	}
	return strings.Join(parts, ",")
}

func buildRing(ms []Member, defVNodes int) *ring.Ring {
	rm := make([]ring.Member, len(ms))
	for i, m := range ms {
		rm[i] = ring.Member{ID: ring.NodeID(m.ID), VNodes: cmpOr(m.VNodes, defVNodes)}
	}
	r, err := ring.New(rm...)
	if err != nil {
		// The roster holds only members that passed validation; an
		// invalid one came from a broken peer. Serve without it.
		r, _ = ring.New()
	}
	return r
}

func cmpOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

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

// PlacementOf returns the placement of a ring of members, weighed by their
// VNodes (defVNodes when they record none), as a node's view builds it: a
// simulator's checker uses it to find the owners of a key in the ring the
// region settled on.
func PlacementOf(members []Member, defVNodes int) kvsync.Placement {
	return Placement(buildRing(members, defVNodes))
}
