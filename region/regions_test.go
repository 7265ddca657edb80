package region

import (
	"fmt"
	"testing"
	"time"

	kvsync "github.com/meridiankv/meridian/sync"
)

// untilAll moves the shared clock of several regions on, 10ms and a round
// of every region's gossip per step, until cond holds; it fails the test
// after limit of the nodes' time.
func untilAll(t *testing.T, regions []*memRegion, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	for elapsed := time.Duration(0); !cond(); elapsed += 10 * time.Millisecond {
		if elapsed > limit {
			t.Fatalf("%s: not within %s of the nodes' time", what, limit)
		}
		regions[0].clock.Advance(10 * time.Millisecond)
		for _, r := range regions {
			r.gossip.spread()
		}
		time.Sleep(time.Millisecond)
	}
}

// knowsRegions: every node of every region lists every other region, up,
// with all its members.
func knowsRegions(regions []*memRegion) bool {
	for _, r := range regions {
		if !r.settled() {
			return false
		}
		for _, n := range r.nodes {
			c := n.Cluster()
			if len(c.Regions) != len(regions)-1 {
				return false
			}
			for _, ri := range c.Regions {
				if !ri.Up || len(ri.Members) != len(r.nodes) {
					return false
				}
			}
		}
	}
	return true
}

// TestRegionsFindEachOtherAndReplicate: three regions of three nodes, each
// region but the first joined to the first through one address
// (--wan-join), learn of each other (the third of the second through the
// first), and a write acknowledged at LOCAL_QUORUM in one region is read
// at LOCAL_ONE in every other, from every node (anti-entropy runs only
// inside a region: replication brings it).
func TestRegionsFindEachOtherAndReplicate(t *testing.T) {
	regions := newMemRegions(t, 3, 3, nil)
	untilAll(t, regions, "the regions know each other", time.Minute, func() bool { return knowsRegions(regions) })
	ctx := t.Context()
	for i, r := range regions {
		key := fmt.Sprintf("from-r%d", i+1)
		if resp := r.node(i).Do(ctx, put(key, "v", kvsync.LocalQuorum)); resp.Err != nil {
			t.Fatalf("put in r%d: %v", i+1, resp.Err)
		}
	}
	untilAll(t, regions, "every write is read in every region", 10*time.Second, func() bool {
		for _, r := range regions {
			for _, n := range r.nodes {
				for i := range regions {
					if resp := n.Do(ctx, get(fmt.Sprintf("from-r%d", i+1), kvsync.LocalOne)); valueOf(resp) != "v" {
						return false
					}
				}
			}
		}
		return true
	})
	for _, r := range regions {
		for _, n := range r.nodes {
			for name, st := range n.Stats().Regions {
				if !st.Up {
					t.Errorf("%s/%s: the link to %s is down", n.cfg.Region, n.cfg.ID, name)
				}
			}
		}
	}
}
