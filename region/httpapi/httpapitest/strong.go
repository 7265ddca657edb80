package httpapitest

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// StrongKeys stands in for a region's strong keys (kvsync.Declaration):
// each holds one wire.Strong value, changed as package sync documents it
// (conditions, versions, expiry, INCR, SADD and SREM, the latest request
// ids remembered with their answers), without consensus. It also refuses,
// as sync does, what applies to strong keys only when an operation on an
// eventual key carries it. Its methods are safe for concurrent use.
type StrongKeys struct {
	mu     sync.Mutex
	decl   kvsync.Declaration
	values map[string]wire.Strong
	now    int64 // Unix ns, what expiries are measured by
}

// Remember is how many request ids a strong key remembers, as
// kvsync.Config.RememberRequests does by default.
const Remember = 16

// NewStrongKeys returns the strong keys decl declares, all empty, on a
// clock that starts at Start and moves only with Advance.
func NewStrongKeys(decl kvsync.Declaration) *StrongKeys {
	return &StrongKeys{decl: decl, values: map[string]wire.Strong{}, now: Start}
}

// Advance moves the clock by d, so that values written with a TTL lapse.
func (s *StrongKeys) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now += int64(d)
}

// Do answers op when it is an operation on a strong key, or one on an
// eventual key that sync refuses (a serial level, a condition, an expiry);
// ok is false for the operations the eventual machinery serves.
func (s *StrongKeys) Do(op wire.Op) (resp kvsync.Response, ok bool) {
	switch {
	case op.Cond != wire.CondNone && op.Kind != wire.OpPut && op.Kind != wire.OpDelete:
		return rejectf("a condition (%s) applies to SET and DEL only", op.Cond), true
	case op.TTL != 0 && op.Kind != wire.OpPut:
		return rejectf("an expiry (PX) applies to SET only"), true
	case op.TTL < 0:
		return rejectf("expiry of %d ms: must be positive", op.TTL), true
	case len(op.ReqID) > 64:
		return rejectf("request id of %d bytes: the limit is 64", len(op.ReqID)), true
	}
	p, strong := s.decl.Of(op.Key)
	if !strong {
		if err := eventualOnly(&op); err != nil {
			return kvsync.Response{Err: err}, true
		}
		return kvsync.Response{}, false
	}
	want := p.Scope.Level()
	switch {
	case op.Level != 0 && kvsync.Level(op.Level) != want:
		return rejectf("key %q is strong (%s): its operations use %s, not %s", op.Key, p, want, kvsync.Level(op.Level)), true
	case op.Kind == wire.OpInspect:
		return rejectf("key %q is strong: it has no siblings to inspect; read it with GET", op.Key), true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apply(&op), true
}

// Value returns what key holds now, as a reader sees it.
func (s *StrongKeys) Value(key string) wire.Strong {
	s.mu.Lock()
	defer s.mu.Unlock()
	return live(s.values[key], s.now)
}

func rejectf(format string, args ...any) kvsync.Response {
	return kvsync.Response{Err: &kvsync.RejectedError{Reason: fmt.Sprintf(format, args...)}}
}

// eventualOnly refuses, on an eventual key, what sync refuses there.
func eventualOnly(op *wire.Op) error {
	reject := func(format string, args ...any) error {
		return &kvsync.RejectedError{Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case kvsync.Level(op.Level).IsSerial():
		return reject("key %q is eventual: %s applies to strong keys only (declare its prefix strong with --strong)", op.Key, kvsync.Level(op.Level))
	case op.Cond != wire.CondNone:
		return reject("key %q is eventual: conditions (%s) apply to strong keys only (declare its prefix strong with --strong)", op.Key, op.Cond)
	case op.TTL != 0:
		return reject("key %q is eventual: expiry (PX) applies to strong keys only (declare its prefix strong with --strong)", op.Key)
	}
	return nil
}

// live returns v as a reader sees it at now.
func live(v wire.Strong, now int64) wire.Strong {
	if v.Kind != wire.StrongNone && !v.Live(now) {
		return wire.Strong{Version: v.Version, Done: v.Done}
	}
	return v.Clone()
}

// apply runs op on its key; s.mu is held.
func (s *StrongKeys) apply(op *wire.Op) kvsync.Response {
	key := string(op.Key)
	v := s.values[key]
	if op.Kind == wire.OpGet {
		shown := live(v, s.now)
		shown.Done = nil
		return kvsync.Response{Strong: &shown}
	}
	if i := slices.IndexFunc(v.Done, func(d wire.Done) bool { return bytes.Equal(d.ID, op.ReqID) }); op.ReqID != nil && i >= 0 {
		d := v.Done[i]
		resp := kvsync.Response{Changed: d.Result}
		if d.Failed {
			resp.Err = fmt.Errorf("%w: key %q: %s", kvsync.ErrConditionFailed, op.Key, op.Cond)
		}
		return resp
	}
	cur := live(v, s.now)
	next, result, failed := cur, int64(0), !holds(cur, op)
	if !failed {
		var err error
		if next, result, err = change(cur, op, s.now); err != nil {
			return kvsync.Response{Err: err}
		}
		next.Version = v.Version + 1
	}
	if op.ReqID != nil {
		next.Done = append(slices.Clone(cur.Done), wire.Done{ID: slices.Clone(op.ReqID), At: s.now, Result: result, Failed: failed})
		if len(next.Done) > Remember {
			next.Done = next.Done[len(next.Done)-Remember:]
		}
	}
	s.values[key] = next
	shown := live(next, s.now)
	shown.Done = nil
	resp := kvsync.Response{Strong: &shown, Changed: result}
	if failed {
		resp.Err = fmt.Errorf("%w: key %q: %s", kvsync.ErrConditionFailed, op.Key, op.Cond)
	}
	return resp
}

// holds reports whether op's condition holds of cur.
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

// change applies op to cur, whose condition held.
func change(cur wire.Strong, op *wire.Op, now int64) (wire.Strong, int64, error) {
	next := wire.Strong{Done: cur.Done}
	switch op.Kind {
	case wire.OpPut:
		next.Kind, next.Bytes = wire.StrongString, slices.Clone(op.Value)
		if op.TTL > 0 {
			next.Expires = now + op.TTL*int64(time.Millisecond)
		}
		return next, 1, nil
	case wire.OpDelete:
		if cur.Kind == wire.StrongNone {
			return next, 0, nil
		}
		return next, 1, nil
	case wire.OpIncr:
		var n int64
		switch cur.Kind {
		case wire.StrongCounter:
			n = cur.Int
		case wire.StrongString:
			var err error
			if n, err = strconv.ParseInt(string(cur.Bytes), 10, 64); err != nil {
				return cur, 0, kvsync.ErrNotInteger
			}
		case wire.StrongSet:
			return cur, 0, crdt.ErrWrongType
		}
		if (op.By > 0 && n > math.MaxInt64-op.By) || (op.By < 0 && n < math.MinInt64-op.By) {
			return cur, 0, crdt.ErrOverflow
		}
		next.Kind, next.Int, next.Expires = wire.StrongCounter, n+op.By, cur.Expires
		return next, n + op.By, nil
	case wire.OpAdd, wire.OpRemove:
		if cur.Kind != wire.StrongNone && cur.Kind != wire.StrongSet {
			return cur, 0, crdt.ErrWrongType
		}
		members, n := slices.Clone(cur.Members), int64(0)
		for _, e := range op.Elems {
			i, found := slices.BinarySearchFunc(members, e, bytes.Compare)
			switch {
			case op.Kind == wire.OpAdd && !found:
				members = slices.Insert(members, i, slices.Clone(e))
				n++
			case op.Kind == wire.OpRemove && found:
				members = slices.Delete(members, i, i+1)
				n++
			}
		}
		if len(members) > 0 {
			next.Kind, next.Members, next.Expires = wire.StrongSet, members, cur.Expires
		}
		return next, n, nil
	}
	return cur, 0, &kvsync.RejectedError{Reason: fmt.Sprintf("operation %d does not apply to a strong key", op.Kind)}
}
