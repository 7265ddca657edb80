package membership

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meridiankv/meridian/crdt"
)

func TestRegionForms(t *testing.T) {
	r := formed(t, 3, nil)
	var epoch uint64
	for _, id := range r.ids() {
		n := r.nodes[id]
		v := n.r.view
		if epoch == 0 {
			epoch = v.Epoch
		}
		switch {
		case v.Epoch != epoch:
			t.Errorf("%s: epoch %x, another node has %x", id, v.Epoch, epoch)
		case v.Next != nil || v.Joining:
			t.Errorf("%s: a settled region's view has a next ring or says joining: %+v", id, v)
		case !slices.Equal(v.Members, []crdt.NodeID{"n1", "n2", "n3"}) || len(v.Down) != 0:
			t.Errorf("%s: members %v, down %v", id, v.Members, v.Down)
		case len(v.Placement.Owners([]byte("k"), 3)) != 3:
			t.Errorf("%s: owners of k: %v", id, v.Placement.Owners([]byte("k"), 3))
		}
		var share float64
		for _, s := range n.m.Ownership() {
			share += s
		}
		for _, m := range n.last.Members {
			if m.Health != Alive || m.Incarnation != r.nodes[m.ID].incarnation {
				t.Errorf("%s sees %s %s with incarnation %q", id, m.ID, m.Health, m.Incarnation)
			}
		}
		if share < 0.999 || share > 1.001 {
			t.Errorf("%s: shares sum to %f", id, share)
		}
		if n.last.Peers["n2"] != "n2:7000" {
			t.Errorf("%s: peers %v", id, n.last.Peers)
		}
	}
}

func TestJoinerBecomesActiveOnlyOnceBootstrapped(t *testing.T) {
	r := formed(t, 3, nil)
	n4 := r.start("n4", true)
	r.runUntil("every node to see n4 joining", time.Second, func() bool {
		want := statusAll(r.ids(), Active)
		want["n4"] = Joining
		return r.allSee(want)
	})
	r.run(5 * time.Second)
	if s := r.statuses("n4")["n4"]; s != Joining {
		t.Fatalf("n4 is %s before its replica is bootstrapped", s)
	}
	if v := n4.r.view; !v.Joining || v.Next == nil || slices.Contains(v.Placement.Owners([]byte("k"), 4), "n4") {
		t.Errorf("n4's view while joining: joining %v, next %v, owners of k %v", v.Joining, v.Next, v.Placement.Owners([]byte("k"), 4))
	}
	if v := r.nodes["n1"].r.view; v.Next == nil || !slices.Contains(v.Members, "n4") {
		t.Errorf("n1's view while n4 joins: next %v, members %v", v.Next, v.Members)
	}
	n4.r.bootstrapped = true
	r.runUntil("n4 to be active everywhere", time.Second, func() bool { return r.allSee(statusAll(r.ids(), Active)) })
}

// TestJoinerWaitsToLearnTheRegions: a joining node whose directory has not
// yet learned whether there are other regions stays joining, bootstrapped
// or not: once active it would coordinate writes owed to no region.
func TestJoinerWaitsToLearnTheRegions(t *testing.T) {
	r := formed(t, 3, nil)
	n4 := r.start("n4", true)
	n4.m.SetRegionsSettled(false)
	n4.r.bootstrapped = true
	r.run(3 * time.Second)
	if s := r.statuses("n4")["n4"]; s != Joining {
		t.Fatalf("n4 is %s before it learned the regions", s)
	}
	n4.m.SetRegionsSettled(true)
	r.runUntil("n4 to be active everywhere", time.Second, func() bool { return r.allSee(statusAll(r.ids(), Active)) })
}

func TestJoinerWaitsToReachItsRegion(t *testing.T) {
	r := formed(t, 3, nil)
	r.isolate("n4")
	n4 := r.start("n4", true)
	n4.r.bootstrapped = true
	r.run(3 * time.Second)
	if s := r.statuses("n4"); s["n4"] != Joining || len(s) != 1 {
		t.Fatalf("n4, which reached no one, sees %v", s)
	}
	r.heal()
	r.runUntil("n4 to be active everywhere", 2*time.Second, func() bool { return r.allSee(statusAll(r.ids(), Active)) })
}

