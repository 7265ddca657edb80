package simulations

import (
	"container/heap"
	"fmt"
	"strings"
)

// Run plays the fault phase and the quiet phase, then checks the history
// and the cluster. It returns the violations found, with the seed and the
// faults of the run in the text.
func (s *Sim) Run() error {
	s.runUntil(s.warmup) // with several regions, they find each other first
	s.faulty = true
	faults := s.warmup + int64(s.cfg.Faults)
	s.startClients()
	s.startStrongClients()
	s.planFaults(s.warmup, faults)
	s.planProbes(faults + int64(s.cfg.Quiet))
	s.runUntil(faults)

	s.faulty = false
	s.healAll()
	s.at(s.now+int64(s.cfg.Detect), event{kind: evView})
	s.runUntil(faults + int64(s.cfg.Quiet))
	if err := s.check(); err != nil {
		f := &Failure{Seed: s.cfg.Seed, Trace: s.TraceHash(), Faults: s.log, Err: err}
		switch {
		case s.cfg.GlobalKeys:
			f.Flags = " -global"
		case s.cfg.StrongKeys:
			f.Flags = " -strong"
		}
		return f
	}
	return nil
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
		n := e.node
		if n.node == nil || n.inc != e.inc {
			return
		}
		n.node.Tick(s.clock(n))
		s.tickDirectory(n)
		s.flush(n)
		s.at(s.now+int64(tick), e)
	case evDeliver:
		s.deliver(e)
	case evClient:
		s.issue(e.client)
	case evFault:
		e.fault()
	case evView:
		s.refreshViews()
	case evMembers:
		s.refreshViews()
		s.at(s.now+int64(memberTick), e)
	case evSync:
		for _, n := range s.nodes {
			n.store.Sync()
		}
		s.at(s.now+int64(syncInterval), e)
	}
}

// crash stops a node: what it had not committed is gone, and the clients
// waiting on it never hear back (an unknown outcome). With powerLoss, its
// store also loses what it had not synced.
func (s *Sim) crash(n *simNode, powerLoss bool) {
	if n.node == nil {
		return
	}
	s.record("crash", n.name, powerLoss)
	s.noteDropped(n)
	s.noteUnowed(n)
	n.node, n.mgr, n.dir, n.downAt = nil, nil, nil, s.now
	n.region.mnet.Stop(string(n.id))
	for _, id := range sortedKeys(n.waiting) {
		op := n.waiting[id]
		op.outcome, op.end = outcomeUnknown, s.now
		delete(n.waiting, id)
		s.answered(op)
	}
	if powerLoss && n.store.Unsynced() > 0 {
		n.store.PowerLoss()
		s.lost(n.region)
	}
	if n.gone {
		s.retire(n, "left the region")
	}
	s.at(s.now+int64(s.cfg.Detect), event{kind: evView})
}

func (s *Sim) restart(n *simNode) {
	if n.node != nil || n.gone {
		return
	}
	s.record("restart", n.name)
	if err := s.start(n, true); err != nil {
		// Its disk fails (an injected fault): it stays down, and is
		// started again a little later.
		s.note("%s cannot start: %v", n.name, err)
		s.fault(s.now+int64(s.cfg.Detect), func() { s.restart(n) })
		return
	}
	s.at(s.now+int64(s.cfg.Detect)/2, event{kind: evView})
}

// healAll ends every fault: links heal, regions reach each other, stores
// work, every node runs.
func (s *Sim) healAll() {
	for _, r := range s.regions {
		clear(r.cut)
		r.cutOff = false
	}
	for _, n := range s.nodes {
		n.store.FailCommits, n.store.FailGets = nil, nil
		if n.node == nil && !n.gone {
			s.restart(n)
		}
	}
	s.refreshViews()
}

// Failure is a violated invariant, with what it takes to replay it.
type Failure struct {
	Seed   uint64
	Trace  uint64
	Faults []string
	Err    error
	Flags  string // the test flags beside -seed that replay it, such as " -global"
}

func (f *Failure) Error() string {
	return fmt.Sprintf("seed %d (trace %016x): %v\nfaults of the run:\n  %s\nreplay: go test ./simulations -run TestSimulation -seed %d%s -v",
		f.Seed, f.Trace, f.Err, strings.Join(f.Faults, "\n  "), f.Seed, f.Flags)
}

func (f *Failure) Unwrap() error { return f.Err }
