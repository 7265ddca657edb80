package httpapitest

import (
	"fmt"
	"sync"
	"time"

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
	v := kvsync.LiveStrong(s.values[key], s.now)
	return v.Clone()
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

// apply runs op on its key, with the change function proposers apply
// (kvsync.ApplyStrong); s.mu is held.
func (s *StrongKeys) apply(op *wire.Op) kvsync.Response {
	key := string(op.Key)
	v := s.values[key]
	next, result, failed, replayed, err := kvsync.ApplyStrong(v, op, op.ReqID, s.now, Remember)
	switch {
	case err != nil:
		return kvsync.Response{Err: err}
	case replayed:
		resp := kvsync.Response{Changed: result}
		if failed {
			resp.Err = fmt.Errorf("%w: key %q: %s", kvsync.ErrConditionFailed, op.Key, op.Cond)
		}
		return resp
	}
	if op.Kind != wire.OpGet {
		s.values[key] = next
	}
	live := kvsync.LiveStrong(next, s.now)
	shown := live.Clone()
	shown.Done = nil
	resp := kvsync.Response{Strong: &shown, Changed: result}
	if failed {
		resp.Err = fmt.Errorf("%w: key %q: %s", kvsync.ErrConditionFailed, op.Key, op.Cond)
	}
	return resp
}
