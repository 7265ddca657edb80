package membership

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// partition cuts every link between the nodes of side and the others.
func (r *testRegion) partition(side ...string) {
	for _, a := range side {
		for _, b := range r.ids() {
			if !slices.Contains(side, b) {
				r.cut[[2]string{a, b}], r.cut[[2]string{b, a}] = true, true
			}
		}
	}
}

// TestDeadTimeoutNeedsAMajority partitions a region for longer than the
// dead timeout. Only a side with more than half of the region's members
// alive removes the others; after the heal the members of the majority side
// are still in the ring. Before the majority rule, each side removed the
// other, the removals won the merge after the heal, and the ring was empty.
func TestDeadTimeoutNeedsAMajority(t *testing.T) {
	tests := []struct {
		name     string
		nodes    int
		minority []string // cut off from the others
		removes  bool     // whether the other side removes them
	}{
		{"one of three cut off", 3, []string{"n3"}, true},
		{"two of five cut off", 5, []string{"n4", "n5"}, true},
		{"two of four cut off: no majority anywhere", 4, []string{"n3", "n4"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := formed(t, tt.nodes, func(c *Config) { c.DeadTimeout = 2 * time.Second })
			r.partition(tt.minority...)
			r.run(6 * time.Second)
			for _, id := range r.ids() {
				inMinority := slices.Contains(tt.minority, id)
				for other, s := range r.statuses(id) {
					wantRemoved := tt.removes && !inMinority && slices.Contains(tt.minority, other)
					if (s == Removed) != wantRemoved {
						t.Errorf("%s sees %s %s (removed expected: %v)", id, other, s, wantRemoved)
					}
				}
				if inMinority && !strings.Contains(r.nodes[id].logs.String(), "a minority does not remove members") {
					t.Errorf("%s, on the minority side, did not log why it removes no one", id)
				}
			}
			r.heal()
			r.run(2 * time.Second)
			for _, id := range r.ids() {
				var ring []string
				for _, m := range r.nodes[id].last.Roster.InRing() {
					ring = append(ring, m.ID)
				}
				for _, other := range r.ids() {
					if !slices.Contains(tt.minority, other) && !slices.Contains(ring, other) {
						t.Errorf("after the heal, %s's ring %v lacks %s of the majority side", id, ring, other)
					}
				}
			}
		})
	}
}

// TestRemoveNeedsAMajorityUnlessForced: an operator's remove asked of a node
// that sees no more than half of the region alive is refused, saying why,
// unless forced.
func TestRemoveNeedsAMajorityUnlessForced(t *testing.T) {
	tests := []struct {
		name     string
		minority []string // cut off from the others
		crashed  []string
		at, id   string
		force    bool
		refused  string // the error's text, when refused
	}{
		{"from the majority side", []string{"n4"}, nil, "n1", "n4", false, ""},
		{"from the minority side", []string{"n4"}, nil, "n4", "n1", false, "membership: only 1 of 4 members are reachable from here; a minority must not remove members: heal the partition, or force it with --force if the others are gone for good"},
		{"forced from the minority side", []string{"n4"}, nil, "n4", "n1", true, ""},
		{"two of four crashed", nil, []string{"n3", "n4"}, "n1", "n4", false, "only 2 of 4 members are reachable from here"},
		{"two of four crashed, forced", nil, []string{"n3", "n4"}, "n1", "n4", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := formed(t, 4, nil)
			r.partition(tt.minority...)
			for _, id := range tt.crashed {
				r.crash(id)
			}
			r.tick()
			err := r.nodes[tt.at].m.Remove(tt.id, tt.force)
			var me *MinorityError
			switch {
			case tt.refused == "" && err != nil:
				t.Fatalf("remove %s at %s: %v", tt.id, tt.at, err)
			case tt.refused != "" && (!errors.As(err, &me) || !strings.Contains(err.Error(), tt.refused)):
				t.Fatalf("remove %s at %s: %v, want a *MinorityError saying %q", tt.id, tt.at, err, tt.refused)
			}
			r.tick()
			if s := r.statuses(tt.at)[tt.id]; (s == Removed) != (tt.refused == "") {
				t.Errorf("%s sees %s %s", tt.at, tt.id, s)
			}
		})
	}
}

