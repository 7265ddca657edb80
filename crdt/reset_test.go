package crdt_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/meridiankv/meridian/crdt"
)

// The observed-reset counter: a delete removes what it observed of each
// replica's share, and an increment concurrent with it counts alone.

// cluster is a few named replicas of one key.
type cluster map[crdt.NodeID]*crdt.State

func newCluster(nodes ...crdt.NodeID) cluster {
	c := cluster{}
	for _, n := range nodes {
		c[n] = &crdt.State{}
	}
	return c
}

// incr increments at n and returns the delta.
func (c cluster) incr(t *testing.T, n crdt.NodeID, by int64) crdt.State {
	t.Helper()
	d, err := c[n].Incr(n, by, ts(0))
	if err != nil {
		t.Fatalf("INCRBY %d at %s: %v", by, n, err)
	}
	return d
}

// exchange merges every replica's state into every other.
func (c cluster) exchange() {
	for range 2 {
		for _, a := range c {
			for _, b := range c {
				a.Merge(*b)
			}
		}
	}
}

// wantValue checks every replica reads want.
func (c cluster) wantValue(t *testing.T, want int64) {
	t.Helper()
	for n, s := range c {
		if v, err := s.Value(); err != nil || v != want {
			t.Errorf("%s: value %d (%v), want %d; state %v", n, v, err, want, s)
		}
	}
}

func TestIncrementConcurrentWithDeleteCountsAlone(t *testing.T) {
	c := newCluster("a", "b")
	c["b"].Merge(c.incr(t, "a", 100)) // INCRBY 100 at a, replicated to b
	del := c["b"].Delete(nil)         // b deletes the 100 it saw
	inc := c.incr(t, "a", 1)          // a has not seen the delete: its share becomes 101
	if v, _ := c["b"].Value(); v != 0 {
		t.Fatalf("b after its delete: %d, want 0", v)
	}
	c["b"].Merge(inc) // the increment arrives at b before b's delete reaches a
	if v, _ := c["b"].Value(); v != 1 {
		t.Fatalf("b after a's increment: %d, want 1 (101 above the 100 it deleted)", v)
	}
	c["a"].Merge(del)
	if v, _ := c["a"].Value(); v != 1 {
		t.Fatalf("a after b's delete: %d, want 1", v)
	}
	c.exchange()
	c.wantValue(t, 1)
}

func TestIncrementAfterReceivingTheDeleteCountsAlone(t *testing.T) {
	c := newCluster("a", "b", "c")
	first := c.incr(t, "a", 100)
	c["b"].Merge(first)
	c["c"].Merge(first)
	del := c["b"].Delete(nil)
	c["a"].Merge(del) // a receives the delete, c does not yet
	if v, _ := c["a"].Value(); v != 0 || !c["a"].IsEmpty() {
		t.Fatalf("a after the delete: %d, %v", v, c["a"])
	}
	inc := c.incr(t, "a", 1) // counts from the 100 the delete removed
	if v, _ := c["a"].Value(); v != 1 {
		t.Fatalf("a after INCR: %d, want 1", v)
	}
	// c still holds a's share of 100: the increment's delta supersedes it
	// and carries the baseline, so c counts 1 at once.
	c["c"].Merge(inc)
	if v, _ := c["c"].Value(); v != 1 {
		t.Fatalf("c, which has not received the delete, reads %d after a's increment, want 1: %v", v, c["c"])
	}
	c.exchange()
	c.wantValue(t, 1)
}

func TestConcurrentDeletesObservingDifferentShares(t *testing.T) {
	c := newCluster("a", "b", "c", "x")
	c["b"].Merge(c.incr(t, "a", 10)) // b sees a at 10
	a2 := c.incr(t, "a", 5)          // a at 15
	x1 := c.incr(t, "x", 7)
	c["c"].Merge(a2) // c sees a at 15 and x at 7
	c["c"].Merge(x1)
	delB := c["b"].Delete(nil) // observes a:10
	delC := c["c"].Delete(nil) // observes a:15 and x:7, concurrently
	incA := c.incr(t, "a", 1)  // neither delete seen: a at 16
	incX := c.incr(t, "x", 2)  // x at 9
	// A replica that receives everything in one order or another.
	for _, order := range [][]crdt.State{{delB, delC, incA, incX}, {incA, incX, delC, delB}, {incX, delB, incA, delC}} {
		var r crdt.State
		for _, d := range order {
			r.Merge(d)
		}
		if v, err := r.Value(); err != nil || v != 1+2 {
			t.Errorf("deltas merged in order: %d (%v), want 3; %v", v, err, r)
		}
		if got := r.Resets(); len(got) != 2 || got[0] != (crdt.Reset{Node: "a", Inc: 15}) || got[1] != (crdt.Reset{Node: "x", Inc: 7}) {
			t.Errorf("resets %v, want a at 15 (the later of the two deletes) and x at 7", got)
		}
	}
	c.exchange()
	c.wantValue(t, 3)
}