func TestLeaverBecomesLeftOnceHandedOff(t *testing.T) {
	r := formed(t, 3, nil)
	n3 := r.nodes["n3"]
	if done, err := n3.m.Leave(); done || err != nil {
		t.Fatalf("leave: done %v, err %v", done, err)
	}
	r.runUntil("every node to see n3 leaving", time.Second, func() bool {
		return r.allSee(map[string]Status{"n1": Active, "n2": Active, "n3": Leaving})
	})
	r.run(3 * time.Second)
	if v := n3.r.view; v.Next == nil || slices.Contains(v.Next.Owners([]byte("k"), 3), "n3") {
		t.Errorf("n3's view while leaving: next %v", v.Next)
	}
	n3.r.handedOff = true
	r.tick()
	if !n3.last.Left || n3.last.Self.Status != Left {
		t.Fatalf("after the handoff: left %v, self %+v", n3.last.Left, n3.last.Self)
	}
	// The Refresh that makes it Left drops it from its own ring at once:
	// a write it coordinated from then on would be owed to the other
	// regions by an outbox that leaves with it.
	for _, k := range []string{"a", "b", "c", "k", "z"} {
		if owners := n3.r.view.Placement.Owners([]byte(k), 3); slices.Contains(owners, "n3") {
			t.Errorf("n3's view once left still makes it an owner of %q: %v", k, owners)
		}
	}
	r.tick()
	if n3.last.Left {
		t.Errorf("Left reported twice")
	}
	if done, err := n3.m.Leave(); !done || err != nil {
		t.Errorf("leave after leaving: done %v, err %v", done, err)
	}
	r.runUntil("every node to see n3 left", time.Second, func() bool {
		return r.allSee(map[string]Status{"n1": Active, "n2": Active, "n3": Left})
	})
}

func TestLastNodeCannotLeave(t *testing.T) {
	r := formed(t, 1, nil)
	if _, err := r.nodes["n1"].m.Leave(); !errors.Is(err, ErrLastNode) {
		t.Fatalf("leave of the last node: %v", err)
	}
}

func TestDeadTimeout(t *testing.T) {
	tests := []struct {
		name        string
		deadTimeout time.Duration
		downFor     time.Duration
		removed     bool
	}{
		{"dead past the timeout: removed", 2 * time.Second, 3 * time.Second, true},
		{"dead shorter than the timeout: kept", 5 * time.Second, 3 * time.Second, false},
		{"no timeout: kept for good", 0, 30 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := formed(t, 3, func(c *Config) { c.DeadTimeout = tt.deadTimeout })
			r.crash("n3")
			r.run(tt.downFor)
			want := Active
			if tt.removed {
				want = Removed
			}
			for _, id := range []string{"n1", "n2"} {
				if s := r.statuses(id)["n3"]; s != want {
					t.Errorf("%s sees n3 %s, want %s", id, s, want)
				}
			}
			logged := strings.Contains(r.nodes["n1"].logs.String()+r.nodes["n2"].logs.String(), "removed a node dead for longer")
			if logged != tt.removed {
				t.Errorf("a removal logged: %v, want %v", logged, tt.removed)
			}
		})
	}
}

func TestRemove(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want error
	}{
		{"a dead member", "n4", nil},
		{"an alive member", "n2", ErrAlive},
		{"this node", "n1", ErrAlive},
		{"an unknown id", "zz", ErrNotMember},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := formed(t, 4, nil)
			r.crash("n4")
			r.tick()
			err := r.nodes["n1"].m.Remove(tt.id, false)
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("remove %s: %v, want %v", tt.id, err, tt.want)
			}
			if tt.want != nil {
				return
			}
			r.runUntil("the others to see n4 removed", time.Second, func() bool {
				return r.allSee(map[string]Status{"n1": Active, "n2": Active, "n3": Active, "n4": Removed})
			})
			if err := r.nodes["n1"].m.Remove(tt.id, false); err != nil {
				t.Errorf("removing a removed member again: %v", err)
			}
		})
	}
}

// TestJoinerDeclaringStrongKeysOtherwiseIsRefused: a node whose declaration
// of strong keys differs from the region's stays joining, bootstrapped or
// not, and says why; started again with the region's declaration, it joins.
func TestJoinerDeclaringStrongKeysOtherwiseIsRefused(t *testing.T) {
	decl := "lock:=local:eu"
	r := formed(t, 3, func(c *Config) { c.Strong = decl })
	r.cfg = func(c *Config) {
		if c.ID == "n4" {
			c.Strong = "lock:=global"
		} else {
			c.Strong = decl
		}
	}
	n4 := r.start("n4", true)
	n4.r.bootstrapped = true
	r.run(3 * time.Second)
	if s := r.statuses("n4")["n4"]; s != Joining {
		t.Fatalf("n4, declaring otherwise, is %s", s)
	}
	if n4.last.Refused == nil || !strings.Contains(n4.last.Refused.Error(), `declares "lock:=local:eu"`) {
		t.Fatalf("n4's refusal: %v", n4.last.Refused)
	}
	if !strings.Contains(n4.logs.String(), "declares strong keys otherwise") {
		t.Errorf("n4's log says nothing of the refusal:\n%s", n4.logs.String())
	}
	r.crash("n4")
	r.cfg = func(c *Config) { c.Strong = decl }
	n4 = r.start("n4", true)
	n4.r.bootstrapped = true
	r.runUntil("n4 to be active everywhere", 2*time.Second, func() bool { return r.allSee(statusAll(r.ids(), Active)) })
}
