package sync

import (
	"slices"

	"github.com/meridiankv/meridian/wire"
)

// coordinator is the part of a Node that serves clients: it coordinates
// the writes (write.go) and reads (read.go) of the keys this node owns,
// forwards the writes of keys it does not own to an owner, and answers
// the replicas' reads. A write it cannot deliver to an owner becomes a
// hint (hinter).
type coordinator struct {
	*core
	hints *hinter
	prop  *proposer // operations on strong keys (strongroute.go)

	writes   map[uint64]*writeOp
	reads    map[uint64]*readOp
	forwards map[uint64]*forwardOp
	spans    map[uint64]*spanOp // operations across regions (span.go)
	seen     map[origin]int64   // forwarded requests taken, until when to remember them
	fresh    []uint64           // writes started since the last Flush
}

func newCoordinator(c *core, h *hinter) *coordinator {
	co := &coordinator{core: c, hints: h, prop: newProposer(c), writes: map[uint64]*writeOp{}, reads: map[uint64]*readOp{},
		forwards: map[uint64]*forwardOp{}, spans: map[uint64]*spanOp{}, seen: map[origin]int64{}}
	c.spanDone = co.spanLocal
	return co
}

// submit takes a client request: a read is coordinated here, a write here
// when this node owns the key, else forwarded to its first reachable owner.
func (c *coordinator) submit(r Request) {
	o := origin{client: r.ID}
	if err := c.validate(&r.Op); err != nil {
		c.answer(o, Response{Err: err})
		return
	}
	if c.routeStrong(o, &r.Op, false) {
		return
	}
	if err := c.regionsFor(&r.Op); err != nil {
		c.answer(o, Response{Err: err})
		return
	}
	if r.Op.Kind == wire.OpGet || r.Op.Kind == wire.OpInspect {
		c.coordinateRead(o, &r.Op)
		return
	}
	owners := c.owners(r.Op.Key)
	if slices.Contains(owners, c.cfg.ID) {
		c.coordinateWrite(o, &r.Op, owners)
		return
	}
	for _, id := range owners {
		if !c.view.Down[id] {
			c.forward(o, &r.Op, id)
			return
		}
	}
	c.answer(o, Response{Err: &UnavailableError{Level: level(&r.Op), Need: level(&r.Op).Required(len(owners)), Write: true}})
}

// endRound forgets which writes the round started: they are committed.
func (c *coordinator) endRound() { c.fresh = nil }

// tick answers the requests past their deadline.
func (c *coordinator) tick() {
	c.expireWrites()
	c.expireReads()
	c.expireForwards()
	c.expireSpans()
	for o, until := range c.seen {
		if until <= c.now {
			delete(c.seen, o)
		}
	}
}

// forgetFresh forgets the writes started in this round that are still
// unanswered, and returns them, for a round whose commit failed: their
// copies were never sent. The round ends with it.
func (c *coordinator) forgetFresh() []*writeOp {
	var out []*writeOp
	for _, id := range c.fresh {
		w := c.writes[id]
		delete(c.writes, id)
		if w == nil || w.answered {
			continue
		}
		w.answered = true
		out = append(out, w)
	}
	c.endRound()
	return out
}

// regionsFor checks, as the request comes in, that its level can be met
// given the other regions: a level that needs a region cut off fails at
// once, naming it, with nothing applied.
func (c *coordinator) regionsFor(op *wire.Op) error {
	if lvl := level(op); lvl.Spans() && c.view.Joining && len(c.view.Remote) == 0 {
		// A node that joins (or comes back on a wiped disk) learns the
		// other regions from its region-mates in its first moments: until
		// then it cannot tell a cluster of one region from one it knows
		// nothing of.
		return &UnavailableError{Level: lvl, Write: op.Kind != wire.OpGet && op.Kind != wire.OpInspect,
			Reason: "this node is joining its region and has not yet learned whether there are other regions: retry in a moment, or on another node"}
	}
	if !c.spanning(level(op)) {
		return nil
	}
	_, err := c.planSpan(level(op), c.cfg.Replicas, op.Kind != wire.OpGet && op.Kind != wire.OpInspect)
	return err
}
