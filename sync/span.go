package sync

import (
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// Levels that span regions (QUORUM, EACH_QUORUM, ALL, once the node knows
// other regions). An operation at such a level runs in two parts at once:
// the local part, the same operation at a level of this region only (the
// coordinator's write or read as ever, with the span as its origin), and
// one relay per other region it needs, each a single message to one node
// of that region, which runs the operation there at a local level and
// answers (MsgForwardReply). A write relays the delta its local part
// minted (MsgRelay), so that every region applies the same write, never
// the operation again; a read relays the read (MsgForward). The span
// answers once its local part and enough regions did.
//
// What each level needs, for N copies in this region and N_r in region r:
//
//	EACH_QUORUM  a quorum of this region and a quorum of every other
//	ALL          every replica of every region
//	QUORUM       a majority of all replicas of all regions: a quorum of
//	             each region answering counts its quorum, this region all
//	             of its replicas when the others up are not enough
//
// A region the level needs whose link is down fails the operation at once
// (regionsFor), naming it, with nothing applied.

// spanOp is an operation at a level that spans regions, coordinated here.
type spanOp struct {
	id          uint64
	origin      origin
	key         []byte
	level       Level
	write       bool
	local       *Response // the local part's answer, once in
	localCounts int       // replicas the local part's success counts (QUORUM)
	total       int       // replicas needed over every region (QUORUM), 0 otherwise
	waits       map[string]*regionWait
	levels      map[string]Level // each region's level
	merged      crdt.State       // the regions' read replies
	deadline    int64
	answered    bool
}

// regionWait is one region a span relayed to.
type regionWait struct {
	counts   int  // replicas its success counts
	required bool // the level fails without it (EACH_QUORUM, ALL)
	done     bool
	why      string // why it failed, "" while it may still answer
}

// spanPlan says how op at lvl runs across the regions, or why it cannot.
type spanPlan struct {
	localLevel  Level
	localCounts int
	total       int
	remote      map[string]Level // the regions relayed to, and their level
	required    bool
}

func (c *coordinator) planSpan(lvl Level, nLocal int, write bool) (spanPlan, error) {
	p := spanPlan{remote: map[string]Level{}}
	n := func(rv RegionView) int { return cmpOr(rv.Replicas, c.cfg.Replicas) }
	switch lvl {
	case EachQuorum, All:
		p.localLevel, p.required = LocalQuorum, true
		regional := LocalQuorum
		if lvl == All {
			p.localLevel, regional = All, All
		}
		for _, rv := range c.view.Remote {
			if !rv.Up {
				return p, &UnavailableError{Level: lvl, Region: rv.Name, Write: write}
			}
			p.remote[rv.Name] = regional
		}
	case Quorum:
		all, up := nLocal, Quorum.Required(nLocal)
		var down string
		for _, rv := range c.view.Remote {
			all += n(rv)
			if !rv.Up {
				if down == "" {
					down = rv.Name
				}
				continue
			}
			up += Quorum.Required(n(rv))
			p.remote[rv.Name] = LocalQuorum
		}
		p.total = all/2 + 1
		p.localLevel, p.localCounts = LocalQuorum, Quorum.Required(nLocal)
		if up < p.total {
			// This region's every replica makes up for a region cut off.
			p.localLevel, p.localCounts = All, nLocal
			if up-Quorum.Required(nLocal)+nLocal < p.total {
				return p, &UnavailableError{Level: lvl, Region: down, Write: write}
			}
		}
	}
	return p, nil
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// spans reports whether an operation at lvl runs across regions here.
func (c *coordinator) spanning(lvl Level) bool { return lvl.Spans() && len(c.view.Remote) > 0 }

// startSpan registers a span of op at lvl for origin o, or answers why it
// cannot run; it returns the span and the level of its local part.
func (c *coordinator) startSpan(o origin, op *wire.Op, nLocal int) (*spanOp, Level, bool) {
	lvl := level(op)
	write := op.Kind != wire.OpGet && op.Kind != wire.OpInspect
	p, err := c.planSpan(lvl, nLocal, write)
	if err != nil {
		c.answer(o, Response{Err: err})
		return nil, 0, false
	}
	s := &spanOp{id: c.newID(partCoordinator), origin: o, key: op.Key, level: lvl, write: write,
		localCounts: p.localCounts, total: p.total, waits: map[string]*regionWait{}, levels: p.remote,
		deadline: c.now + int64(c.cfg.RequestTimeout)}
	for name, regional := range p.remote {
		rv := c.view.remote(name)
		s.waits[name] = &regionWait{counts: regional.Required(cmpOr(rv.Replicas, c.cfg.Replicas)), required: p.required}
	}
	c.spans[s.id] = s
	if !write {
		for _, name := range sortedRegions(p.remote) {
			rel := wire.Op{Kind: wire.OpGet, Key: op.Key, Level: uint8(p.remote[name])}
			c.relay(s, name, wire.Message{Type: wire.MsgForward, ID: s.id, Op: &rel})
		}
	}
	return s, p.localLevel, true
}

// relayWrite sends the state a span's local part wrote to the regions it
// needs, at their level.
func (c *coordinator) relayWrite(s *spanOp, key []byte, st crdt.State) {
	for _, name := range sortedRegions(s.levels) {
		c.relay(s, name, wire.Message{Type: wire.MsgRelay, ID: s.id, Key: key, State: st, Level: uint8(s.levels[name])})
	}
}

// relay sends m to a node of region name that is up, chosen by this
// node's id so that a region's coordinators spread their relays.
func (c *coordinator) relay(s *spanOp, name string, m wire.Message) {
	rv := c.view.remote(name)
	to := pickUp(rv, c.cfg.ID, 0)
	if to == "" {
		c.spanRegion(s, name, false, "has no node up in this node's view of it", crdt.State{})
		return
	}
	m.To = to
	c.send(m)
}

// pickUp returns one of rv's members that is up, by salt and this node's
// id, or "" for none.
func pickUp(rv *RegionView, self crdt.NodeID, salt uint32) crdt.NodeID {
	if rv == nil {
		return ""
	}
	var up []crdt.NodeID
	for _, m := range rv.Members {
		if !rv.Down[m] {
			up = append(up, m)
		}
	}
	if len(up) == 0 {
		return ""
	}
	h := fnv.New32a()
	h.Write([]byte(self))
	return up[(h.Sum32()+salt)%uint32(len(up))]
}

func sortedRegions(m map[string]Level) []string {
	out := make([]string, 0, len(m))
	for name := range m {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// spanLocal takes the answer of a span's local part.
func (c *coordinator) spanLocal(s *spanOp, r Response) {
	s.local = &r
	c.settleSpan(s)
}

// onSpanReply takes a region's answer to a span's relay.
func (c *coordinator) onSpanReply(s *spanOp, m wire.Message) {
	name, _, ok := SplitQualified(m.From)
	if !ok {
		return
	}
	if err := decodeErr(m.Code, m.Err); err != nil {
		c.spanRegion(s, name, false, "answered: "+err.Error(), crdt.State{})
		return
	}
	c.spanRegion(s, name, true, "", m.State)
}

// spanRegion records how region name answered s.
func (c *coordinator) spanRegion(s *spanOp, name string, ok bool, why string, st crdt.State) {
	w := s.waits[name]
	if w == nil || w.done || w.why != "" {
		return
	}
	if ok {
		w.done = true
		s.merged.Merge(st)
	} else {
		w.why = why
	}
	c.settleSpan(s)
}

// settleSpan answers s once its local part and enough regions answered,
// or once it can no longer reach its level.
func (c *coordinator) settleSpan(s *spanOp) {
	if s.answered || s.local == nil {
		return
	}
	if s.local.Err != nil {
		c.answerSpan(s, Response{Err: s.local.Err})
		return
	}
	sum, possible := s.localCounts, s.localCounts
	for _, name := range sortedRegionWaits(s.waits) {
		w := s.waits[name]
		switch {
		case w.done:
			sum += w.counts
			possible += w.counts
		case w.why != "" && (w.required || s.total == 0):
			c.answerSpan(s, Response{Err: &RegionError{Level: s.level, Region: name, Write: s.write, Why: w.why}})
			return
		case w.why == "":
			possible += w.counts
			if w.required {
				return // wait for it
			}
		}
	}
	if s.total > 0 && sum < s.total {
		if possible < s.total {
			name := firstFailed(s.waits)
			c.answerSpan(s, Response{Err: &RegionError{Level: s.level, Region: name, Write: s.write, Why: s.waits[name].why}})
		}
		return
	}
	r := Response{State: s.local.State, Changed: s.local.Changed}
	if !s.write {
		r.State = crdt.Merge(s.local.State, s.merged)
	}
	c.answerSpan(s, r)
}

func sortedRegionWaits(m map[string]*regionWait) []string {
	out := make([]string, 0, len(m))
	for name := range m {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

func firstFailed(m map[string]*regionWait) string {
	for _, name := range sortedRegionWaits(m) {
		if m[name].why != "" {
			return name
		}
	}
	return ""
}

func (c *coordinator) answerSpan(s *spanOp, r Response) {
	s.answered = true
	delete(c.spans, s.id)
	c.answer(s.origin, r)
}

// expireSpans fails the spans whose regions did not answer in time. A span
// whose local part has not answered yet waits for it: it has the same
// deadline, and answers for itself.
func (c *coordinator) expireSpans() {
	for _, id := range sortedIDs(c.spans) {
		s := c.spans[id]
		if s.deadline > c.now || s.local == nil {
			continue
		}
		for _, name := range sortedRegionWaits(s.waits) {
			if w := s.waits[name]; !w.done && w.why == "" {
				w.why = fmt.Sprintf("did not answer within %s", c.cfg.RequestTimeout)
			}
		}
		c.settleSpan(s)
		if !s.answered { // every region answered but the level was not met
			c.answerSpan(s, Response{Err: &RegionError{Level: s.level, Region: firstFailed(s.waits), Write: s.write,
				Why: "did not answer in time"}})
		}
	}
}

// onRelay takes a write of another region at a level that spans regions:
// it merges the delta into this region's owners of the key, at the level
// the message names (a local one), and answers once they took it.
func (c *coordinator) onRelay(m wire.Message) {
	o := origin{node: m.From, fwd: m.ID}
	if _, dup := c.seen[o]; dup {
		return
	}
	c.seen[o] = c.now + 4*int64(c.cfg.RequestTimeout)
	lvl := Level(m.Level) // of this region: ALL is every replica of it
	if lvl != LocalOne && lvl != LocalQuorum && lvl != All {
		c.answer(o, Response{Err: rejectf("a relayed write at %s: a relay asks for LOCAL_ONE, LOCAL_QUORUM or ALL of this region", lvl)})
		return
	}
	c.coordinateMerge(o, m.Key, m.State, lvl)
}

// coordinateMerge merges st into key's owners of this region, as a write
// does without minting, and answers o once lvl is reached. This node need
// not own the key.
func (c *coordinator) coordinateMerge(o origin, key []byte, st crdt.State, lvl Level) {
	owners := c.owners(key)
	need := lvl.Required(len(owners))
	plan := c.plan(key, owners)
	self := slices.Contains(owners, c.cfg.ID)
	reach := len(plan.direct) + len(plan.fallback)
	if self {
		reach++
	}
	if len(owners) == 0 || reach < need {
		c.answer(o, Response{Err: &UnavailableError{Level: lvl, Alive: reach, Need: need, Write: true}})
		return
	}
	w := &writeOp{origin: o, op: wire.Op{Kind: wire.OpPut, Key: key}, owners: owners, level: lvl, need: need,
		deadline: c.now + int64(c.cfg.RequestTimeout), applied: true, delta: st}
	if self {
		c.merge(key, st)
		w.acks = 1
	}
	id := c.newID(partCoordinator)
	c.sendCopies(w, id, plan, func(crdt.NodeID) crdt.State { return st })
	c.await(w, id)
}
