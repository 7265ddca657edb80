package simulations

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/simulations/linear"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// The checker of strong keys. checkStrong hands each key's history to
// package linear, which decides with porcupine whether it is
// linearizable: an operation whose outcome is unknown (ErrUnknownOutcome,
// its node crashed under it, or it was never answered) may have taken
// effect at any time after it was submitted, or never; a failed condition
// is an answer to check; an operation refused with nothing applied
// (ErrRejected, ErrUnavailable, a value that is not an integer) is left
// out. A history that is not linearizable, or that the checker cannot
// decide within linearLimit, fails the run. Once quiet, every strong key
// must be decided (probes), and no node may hold eventual state of a
// strong key or an acceptor record of an eventual one.
//
// Consensus cannot survive losing the disk of an acceptor: a wiped node,
// or one an operator removed, forgets what it promised and accepted. A
// key's history is checked up to the first such loss among its acceptors
// (operations still running then count as unknown outcomes), as the
// eventual checks excuse what a lost disk may lose. A power loss is no
// excuse: acceptors sync their records before they answer.

// checkStrong decides whether each strong key's history is linearizable,
// and whether each was decided once quiet.
func (s *Sim) checkStrong() []error {
	errs := append(s.checkLive(), s.checkKinds()...)
	for _, k := range s.strong {
		history, ops, errsKey := s.linearHistory(k)
		errs = append(errs, errsKey...)
		res := linear.Check(history, linearLimit)
		switch {
		case res.Unknown:
			errs = append(errs, fmt.Errorf("%s: could not decide within %s whether its %d operations are linearizable: %s",
				k.where(), linearLimit, len(history), k.describe(history, ops, -1)))
		case !res.Ok:
			errs = append(errs, fmt.Errorf("%s: not linearizable: %s", k.where(), k.describe(history, ops, stuck(history, res))))
		}
	}
	return errs
}

// checkKinds: no node holds eventual (CRDT) state of a strong key, nor an
// acceptor record of a key that is not strong.
func (s *Sim) checkKinds() []error {
	var errs []error
	for _, n := range s.nodes {
		for _, k := range s.strong {
			if st, err := n.store.Get([]byte(k.name)); err == nil && !st.IsZero() {
				errs = append(errs, fmt.Errorf("%s holds eventual state on %s: %v", k.where(), n.name, st))
			}
		}
		_ = n.store.ScanAcceptors(0, ^uint64(0), func(key []byte, _ wire.Acceptor) bool {
			if _, strong := s.decl.Of(key); !strong {
				errs = append(errs, fmt.Errorf("key %s is eventual, and %s holds an acceptor record of it", key, n.name))
			}
			return true
		})
	}
	return errs
}

// where names k for the messages.
func (k *strongKey) where() string {
	if k.home == nil {
		return fmt.Sprintf("strong key %s (global)", k.name)
	}
	return fmt.Sprintf("strong key %s (local to region %s)", k.name, k.home.name)
}

// linearHistory returns k's history as package linear checks it, up to
// the loss of an acceptor's disk, with the operation each entry stands
// for, and an error for every read answered without a value.
func (s *Sim) linearHistory(k *strongKey) ([]linear.Op, []*clientOp, []error) {
	var out []linear.Op
	var ops []*clientOp
	var errs []error
	for _, op := range k.ops {
		if op.start >= k.lostAt {
			break
		}
		o := linear.Op{Client: op.client, Call: op.start, Return: op.end, Op: *op.strong}
		read := op.strong.Kind == wire.OpGet
		switch {
		case op.end > k.lostAt || op.outcome == outcomeUnknown || op.outcome == outcomePending:
			o.Unknown = true
		case op.outcome == outcomeOK:
			o.NoValue, o.Result = op.resp.Strong == nil, op.resp.Changed
			if op.resp.Strong != nil {
				o.Value = *op.resp.Strong
			} else if read {
				errs = append(errs, fmt.Errorf("%s: a read answered without a value: %s", k.where(), op))
				continue
			}
		case errors.Is(op.resp.Err, kvsync.ErrConditionFailed):
			o.Failed = true
		default:
			continue // nothing applied
		}
		if read && o.Unknown {
			continue // a read that may not have happened changes nothing
		}
		out, ops = append(out, o), append(ops, op)
	}
	return out, ops, errs
}

// stuck returns the index in history of the first operation (by the time
// it was answered) that follows none of the longest linearizations
// porcupine found of a history that is not linearizable: where to look
// first. -1 for none.
func stuck(history []linear.Op, res linear.Result) int {
	var longest []int
	for _, part := range res.Info.PartialLinearizations() {
		for _, l := range part {
			if len(l) > len(longest) {
				longest = l
			}
		}
	}
	first := -1
	for i, o := range history {
		if !o.Unknown && !slices.Contains(longest, i) && (first < 0 || o.Return < history[first].Return) {
			first = i
		}
	}
	return first
}

// describe lists history, whose entries stand for ops, in the order they
// were submitted, marking the entry at index blame.
func (k *strongKey) describe(history []linear.Op, ops []*clientOp, blame int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "its history of %d operations, in the order they were submitted ([submitted, answered] in seconds of the run, the request and the node it was submitted to; an unknown outcome may have applied at any time after it was submitted, or never; \"-> none\" after a write answered from request-id memory shows no value",
		len(history))
	if k.lostAt != never {
		fmt.Fprintf(&b, "; checked up to %.3fs, when an acceptor lost its disk", float64(k.lostAt)/1e9)
	}
	if blame >= 0 {
		b.WriteString("; <== marks the first operation, by the time it was answered, that no order of the others could explain")
	}
	b.WriteString("):")
	for i := range history {
		o := &history[i]
		end := "       -"
		if !o.Unknown {
			end = fmt.Sprintf("%8.3f", float64(o.Return)/1e9)
		}
		mark := ""
		if i == blame {
			mark = "  <=="
		}
		fmt.Fprintf(&b, "\n  [%8.3f, %s] #%d at %s: %s%s", float64(o.Call)/1e9, end, ops[i].id, ops[i].node, linear.Describe(o), mark)
	}
	return b.String()
}

