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
