package sync_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	kvsync "github.com/meridiankv/meridian/sync"
)

func TestJoinPullsRangesThenOldOwnersHandOff(t *testing.T) {
	c := newCluster(t, 4, func(cfg *kvsync.Config) { cfg.AntiEntropyInterval = time.Second })
	three, four := rendezvous(c.ids[:3]), rendezvous(c.ids)
	c.setRing(1, three, nil)
	for i := range 300 {
		if r := c.do(c.ids[i%3], put(fmt.Sprintf("k%d", i), "v", kvsync.Quorum)); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	joiner := c.ids[3]
	c.setRing(2, three, four)
	for i := 0; !c.nodes[joiner].Bootstrapped(); i++ {
		if i > 600 {
			t.Fatalf("the joiner never caught up: %+v", c.nodes[joiner].Stats().AE)
		}
		c.advance(100 * time.Millisecond)
	}
	// Writes during the join reach the joiner too.
	if r := c.do(c.ids[0], put("during", "v", kvsync.Quorum)); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.setRing(3, four, nil)
	for i := 0; ; i++ {
		done := true
		for _, id := range c.ids {
			done = done && c.nodes[id].HandedOff()
		}
		if done {
			break
		}
		if i > 600 {
			t.Fatal("handoff never completed")
		}
		c.advance(100 * time.Millisecond)
	}
	c.run()
	for i := range 301 {
		key := fmt.Sprintf("k%d", i)
		if i == 300 {
			key = "during"
		}
		owners := four.Owners([]byte(key), 3)
		for _, id := range c.ids {
			got := value(t, c.stored(id, key))
			if slices.Contains(owners, id) != (got == "v") {
				t.Fatalf("key %s on %s = %q; owners %v", key, id, got, owners)
			}
		}
	}
}

func TestLeavingNodeHandsEverythingOff(t *testing.T) {
	c := newCluster(t, 4, nil)
	four, three := rendezvous(c.ids), rendezvous(c.ids[:3])
	c.setRing(1, four, nil)
	for i := range 200 {
		if r := c.do(c.ids[i%4], put(fmt.Sprintf("k%d", i), "v", kvsync.One)); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	leaving := c.ids[3]
	c.setRing(2, four, three)
	for i := 0; !c.nodes[leaving].HandedOff(); i++ {
		if i > 600 {
			t.Fatal("the leaving node never handed off")
		}
		c.advance(100 * time.Millisecond)
	}
	c.run()
	for i := range 200 {
		key := fmt.Sprintf("k%d", i)
		for _, id := range three.Owners([]byte(key), 3) {
			if got := value(t, c.stored(id, key)); got != "v" {
				t.Fatalf("after the leave, %s on %s = %q", key, id, got)
			}
		}
	}
}
