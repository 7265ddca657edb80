package simulations

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/region/membership"
	"github.com/meridiankv/meridian/wire"
)

// maxErrors bounds the violations one run reports.
var maxErrors = 20

// check asserts, once the cluster is quiet, that every request was
// answered, that the replicas agree (in every region, and across regions),
// and that the final states and every answer agree with the history of
// what the clients were told (checks.go). Writes are told apart by their
// unique values, never by their dots: a bug that mints a dot twice must
// not hide behind the dots it reuses.
func (s *Sim) check() error {
	var errs []error
	add := func(es ...error) {
		for _, e := range es {
			if e != nil && len(errs) < maxErrors {
				errs = append(errs, e)
			}
		}
	}
	for _, n := range s.nodes {
		s.noteDropped(n) // the running nodes' counts: the crashed ones' are in
	}
	add(s.checkAnswered()...)
	if s.refused > 0 {
		add(fmt.Errorf("%d frames held message kinds of protocol %d (%v) for %s, which announced protocol 1 and refuses them", s.refused, wire.Protocol, s.refusedKinds, s.legacy))
	}
	s.settleStrictness()
	finals := make([]map[string]crdt.State, len(s.regions))
	for i, r := range s.regions {
		final, diverged := s.finalStates(r)
		finals[i] = final
		add(diverged...)
	}
	if len(s.regions) > 1 {
		add(s.checkRegions(finals)...)
	}
	for i := range s.regions {
		for _, key := range s.hist.keys {
			add(s.checkKey(key, finals[i][key], finalOf(i))...)
		}
	}
	for _, op := range s.hist.ops {
		if op.outcome == outcomeOK && (op.kind == opGet || op.kind == opIncr) {
			add(s.checkKey(op.key, op.resp.State, op)...)
		}
	}
	add(s.checkSessions()...)
	add(s.checkDots()...)
	add(s.checkStrong()...)
	return errors.Join(errs...)
}

// checkKey checks st, the state of key that r returned (or a region's
// final state), against the history of key.
func (s *Sim) checkKey(key string, st crdt.State, r *clientOp) []error {
	ops := s.hist.byKey[key]
	switch {
	case class(key) == classReg:
		return s.checkRegister(key, ops, st, r)
	case class(key) == classSet:
		return s.checkSet(key, ops, st, r)
	}
	return s.checkCounter(key, ops, st, r)
}

// settleStrictness withdraws the guarantees of a quorum from operations
// that overlapped a ring change in a region they needed (a join, leave or
// removal under way, or nodes that disagreed on the ring, give or take two
// membership rounds): "the key's owners" were not one set then. Such
// operations are still checked for everything else.
func (s *Sim) settleStrictness() {
	margin := int64(2 * memberTick)
	for _, op := range s.hist.ops {
		if !op.strict {
			continue
		}
		for _, r := range s.needs(op) {
			if slices.ContainsFunc(r.unstable, func(sp span) bool {
				to := sp.to
				if to < 0 {
					to = never - margin
				}
				return sp.from-margin <= op.end && to+margin >= op.start
			}) {
				op.strict = false
				break
			}
		}
	}
}

// checkAnswered fails every request still unanswered by a node that is up.
func (s *Sim) checkAnswered() []error {
	var errs []error
	for _, n := range s.nodes {
		for _, id := range sortedKeys(n.waiting) {
			errs = append(errs, fmt.Errorf("request never answered: %s", n.waiting[id]))
		}
	}
	return errs
}

