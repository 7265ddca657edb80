package crdt_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/meridiankv/meridian/crdt"
)

// Each test here answers one question a user would ask, in the words of the
// semantics table in the README.

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

func ts(offset time.Duration) crdt.Timestamp { return crdt.Timestamp{Wall: t0 + int64(offset)} }

func TestTwoRegionsSetTheSameKeyConcurrently(t *testing.T) {
	var eu, us crdt.State
	dEU := eu.Put("eu-1", []byte("from eu"), ts(2*time.Millisecond), nil)
	dUS := us.Put("us-1", []byte("from us"), ts(1*time.Millisecond), nil)
	eu.Merge(dUS)
	us.Merge(dEU)

	if !eu.Equal(us) {
		t.Fatalf("replicas differ after exchanging deltas:\n%v\n%v", eu, us)
	}
	sibs := eu.Siblings()
	if len(sibs) != 2 {
		t.Fatalf("want 2 siblings, got %d: %v", len(sibs), sibs)
	}
	if w, _ := eu.Get(); string(w.Value) != "from eu" {
		t.Fatalf("read picked %q, want the later HLC write %q", w.Value, "from eu")
	}
	if string(sibs[1].Value) != "from us" || sibs[1].Dot.Node != "us-1" {
		t.Fatalf("losing sibling not inspectable: %v", sibs)
	}

	// A SET that has seen both collapses them to one, everywhere.
	seen := eu.Context()
	d := us.Put("us-1", []byte("resolved"), ts(0), &seen)
	eu.Merge(d)
	for name, s := range map[string]crdt.State{"eu": eu, "us": us} {
		if sibs := s.Siblings(); len(sibs) != 1 || string(sibs[0].Value) != "resolved" {
			t.Fatalf("%s: want the one resolved value, got %v", name, sibs)
		}
	}
}

func TestEqualTimestampsFallBackToNodeOrder(t *testing.T) {
	var a, b crdt.State
	da := a.Put("a", []byte("A"), ts(0), nil)
	db := b.Put("b", []byte("B"), ts(0), nil)
	a.Merge(db)
	b.Merge(da)
	for _, s := range []crdt.State{a, b} {
		if w, _ := s.Get(); string(w.Value) != "B" {
			t.Fatalf("tie on timestamp must be broken by node id (b > a); got %q", w.Value)
		}
	}
}

func TestBlindWritesAndRetriesDoNotAddSiblings(t *testing.T) {
	var s crdt.State
	for i := range 100 {
		s.Put("n1", []byte("retry"), ts(time.Duration(i)), nil)
	}
	if n := len(s.Siblings()); n != 1 {
		t.Fatalf("100 blind writes through one replica left %d siblings, want 1", n)
	}
	if got := len(s.Context().Vector()); got != 1 || len(s.Context().Cloud()) != 0 {
		t.Fatalf("context not compact: %v", s.Context())
	}
}

func TestDeleteConcurrentWithSetKeepsTheSet(t *testing.T) {
	var a, b crdt.State
	a.Merge(b.Put("b", []byte("v1"), ts(0), nil))

	del := a.Delete(nil)                                  // a deletes v1
	put := b.Put("b", []byte("v2"), ts(time.Second), nil) // b concurrently writes v2
	a.Merge(put)
	b.Merge(del)
	for name, s := range map[string]crdt.State{"a": a, "b": b} {
		if w, ok := s.Get(); !ok || string(w.Value) != "v2" || len(s.Siblings()) != 1 {
			t.Fatalf("%s: the concurrent SET must survive the DELETE; got %v", name, s.Siblings())
		}
	}

	// A DELETE that has seen the SET removes it everywhere.
	del = a.Delete(nil)
	b.Merge(del)
	for name, s := range map[string]crdt.State{"a": a, "b": b} {
		if s.Kind() != crdt.KindNone || !s.IsEmpty() {
			t.Fatalf("%s: want the key gone after an observed DELETE, got %v", name, s)
		}
	}
	// The tombstone is a context only, and a stale replay of the old SET
	// cannot resurrect the value.
	a.Merge(put)
	if !a.IsEmpty() {
		t.Fatalf("replaying a deleted write resurrected it: %v", a)
	}
}