// strongString describes op, an operation on a strong key, for the
// messages.
func (op *clientOp) strongString() string {
	cond := errors.Is(op.resp.Err, kvsync.ErrConditionFailed)
	o := linear.Op{Client: op.client, Op: *op.strong, Unknown: op.outcome != outcomeOK && !cond, Failed: cond}
	if op.resp.Strong != nil {
		o.Value = *op.resp.Strong
	}
	err := ""
	if op.resp.Err != nil {
		err = ": " + op.resp.Err.Error()
	}
	return fmt.Sprintf("#%d %s at %s [%.3fs, %.3fs] %s%s", op.id, linear.Describe(&o), op.node,
		float64(op.start)/1e9, float64(op.end)/1e9, op.outcome, err)
}

// Once quiet, every strong key must be decided: a read of each, from
// probeAt before the end of the run and tried again probeGap later up to
// probeTries times in all, must succeed once, unless a node of the
// previous build is one of its acceptors (such a key is unavailable by
// design).
const (
	probeAt    = 8 * time.Second
	probeGap   = 1500 * time.Millisecond
	probeTries = 4
)

// planProbes schedules the first read of every strong key once quiet,
// probeAt before end.
func (s *Sim) planProbes(end int64) {
	for _, k := range s.strong {
		k.probe = &client{id: len(s.clients) + 1, home: s.regions[0], strong: k}
		s.clients = append(s.clients, k.probe)
		s.fault(end-int64(probeAt), func() { s.probe(k) })
	}
}

// probe reads strong key k through a running node of its home region (of
// the first region for a global key).
func (s *Sim) probe(k *strongKey) {
	up := k.probe.home.running()
	if len(up) == 0 {
		return
	}
	s.submitStrong(k.probe, up[s.rng.IntN(len(up))], wire.Op{Kind: wire.OpGet, Key: []byte(k.name), Level: uint8(k.level)})
}

// probed takes the answer to a probe: a probe that failed is tried again,
// probeTries times in all.
func (s *Sim) probed(op *clientOp) {
	c := s.clients[op.client-1]
	k := c.strong
	if c != k.probe || op.outcome == outcomeOK || k.probes() >= probeTries {
		return
	}
	s.fault(s.now+int64(probeGap), func() { s.probe(k) })
}

// probes counts the probes of k so far.
func (k *strongKey) probes() int {
	n := 0
	for _, op := range k.ops {
		if op.client == k.probe.id {
			n++
		}
	}
	return n
}

// checkLive: every strong key was decided once quiet, unless a node of
// the previous build is one of its acceptors.
func (s *Sim) checkLive() []error {
	var errs []error
	for _, k := range s.strong {
		var last *clientOp
		ok := false
		for _, op := range k.ops {
			if op.client == k.probe.id {
				last, ok = op, ok || op.outcome == outcomeOK
			}
		}
		if ok || s.legacyAcceptor(k) {
			continue
		}
		what := "no read was tried: no node of its region ran"
		if last != nil {
			what = fmt.Sprintf("%d reads %s apart failed, the last %s", k.probes(), probeGap, last)
		}
		errs = append(errs, fmt.Errorf("%s not decided once quiet: %s", k.where(), what))
	}
	return errs
}

// legacyAcceptor reports whether a node of the previous build is an owner
// of k as a running node of its region sees the ring.
func (s *Sim) legacyAcceptor(k *strongKey) bool {
	if s.legacy == "" {
		return false
	}
	r := s.regions[0]
	for _, n := range r.nodes {
		if n.node != nil && n.stored != nil {
			return slices.Contains(s.placement(n.stored).Owners([]byte(k.name), r.replicas), crdt.NodeID(s.legacy)) ||
				slices.Contains(s.nextPlacement(n.stored).Owners([]byte(k.name), r.replicas), crdt.NodeID(s.legacy))
		}
	}
	return false
}

// acceptorLost notes that node n lost its disk for good now (a wipe, a
// removal): the strong keys it may have been an acceptor of are checked
// up to now only.
func (s *Sim) acceptorLost(n *simNode) {
	for _, k := range s.strong {
		if k.lostAt == never && (k.home == nil || k.home == n.region) && s.mayAccept(n, k.name) {
			k.lostAt = s.now
			s.note("%s lost its disk, and may have been an acceptor of %s: its history is checked up to here", n.name, k.name)
		}
	}
}

// mayAccept reports whether n is an owner of key, before or after a ring
// change under way, as some node of its region sees the ring.
func (s *Sim) mayAccept(n *simNode, key string) bool {
	r := n.region
	for _, o := range r.nodes {
		if o.stored == nil || (o.node == nil && o != n) {
			continue
		}
		if slices.Contains(s.placement(o.stored).Owners([]byte(key), r.replicas), n.id) ||
			slices.Contains(s.nextPlacement(o.stored).Owners([]byte(key), r.replicas), n.id) {
			return true
		}
	}
	return false
}