// TestRemovalWithStrongKeysWaitsForItsSteward: where strong keys are
// declared, a removed member is Removing, in the ring and out of the next
// one, until the steward (the active member of lowest id alive) reports
// its keys settled; then every node sees it Removed. A removed node that
// is alive after all (the other side of a partition) or restarts before
// the removal completes cancels it; a forced removal skips the settling.
func TestRemovalWithStrongKeysWaitsForItsSteward(t *testing.T) {
	tests := []struct {
		name    string
		act     func(r *testRegion) // removes n4 one way or another
		settled bool                // the steward settles
		want    Status              // n4 in the end, as every node sees it
	}{
		{"removed, settled: removed", func(r *testRegion) { r.crash("n4"); r.tick(); must(t, r.nodes["n1"].m.Remove("n4", false)) }, true, Removed},
		{"removed, not settled: removing", func(r *testRegion) { r.crash("n4"); r.tick(); must(t, r.nodes["n2"].m.Remove("n4", false)) }, false, Removing},
		{"forced: removed at once", func(r *testRegion) { r.crash("n4"); r.tick(); must(t, r.nodes["n2"].m.Remove("n4", true)) }, false, Removed},
		{"removing, then forced: removed", func(r *testRegion) {
			r.crash("n4")
			r.tick()
			must(t, r.nodes["n2"].m.Remove("n4", false))
			r.run(time.Second)
			must(t, r.nodes["n2"].m.Remove("n4", true))
		}, false, Removed},
		{"removed by the dead timeout across a partition, then healed: cancelled", func(r *testRegion) {
			r.partition("n4")
			r.run(4 * time.Second)
			if s := r.statuses("n1")["n4"]; s != Removing {
				t.Fatalf("n1 sees n4 %s during the partition, want removing", s)
			}
			r.nodes["n4"].r.bootstrapped = false // entering again as joining would stay so
			r.heal()
		}, false, Active},
		{"restarted while removing: cancelled", func(r *testRegion) {
			r.crash("n4")
			r.tick()
			must(t, r.nodes["n1"].m.Remove("n4", false))
			r.run(time.Second)
			r.start("n4", true)
		}, false, Active},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := formed(t, 4, func(c *Config) { c.Strong, c.DeadTimeout = "lock:=local:eu", 2*time.Second })
			for _, n := range r.nodes {
				n.r.unsettled = true
			}
			tt.act(r)
			r.run(time.Second)
			if tt.want == Removing || tt.want == Removed && tt.settled {
				// While removing, the view holds n4 in the ring and out
				// of the next, and names n1 its steward.
				if s := r.statuses("n1")["n4"]; s != Removing {
					t.Fatalf("n1 sees n4 %s before the steward settled, want removing", s)
				}
				for _, id := range []string{"n1", "n2", "n3"} {
					v := r.nodes[id].r.view
					if !v.Removing["n4"] || v.Next == nil || v.Steward != (id == "n1") {
						t.Errorf("%s's view: removing %v, next ring %v, steward %v", id, v.Removing, v.Next != nil, v.Steward)
					}
				}
			}
			if tt.settled {
				r.nodes["n1"].r.unsettled = false
			}
			r.run(2 * time.Second)
			for _, id := range []string{"n1", "n2", "n3"} {
				if s := r.statuses(id)["n4"]; s != tt.want {
					t.Errorf("%s sees n4 %s, want %s", id, s, tt.want)
				}
			}
			if tt.want == Removed && r.nodes["n1"].r.view.Removing != nil {
				t.Errorf("removed, and still in the view's Removing: %v", r.nodes["n1"].r.view.Removing)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestRemovedJoinerIsRemovedAtOnce: a joining member is in no ring but the
// next one, so its removal needs no settling, strong keys or not: it is
// removed at once and never enters the ring.
func TestRemovedJoinerIsRemovedAtOnce(t *testing.T) {
	r := formed(t, 3, func(c *Config) { c.Strong = "lock:=local:eu" })
	for _, n := range r.nodes {
		n.r.unsettled = true
	}
	r.start("n4", true) // never bootstrapped: stays joining
	r.run(time.Second)
	if s := r.statuses("n1")["n4"]; s != Joining {
		t.Fatalf("n1 sees n4 %s, want joining", s)
	}
	r.crash("n4")
	r.tick()
	must(t, r.nodes["n1"].m.Remove("n4", false))
	r.run(time.Second)
	for _, id := range []string{"n1", "n2", "n3"} {
		if s := r.statuses(id)["n4"]; s != Removed {
			t.Errorf("%s sees n4 %s, want removed", id, s)
		}
		for _, m := range r.nodes[id].last.Roster.InRing() {
			if m.ID == "n4" {
				t.Errorf("%s's ring holds n4", id)
			}
		}
	}
}
