package membership

import (
	"strings"
	"testing"
	"time"
)

// TestRemovedWhileAliveRejoins: a node removed while it is alive (by the
// dead timeout, or by an operator, on the other side of a partition) finds
// its entry Removed after the heal. It must say so, and enter the region
// again as joining, pulling its ranges before it serves them, rather than
// vanish from the ring.
func TestRemovedWhileAliveRejoins(t *testing.T) {
	tests := []struct {
		name        string
		nodes       int
		deadTimeout time.Duration
		remove      func(r *testRegion, victim string) // while victim is cut off
	}{
		{"by the dead timeout", 3, 2 * time.Second, func(r *testRegion, victim string) { r.run(6 * time.Second) }},
		{"by an operator", 4, 0, func(r *testRegion, victim string) {
			r.runUntil("n1 to see the victim dead", 5*time.Second, func() bool { return r.health("n1", victim) == Dead })
			if err := r.nodes["n1"].m.Remove(victim, false); err != nil {
				r.t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := formed(t, tt.nodes, func(c *Config) { c.DeadTimeout = tt.deadTimeout })
			ids := r.ids()
			victim := ids[len(ids)-1]
			v := r.nodes[victim]
			r.isolate(victim)
			tt.remove(r, victim)
			r.runUntil("the others to see the victim removed", 2*time.Second, func() bool {
				return r.statuses("n1")[victim] == Removed && r.statuses("n2")[victim] == Removed
			})
			removedAt := r.nodes["n1"].last.Roster[victim].Version
			v.r.bootstrapped = false
			r.heal()
			rejoined := 0
			r.runUntil("every node to see the victim joining", 2*time.Second, func() bool {
				if v.last.Rejoined {
					rejoined++
				}
				want := statusAll(ids, Active)
				want[victim] = Joining
				return r.allSee(want)
			})
			r.run(2 * time.Second)
			if v.last.Rejoined {
				rejoined++
			}
			switch self := v.last.Self; {
			case rejoined != 1:
				t.Errorf("Rejoined reported %d times, want once", rejoined)
			case self.Status != Joining || self.Version <= removedAt:
				t.Errorf("the victim's entry %+v, want joining above version %d", self, removedAt)
			case !v.r.view.Joining:
				t.Errorf("the victim's view does not say it is joining")
			}
			if logs := v.logs.String(); !strings.Contains(logs, `level=ERROR msg="this node was removed from the region while alive`) {
				t.Errorf("the victim did not log an error saying it was removed:\n%s", logs)
			}
			v.r.bootstrapped = true
			r.runUntil("every node to see every member active", 2*time.Second, func() bool { return r.allSee(statusAll(ids, Active)) })
		})
	}
}
