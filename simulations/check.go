package simulations

import (
	"errors"
	"fmt"

	"github.com/meridiankv/meridian/crdt"
)

// check asserts the invariants of a quiet cluster.
func (s *Sim) check() error {
	var errs []error
	final := map[string]crdt.State{}
	for _, key := range s.hist.keys {
		owners := s.place.Owners([]byte(key), s.cfg.Replicas)
		first, _ := s.node(owners[0]).store.Get([]byte(key))
		for _, o := range owners[1:] {
			st, _ := s.node(o).store.Get([]byte(key))
			if !st.Equal(first) {
				errs = append(errs, fmt.Errorf("key %s: replicas %s and %s differ:\n  %v\n  %v", key, owners[0], o, first, st))
			}
		}
		final[key] = first
	}
	for _, op := range s.hist.ops {
		if op.outcome == outcomeOK && op.kind != opRead {
			if err := seen(final[op.key], op.resp.State); err != nil {
				errs = append(errs, fmt.Errorf("acknowledged write %d (%s on %s) lost: %w", op.id, opName(op.kind), op.key, err))
			}
		}
	}
	errs = append(errs, s.checkCounters(final)...)
	errs = append(errs, s.checkAddOnlySets(final)...)
	return errors.Join(errs...)
}

// seen reports whether final has seen every dot acked had seen.
func seen(final, acked crdt.State) error {
	ctx, got := acked.Context(), final.Context()
	for _, d := range ctx.Vector() {
		if got.Max(d.Node) < d.Counter {
			return fmt.Errorf("final context %v lacks %v", got, d)
		}
		for c := uint64(1); c <= d.Counter; c++ {
			if !got.Contains(crdt.Dot{Node: d.Node, Counter: c}) {
				return fmt.Errorf("final context %v lacks %s:%d", got, d.Node, c)
			}
		}
	}
	for _, d := range ctx.Cloud() {
		if !got.Contains(d) {
			return fmt.Errorf("final context %v lacks %v", got, d)
		}
	}
	return nil
}

// checkCounters: a counter holds at least the acknowledged increments and at
// most those plus the ones whose outcome is unknown.
func (s *Sim) checkCounters(final map[string]crdt.State) []error {
	lo, hi := map[string]int64{}, map[string]int64{}
	for _, op := range s.hist.ops {
		if op.kind != opIncr {
			continue
		}
		switch op.outcome {
		case outcomeOK:
			lo[op.key] += op.by
			hi[op.key] += op.by
		case outcomeUnknown, outcomePending:
			hi[op.key] += op.by
		}
	}
	var errs []error
	for key, want := range lo {
		v, err := final[key].Value()
		if err != nil || v < want || v > hi[key] {
			errs = append(errs, fmt.Errorf("counter %s = %d (%v): acknowledged increments sum to %d, with unknown ones to %d", key, v, err, want, hi[key]))
		}
	}
	return errs
}

// checkAddOnlySets: every acknowledged addition to an add-only set is there.
func (s *Sim) checkAddOnlySets(final map[string]crdt.State) []error {
	var errs []error
	for _, op := range s.hist.ops {
		if op.kind == opAdd && op.outcome == outcomeOK && op.key[:3] == "add" && !final[op.key].IsMember(op.value) {
			errs = append(errs, fmt.Errorf("set %s lost acknowledged member %q: has %v", op.key, op.value, final[op.key].Members()))
		}
	}
	return errs
}

func opName(kind int) string {
	return [...]string{"read", "put", "delete", "incr", "add", "remove"}[kind]
}

// Summary counts outcomes, for the test log.
func (s *Sim) Summary() string {
	var ok, failed, unknown int
	for _, op := range s.hist.ops {
		switch op.outcome {
		case outcomeOK:
			ok++
		case outcomeFailed:
			failed++
		default:
			unknown++
		}
	}
	var hints, replayed, repairs, ae int64
	for _, n := range s.nodes {
		if n.node != nil {
			st := n.node.Stats()
			hints, replayed, repairs, ae = hints+st.HintsStored, replayed+st.HintsSent, repairs+st.ReadRepairs, ae+st.AE.KeysSent
		}
	}
	return fmt.Sprintf("seed %d: %d ops (%d ok, %d failed, %d unknown); since the last restarts: %d hints stored, %d replayed, %d read repairs, %d anti-entropy repairs; trace %016x",
		s.cfg.Seed, len(s.hist.ops), ok, failed, unknown, hints, replayed, repairs, ae, s.TraceHash())
}
