package sync

import (
	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// validate refuses a request that must not be tried, before anything is
// applied.
func (n *core) validate(op *wire.Op) error {
	switch {
	case len(op.Key) == 0:
		return rejectf("empty key: keys are 1 to %d bytes", n.cfg.MaxKeySize)
	case len(op.Key) > n.cfg.MaxKeySize:
		return rejectf("key too large: %d bytes, the limit is %d", len(op.Key), n.cfg.MaxKeySize)
	case len(op.Value) > n.cfg.MaxValueSize:
		return rejectf("value too large: %d bytes, the limit is %d", len(op.Value), n.cfg.MaxValueSize)
	case len(op.Elems) > n.cfg.MaxElements:
		return rejectf("too many elements: %d in one request, the limit is %d", len(op.Elems), n.cfg.MaxElements)
	case op.Level != 0 && !Level(op.Level).Valid():
		return rejectf("unknown consistency level %d", op.Level)
	case op.Cond > wire.LastCond:
		return rejectf("unknown condition %d", op.Cond)
	case len(op.Expect) > n.cfg.MaxValueSize:
		return rejectf("compared value too large: %d bytes, the limit is %d", len(op.Expect), n.cfg.MaxValueSize)
	case op.TTL < 0:
		return rejectf("expiry of %d ms: must be positive", op.TTL)
	case len(op.ReqID) > maxReqID:
		return rejectf("request id of %d bytes: the limit is %d", len(op.ReqID), maxReqID)
	case op.Cond != wire.CondNone && op.Kind != wire.OpPut && op.Kind != wire.OpDelete:
		return rejectf("a condition (%s) applies to SET and DEL only", op.Cond)
	case op.TTL != 0 && op.Kind != wire.OpPut:
		return rejectf("an expiry (PX) applies to SET only")
	}
	for _, e := range op.Elems {
		if len(e) > n.cfg.MaxValueSize {
			return rejectf("set element too large: %d bytes, the limit is %d", len(e), n.cfg.MaxValueSize)
		}
	}
	switch op.Kind {
	case wire.OpGet, wire.OpInspect, wire.OpPut, wire.OpDelete, wire.OpIncr:
	case wire.OpAdd, wire.OpRemove:
		if len(op.Elems) == 0 {
			return rejectf("no elements given: name at least one")
		}
	default:
		return rejectf("unknown operation %d", op.Kind)
	}
	return nil
}

// maxReqID bounds a request id: a strong key remembers the ids of its
// latest requests in its value.
const maxReqID = 64

// level returns the request's consistency level.
func level(op *wire.Op) Level {
	if op.Level == 0 {
		return DefaultLevel
	}
	return Level(op.Level)
}

// apply runs op on st as this node at time ts and returns the delta and
// what changed.
func (n *core) apply(st *crdt.State, op *wire.Op, ts crdt.Timestamp) (crdt.State, int64, error) {
	return Apply(st, n.actor, op, ts)
}

// Apply runs the write op on st as actor at time ts, as a coordinating
// replica does, and returns the delta to replicate and what the operation
// changed: 1 when a DEL found a live value, the members an SADD added or an
// SREM removed (each counted once), else 0. Test backends that stand in for
// a region use it, so that they share the real semantics of every write.
func Apply(st *crdt.State, actor crdt.NodeID, op *wire.Op, ts crdt.Timestamp) (crdt.State, int64, error) {
	switch op.Kind {
	case wire.OpPut:
		return st.Put(actor, op.Value, ts, op.Context), 0, nil
	case wire.OpDelete:
		existed := int64(0)
		if !st.IsEmpty() {
			existed = 1
		}
		return st.Delete(op.Context), existed, nil
	case wire.OpIncr:
		d, err := st.Incr(actor, op.By, ts)
		return d, 0, err
	case wire.OpAdd:
		elems, changed := elems(st, op, false)
		d, err := st.Add(actor, ts, elems...)
		return d, changed, err
	case wire.OpRemove:
		elems, changed := elems(st, op, true)
		d, err := st.Remove(elems...)
		return d, changed, err
	}
	return crdt.State{}, 0, rejectf("operation %d is not a write", op.Kind)
}

// elems converts a request's elements and counts how many the operation
// changes: those absent (for an add) or present (for a remove).
func elems(st *crdt.State, op *wire.Op, present bool) ([]string, int64) {
	out := make([]string, len(op.Elems))
	seen := make(map[string]bool, len(op.Elems))
	changed := int64(0)
	for i, e := range op.Elems {
		out[i] = string(e)
		if !seen[out[i]] && st.IsMember(out[i]) == present {
			changed++
		}
		seen[out[i]] = true
	}
	return out, changed
}

// timestamp returns the time of a new write to st: after every timestamp st
// holds, unless one is too far in the future to trust.
func (n *core) timestamp(st crdt.State) crdt.Timestamp {
	w, ok := st.Get() // the winner carries the highest timestamp
	if !ok || w.Time.IsZero() {
		return n.clock.Now(n.now)
	}
	ts, err := n.clock.Observe(w.Time, n.now)
	if err != nil {
		n.stats.SkewRefused++
		return n.clock.Now(n.now)
	}
	return ts
}
