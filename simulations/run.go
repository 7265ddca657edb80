package simulations

import (
	"container/heap"
	"fmt"
	"time"
)

// Run plays the fault phase and the quiet phase, then checks the cluster.
// It returns the first violation found, with the seed in its text.
func (s *Sim) Run() error {
	s.faulty = true
	faults := int64(s.cfg.Faults)
	for i := range s.cfg.Ops {
		op := s.randomOp(i)
		s.at(s.rng.Int64N(faults), event{kind: evClient, op: op})
	}
	s.planFaults(faults)
	s.runUntil(faults)

	s.faulty = false
	for k := range s.cut {
		delete(s.cut, k)
	}
	for _, n := range s.nodes {
		if n.node == nil {
			s.restart(n)
		}
	}
	s.at(s.now+int64(s.cfg.Detect), event{kind: evView})
	s.runUntil(faults + int64(s.cfg.Quiet))
	if err := s.check(); err != nil {
		return &Failure{Seed: s.cfg.Seed, Trace: s.TraceHash(), Err: err}
	}
	return nil
}

// planFaults schedules crashes with restarts, and link cuts with heals,
// inside the fault phase.
func (s *Sim) planFaults(end int64) {
	for range 2 + s.rng.IntN(5) {
		start := s.rng.Int64N(end * 3 / 4)
		length := int64(200*time.Millisecond) + s.rng.Int64N(int64(5*time.Second))
		a := s.ids[s.rng.IntN(len(s.ids))]
		if s.rng.IntN(2) == 0 {
			s.at(start, event{kind: evCrash, node: a})
			s.at(min(start+length, end), event{kind: evRestart, node: a})
			continue
		}
		b := s.ids[s.rng.IntN(len(s.ids))]
		if a != b {
			s.at(start, event{kind: evCut, node: a, from: b})
			s.at(min(start+length, end), event{kind: evHeal, node: a, from: b})
		}
	}
}

func (s *Sim) runUntil(t int64) {
	for s.events.Len() > 0 && s.events[0].at <= t {
		e := heap.Pop(&s.events).(event)
		s.now = e.at
		s.handle(e)
	}
	s.now = max(s.now, t)
}

func (s *Sim) handle(e event) {
	switch e.kind {
	case evTick:
		n := s.node(e.node)
		if n.node == nil || n.inc != e.inc {
			return
		}
		n.node.Tick(s.clock(n))
		s.flush(n)
		s.at(s.now+int64(tick), e)
	case evDeliver:
		s.deliver(e)
	case evClient:
		s.submit(e.op)
	case evCrash:
		s.crash(s.node(e.node))
	case evRestart:
		s.restart(s.node(e.node))
	case evCut:
		s.record("cut", e.node, e.from)
		s.cut[link(e.node, e.from)] = true
		s.refreshViews()
	case evHeal:
		s.record("heal", e.node, e.from)
		delete(s.cut, link(e.node, e.from))
		s.refreshViews()
	case evView:
		s.refreshViews()
	}
}

// crash stops a node: what it had not committed is gone, and the clients
// waiting on it never hear back.
func (s *Sim) crash(n *simNode) {
	if n.node == nil {
		return
	}
	s.record("crash", n.id)
	n.node, n.downAt = nil, s.now
	for id, op := range n.waiting {
		op.outcome = outcomeUnknown
		delete(n.waiting, id)
	}
	s.at(s.now+int64(s.cfg.Detect), event{kind: evView})
}

func (s *Sim) restart(n *simNode) {
	if n.node != nil {
		return
	}
	s.record("restart", n.id)
	if err := s.start(n); err != nil {
		panic(err) // the configuration was valid at the first start
	}
	s.at(s.now+int64(s.cfg.Detect)/2, event{kind: evView})
}

// Failure is a violated invariant, with what it takes to replay it.
type Failure struct {
	Seed  uint64
	Trace uint64
	Err   error
}

func (f *Failure) Error() string {
	return fmt.Sprintf("seed %d (trace %016x): %v\nreplay: go test ./simulations -run TestSimulation -seed %d -v",
		f.Seed, f.Trace, f.Err, f.Seed)
}

func (f *Failure) Unwrap() error { return f.Err }
