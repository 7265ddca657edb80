package crdt_test

import (
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/meridiankv/meridian/crdt"
	"pgregory.net/rapid"
)

// The properties below run random histories: 3 to 5 replicas apply random
// operations of one kind (or of all kinds, "mixed"), ship each delta to every
// other replica over a network that reorders, duplicates and drops, and end
// with a full exchange of states. Coarse timestamps make ties common.

var histories = map[string]*atomic.Int64{}

func counterFor(kind string) *atomic.Int64 {
	if histories[kind] == nil {
		histories[kind] = new(atomic.Int64)
	}
	return histories[kind]
}

var kinds = []string{"register", "set", "counter", "mixed"}

type message struct {
	to    int
	delta crdt.State
}

// universe is one random history: replicas, the deltas they minted, the
// messages in flight and snapshots of earlier states.
type universe struct {
	kind      string
	nodes     []crdt.NodeID
	states    []crdt.State
	deltas    []crdt.State
	snapshots []crdt.State
	inflight  []message
	sum       int64 // sum of all increments, meaningful while noDelete
	noDelete  bool
	stale     bool // allow register writes with an old context
}

func newUniverse(t *rapid.T, kind string) *universe {
	n := rapid.IntRange(3, 5).Draw(t, "replicas")
	u := &universe{kind: kind, states: make([]crdt.State, n)}
	for i := range n {
		u.nodes = append(u.nodes, crdt.NodeID(fmt.Sprintf("n%d", i)))
	}
	u.noDelete = kind == "counter" && rapid.Bool().Draw(t, "noDelete")
	u.stale = rapid.Bool().Draw(t, "staleContexts")
	return u
}

var elements = []string{"a", "b", "c", "d", "e"}

// apply runs one random operation at replica r, checks that the delta it
// returns equals the operation, and puts the delta on the network.
func (u *universe) apply(t *rapid.T, r int) {
	s := &u.states[r]
	before := s.Clone()
	ts := crdt.Timestamp{Wall: rapid.Int64Range(0, 4).Draw(t, "wall")} // coarse: ties are common
	node := u.nodes[r]
	kind := u.kind
	if kind == "mixed" {
		kind = rapid.SampledFrom([]string{"register", "set", "counter"}).Draw(t, "opKind")
	}
	var delta crdt.State
	var err error
	switch op := rapid.IntRange(0, 9).Draw(t, "op"); {
	case op == 0 && !u.noDelete:
		delta = s.Delete(nil)
	case kind == "register" && op == 1 && u.stale && len(u.snapshots) > 0:
		old := rapid.SampledFrom(u.snapshots).Draw(t, "seen").Context()
		delta = s.Put(node, []byte{byte(op)}, ts, &old)
	case kind == "register":
		delta = s.Put(node, []byte(rapid.StringN(0, 3, 3).Draw(t, "value")), ts, nil)
	case kind == "set" && op < 4:
		delta, err = s.Remove(rapid.SliceOfN(rapid.SampledFrom(elements), 1, 2).Draw(t, "rem")...)
	case kind == "set":
		delta, err = s.Add(node, ts, rapid.SliceOfN(rapid.SampledFrom(elements), 1, 3).Draw(t, "add")...)
	default:
		by := rapid.Int64Range(-100, 100).Draw(t, "by")
		if delta, err = s.Incr(node, by, ts); err == nil {
			u.sum += by
		}
	}
	if err != nil {
		if !s.Equal(before) {
			t.Fatalf("a refused operation (%v) changed the state", err)
		}
		return
	}
	if want := crdt.Merge(before, delta); !s.Equal(want) {
		t.Fatalf("delta differs from the operation:\n op:    %v\n delta: %v", s, want)
	}
	if !crdt.Merge(*s, delta).Equal(*s) {
		t.Fatal("merging a delta twice changed the state")
	}
	u.deltas = append(u.deltas, delta)
	u.snapshots = append(u.snapshots, s.Clone())
	for o := range u.states {
		if o != r {
			u.inflight = append(u.inflight, message{to: o, delta: delta})
		}
	}
}

// deliver delivers, duplicates or drops one message in flight.
func (u *universe) deliver(t *rapid.T) {
	if len(u.inflight) == 0 {
		return
	}
	i := rapid.IntRange(0, len(u.inflight)-1).Draw(t, "msg")
	m := u.inflight[i]
	switch rapid.IntRange(0, 9).Draw(t, "fate") {
	case 0: // dropped
	case 1: // duplicated: delivered now and stays in flight
		u.states[m.to].Merge(m.delta)
		return
	default:
		u.states[m.to].Merge(m.delta)
	}
	u.inflight = slices.Delete(u.inflight, i, i+1)
}

