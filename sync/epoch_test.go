package sync_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

func incr(key string, by int64, lvl kvsync.Level) wire.Op {
	return wire.Op{Kind: wire.OpIncr, Key: []byte(key), By: by, Level: uint8(lvl)}
}

// TestPowerLossNeverMintsADotTwice: under batched sync a power loss drops
// the node's last writes, which other replicas already hold; the node comes
// back under a new actor, so what it writes next is not mistaken for them.
// (Before actors had epochs: INCRBY 10, power loss, INCRBY 5 gave 5.)
func TestPowerLossNeverMintsADotTwice(t *testing.T) {
	c := newCluster(t, 3, func(cfg *kvsync.Config) { cfg.MaxHintBytes = 0 })
	owners, _ := c.owners("k")
	a := owners[0]
	c.stores[a].Batched = true
	c.stores[a].Sync() // what NewNode recorded is synced; the writes are not
	if r := c.do(a, incr("k", 10, kvsync.All)); r.Err != nil {
		t.Fatal(r.Err)
	}
	if put := c.do(a, put("r", "before", kvsync.All)); put.Err != nil {
		t.Fatal(put.Err)
	}
	before := c.nodes[a].Actor()
	c.stores[a].PowerLoss()
	if !c.stored(a, "k").IsZero() {
		t.Fatal("the power loss kept the unsynced write; the test needs it lost")
	}
	c.start(a)
	if after := c.nodes[a].Actor(); after == before {
		t.Fatalf("restarted after a power loss under the same actor %s", after)
	}
	// ONE: the node mints from its own state alone, the case at risk.
	if r := c.do(a, incr("k", 5, kvsync.One)); r.Err != nil {
		t.Fatal(r.Err)
	}
	if r := c.do(a, put("r", "after", kvsync.One)); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.advance(time.Second)
	// A read at ALL repairs the node that lost power.
	for _, key := range []string{"k", "r"} {
		if r := c.do(a, get(key, kvsync.All)); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	c.advance(time.Second)
	for _, o := range owners {
		if v, _ := c.stored(o, "k").Value(); v != 15 {
			t.Errorf("counter on %s = %d, want 15", o, v)
		}
		if got := c.stored(o, "r"); !slices.ContainsFunc(got.Siblings(), func(s crdt.Sibling) bool { return string(s.Value) == "after" }) {
			t.Errorf("register on %s = %v: the write after the power loss is lost", o, got.Siblings())
		}
	}
}

// TestCleanRestartKeepsTheActor: a node that stopped cleanly carries on
// under the same actor, so that restarts do not give every key it writes
// another one; one that did not takes a new actor.
func TestCleanRestartKeepsTheActor(t *testing.T) {
	c := newCluster(t, 3, nil)
	id := c.ids[0]
	first := c.nodes[id].Actor()
	if err := c.nodes[id].Close(); err != nil {
		t.Fatal(err)
	}
	c.start(id)
	if got := c.nodes[id].Actor(); got != first {
		t.Fatalf("after a clean stop: actor %s, want %s", got, first)
	}
	c.start(id) // a crash: no Close
	if got := c.nodes[id].Actor(); got == first {
		t.Fatalf("after a crash: actor %s again", got)
	}
}

// TestHandedOffKeyOwnedAgainIsNotLost: a node hands a key off and drops it
// when a joiner takes its range, then owns it again when the joiner is
// removed. Its next writes of the key must not reuse the dots it minted
// before (the other replicas would drop them as already seen): they are
// acknowledged and they stay. (Before: the SET vanished.)
func TestHandedOffKeyOwnedAgainIsNotLost(t *testing.T) {
	c := newCluster(t, 4, func(cfg *kvsync.Config) { cfg.AntiEntropyInterval = 100 * time.Millisecond })
	three, four := rendezvous(c.ids[:3]), rendezvous(c.ids)
	// A key the joiner takes from a node that writes it.
	var key string
	var x crdt.NodeID
	for i := 0; key == ""; i++ {
		k := fmt.Sprintf("k%d", i)
		for _, id := range c.ids[:3] {
			if !slices.Contains(four.Owners([]byte(k), 3), id) {
				key, x = k, id
			}
		}
	}
	c.setRing(1, three, nil)
	if r := c.do(x, put(key, "old", kvsync.All)); r.Err != nil {
		t.Fatal(r.Err)
	}
	// Another owner replaces it: the dot x minted is now only in contexts.
	y := three.Owners([]byte(key), 3)[0]
	if y == x {
		y = three.Owners([]byte(key), 3)[1]
	}
	if r := c.do(y, put(key, "mid", kvsync.All)); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.advance(time.Second)
	c.setRing(2, three, four)
	c.advance(3 * time.Second)
	c.setRing(3, four, nil)
	c.advance(5 * time.Second)
	if !c.stored(x, key).IsZero() {
		t.Fatalf("%s did not drop %s after handing it off", x, key)
	}
	c.setRing(4, three, nil) // the joiner is removed: x owns the key again
	// x writes before anti-entropy brings the key back to it.
	if r := c.do(x, put(key, "new", kvsync.One)); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.advance(3 * time.Second)
	for _, o := range three.Owners([]byte(key), 3) {
		if got := value(t, c.stored(o, key)); got != "new" {
			t.Errorf("%s on %s = %q, want the acknowledged new value", key, o, got)
		}
	}
}
