package region

import (
	"github.com/meridiankv/meridian/region/membership"
	"github.com/meridiankv/meridian/ring"
	kvsync "github.com/meridiankv/meridian/sync"
)

// Placement adapts a ring to the placement the replication logic reads. It
// is membership.Placement.
func Placement(r *ring.Ring) kvsync.Placement { return membership.Placement(r) }
