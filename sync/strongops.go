package sync

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strconv"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// What operations do to a strong key's value: the change functions a
// proposer applies to the value consensus last decided (CASPaxos's f). They
// are pure: the time comes in as now, the proposer's wall clock.

// ErrConditionFailed: a write to a strong key whose condition (NX, XX,
// IFEQ, IFNE, a version) did not hold; nothing was applied.
var ErrConditionFailed = errors.New("sync: condition not met, nothing applied")

// ErrNotInteger: INCR on a strong key whose string is not an integer;
// nothing was applied.
var ErrNotInteger = errors.New("sync: the value is not an integer or out of range, nothing applied")

// strongOutcome is what one operation answers.
type strongOutcome struct {
	result int64       // INCR's value; the members SADD added or SREM removed; 1 when DEL deleted
	failed bool        // its condition did not hold: nothing changed
	err    error       // nothing changed: wrong type, not an integer, overflow
	after  wire.Strong // the value right after it, in its round (set by the proposer)
	// replayed says the request was decided in an earlier round, whose
	// answer is remembered (wire.Strong.Done) but not the value right
	// after it.
	replayed bool
}

// live returns v as readers see it at now: nothing once it has lapsed
// (SET ... PX), with its version and remembered requests kept.
func live(v wire.Strong, now int64) wire.Strong {
	if v.Kind != wire.StrongNone && !v.Live(now) {
		return wire.Strong{Version: v.Version, Done: v.Done}
	}
	return v
}

// ApplyStrong is the change function proposers apply to a strong key's
// value, for stand-ins of a node (test doubles of the endpoints): it
// applies op, a request named id (nil for none), to v at now (Unix ns), and
// returns the new value, what the operation answers (INCR's value, the
// members SADD added or SREM removed, 1 when DEL deleted), whether its
// condition failed, whether v already remembered id (then next is v), and
// an error that left v unchanged (wrong type, not an integer, overflow).
func ApplyStrong(v wire.Strong, op *wire.Op, id []byte, now int64, remember int) (next wire.Strong, result int64, failed, replayed bool, err error) {
	next, out := applyStrong(v, op, id, now, remember)
	return next, out.result, out.failed, out.replayed, out.err
}

// LiveStrong returns a strong key's value v as readers see it at now:
// nothing once it has lapsed (SET ... PX).
func LiveStrong(v wire.Strong, now int64) wire.Strong { return live(v, now) }

// applyStrong applies op, a request named id (nil for none), to v at now,
// and returns the new value and what the operation answers. A request v
// remembers is answered as it was, and changes nothing. remember bounds
// the requests v remembers.
func applyStrong(v wire.Strong, op *wire.Op, id []byte, now int64, remember int) (wire.Strong, strongOutcome) {
	if i := slices.IndexFunc(v.Done, func(d wire.Done) bool { return bytes.Equal(d.ID, id) }); id != nil && i >= 0 {
		d := v.Done[i]
		return v, strongOutcome{result: d.Result, failed: d.Failed, replayed: true}
	}
	cur := live(v, now)
	if op.Kind == wire.OpGet || op.Kind == wire.OpInspect {
		return v, strongOutcome{}
	}
	next, out := cur, strongOutcome{}
	if !holds(cur, op) {
		out.failed = true
	} else {
		next, out = change(cur, op, now)
		if out.err != nil {
			return v, out // nothing applied, nothing to remember: a retry fails alike
		}
		next.Version = v.Version + 1
	}
	if id != nil {
		next.Done = append(slices.Clone(cur.Done), wire.Done{ID: slices.Clone(id), At: now, Result: out.result, Failed: out.failed})
		if len(next.Done) > remember {
			next.Done = next.Done[len(next.Done)-remember:]
		}
	}
	return next, out
}

// holds reports whether op's condition holds of cur, a live value.
func holds(cur wire.Strong, op *wire.Op) bool {
	isString := cur.Kind == wire.StrongString
	switch op.Cond {
	case wire.CondNX:
		return cur.Kind == wire.StrongNone
	case wire.CondXX:
		return cur.Kind != wire.StrongNone
	case wire.CondIfEq:
		return isString && bytes.Equal(cur.Bytes, op.Expect)
	case wire.CondIfNe:
		return !isString || !bytes.Equal(cur.Bytes, op.Expect)
	case wire.CondVersion:
		return cur.Version == op.Version
	}
	return true
}

// change applies op's change to cur, a live value whose condition held.
func change(cur wire.Strong, op *wire.Op, now int64) (wire.Strong, strongOutcome) {
	next := wire.Strong{Done: cur.Done}
	switch op.Kind {
	case wire.OpPut:
		next.Kind, next.Bytes = wire.StrongString, slices.Clone(op.Value)
		if op.TTL > 0 {
			next.Expires = now + min(op.TTL, math.MaxInt64/int64(1e6)/2)*1e6
		}
		return next, strongOutcome{result: 1}
	case wire.OpDelete:
		if cur.Kind == wire.StrongNone {
			return next, strongOutcome{}
		}
		return next, strongOutcome{result: 1}
	case wire.OpIncr:
		n, err := counterOf(cur)
		if err != nil {
			return cur, strongOutcome{err: err}
		}
		if (op.By > 0 && n > math.MaxInt64-op.By) || (op.By < 0 && n < math.MinInt64-op.By) {
			return cur, strongOutcome{err: crdt.ErrOverflow}
		}
		next.Kind, next.Int, next.Expires = wire.StrongCounter, n+op.By, cur.Expires
		return next, strongOutcome{result: n + op.By}
	case wire.OpAdd, wire.OpRemove:
		if cur.Kind != wire.StrongNone && cur.Kind != wire.StrongSet {
			return cur, strongOutcome{err: crdt.ErrWrongType}
		}
		members, n := setChange(cur.Members, op.Elems, op.Kind == wire.OpAdd)
		if len(members) > 0 {
			next.Kind, next.Members, next.Expires = wire.StrongSet, members, cur.Expires
		}
		return next, strongOutcome{result: n}
	}
	return cur, strongOutcome{err: rejectf("operation %d does not apply to a strong key", op.Kind)}
}

// counterOf returns the integer cur holds: 0 for nothing, a counter's, or
// a string's that is a base-10 integer (as Redis's INCR reads one).
func counterOf(cur wire.Strong) (int64, error) {
	switch cur.Kind {
	case wire.StrongNone:
		return 0, nil
	case wire.StrongCounter:
		return cur.Int, nil
	case wire.StrongString:
		n, err := strconv.ParseInt(string(cur.Bytes), 10, 64)
		if err != nil {
			return 0, ErrNotInteger
		}
		return n, nil
	}
	return 0, crdt.ErrWrongType
}

// setChange adds (or removes) elems to (from) members, sorted and
// distinct, and returns the result and how many changed.
func setChange(members, elems [][]byte, add bool) ([][]byte, int64) {
	out := slices.Clone(members)
	n := int64(0)
	for _, e := range elems {
		i, found := slices.BinarySearchFunc(out, e, bytes.Compare)
		switch {
		case add && !found:
			out = slices.Insert(out, i, slices.Clone(e))
			n++
		case !add && found:
			out = slices.Delete(out, i, i+1)
			n++
		}
	}
	return out, n
}