func TestPutOverACounterConcurrentWithAnIncrement(t *testing.T) {
	c := newCluster("a", "b")
	c["b"].Merge(c.incr(t, "a", 10))
	c["a"].Merge(c.incr(t, "b", 5))
	put := c["a"].Put("a", []byte("text"), ts(1), nil) // SET over the counter (a at 10, b at 5)
	inc, _ := c["b"].Incr("b", 1, ts(2))               // b increments concurrently, later by the clock
	c["a"].Merge(inc)
	c["b"].Merge(put)
	// Both writes survive: the key holds a register value and b's share.
	// The reader sees the later write's kind, a counter, and its value is
	// the concurrent increment alone; the SET's value stays inspectable.
	for n, s := range c {
		if s.Kind() != crdt.KindCounter || len(s.Siblings()) != 1 {
			t.Fatalf("%s: kind %s, siblings %v; want a counter beside the SET's value", n, s.Kind(), s.Siblings())
		}
	}
	c.wantValue(t, 1)
	// A later INCR at a supersedes the register value it saw and counts
	// from what the SET removed of a's share: a's 10 does not come back.
	inc2 := c.incr(t, "a", 1)
	c["b"].Merge(inc2)
	for n, s := range c {
		if len(s.Siblings()) != 0 || s.Kind() != crdt.KindCounter {
			t.Fatalf("%s: after INCR, siblings %v, kind %s", n, s.Siblings(), s.Kind())
		}
	}
	c.wantValue(t, 2)

	// Had the SET been later by the clock, the reader would see the
	// string, and INCR would be refused until a write superseded it.
	d := newCluster("a", "b")
	d["b"].Merge(d.incr(t, "a", 10))
	put = d["a"].Put("a", []byte("text"), ts(3), nil)
	inc, _ = d["b"].Incr("b", 1, ts(2))
	d["a"].Merge(inc)
	d["b"].Merge(put)
	if w, ok := d["a"].Get(); d["a"].Kind() != crdt.KindRegister || !ok || string(w.Value) != "text" {
		t.Fatalf("kind %s, value %q: want the later SET", d["a"].Kind(), w.Value)
	}
	if _, err := d["a"].Incr("a", 1, ts(4)); !errors.Is(err, crdt.ErrWrongType) {
		t.Fatalf("INCR on a key a reader sees as a string: %v, want ErrWrongType", err)
	}
}

func TestResetConcurrentWithIncrementConvergesInAnyOrder(t *testing.T) {
	var a, b crdt.State
	d1, _ := a.Incr("a", 100, ts(0))
	b.Merge(d1)
	d2, _ := b.Incr("b", -30, ts(1))
	a.Merge(d2)
	del := a.Delete(nil)             // observes a at 100 and b at -30
	inc, _ := b.Incr("b", 4, ts(2))  // concurrent: b's share becomes +4 -30
	dec, _ := b.Incr("b", -1, ts(3)) // and +4 -31
	deltas := []crdt.State{d1, d2, del, inc, dec}
	var want crdt.State
	for i, order := range permutations(len(deltas)) {
		var r crdt.State
		for _, k := range order {
			r.Merge(deltas[k])
			r.Merge(deltas[k]) // and again: merges are idempotent
		}
		if v, err := r.Value(); err != nil || v != 4-1 {
			t.Fatalf("order %v: value %d (%v), want 3; %v", order, v, err, r)
		}
		if i == 0 {
			want = r
		} else if !r.Equal(want) {
			t.Fatalf("order %v: %v, differs from %v", order, r, want)
		}
	}
}

// permutations returns every order of 0..n-1.
func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

func TestResetsAreKeptByTombstonesAndMerges(t *testing.T) {
	var a crdt.State
	a.Incr("a", 7, ts(0))
	a.Incr("a", -2, ts(1))
	del := a.Delete(nil)
	if !del.IsEmpty() || del.IsZero() || del.Kind() != crdt.KindNone {
		t.Fatalf("a tombstone with a reset: empty %v, zero %v, kind %s", del.IsEmpty(), del.IsZero(), del.Kind())
	}
	if got := del.Resets(); len(got) != 1 || got[0] != (crdt.Reset{Node: "a", Inc: 7, Dec: 2}) {
		t.Fatalf("resets %v, want a at +7 -2", got)
	}
	c := del.Clone()
	c.Merge(crdt.State{})
	if !c.Equal(del) || c.Equal(crdt.State{}) {
		t.Fatal("Clone, Merge or Equal lost the reset")
	}
	var other crdt.State
	other.Merge(del)
	other.Put("b", []byte("v"), ts(2), nil) // a Put carries the resets it knows
	if got := other.Resets(); len(got) != 1 {
		t.Fatalf("a Put over a tombstone dropped its reset: %v", other)
	}
}

