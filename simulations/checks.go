package simulations

import (
	"fmt"
	"slices"
	"strings"

	"github.com/meridiankv/meridian/crdt"
)

// The checks of one key's state against the history of its operations.
// Each takes the state to check and the read that returned it, or the
// final state of a region of the quiet cluster (finalOf: then every
// operation counts, and nothing may still be on its way).
//
// "x may have seen w" is decided by real time, soundly: x could have seen
// w only if x's effect was settled after w started (x.endT() > w.start).
// Operations acknowledged at a level of a quorum or more by the key's
// owners (strict) are held to the session guarantee: a strict operation
// acknowledged before another strict one started was seen by it, when
// their levels reach a common quorum (covers, scope.go).

// limit is the time up to which operations may be reflected in what r
// returned: when r was answered, or forever for a final state.
func limit(r *clientOp) int64 {
	if r.final {
		return never
	}
	return r.end
}

// strictRead reports whether the check is held to the session guarantee:
// a final state is; a read is when it was strict.
func strictRead(r *clientOp) bool { return r.final || r.strict }

// where names what is checked, for the messages.
func (s *Sim) where(r *clientOp) string {
	switch {
	case !r.final:
		return "read " + r.String()
	case len(s.regions) > 1:
		return "final state of region " + s.regions[r.region].name
	}
	return "final state"
}

// mustShow reports whether the acknowledged write w must be reflected in
// what r returned. A final state must reflect every acknowledged write
// that reached its region (mustReach): unless as many of its replicas
// lost data after it started as it had copies there when acknowledged (one
// at ONE, a quorum at QUORUM), which is what losing that many disks means.
// A read must reflect it when both are strict (seenBy).
func (s *Sim) mustShow(w, r *clientOp) bool {
	if r.final {
		return s.mustReach(w, r.region)
	}
	return r.strict && s.seenBy(w, r)
}

// seenBy reports whether the strict operation y must be reflected in what
// r returned: y was acknowledged before r started (or r is a final state),
// their levels reach a common quorum (covers), and no replica lost data
// for good in between (a removal, a wipe, a power loss under batched
// sync), which may have left y on fewer owners than a quorum until
// anti-entropy restores it.
func (s *Sim) seenBy(y, r *clientOp) bool {
	if !y.strict || !r.final && !before(y, r) || !s.covers(y, r) {
		return false
	}
	return !s.lostBetween(y.start, limit(r))
}

// lostBetween reports whether a replica lost data for good between times
// from and until.
func (s *Sim) lostBetween(from, until int64) bool {
	return slices.ContainsFunc(s.dataLoss, func(l loss) bool { return l.at >= from && l.at <= until })
}

func values(st crdt.State) []string {
	var out []string
	for _, sb := range st.Siblings() {
		out = append(out, string(sb.Value))
	}
	return out
}

// putOf returns the put that wrote v, or nil.
func putOf(ops []*clientOp, v string) *clientOp {
	i := slices.IndexFunc(ops, func(op *clientOp) bool { return op.kind == opPut && op.value == v })
	if i < 0 {
		return nil
	}
	return ops[i]
}

// supersededBy reports whether some other write of the key that may have
// applied could have seen w and started before lim: it may have replaced w.
func supersededBy(ops []*clientOp, w *clientOp, lim int64) bool {
	return slices.ContainsFunc(ops, func(y *clientOp) bool {
		return y != w && (y.kind == opPut || y.kind == opDel) && y.mayApply() && y.endT() > w.start && y.start < lim
	})
}

// checkRegister: every value returned was written (by a put that may have
// applied and started in time); an acknowledged put is there or a write
// that could have seen it may have replaced it; and, under the session
// guarantee, a strict put is there unless replaced, and gone once a strict
// write that followed it is reflected.
func (s *Sim) checkRegister(key string, ops []*clientOp, st crdt.State, r *clientOp) []error {
	var errs []error
	have := values(st)
	where := s.where(r)
	for _, v := range have {
		p := putOf(ops, v)
		if p == nil || !p.mayApply() || p.start >= limit(r) {
			errs = append(errs, fmt.Errorf("%s: %s holds %q, which no write that may have applied had written", key, where, v))
		}
	}
	for _, w := range ops {
		if w.kind != opPut {
			continue
		}
		present := slices.Contains(have, w.value)
		mustShow := s.mustShow(w, r)
		if mustShow && !present && !supersededBy(ops, w, limit(r)) {
			errs = append(errs, fmt.Errorf("%s: acknowledged write lost: %s%s is not in the %s (siblings %q), and no write that could have seen it ran",
				key, w, mintedBy(w), where, have))
		}
		if !present || !strictRead(r) || !s.seenBy(w, r) {
			continue
		}
		for _, b := range ops {
			if b != w && (b.kind == opPut || b.kind == opDel) && s.seenBy(w, b) && s.seenBy(b, r) {
				errs = append(errs, fmt.Errorf("%s: session order broken: %s was acknowledged before %s started, yet the %s still holds %q",
					key, w, b, where, w.value))
				break
			}
		}
	}
	return errs
}