func TestConcurrentAddAndRemoveOfOneElement(t *testing.T) {
	var a, b crdt.State
	add, err := a.Add("a", ts(0), "x")
	if err != nil {
		t.Fatal(err)
	}
	b.Merge(add)

	rem, _ := b.Remove("x")           // b removes the x it saw
	add2, _ := a.Add("a", ts(1), "x") // a adds x again concurrently
	a.Merge(rem)
	b.Merge(add2)
	for name, s := range map[string]crdt.State{"a": a, "b": b} {
		if !s.IsMember("x") {
			t.Fatalf("%s: add must win over a concurrent remove; members %v", name, s.Members())
		}
	}

	rem, _ = a.Remove("x") // a remove that observed every add of x
	b.Merge(rem)
	for name, s := range map[string]crdt.State{"a": a, "b": b} {
		if s.IsMember("x") || s.Card() != 0 {
			t.Fatalf("%s: x must be gone after an observed remove; members %v", name, s.Members())
		}
	}
}

func TestIncrementsFromThreeReplicasReorderedAndDuplicated(t *testing.T) {
	nodes := []crdt.NodeID{"n1", "n2", "n3"}
	states := make([]crdt.State, 3)
	var deltas []crdt.State
	want := int64(0)
	for i := range 30 {
		r := i % 3
		by := int64(i*7%11 - 5)
		d, err := states[r].Incr(nodes[r], by, ts(time.Duration(i)))
		if err != nil {
			t.Fatal(err)
		}
		want += by
		deltas = append(deltas, d)
	}
	// Deliver every delta to a fresh replica backwards, then everything twice.
	var r crdt.State
	for i := len(deltas) - 1; i >= 0; i-- {
		r.Merge(deltas[i])
	}
	for _, d := range deltas {
		r.Merge(d)
		r.Merge(d)
	}
	if got, err := r.Value(); err != nil || got != want {
		t.Fatalf("value = %d, %v; want exactly %d", got, err, want)
	}
}

func TestWriterWithSlowClockWinsAfterSeeingAnEarlierWrite(t *testing.T) {
	fast, slow := crdt.NewClock(0), crdt.NewClock(0)
	var a, b crdt.State
	a.Put("a", []byte("first"), fast.Now(t0), nil)

	// b's wall clock is ten minutes behind; it reads a's write, then writes.
	b.Merge(a)
	seen := b.Context()
	d := b.Put("b", []byte("second"), slow.Now(t0-int64(10*time.Minute)), &seen)
	a.Merge(d)
	for name, s := range map[string]crdt.State{"a": a, "b": b} {
		if w, _ := s.Get(); string(w.Value) != "second" || len(s.Siblings()) != 1 {
			t.Fatalf("%s: the write that saw the earlier one must win whatever the clocks say; got %v", name, s.Siblings())
		}
	}
}

func TestRemoteTimestampAnHourAheadIsRefused(t *testing.T) {
	c := crdt.NewClock(time.Minute)
	before := c.Now(t0)
	remote := crdt.Timestamp{Wall: t0 + int64(time.Hour)}
	got, err := c.Observe(remote, t0)
	var skew *crdt.SkewError
	if !errors.Is(err, crdt.ErrClockSkew) || !errors.As(err, &skew) {
		t.Fatalf("want a *SkewError matching ErrClockSkew, got %v", err)
	}
	if skew.Remote != remote || skew.MaxSkew != time.Minute {
		t.Fatalf("skew error lost its details: %+v", skew)
	}
	if got != before || c.Last() != before {
		t.Fatalf("a refused timestamp moved the clock: %v -> %v", before, c.Last())
	}
	// Within the bound it is absorbed.
	near := crdt.Timestamp{Wall: t0 + int64(30*time.Second)}
	if got, err := c.Observe(near, t0); err != nil || got.Compare(near) <= 0 {
		t.Fatalf("observe within bound = %v, %v; want after %v", got, err, near)
	}
}