func TestAssembleChecksResets(t *testing.T) {
	ctx := crdt.NewContext([]crdt.Dot{{Node: "a", Counter: 2}}, []crdt.Dot{{Node: "c", Counter: 5}})
	share := crdt.Share{Dot: crdt.Dot{Node: "a", Counter: 2}, Inc: 3, Dec: 9}
	tests := []struct {
		name   string
		resets []crdt.Reset
		ok     bool
	}{
		{"none", nil, true},
		{"one per node", []crdt.Reset{{Node: "a", Inc: 1}, {Node: "c", Dec: 1}}, true},
		{"a node seen only in the cloud", []crdt.Reset{{Node: "c", Inc: 1}}, true},
		{"no node", []crdt.Reset{{Inc: 1}}, false},
		{"a node twice", []crdt.Reset{{Node: "a", Inc: 1}, {Node: "a", Inc: 2}}, false},
		{"a node not in the context", []crdt.Reset{{Node: "b", Inc: 1}}, false},
		{"zero", []crdt.Reset{{Node: "a"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := crdt.Assemble(crdt.Parts{Context: ctx, Shares: []crdt.Share{share}, Resets: tt.resets})
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, crdt.ErrInvalid)) {
				t.Fatalf("Assemble: %v, want ok %v", err, tt.ok)
			}
			if err == nil && fmt.Sprint(s.Resets()) != fmt.Sprint(sortedResets(tt.resets)) {
				t.Fatalf("resets %v, want %v", s.Resets(), tt.resets)
			}
		})
	}
}

func sortedResets(r []crdt.Reset) []crdt.Reset {
	if r == nil {
		return []crdt.Reset{}
	}
	return r
}

// TestValueSaturatesBelowTheReset: the mutators never make a share below
// its replica's baseline; a state assembled with one counts it as 0, each
// of its totals separately.
func TestValueSaturatesBelowTheReset(t *testing.T) {
	ctx := crdt.NewContext([]crdt.Dot{{Node: "a", Counter: 1}, {Node: "b", Counter: 1}}, nil)
	s, err := crdt.Assemble(crdt.Parts{
		Context: ctx,
		Shares: []crdt.Share{
			{Dot: crdt.Dot{Node: "a", Counter: 1}, Inc: 3, Dec: 9}, // below a's reset in Inc, above in Dec
			{Dot: crdt.Dot{Node: "b", Counter: 1}, Inc: math.MaxUint64},
		},
		Resets: []crdt.Reset{{Node: "a", Inc: 5, Dec: 4}, {Node: "b", Inc: math.MaxUint64 - 10}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Value(); err != nil || v != -(9-4)+10 {
		t.Fatalf("value %d (%v), want 0 - 5 + 10", v, err)
	}
	// An increment counts from the later of the share and the baseline,
	// componentwise, and adds exactly its amount to the value.
	if _, err := s.Incr("a", 1, ts(0)); err != nil {
		t.Fatal(err)
	}
	if got := s.Shares()[0]; got.Inc != 6 || got.Dec != 9 {
		t.Fatalf("a's new share %+v, want +6 -9", got)
	}
	if v, _ := s.Value(); v != 5+1 {
		t.Fatalf("after INCR at a: %d, want 6", v)
	}
}

// TestDeleteWithAnOlderClientContext pins down the limit crdt/doc.go
// states: a client's context names dots, not totals, so a delete whose
// context names an older share than its coordinator holds cannot reset
// what the client saw of it, and leaves the newer share whole.
func TestDeleteWithAnOlderClientContext(t *testing.T) {
	var r crdt.State
	r.Incr("a", 100, ts(0))
	read := r.Context() // the client reads 100
	r.Incr("a", 1, ts(1))
	r.Delete(&read)
	if v, _ := r.Value(); v != 101 || len(r.Resets()) != 0 {
		t.Fatalf("value %d, resets %v: want a's newer share whole", v, r.Resets())
	}
	// With the coordinator's own context, it resets everything it holds.
	r.Delete(nil)
	r.Incr("a", 1, ts(2))
	if v, _ := r.Value(); v != 1 {
		t.Fatalf("after a blind delete and INCR: %d, want 1", v)
	}
}
