package sync

import (
	"slices"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// Where a strong key's operations go. Every operation on a strong key,
// reads included, is decided by its proposer: the first owner of the key
// that is up, in its home region for a local key and in the caller's
// region for a global one. Sending every operation on a key to one node
// keeps its proposer's fast path warm (one round trip per operation) and
// keeps proposers from contending. A node that is not the proposer
// forwards the operation; a local key's operations in another region are
// forwarded to its home region.

// routeStrong takes an operation a client sent (forwarded false) or another
// node forwarded here. It returns false for an operation on an eventual key
// that the eventual machinery serves; otherwise the operation is handled:
// proposed here, forwarded, or refused.
func (c *coordinator) routeStrong(o origin, op *wire.Op, forwarded bool) bool {
	p, strong := c.cfg.Strong.Of(op.Key)
	if !strong {
		if err := eventualOnly(op); err != nil {
			c.answer(o, Response{Err: err})
			return true
		}
		op.ReqID = nil // an eventual write keeps no request ids: forwarded without one, it travels as older builds read
		return false
	}
	want := p.Scope.Level()
	switch {
	case op.Level != 0 && Level(op.Level) != want:
		c.answer(o, Response{Err: rejectf("key %q is strong (%s): its operations use %s, not %s", op.Key, p, want, Level(op.Level))})
		return true
	case op.Kind == wire.OpInspect:
		c.answer(o, Response{Err: rejectf("key %q is strong: it has no siblings to inspect; read it with GET", op.Key)})
		return true
	}
	op.Level = uint8(want)
	if p.Scope == ScopeLocal && p.Home != c.cfg.region() {
		c.forwardHome(o, op, p.Home, forwarded)
		return true
	}
	owners := c.owners(op.Key)
	var up []crdt.NodeID
	for _, id := range owners {
		if !c.view.Down[id] {
			up = append(up, id)
		}
	}
	switch {
	case len(up) > 0 && up[0] == c.cfg.ID, forwarded && slices.Contains(owners, c.cfg.ID):
		c.prop.propose(o, op)
	case forwarded:
		c.answer(o, Response{Err: rejectf("node %s is not an acceptor of key %q in its view of the ring: membership is changing, retry", c.cfg.ID, op.Key)})
	case len(up) == 0:
		c.answer(o, Response{Err: &UnavailableError{Level: want, Need: len(owners)/2 + 1, Write: op.Kind != wire.OpGet,
			Reason: "no acceptor of the key is reachable from this node"}})
	default:
		c.forward(o, op, up[0])
	}
	return true
}

// forwardHome forwards an operation on a local strong key to a node of its
// home region, or refuses it at once when that region is cut off.
func (c *coordinator) forwardHome(o origin, op *wire.Op, home string, forwarded bool) {
	lvl := Level(op.Level)
	write := op.Kind != wire.OpGet
	rv := c.view.remote(home)
	switch {
	case forwarded:
		c.answer(o, Response{Err: rejectf("key %q is homed in region %s, and node %s of region %s was asked to decide it: the regions' views differ, retry", op.Key, home, c.cfg.ID, c.cfg.region())})
		return
	case rv == nil || rv.Placement == nil:
		c.answer(o, Response{Err: &UnavailableError{Level: lvl, Write: write, Region: home,
			Reason: "key " + string(op.Key) + " is homed in region " + home + ", which this node does not know (yet)"}})
		return
	case !rv.Up:
		c.answer(o, Response{Err: &UnavailableError{Level: lvl, Write: write, Region: home,
			Reason: "key " + string(op.Key) + " is homed in region " + home + ", which is cut off from this one: retry later, or in region " + home}})
		return
	}
	reps := rv.Replicas
	if reps == 0 {
		reps = c.cfg.Replicas
	}
	for _, id := range rv.Placement.Owners(op.Key, reps) {
		if !rv.Down[id] {
			c.forward(o, op, id)
			return
		}
	}
	c.answer(o, Response{Err: &UnavailableError{Level: lvl, Write: write, Region: home,
		Reason: "no acceptor of key " + string(op.Key) + " in its home region " + home + " is up"}})
}

// eventualOnly refuses, on an eventual key, what applies to strong keys
// only: the serial levels, conditions and expiry.
func eventualOnly(op *wire.Op) error {
	switch {
	case Level(op.Level).IsSerial():
		return rejectf("key %q is eventual: %s applies to strong keys only (declare its prefix strong with --strong)", op.Key, Level(op.Level))
	case op.Cond != wire.CondNone:
		return rejectf("key %q is eventual: conditions (%s) apply to strong keys only (declare its prefix strong with --strong)", op.Key, op.Cond)
	case op.TTL != 0:
		return rejectf("key %q is eventual: expiry (PX) applies to strong keys only (declare its prefix strong with --strong)", op.Key)
	}
	return nil
}