// finalStates returns each key's state on its first owner in region r,
// and an error for each owner of r that holds another; and for a region
// whose running nodes do not agree on its ring, or have none.
func (s *Sim) finalStates(r *simRegion) (map[string]crdt.State, []error) {
	final := map[string]crdt.State{}
	var errs []error
	var roster membership.Roster
	var sig string
	in := ""
	if len(s.regions) > 1 {
		in = " in region " + r.name
	}
	for _, n := range r.nodes {
		switch {
		case n.node == nil:
		case roster == nil:
			roster, sig = n.stored, n.ring
		case n.ring != sig:
			errs = append(errs, fmt.Errorf("once quiet, nodes disagree on the ring%s: %s has %q, another %q", in, n.id, n.ring, sig))
		}
	}
	if roster == nil || len(roster.InRing()) < r.replicas {
		return final, append(errs, fmt.Errorf("once quiet, the ring%s has fewer members than replicas: %q", in, sig))
	}
	place := s.placement(roster)
	for _, key := range s.hist.keys {
		owners := place.Owners([]byte(key), r.replicas)
		first, _ := r.node(owners[0]).store.Get([]byte(key))
		for _, o := range owners[1:] {
			st, _ := r.node(o).store.Get([]byte(key))
			if !st.Equal(first) {
				errs = append(errs, fmt.Errorf("key %s: replicas %s and %s differ once quiet:\n  %v\n  %v", key, r.qualify(owners[0]), r.qualify(o), first, st))
			}
		}
		final[key] = first
	}
	return final, errs
}

// checkSessions: a client's strict reads of a key never go back in time,
// unless a replica lost data for good in between (a removal, a wipe, a
// power loss under batched sync): what the first read returned may then
// be on fewer owners than a quorum until anti-entropy restores it, as the
// README's known limits say. A read is held to the last earlier read of
// its client whose regions it reads a quorum of (readCovers): a read of
// another region at LOCAL_QUORUM may lag.
func (s *Sim) checkSessions() []error {
	var errs []error
	reads := map[[2]any][]*clientOp{} // (client, key) -> its strict reads so far
	for _, op := range s.hist.ops {   // in submission order, so per client in order
		if op.kind != opGet || !op.strict {
			continue
		}
		k := [2]any{op.client, op.key}
		prior := reads[k]
		for i := len(prior) - 1; i >= 0; i-- {
			prev := prior[i]
			if !readCovers(prev, op) {
				continue
			}
			if !s.lostBetween(prev.start, op.end) {
				if err := s.monotonic(s.hist.byKey[op.key], prev, op); err != nil {
					errs = append(errs, err)
				}
			}
			break
		}
		reads[k] = append(prior, op)
	}
	return errs
}

// monotonic checks that r2, a later read of the same client, did not lose
// what r1 returned unless a write that could explain it ran in between.
func (s *Sim) monotonic(ops []*clientOp, r1, r2 *clientOp) error {
	switch class(r1.key) {
	case classReg:
		have := values(r2.resp.State)
		for _, v := range values(r1.resp.State) {
			p := putOf(ops, v)
			if !slices.Contains(have, v) && (p == nil || !supersededBy(ops, p, r2.end)) {
				return fmt.Errorf("%s: read %s returned %q, the later read %s of the same client returns %q: it went back in time",
					r1.key, r1, v, r2, have)
			}
		}
	case classSet:
		for _, e := range r1.resp.State.Members() {
			if !r2.resp.State.IsMember(e) && !slices.ContainsFunc(ops, func(y *clientOp) bool {
				return removes(y, e) && y.mayApply() && y.start < r2.end
			}) {
				return fmt.Errorf("%s: read %s returned member %q, the later read %s of the same client lost it with no remove in between",
					r1.key, r1, e, r2)
			}
		}
	default:
		v1, _ := r1.resp.State.Value()
		v2, _ := r2.resp.State.Value()
		if v2 < v1 && !slices.ContainsFunc(ops, func(d *clientOp) bool {
			return d.kind == opDel && d.mayApply() && d.start < r2.end && !(d.strict && before(d, r1) && s.covers(d, r1))
		}) {
			return fmt.Errorf("%s: read %s returned %d, the later read %s of the same client %d, with no delete in between",
				r1.key, r1, v1, r2, v2)
		}
	}
	return nil
}