// run plays a random history and ends with a full exchange of states.
func (u *universe) run(t *rapid.T) {
	steps := rapid.IntRange(1, 40).Draw(t, "steps")
	for range steps {
		if rapid.IntRange(0, 2).Draw(t, "action") == 0 {
			u.deliver(t)
		} else {
			u.apply(t, rapid.IntRange(0, len(u.states)-1).Draw(t, "replica"))
		}
	}
	for range 2 {
		for i := range u.states {
			for j := range u.states {
				u.states[i].Merge(u.states[j])
			}
		}
	}
}

// reference computes the live dots straight from the definition: a dot a
// delta created lives unless some delta's context holds it without holding
// it as an entry.
func reference(deltas []crdt.State) []crdt.Dot {
	created := map[crdt.Dot]bool{}
	for _, d := range deltas {
		for _, x := range liveDots(d) {
			created[x] = true
		}
	}
	var out []crdt.Dot
	for x := range created {
		alive := true
		for _, d := range deltas {
			if d.Context().Contains(x) && !slices.Contains(liveDots(d), x) {
				alive = false
				break
			}
		}
		if alive {
			out = append(out, x)
		}
	}
	slices.SortFunc(out, crdt.CompareDots)
	return out
}

func liveDots(s crdt.State) []crdt.Dot {
	var out []crdt.Dot
	for _, x := range s.Siblings() {
		out = append(out, x.Dot)
	}
	for _, x := range s.MemberDots() {
		out = append(out, x.Dot)
	}
	for _, x := range s.Shares() {
		out = append(out, x.Dot)
	}
	slices.SortFunc(out, crdt.CompareDots)
	return out
}

func TestRandomHistoriesConverge(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				counterFor(kind).Add(1)
				u := newUniverse(t, kind)
				u.run(t)
				final := u.states[0]
				for i, s := range u.states {
					if !s.Equal(final) {
						t.Fatalf("replica %d differs after the full exchange:\n%v\n%v", i, s, final)
					}
				}
				if got, want := liveDots(final), reference(u.deltas); !slices.Equal(got, want) {
					t.Fatalf("live dots %v, reference says %v", got, want)
				}
				switch kind {
				case "register":
					if n := len(final.Siblings()); !u.stale && n > len(u.states) {
						t.Fatalf("%d siblings from %d blind writers", n, len(u.states))
					}
				case "set":
					perElement := map[string]int{}
					for _, m := range final.MemberDots() {
						if perElement[m.Value]++; perElement[m.Value] > len(u.states) {
							t.Fatalf("element %q holds more dots than there are writers: %v", m.Value, final.MemberDots())
						}
					}
				case "counter":
					if v, err := final.Value(); u.noDelete && (err != nil || v != u.sum) {
						t.Fatalf("counter = %d (%v), want the exact sum %d", v, err, u.sum)
					}
				}
			})
			t.Logf("%s: %d random histories converged", kind, counterFor(kind).Load())
		})
	}
}

func TestMergeLaws(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				u := newUniverse(t, kind)
				u.run(t)
				pool := slices.Concat(u.states, u.snapshots, u.deltas, []crdt.State{{}})
				pick := rapid.SampledFrom(pool)
				a, b, c := pick.Draw(t, "a"), pick.Draw(t, "b"), pick.Draw(t, "c")
				a0, b0 := a.Clone(), b.Clone()
				ab := crdt.Merge(a, b)
				if !a.Equal(a0) || !b.Equal(b0) {
					t.Fatal("Merge changed its arguments")
				}
				if !ab.Equal(crdt.Merge(b, a)) {
					t.Fatalf("not commutative:\n a=%v\n b=%v", a, b)
				}
				if !crdt.Merge(ab, c).Equal(crdt.Merge(a, crdt.Merge(b, c))) {
					t.Fatalf("not associative:\n a=%v\n b=%v\n c=%v", a, b, c)
				}
				if !crdt.Merge(a, a).Equal(a) {
					t.Fatalf("not idempotent: %v", a)
				}
				if v, c := ab.ContextDots(); !slices.Equal(v, ab.Context().Vector()) || !slices.Equal(c, ab.Context().Cloud()) {
					t.Fatalf("ContextDots = %v, %v; the context's parts are %v, %v", v, c, ab.Context().Vector(), ab.Context().Cloud())
				}
				ab.Put("x", []byte("mutated"), crdt.Timestamp{}, nil)
				if !a.Equal(a0) || !b.Equal(b0) {
					t.Fatal("the result of Merge shares memory with its arguments")
				}
			})
		})
	}
}
