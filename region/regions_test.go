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

// cutRegions cuts (or heals) every link between the nodes of regions a
// and b on the shared in-memory transport.
func cutRegions(a, b *memRegion, cut bool) {
	for _, x := range a.cfgs {
		for _, y := range b.cfgs {
			if cut {
				a.tr.Cut(x.PeerAddr, y.PeerAddr)
			} else {
				a.tr.Heal(x.PeerAddr, y.PeerAddr)
			}
		}
	}
}

// diffAll runs Diff on every node of from against region to and returns
// the keys listed.
func diffAll(t *testing.T, from *memRegion, to string) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	for _, n := range from.nodes {
		rep, err := n.Diff(t.Context(), to)
		if err != nil {
			t.Fatalf("diff on %s: %v", n.cfg.ID, err)
		}
		if len(rep.Incomplete) > 0 {
			t.Fatalf("diff on %s incomplete: %v", n.cfg.ID, rep.Incomplete)
		}
		for _, ks := range [][][]byte{rep.OnlyHere, rep.OnlyThere, rep.Differ} {
			for _, k := range ks {
				keys[string(k)] = true
			}
		}
	}
	return keys
}

// TestRegionsRepairEachOtherAfterAPartition: writes made while a region
// was cut off, and given up on by the outbox (its bound is tiny here), are
// listed by Diff after the heal, repaired by anti-entropy between regions
// as soon as the link is back, and Diff then lists nothing.
func TestRegionsRepairEachOtherAfterAPartition(t *testing.T) {
	regions := newMemRegions(t, 2, 3, func(c *Config) { c.MaxOutboxBytes = 1 })
	untilAll(t, regions, "the regions know each other", time.Minute, func() bool { return knowsRegions(regions) })
	r1, r2 := regions[0], regions[1]
	cutRegions(r1, r2, true)
	untilAll(t, regions, "the link is seen down", time.Minute, func() bool {
		for _, n := range r1.nodes {
			for _, ri := range n.Cluster().Regions {
				if ri.Up {
					return false
				}
			}
		}
		return true
	})
	const keys = 50
	for i := range keys {
		if resp := r1.node(i%3).Do(t.Context(), put(fmt.Sprintf("cut-%d", i), "v", kvsync.LocalQuorum)); resp.Err != nil {
			t.Fatal(resp.Err)
		}
	}
	untilAll(t, regions, "the backlog is given up on", time.Minute, func() bool {
		var dropped int64
		for _, n := range r1.nodes {
			dropped += n.Stats().Regions["r2"].Dropped
		}
		return dropped == keys
	})
	cutRegions(r1, r2, false)
	untilAll(t, regions, "the link is back", time.Minute, func() bool { return knowsRegions(regions) })
	defer func() {
		if t.Failed() {
			for _, r := range regions {
				for _, n := range r.nodes {
					t.Logf("%s/%s: %+v %+v", n.cfg.Region, n.cfg.ID, n.Stats().AE, n.Stats().Regions)
				}
			}
			for i := range keys {
				for j, n := range r2.nodes {
					if v := valueOf(n.Do(t.Context(), get(fmt.Sprintf("cut-%d", i), kvsync.LocalOne))); v != "v" {
						r1v := valueOf(r1.nodes[j].Do(t.Context(), get(fmt.Sprintf("cut-%d", i), kvsync.LocalOne)))
						t.Logf("cut-%d on r2/%s: %q (r1/%s: %q)", i, n.cfg.ID, v, r1.nodes[j].cfg.ID, r1v)
					}
				}
			}
		}
	}()
	untilAll(t, regions, "anti-entropy repairs r2", time.Minute, func() bool {
		for i := range keys {
			for _, n := range r2.nodes {
				if valueOf(n.Do(t.Context(), get(fmt.Sprintf("cut-%d", i), kvsync.LocalOne))) != "v" {
					return false
				}
			}
		}
		return true
	})
	var repaired, dropped, shipped int64
	for _, n := range r1.nodes {
		st := n.Stats()
		repaired += st.AE.RegionKeysSent
		dropped += st.Regions["r2"].Dropped
		shipped += st.Regions["r2"].Shipped
	}
	if dropped != keys || shipped != 0 || repaired == 0 {
		t.Errorf("%d writes given up on, %d shipped, %d states repaired by anti-entropy: want %d, 0 and some: something else repaired r2",
			dropped, shipped, repaired, keys)
	}
	untilAll(t, regions, "diff lists nothing", time.Minute, func() bool { return len(diffAll(t, r1, "r2")) == 0 })
}
