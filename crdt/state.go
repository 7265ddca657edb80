package crdt

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
)

// Kind is the type of value a key holds.
type Kind uint8

// The kinds of value. A key that was never written or whose value was
// deleted is KindNone.
const (
	KindNone     Kind = iota // no live value: never written, or deleted
	KindRegister             // a multi-value register (Put)
	KindSet                  // an add-wins set (Add, Remove)
	KindCounter              // a PN-counter (Incr)
)

// String returns "none", "register", "set" or "counter".
func (k Kind) String() string {
	switch k {
	case KindNone:
		return "none"
	case KindRegister:
		return "register"
	case KindSet:
		return "set"
	case KindCounter:
		return "counter"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ErrWrongType is returned by a mutator applied to a key that holds another
// kind of value, such as Add on a counter. Use errors.Is(err, ErrWrongType).
var ErrWrongType = errors.New("crdt: operation against a key holding the wrong kind of value")

// ErrInvalid is returned by Assemble for parts that do not form a state.
var ErrInvalid = errors.New("crdt: invalid state")

// State is everything a replica knows about one key: a causal context and the
// live entries of the three value kinds, each entry named by the dot of the
// write that created it. An entry lives until a write whose context contains
// its dot supersedes it; a write's context is what its writer had seen, so
// concurrent writes never remove each other (Almeida, Shoker and Baquero,
// "Delta state replicated data types", 2018; the register is a multi-value
// register over dotted version vectors, Preguiça et al. 2012).
//
// The kinds share one context so that a key can change kind (a Put replaces a
// set) and so that writes of different kinds made concurrently in two regions
// still merge; Kind says which one a reader sees.
//
// A counter's state also holds, per replica, the reset baseline its
// share was last removed at (see Value): what a delete removed of a share
// that a concurrent increment carries forward.
//
// The zero State is the empty key. The function Merge returns a new State and
// mutators change only their receiver; none of them keeps a reference to
// mutable memory of its arguments. A State holds maps, so assigning one shares
// them: Clone before changing a copy. Byte slices handed in or out must not be
// modified.
type State struct {
	ctx Context
	reg map[Dot]regEntry
	set map[string]map[Dot]Timestamp
	cnt map[Dot]cntEntry
	rst map[NodeID]totals
}

type regEntry struct {
	time  Timestamp
	value []byte
}

type cntEntry struct {
	time Timestamp
	totals
}

// totals are a replica's running increment and decrement totals, or a
// reset baseline of them.
type totals struct{ inc, dec uint64 }

// isZero reports whether t is (0, 0), the baseline of a replica never reset.
func (t totals) isZero() bool { return t.inc == 0 && t.dec == 0 }

// join returns the componentwise maximum of t and o. Each replica's totals
// only grow along its dots, so the join of two baselines is the later one.
func (t totals) join(o totals) totals { return totals{inc: max(t.inc, o.inc), dec: max(t.dec, o.dec)} }

// Merge returns the join of a and b: the state that has seen every write
// either has seen. It is commutative, associative and idempotent, and never
// fails.
func Merge(a, b State) State {
	m := a.Clone()
	m.Merge(b)
	return m
}

// Merge joins o into s in place. Deltas returned by mutators are merged this way.
func (s *State) Merge(o State) {
	s.reg = joinDots(s.reg, o.reg, s.ctx, o.ctx, maxReg)
	s.cnt = joinDots(s.cnt, o.cnt, s.ctx, o.ctx, maxCnt)
	s.set = joinSet(s.set, o.set, s.ctx, o.ctx)
	s.rst = joinResets(s.rst, o.rst)
	s.ctx.Merge(o.ctx)
}

// Delete removes every entry whose dot is in seen, or every entry s holds when
// seen is nil, and returns the delta: a tombstone made of the context and
// the reset baselines of the counter shares it removes (see Value). A write
// concurrent with the delete (not in its context) survives it; an increment
// concurrent with it counts from the totals the delete removed.
func (s *State) Delete(seen *Context) State {
	base := s.ctx
	if seen != nil {
		base = *seen
	}
	delta := State{ctx: base.Clone()}
	s.carryResets(&delta)
	s.Merge(delta)
	return delta
}

// Context returns a copy of the dots s has seen: the context a reader hands
// back with a write to supersede exactly what it read.
func (s State) Context() Context { return s.ctx.Clone() }

// ContextDots returns the parts of s's context, as Context().Vector() and
// Context().Cloud() do, without copying the context first: what an encoder
// needs.
func (s State) ContextDots() (vector, cloud []Dot) { return s.ctx.Vector(), s.ctx.Cloud() }

// Clone returns a copy of s sharing no mutable memory with it.
func (s State) Clone() State {
	c := State{ctx: s.ctx.Clone(), reg: cloneMap(s.reg), cnt: cloneMap(s.cnt), rst: cloneMap(s.rst)}
	if len(s.set) > 0 {
		c.set = make(map[string]map[Dot]Timestamp, len(s.set))
		for e, dots := range s.set {
			c.set[e] = maps.Clone(dots)
		}
	}
	return c
}

// IsEmpty reports whether s holds no live value (it may still hold a context
// and reset baselines: a tombstone).
func (s State) IsEmpty() bool { return len(s.reg) == 0 && len(s.set) == 0 && len(s.cnt) == 0 }

// IsZero reports whether s is the state of a key nothing was ever written to:
// no live value, no context, no reset baseline.
func (s State) IsZero() bool { return s.IsEmpty() && s.ctx.IsEmpty() && len(s.rst) == 0 }

// Equal reports whether s and o hold the same context, entries and reset
// baselines.
func (s State) Equal(o State) bool {
	if !s.ctx.Equal(o.ctx) || len(s.set) != len(o.set) || !maps.Equal(s.rst, o.rst) {
		return false
	}
	if !maps.EqualFunc(s.reg, o.reg, func(x, y regEntry) bool {
		return x.time == y.time && bytes.Equal(x.value, y.value)
	}) || !maps.Equal(s.cnt, o.cnt) {
		return false
	}
	for e, dots := range s.set {
		if od, ok := o.set[e]; !ok || !maps.Equal(dots, od) {
			return false
		}
	}
	return true
}

// Kind returns the kind of value a reader sees. When writes of different
// kinds were concurrent, the kind of the live entry with the highest
// (timestamp, node, counter) wins; the others stay inspectable until a write
// that has seen them supersedes them.
func (s State) Kind() Kind {
	switch {
	case len(s.reg) > 0 && len(s.set) == 0 && len(s.cnt) == 0:
		return KindRegister
	case len(s.set) > 0 && len(s.reg) == 0 && len(s.cnt) == 0:
		return KindSet
	case len(s.cnt) > 0 && len(s.reg) == 0 && len(s.set) == 0:
		return KindCounter
	case s.IsEmpty():
		return KindNone
	}
	best, kind := Sibling{}, KindNone
	consider := func(k Kind, d Dot, t Timestamp) {
		if c := (Sibling{Dot: d, Time: t}); kind == KindNone || compareSiblings(c, best) > 0 {
			best, kind = c, k
		}
	}
	for d, e := range s.reg {
		consider(KindRegister, d, e.time)
	}
	for _, dots := range s.set {
		for d, t := range dots {
			consider(KindSet, d, t)
		}
	}
	for d, e := range s.cnt {
		consider(KindCounter, d, e.time)
	}
	return kind
}

// String renders s for debugging and test failures.
func (s State) String() string {
	return fmt.Sprintf("State{kind=%s ctx=%s reg=%v set=%v cnt=%v rst=%v}", s.Kind(), s.ctx, s.Siblings(), s.Members(), s.Shares(), s.Resets())
}

// otherDots returns a context holding the dots of the live entries of every
// kind but keep. A typed write includes it in its delta so that it
// supersedes what it saw of a concurrent write of another kind.
func (s State) otherDots(keep Kind) Context {
	var c Context
	if keep != KindRegister {
		for d := range s.reg {
			c.insert(d)
		}
	}
	if keep != KindSet {
		for _, dots := range s.set {
			for d := range dots {
				c.insert(d)
			}
		}
	}
	if keep != KindCounter {
		for d := range s.cnt {
			c.insert(d)
		}
	}
	return c
}

// checkKind returns ErrWrongType unless s is empty or of kind k.
func (s State) checkKind(k Kind) error {
	if got := s.Kind(); got != KindNone && got != k {
		return fmt.Errorf("%w: key holds a %s, not a %s", ErrWrongType, got, k)
	}
	return nil
}

// joinDots joins two dot-keyed maps: an entry survives if both sides hold it,
// or if the side that lacks it has not seen its dot. a is updated in place and
// returned; bctx and actx are the contexts before the join. pick chooses
// between two payloads under the same dot, which only a broken dot generator
// produces; it must be commutative so that merge stays so.
func joinDots[V any](a, b map[Dot]V, actx, bctx Context, pick func(x, y V) V) map[Dot]V {
	for d := range a {
		if _, ok := b[d]; !ok && bctx.Contains(d) {
			delete(a, d)
		}
	}
	for d, v := range b {
		if av, ok := a[d]; ok {
			a[d] = pick(av, v)
		} else if !actx.Contains(d) {
			if a == nil {
				a = make(map[Dot]V, len(b))
			}
			a[d] = v
		}
	}
	if len(a) == 0 {
		return nil
	}
	return a
}

func joinSet(a, b map[string]map[Dot]Timestamp, actx, bctx Context) map[string]map[Dot]Timestamp {
	for e, dots := range a {
		if j := joinDots(dots, b[e], actx, bctx, maxTime); j != nil {
			a[e] = j
		} else {
			delete(a, e)
		}
	}
	for e, dots := range b {
		if _, done := a[e]; done {
			continue
		}
		var kept map[Dot]Timestamp
		for d, t := range dots {
			if !actx.Contains(d) {
				if kept == nil {
					kept = make(map[Dot]Timestamp, len(dots))
				}
				kept[d] = t
			}
		}
		if kept != nil {
			if a == nil {
				a = make(map[string]map[Dot]Timestamp, len(b))
			}
			a[e] = kept
		}
	}
	if len(a) == 0 {
		return nil
	}
	return a
}

func maxTime(x, y Timestamp) Timestamp {
	if y.Compare(x) > 0 {
		return y
	}
	return x
}

func maxReg(x, y regEntry) regEntry {
	if c := y.time.Compare(x.time); c > 0 || (c == 0 && bytes.Compare(y.value, x.value) > 0) {
		return y
	}
	return x
}

func maxCnt(x, y cntEntry) cntEntry {
	switch c := y.time.Compare(x.time); {
	case c > 0:
		return y
	case c < 0:
		return x
	case y.inc != x.inc:
		if y.inc > x.inc {
			return y
		}
		return x
	case y.dec > x.dec:
		return y
	}
	return x
}