// Summary counts outcomes, for the test log.
func (s *Sim) Summary() string {
	counts := map[outcome]int{}
	strict := 0
	for _, op := range s.hist.ops {
		counts[op.outcome]++
		if op.strict {
			strict++
		}
	}
	var hints, replayed, repairs, ae int64
	for _, n := range s.nodes {
		if n.node != nil {
			st := n.node.Stats()
			hints, replayed, repairs, ae = hints+st.HintsStored, replayed+st.HintsSent, repairs+st.ReadRepairs, ae+st.AE.KeysSent
		}
	}
	changes := 0
	for _, r := range s.regions {
		changes += len(r.unstable)
	}
	out := fmt.Sprintf("seed %d: %d ops (%d ok of which %d strict, %d failed, %d unknown), batched sync %v, hint budget %d, %d faults, %d nodes, ring changing %d times, at most %d actors in a key; since the last restarts: %d hints stored, %d replayed, %d read repairs, %d anti-entropy repairs; trace %016x",
		s.cfg.Seed, len(s.hist.ops), counts[outcomeOK], strict, counts[outcomeFailed], counts[outcomeUnknown],
		s.batched, s.hintBudget, len(s.log), len(s.nodes), changes, s.maxActors, hints, replayed, repairs, ae, s.TraceHash())
	out += "\n" + s.strongSummary()
	if len(s.regions) > 1 {
		out += fmt.Sprintf("\nregions %v, %s between them, %.1f%% lost; outbox bound %d bytes, %d shipments dropped; disks may be lost: %v; anti-entropy between regions every %s (0: off); regions held to converge: %v; shipping since the last restarts: %s",
			s.regionSizes(), time.Duration(s.wanDelay), 100*s.wanDrop, s.outboxBytes, s.dropped, s.diskLoss, s.regionAE, !s.mayDiverge(), s.shipping())
	}
	return out
}

// dotUse is what one dot of a key named where the checker saw it.
type dotUse struct {
	what  string // "value v1", "member e2", "share 10-0"
	where string
}

// checkDots: a dot names one write for good. The checker identifies writes
// by their unique values, so it can see a dot that names two of them (a
// dot minted twice), in any state it was shown: every answer, and every
// node's final state of every key.
func (s *Sim) checkDots() []error {
	seen := map[string]map[crdt.Dot]dotUse{}
	var errs []error
	look := func(key string, st crdt.State, where string) {
		m := seen[key]
		if m == nil {
			m = map[crdt.Dot]dotUse{}
			seen[key] = m
		}
		use := func(d crdt.Dot, what string) {
			if prev, ok := m[d]; ok && prev.what != what {
				if len(errs) < maxErrors {
					errs = append(errs, fmt.Errorf("%s: dot %s minted twice: it names %s in %s and %s in %s",
						key, d, prev.what, prev.where, what, where))
				}
				return
			}
			m[d] = dotUse{what: what, where: where}
		}
		for _, sb := range st.Siblings() {
			use(sb.Dot, fmt.Sprintf("value %q", sb.Value))
		}
		for _, mb := range st.MemberDots() {
			use(mb.Dot, fmt.Sprintf("member %q", mb.Value))
		}
		for _, sh := range st.Shares() {
			use(sh.Dot, fmt.Sprintf("share +%d-%d", sh.Inc, sh.Dec))
		}
	}
	for _, op := range s.hist.ops {
		if op.outcome == outcomeOK {
			look(op.key, op.resp.State, "the answer to "+op.String())
		}
	}
	for _, n := range s.nodes {
		for _, key := range s.hist.keys {
			st, _ := n.store.Get([]byte(key))
			look(key, st, fmt.Sprintf("%s's final state", n.id))
			actors := st.Context().Nodes()
			writers := map[string]bool{}
			for _, a := range actors {
				id, _, _ := strings.Cut(string(a), ".")
				writers[id] = true
			}
			s.maxActors = max(s.maxActors, len(actors))
			s.maxRetired = max(s.maxRetired, len(actors)-len(writers))
		}
	}
	return errs
}
