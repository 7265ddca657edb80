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

// TestAnotherIncarnationRejoins: a node whose data was wiped comes back
// under its id with a new incarnation. Its earlier life's entry (active)
// wins the merge; the node must not take it for its own and serve ranges it
// does not hold, but announce itself joining with its own incarnation, and
// pull its ranges first. A wiped first node restarted without --join
// founds a region of its own, active, until it meets the others: its entry
// may tie with its earlier life's and win the merge, and then the others
// mark it joining.
func TestAnotherIncarnationRejoins(t *testing.T) {
	tests := []struct {
		name        string
		victim      string
		incarnation string // the new one; the old ones are inc1 to inc3
		join        bool   // the restarted node is given --join
		alone       bool   // it is active on its own until it meets the others
		logger      string // the node that says what happened
		log         string
	}{
		{"a joiner restarted with --join", "n3", "", true, false, "n3", "the region holds another entry for this node"},
		{"the first node restarted with --join", "n1", "", true, false, "n1", "the region holds another entry for this node"},
		{"the first node restarted without --join, its earlier entry winning the tie", "n1", "inc0", false, true, "n1", "the region holds another entry for this node"},
		{"the first node restarted without --join, its new entry winning the tie", "n1", "inc9", false, true, "n2", "a member came back on other data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := formed(t, 3, nil)
			ids := r.ids()
			r.crash(tt.victim)
			r.run(time.Second)
			r.wipe(tt.victim, tt.incarnation)
			r.isolate(tt.victim)
			v := r.start(tt.victim, tt.join)
			r.run(time.Second)
			if s := v.last.Self.Status; s != Active && tt.alone || s != Joining && !tt.alone {
				t.Fatalf("wiped and alone, the node is %s", s)
			}
			r.heal()
			r.runUntil("every node to see the wiped node joining under its new incarnation", 2*time.Second, func() bool {
				if s := v.last.Self; s.Status == Active && !tt.alone {
					t.Fatalf("the wiped node serves its ranges without its data: %+v", s)
				}
				want := statusAll(ids, Active)
				want[tt.victim] = Joining
				for _, id := range ids {
					if r.nodes[id].last.Roster[tt.victim].Incarnation != v.incarnation {
						return false
					}
				}
				return r.allSee(want)
			})
			if !strings.Contains(r.nodes[tt.logger].logs.String(), tt.log) {
				t.Errorf("%s did not log %q:\n%s", tt.logger, tt.log, r.nodes[tt.logger].logs.String())
			}
			if !v.r.view.Joining {
				t.Errorf("the wiped node's view does not say it is joining")
			}
			r.run(2 * time.Second)
			v.r.bootstrapped = true
			r.runUntil("every node to see every member active", 2*time.Second, func() bool { return r.allSee(statusAll(ids, Active)) })
		})
	}
}

// TestRestartOnItsDataCarriesOn: a node restarted on its data (same
// incarnation, its stored roster) is active again at once, as before.
func TestRestartOnItsDataCarriesOn(t *testing.T) {
	for _, id := range []string{"n1", "n2"} {
		t.Run(id, func(t *testing.T) {
			r := formed(t, 3, nil)
			r.crash(id)
			r.run(time.Second)
			n := r.start(id, id != "n1")
			r.tick()
			if s := n.last.Self; s.Status != Active || n.last.Rejoined {
				t.Fatalf("after the restart: %+v, rejoined %v", s, n.last.Rejoined)
			}
			r.runUntil("every node to see every member active", time.Second, func() bool { return r.allSee(statusAll(r.ids(), Active)) })
			r.run(time.Second)
			if strings.Contains(n.logs.String(), "level=WARN") || strings.Contains(n.logs.String(), "level=ERROR") {
				t.Errorf("the restarted node complained:\n%s", n.logs.String())
			}
		})
	}
}

// TestStatusNotDecidedHereRejoins: the roster holds for this node a status
// it did not decide in this run (its earlier run became active and spread
// it, but crashed before storing it): it announces itself joining again
// rather than serve on a status it did not reach.
func TestStatusNotDecidedHereRejoins(t *testing.T) {
	r := formed(t, 3, nil)
	n4 := r.start("n4", true)
	var joining Roster
	r.runUntil("n4 to be joining everywhere", time.Second, func() bool {
		joining = n4.stored.Clone()
		return r.allSee(map[string]Status{"n1": Active, "n2": Active, "n3": Active, "n4": Joining})
	})
	n4.r.bootstrapped = true
	r.runUntil("n4 to be active everywhere", time.Second, func() bool { return r.allSee(statusAll(r.ids(), Active)) })
	r.crash("n4")
	n4.stored = joining // the store lost the last change
	n4 = r.start("n4", true)
	r.runUntil("every node to see n4 joining again", time.Second, func() bool {
		if n4.last.Self.Status == Active {
			t.Fatalf("n4 serves on a status it did not decide: %+v", n4.last.Self)
		}
		return r.allSee(map[string]Status{"n1": Active, "n2": Active, "n3": Active, "n4": Joining})
	})
	n4.r.bootstrapped = true
	r.runUntil("n4 to be active everywhere", time.Second, func() bool { return r.allSee(statusAll(r.ids(), Active)) })
}

// TestEntryPassedOnByAnOlderNodeIsOurs: a node of an older version drops
// the incarnation when it passes an entry on, and the entry without it wins
// the tie. The node whose entry it is takes it as its own: it neither joins
// again nor complains (during a rolling upgrade it would do so forever).
func TestEntryPassedOnByAnOlderNodeIsOurs(t *testing.T) {
	r := formed(t, 3, nil)
	n1 := r.nodes["n1"]
	stripped := n1.last.Self
	stripped.Incarnation = ""
	r.nodes["n2"].g.roster["n1"] = stripped // as n2 would hold it were it older
	r.run(time.Second)
	if inc := n1.last.Roster["n1"].Incarnation; inc != "" {
		t.Fatalf("the entry without an incarnation did not win the tie: %q", inc)
	}
	if s := n1.last.Self; s.Status != Active || s.Incarnation != n1.incarnation {
		t.Errorf("n1's entry as decided: %+v", s)
	}
	if strings.Contains(n1.logs.String(), "level=WARN") {
		t.Errorf("n1 complained:\n%s", n1.logs.String())
	}
	if !r.allSee(statusAll(r.ids(), Active)) {
		t.Errorf("statuses:\n%s", r.describe())
	}
}

// TestRemovedAfterItLeftStaysGone: a removal concurrent with a node's
// completed leave wins the tie; the node that left does not come back.
func TestRemovedAfterItLeftStaysGone(t *testing.T) {
	r := formed(t, 3, nil)
	n3 := r.nodes["n3"]
	if _, err := n3.m.Leave(); err != nil {
		t.Fatal(err)
	}
	n3.r.handedOff = true
	r.runUntil("n3 to have left", time.Second, func() bool { return n3.last.Self.Status == Left })
	removed := n3.last.Self
	removed.Status = Removed
	r.nodes["n1"].g.roster["n3"] = removed // a remove at the same version: Removed wins the tie
	r.run(time.Second)
	if !r.allSee(map[string]Status{"n1": Active, "n2": Active, "n3": Removed}) || n3.last.Rejoined {
		t.Fatalf("statuses:\n%s", r.describe())
	}
}
