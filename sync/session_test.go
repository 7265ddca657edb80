package sync_test

import (
	"slices"
	"testing"
	"time"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// TestSessionOrderWhateverTheClocks: a client's operations, each
// acknowledged at QUORUM by the key's owners, take effect in that order on
// every replica, whichever node it talks to, even when the node that took
// the first one has a clock a second ahead and the node that takes the
// second one missed the first.
func TestSessionOrderWhateverTheClocks(t *testing.T) {
	del := wire.Op{Kind: wire.OpDelete, Key: []byte("k"), Level: uint8(kvsync.Quorum)}
	elems := func(kind wire.OpKind, e string) wire.Op {
		return wire.Op{Kind: kind, Key: []byte("k"), Elems: [][]byte{[]byte(e)}, Level: uint8(kvsync.Quorum)}
	}
	tests := []struct {
		name  string
		setup []wire.Op // through owners[2], at ALL
		first []wire.Op // through owners[0], missed by owners[2]
		then  wire.Op   // through owners[2]
		want  func(t *testing.T, s crdt.State)
	}{
		{"SET then SET", nil, []wire.Op{put("k", "v1", kvsync.Quorum)}, put("k", "v2", kvsync.Quorum), func(t *testing.T, s crdt.State) {
			if sb := s.Siblings(); len(sb) != 1 || string(sb[0].Value) != "v2" {
				t.Fatalf("siblings %v, want v2 alone", sb)
			}
		}},
		{"SET then DEL", nil, []wire.Op{put("k", "v1", kvsync.Quorum)}, del, func(t *testing.T, s crdt.State) {
			if !s.IsEmpty() {
				t.Fatalf("deleted key holds %v", s)
			}
		}},
		{"INCRBY 100, DEL, then INCR", []wire.Op{incr("k", 100, kvsync.Quorum)}, []wire.Op{del}, incr("k", 1, kvsync.Quorum), func(t *testing.T, s crdt.State) {
			if v, err := s.Value(); v != 1 || err != nil {
				t.Fatalf("counter = %d, %v; want 1", v, err)
			}
		}},
		{"SADD then SREM", nil, []wire.Op{elems(wire.OpAdd, "x")}, elems(wire.OpRemove, "x"), func(t *testing.T, s crdt.State) {
			if s.IsMember("x") {
				t.Fatalf("removed member survives: %v", s.Members())
			}
		}},
		{"DEL then SET", nil, []wire.Op{put("k", "v1", kvsync.Quorum), del}, put("k", "v2", kvsync.Quorum), func(t *testing.T, s crdt.State) {
			if sb := s.Siblings(); len(sb) != 1 || string(sb[0].Value) != "v2" {
				t.Fatalf("siblings %v, want v2 alone", sb)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, 3, func(cfg *kvsync.Config) { cfg.MaxHintBytes = 0 })
			owners, _ := c.owners("k")
			c.skew[owners[0]] = int64(time.Second) // the first writer's clock runs ahead
			late := owners[2]
			for _, op := range tt.setup {
				op.Level = uint8(kvsync.All)
				if r := c.do(late, op); r.Err != nil {
					t.Fatalf("setup: %v", r.Err)
				}
			}
			c.drop = func(m wire.Message) bool { return m.To == late }
			for _, op := range tt.first {
				if r := c.do(owners[0], op); r.Err != nil {
					t.Fatalf("first operations: %v", r.Err)
				}
			}
			c.drop = nil
			if len(tt.setup) == 0 && !c.stored(late, "k").IsZero() {
				t.Fatal("the late owner got the first operations; the test needs it to miss them")
			}
			r := c.do(late, tt.then)
			if r.Err != nil {
				t.Fatalf("second operation through %s: %v", late, r.Err)
			}
			if tt.then.Kind == wire.OpIncr {
				tt.want(t, r.State) // INCR answers with the value
			}
			c.advance(time.Second)
			for _, o := range owners {
				tt.want(t, c.stored(o, "k"))
			}
			for _, at := range c.ids {
				if r := c.do(at, get("k", kvsync.Quorum)); r.Err != nil {
					t.Fatal(r.Err)
				} else {
					tt.want(t, r.State)
				}
			}
		})
	}
}

// TestQuorumReadAnswersWhatAQuorumHolds: a QUORUM read that merges replies
// which differ answers only once the merged state is on a quorum of
// owners, so that a later QUORUM read cannot go back in time; when the
// stale replica does not take it, the read fails rather than answer.
func TestQuorumReadAnswersWhatAQuorumHolds(t *testing.T) {
	c := newCluster(t, 4, func(cfg *kvsync.Config) { cfg.MaxHintBytes = 0 })
	owners, other := c.owners("k")
	c.drop = func(m wire.Message) bool { return m.From == owners[0] && m.To != owners[0] }
	if r := c.do(owners[0], put("k", "v", kvsync.One)); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.drop = nil
	// other reads owners[0] (v) and another owner (nothing): that one
	// must hold v when the read answers.
	id := c.submit(other, get("k", kvsync.Quorum))
	c.run()
	r := c.resps[id]
	if r.Err != nil || value(t, r.State) != "v" {
		t.Fatalf("read: %q, %v", value(t, r.State), r.Err)
	}
	if value(t, c.stored(owners[1], "k")) != "v" && value(t, c.stored(owners[2], "k")) != "v" {
		t.Fatal("the read answered v while a single owner held it")
	}

	// A stale replica that does not take the merged state: the read fails.
	owners2, other2 := c.owners("k2")
	c.drop = func(m wire.Message) bool { return m.From == owners2[0] && m.To != owners2[0] }
	if r := c.do(owners2[0], put("k2", "w", kvsync.One)); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.drop = func(m wire.Message) bool { return wire.Carries(m.Type) && m.To != owners2[0] }
	r = c.do(other2, get("k2", kvsync.All))
	if r.Err == nil {
		t.Fatalf("ALL read answered %q although the stale replicas never took it", value(t, r.State))
	}
}

// TestJoinerWaitsForEveryMember: a joining node is not bootstrapped while
// a member that holds keys it takes over is down, even if the others are
// in sync with it.
func TestJoinerWaitsForEveryMember(t *testing.T) {
	c := newCluster(t, 4, func(cfg *kvsync.Config) {
		cfg.AntiEntropyInterval = 100 * time.Millisecond
		cfg.MaxHintBytes = 0
	})
	joiner := c.ids[3]
	before := rendezvous(c.ids[:3])
	c.setRing(1, before, nil)
	if r := c.do(c.ids[0], put("k", "v", kvsync.All)); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.down[c.ids[2]] = true
	c.setRing(2, before, rendezvous(c.ids))
	c.advance(3 * time.Second)
	if c.nodes[joiner].Bootstrapped() {
		t.Fatal("the joiner says it is bootstrapped while a member is down")
	}
	delete(c.down, c.ids[2])
	c.setRing(2, before, rendezvous(c.ids))
	c.advance(3 * time.Second)
	if !c.nodes[joiner].Bootstrapped() {
		t.Fatal("the joiner is not bootstrapped with every member up and in sync")
	}
}

// TestHintsReachTheKeysOwners: a hint held for a member that was removed,
// or for a target that no longer owns the key, is delivered to the key's
// owners and then deleted, so that the write it holds is not orphaned.
func TestHintsReachTheKeysOwners(t *testing.T) {
	c, gone := writeWithAnOwnerDown(t)
	holders := 0
	for _, id := range c.ids {
		if b, _ := c.stores[id].HintTargets(); len(b) > 0 {
			holders++
		}
	}
	if holders == 0 {
		t.Fatal("no hint was kept for the down owner")
	}
	// gone is removed for good: the ring is rebuilt without it.
	rest := slices.DeleteFunc(slices.Clone(c.ids), func(id crdt.NodeID) bool { return id == gone })
	c.ids = rest
	c.setRing(7, rendezvous(rest), nil)
	c.advance(2 * time.Second)
	for _, o := range rendezvous(rest).Owners([]byte("k"), 3) {
		if got := value(t, c.stored(o, "k")); got != "v" {
			t.Errorf("owner %s holds %q after the hints were redirected", o, got)
		}
	}
	for _, id := range rest {
		if b, _ := c.stores[id].HintTargets(); len(b) != 0 {
			t.Errorf("%s still holds hints %+v for a removed member", id, b)
		}
	}
}

// TestHintForATargetThatNoLongerOwnsTheKey: a hint held for a member that,
// by the time it is back, no longer owns the key goes to the key's owners,
// not to the target, which would keep it where no read looks.
func TestHintForATargetThatNoLongerOwnsTheKey(t *testing.T) {
	c, target := writeWithAnOwnerDown(t)
	// target is back, still a member, but the ring no longer gives it the key.
	delete(c.down, target)
	without := rendezvous(slices.DeleteFunc(slices.Clone(c.ids), func(id crdt.NodeID) bool { return id == target }))
	c.setRing(9, without, nil)
	c.advance(2 * time.Second)
	for _, o := range without.Owners([]byte("k"), 3) {
		if got := value(t, c.stored(o, "k")); got != "v" {
			t.Errorf("owner %s holds %q: the hint did not reach it", o, got)
		}
	}
	for _, id := range c.ids {
		if b, _ := c.stores[id].HintTargets(); len(b) != 0 {
			t.Errorf("%s still holds hints %+v", id, b)
		}
	}
}

// writeWithAnOwnerDown writes k=v at ALL in a 5-node cluster while one of
// k's owners is down, so that a fallback keeps a hint for it, and returns
// the cluster and that owner.
func writeWithAnOwnerDown(t *testing.T) (*cluster, crdt.NodeID) {
	t.Helper()
	c := newCluster(t, 5, nil)
	owners, _ := c.owners("k")
	down := owners[2]
	c.down[down] = true
	c.setViews()
	if r := c.do(owners[0], put("k", "v", kvsync.All)); r.Err != nil {
		t.Fatal(r.Err)
	}
	return c, down
}