// mintedBy names, for the messages, the actors that minted the dots of
// what the acknowledged put or add w wrote, as its answer shows them: its
// coordinator's among them.
func mintedBy(w *clientOp) string {
	var actors []string
	for _, sb := range w.resp.State.Siblings() {
		if w.kind == opPut && string(sb.Value) == w.value {
			actors = append(actors, string(sb.Dot.Node))
		}
	}
	for _, m := range w.resp.State.MemberDots() {
		if w.kind == opAdd && m.Value == w.value {
			actors = append(actors, fmt.Sprintf("%s:%d", m.Dot.Node, m.Dot.Counter))
		}
	}
	if len(actors) == 0 {
		return ""
	}
	slices.Sort(actors)
	return fmt.Sprintf(" (minted by %s)", strings.Join(actors, ", "))
}

// removes reports whether y removes element e (a remove of e, or a delete
// of the whole key).
func removes(y *clientOp, e string) bool {
	return y.kind == opDel || y.kind == opRemove && y.value == e
}

// checkSet: every member was added; an acknowledged add is there unless a
// remove that could have seen it ran; a member is there only through an
// add that no strict remove is known to have seen.
func (s *Sim) checkSet(key string, ops []*clientOp, st crdt.State, r *clientOp) []error {
	var errs []error
	where := s.where(r)
	for _, e := range st.Members() {
		var last *clientOp // a strict remove the state reflects that followed an add of e
		alive := slices.ContainsFunc(ops, func(a *clientOp) bool {
			if a.kind != opAdd || a.value != e || !a.mayApply() || a.start >= limit(r) {
				return false
			}
			if !strictRead(r) {
				return true
			}
			i := slices.IndexFunc(ops, func(y *clientOp) bool {
				return removes(y, e) && s.seenBy(a, y) && s.seenBy(y, r)
			})
			if i >= 0 {
				last = ops[i]
			}
			return i < 0
		})
		if !alive {
			why := "no add of it ran"
			if last != nil {
				why = "such as " + last.String()
			}
			errs = append(errs, fmt.Errorf("%s: %s holds member %q, but every add of it that may have applied was followed by a strict remove the %s reflects (%s)",
				key, where, e, where, why))
		}
	}
	for _, a := range ops {
		if a.kind != opAdd || st.IsMember(a.value) {
			continue
		}
		mustShow := s.mustShow(a, r)
		removed := slices.ContainsFunc(ops, func(y *clientOp) bool {
			return removes(y, a.value) && y.mayApply() && y.endT() > a.start && y.start < limit(r)
		})
		if mustShow && !removed {
			errs = append(errs, fmt.Errorf("%s: acknowledged add lost: %s%s is not in the %s (members %q), and no remove that could have seen it ran",
				key, a, mintedBy(a), where, st.Members()))
		}
	}
	return errs
}

// checkCounter: the value lies between the acknowledged increments that no
// delete could have reset and every increment that may have applied, less
// those a strict delete is known to have reset. For the reply of an
// increment, the increment itself counts.
func (s *Sim) checkCounter(key string, ops []*clientOp, st crdt.State, r *clientOp) []error {
	v, err := st.Value()
	where := s.where(r)
	if !r.final {
		where = fmt.Sprintf("%s answer", r)
	}
	if err != nil {
		return []error{fmt.Errorf("%s: %s: %v", key, where, err)}
	}
	var lo, hi int64
	var unaware []string // counted increments a node unaware of some region acknowledged at a spanning level
	for _, i := range ops {
		if i.kind != opIncr || !i.mayApply() || i != r && i.start >= limit(r) {
			continue
		}
		mayReset := slices.ContainsFunc(ops, func(d *clientOp) bool {
			return d.kind == opDel && d.mayApply() && d.endT() > i.start && d.start < limit(r)
		})
		reset := strictRead(r) && slices.ContainsFunc(ops, func(d *clientOp) bool {
			return d.kind == opDel && s.seenBy(i, d) && s.seenBy(d, r)
		})
		if !reset {
			hi += i.by
		}
		counted := i == r || s.mustShow(i, r)
		if counted && !mayReset {
			lo += i.by
			if i.note != "" && i.scope != scopeLocal {
				unaware = append(unaware, i.String())
			}
		}
	}
	if v < lo || v > hi {
		note := ""
		if v < lo && len(unaware) > 0 {
			note = fmt.Sprintf("; counted among them, acknowledged by a node unaware of a region: %s", strings.Join(unaware, "; "))
		}
		return []error{fmt.Errorf("%s: %s is %d, outside [%d, %d]: the acknowledged increments no delete could have reset sum to %d, all that may have applied less those a strict delete reset to %d%s",
			key, where, v, lo, hi, lo, hi, note)}
	}
	return nil
}