func TestClockNeverGoesBackwards(t *testing.T) {
	tests := []struct {
		name     string
		physical []int64
	}{
		{"steady", []int64{10, 20, 30}},
		{"stalled", []int64{10, 10, 10}},
		{"jumps back", []int64{100, 5, 50, 99}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := crdt.NewClock(0)
			var last crdt.Timestamp
			for _, p := range tt.physical {
				now := c.Now(p)
				if now.Compare(last) <= 0 {
					t.Fatalf("Now(%d) = %v, not after %v", p, now, last)
				}
				last = now
			}
		})
	}
	c := crdt.NewClock(0)
	c.Now(100)
	remote := crdt.Timestamp{Wall: 500, Logical: 3}
	if got, _ := c.Observe(remote, 200); got.Compare(remote) <= 0 {
		t.Fatalf("Observe = %v, want after the remote %v", got, remote)
	}
	if got := c.Now(200); got.Compare(remote) <= 0 {
		t.Fatalf("Now after Observe = %v, went back before %v", got, remote)
	}
	full := crdt.Timestamp{Wall: 1000, Logical: math.MaxUint32}
	if got, _ := c.Observe(full, 0); got != (crdt.Timestamp{Wall: 1001}) {
		t.Fatalf("logical overflow: Observe = %v, want the wall part to carry", got)
	}
}

