package sync_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meridiankv/meridian/crdt"
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

// TestNodeThatLeftMidWriteAppliesNothing: a QUORUM write whose first read
// is under way when its coordinator leaves the region is answered with a
// definite error and applies nothing: minted there, it would be owed to
// the other regions by an outbox that leaves with the node.
func TestNodeThatLeftMidWriteAppliesNothing(t *testing.T) {
	c := newCluster(t, 4, nil)
	owners, _ := c.owners("k")
	at := owners[0]
	id := c.submit(at, put("k", "v", kvsync.Quorum)) // its prepare reads are queued
	rest := slices.DeleteFunc(slices.Clone(c.ids), func(n crdt.NodeID) bool { return n == at })
	c.nodes[at].SetView(c.clock(at), kvsync.View{Placement: rendezvous(rest), Members: rest, Down: map[crdt.NodeID]bool{},
		Epoch: 2, Current: c.current()})
	c.run()
	r, ok := c.resps[id]
	if !ok || !errors.Is(r.Err, kvsync.ErrRejected) || !strings.Contains(r.Err.Error(), "left its region") {
		t.Fatalf("the write of a node that left mid-write: %+v (answered %v), want rejected, nothing applied", r, ok)
	}
	for _, n := range c.ids {
		if s := c.stored(n, "k"); !s.Equal(crdt.State{}) {
			t.Errorf("%s holds %v, want nothing", n, s)
		}
	}
	if st, err := c.stores[at].Outbox(); err != nil || st.Count != 0 {
		t.Errorf("the outbox of the node that left: %+v, %v; want empty", st, err)
	}
}