func TestWrongTypeIsRefusedAndChangesNothing(t *testing.T) {
	var reg, set, cnt crdt.State
	reg.Put("n", []byte("v"), ts(0), nil)
	if _, err := set.Add("n", ts(0), "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := cnt.Incr("n", 1, ts(0)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		s    crdt.State
		op   func(s *crdt.State) error
	}{
		{"SADD on a register", reg, func(s *crdt.State) error { _, err := s.Add("n", ts(1), "x"); return err }},
		{"SREM on a register", reg, func(s *crdt.State) error { _, err := s.Remove("x"); return err }},
		{"INCR on a register", reg, func(s *crdt.State) error { _, err := s.Incr("n", 1, ts(1)); return err }},
		{"INCR on a set", set, func(s *crdt.State) error { _, err := s.Incr("n", 1, ts(1)); return err }},
		{"SADD on a counter", cnt, func(s *crdt.State) error { _, err := s.Add("n", ts(1), "x"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.s.Clone()
			if err := tt.op(&s); !errors.Is(err, crdt.ErrWrongType) {
				t.Fatalf("want ErrWrongType, got %v", err)
			}
			if !s.Equal(tt.s) {
				t.Fatalf("refused operation changed the state: %v -> %v", tt.s, s)
			}
		})
	}
	// SET replaces any kind, as in Redis.
	s := set.Clone()
	s.Put("n", []byte("v"), ts(2), nil)
	if s.Kind() != crdt.KindRegister || s.Card() != 0 {
		t.Fatalf("SET over a set: kind %s, members %v", s.Kind(), s.Members())
	}
}

func TestCounterOverflowIsAnErrorNotAWrap(t *testing.T) {
	var s crdt.State
	if _, err := s.Incr("a", math.MaxInt64, ts(0)); err != nil {
		t.Fatal(err)
	}
	before := s.Clone()
	if _, err := s.Incr("a", 1, ts(1)); !errors.Is(err, crdt.ErrOverflow) {
		t.Fatalf("MaxInt64+1: want ErrOverflow, got %v", err)
	}
	if !s.Equal(before) {
		t.Fatal("a refused increment changed the counter")
	}
	var m crdt.State
	if _, err := m.Incr("a", math.MinInt64, ts(0)); err != nil {
		t.Fatal(err)
	}
	if v, _ := m.Value(); v != math.MinInt64 {
		t.Fatalf("value %d, want MinInt64", v)
	}
	if _, err := m.Incr("a", -1, ts(1)); !errors.Is(err, crdt.ErrOverflow) {
		t.Fatalf("MinInt64-1: want ErrOverflow, got %v", err)
	}

	// Two replicas each add MaxInt64 concurrently: the merge succeeds and the
	// read reports the overflow.
	var x, y crdt.State
	dx, _ := x.Incr("x", math.MaxInt64, ts(0))
	dy, _ := y.Incr("y", math.MaxInt64, ts(0))
	x.Merge(dy)
	y.Merge(dx)
	if _, err := x.Value(); !errors.Is(err, crdt.ErrOverflow) {
		t.Fatalf("merged value beyond int64: want ErrOverflow on read, got %v", err)
	}
	if _, err := x.Incr("x", -1, ts(1)); !errors.Is(err, crdt.ErrOverflow) {
		t.Fatalf("increment of an overflowed counter: want ErrOverflow, got %v", err)
	}
}

func TestConcurrentWritesOfDifferentKinds(t *testing.T) {
	var a, b crdt.State
	da := a.Put("a", []byte("string"), ts(1), nil)
	db, _ := b.Add("b", ts(2), "member")
	a.Merge(db)
	b.Merge(da)
	if !a.Equal(b) {
		t.Fatal("replicas differ")
	}
	if a.Kind() != crdt.KindSet {
		t.Fatalf("kind = %s, want set (the later write)", a.Kind())
	}
	if len(a.Siblings()) != 1 {
		t.Fatal("the losing register value must stay inspectable")
	}
	// The next write of the winning kind supersedes the loser it saw.
	a.Add("a", ts(3), "other")
	if len(a.Siblings()) != 0 || a.Card() != 2 {
		t.Fatalf("after SADD: siblings %v, members %v", a.Siblings(), a.Members())
	}
}

func TestCounterDeleteConcurrentWithIncrement(t *testing.T) {
	var a, b crdt.State
	d, _ := a.Incr("a", 10, ts(0))
	b.Merge(d)
	d, _ = b.Incr("b", 5, ts(1))
	a.Merge(d)

	del := a.Delete(nil)            // a deletes the counter it saw: 10 from a, 5 from b
	inc, _ := b.Incr("b", 1, ts(2)) // b increments concurrently: its share becomes 6
	b.Merge(del)
	a.Merge(inc)
	// Observed reset: the concurrent increment survives, and only it; what
	// the delete saw of every replica's share, b's 5 included, is gone.
	for name, s := range map[string]crdt.State{"a": a, "b": b} {
		if v, err := s.Value(); err != nil || v != 1 || s.Kind() != crdt.KindCounter {
			t.Fatalf("%s: value %d (%v), kind %s; want 1, counter", name, v, err, s.Kind())
		}
	}
	// A delete that saw everything removes it for good.
	b.Merge(a.Delete(nil))
	if !b.IsEmpty() {
		t.Fatalf("observed delete left %v", b)
	}
}

func TestMetadataStaysBoundedUnderChurn(t *testing.T) {
	nodes := []crdt.NodeID{"node-a", "node-b", "node-c"}
	states := make([]crdt.State, 3)
	for i := range 10_000 {
		r := i % 3
		var d crdt.State
		if i%2 == 0 {
			d = states[r].Put(nodes[r], []byte("value"), ts(time.Duration(i)), nil)
		} else {
			d = states[r].Delete(nil)
		}
		for o := range states {
			if o != r && (i+o)%5 != 0 { // some deltas are lost
				states[o].Merge(d)
			}
		}
	}
	for i := range states {
		for j := range states {
			states[i].Merge(states[j])
		}
	}
	for i, s := range states {
		ctx := s.Context()
		if len(ctx.Vector()) > 3 || len(ctx.Cloud()) != 0 || len(s.Siblings()) > 3 {
			t.Fatalf("replica %d holds metadata growing with operations: ctx %v, %d siblings", i, ctx, len(s.Siblings()))
		}
	}
}
