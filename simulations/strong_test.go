package simulations

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/simulations/linear"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// rendezvous places keys by highest random weight: a ring the test can
// hold in mind.
type rendezvous []crdt.NodeID

func (r rendezvous) Owners(key []byte, n int) []crdt.NodeID {
	type scored struct {
		id crdt.NodeID
		w  uint64
	}
	s := make([]scored, len(r))
	for i, id := range r {
		s[i] = scored{id, xxhash.Sum64(append(append([]byte{}, key...), id...))}
	}
	slices.SortFunc(s, func(a, b scored) int { return cmp.Compare(b.w, a.w) })
	out := make([]crdt.NodeID, 0, n)
	for _, x := range s[:min(n, len(s))] {
		out = append(out, x.id)
	}
	return out
}

var linearCalm = flag.Bool("linear-calm", false, "TestStrongLinearizable: no faults")

var linearSeeds = flag.Int("linear-seeds", 40, "TestStrongLinearizable: how many seeds to run")

// lworld runs strong keys under faults: messages delayed, reordered,
// dropped and duplicated, nodes crashing (losing what was not synced) and
// restarting, and clients that each run one operation at a time. It
// records the history for the linearizability checker.
type lworld struct {
	t       *testing.T
	rng     *rand.Rand
	now     int64
	ids     []crdt.NodeID
	nodes   map[crdt.NodeID]*kvsync.Node // nil while crashed
	stores  map[crdt.NodeID]*kvsync.MemStore
	downAt  map[crdt.NodeID]int64
	queue   []lmsg
	waiting map[uint64]*lwait
	history []linear.Op
	nextReq uint64
	cfg     func(*kvsync.Config)
	bug     bool // plant a bug: acceptor records are not synced
	amnesia bool // plant a bug: acceptors forget the ballots they promised and accepted
	calm    bool // no drops, duplicates or crashes
}

type lmsg struct {
	m  wire.Message
	at int64
}

type lwait struct {
	node crdt.NodeID
	op   linear.Op
	c    *lclient
}

type lclient struct {
	id   int
	busy bool
	next int64
}

func newLWorld(t *testing.T, seed uint64, n int, bug bool) *lworld {
	decl, err := kvsync.ParseDeclaration("s:")
	if err != nil {
		t.Fatal(err)
	}
	w := &lworld{t: t, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(),
		nodes: map[crdt.NodeID]*kvsync.Node{}, stores: map[crdt.NodeID]*kvsync.MemStore{}, downAt: map[crdt.NodeID]int64{},
		waiting: map[uint64]*lwait{}, bug: bug,
		cfg: func(c *kvsync.Config) {
			c.Strong, c.AntiEntropyInterval = decl, 0
			c.RequestTimeout = 300 * time.Millisecond
		}}
	for i := range n {
		id := crdt.NodeID(fmt.Sprintf("n%d", i+1))
		w.ids = append(w.ids, id)
		w.stores[id] = kvsync.NewMemStore()
		w.stores[id].Batched = true
		w.stores[id].UnsyncedAcceptors = bug
	}
	for _, id := range w.ids {
		w.start(id)
	}
	return w
}

func (w *lworld) start(id crdt.NodeID) {
	cfg := kvsync.DefaultConfig(id)
	w.cfg(&cfg)
	var store kvsync.Store = w.stores[id]
	if w.amnesia {
		store = ballotAmnesia{w.stores[id]}
	}
	node, err := kvsync.NewNode(cfg, store, w.now)
	if err != nil {
		w.t.Fatal(err)
	}
	w.nodes[id] = node
	delete(w.downAt, id)
	w.setViews()
}

// setViews gives every running node the same ring, with the nodes down for
// more than 50ms marked down.
func (w *lworld) setViews() {
	down := map[crdt.NodeID]bool{}
	for id, at := range w.downAt {
		if w.now-at >= int64(50*time.Millisecond) {
			down[id] = true
		}
	}
	for _, id := range w.ids {
		n := w.nodes[id]
		if n == nil {
			continue
		}
		mine := maps.Clone(down)
		if !w.calm && w.rng.IntN(5) == 0 {
			// Views disagree for a while: this node takes another for down,
			// and proposes where others would not (contention).
			mine[w.ids[w.rng.IntN(len(w.ids))]] = true
		}
		delete(mine, id)
		n.SetView(w.now, kvsync.View{Placement: rendezvous(w.ids), Members: w.ids, Down: mine, Current: map[crdt.NodeID]bool{}})
	}
}

// crash stops a node: what its store did not sync is lost, and its
// clients' operations get unknown outcomes.
func (w *lworld) crash(id crdt.NodeID) {
	if w.nodes[id] == nil {
		return
	}
	w.nodes[id] = nil
	w.downAt[id] = w.now
	w.stores[id].PowerLoss()
	for rid, wt := range w.waiting {
		if wt.node == id {
			w.done(rid, wt, kvsync.Response{Err: kvsync.ErrUnknownOutcome})
		}
	}
}

func (w *lworld) flush(id crdt.NodeID) {
	n := w.nodes[id]
	if n == nil {
		return
	}
	rd, _ := n.Flush()
	for _, r := range rd.Responses {
		if wt := w.waiting[r.ID]; wt != nil {
			w.done(r.ID, wt, r)
		}
	}
	for _, m := range rd.Messages {
		w.queue = append(w.queue, lmsg{m: m, at: w.now + int64(w.rng.IntN(5_000_000))})
	}
}

// done records the answer of request rid.
func (w *lworld) done(rid uint64, wt *lwait, r kvsync.Response) {
	delete(w.waiting, rid)
	wt.c.busy = false
	wt.c.next = w.now + int64(w.rng.IntN(3_000_000))
	o := wt.op
	o.Return = w.now
	switch {
	case r.Err == nil:
		if r.Strong == nil && o.Op.Kind == wire.OpGet {
			w.t.Fatalf("%s answered without a strong value", linear.Describe(&o))
		}
		o.NoValue, o.Result = r.Strong == nil, r.Changed
		if r.Strong != nil {
			o.Value = *r.Strong
		}
	case errIs(r.Err, kvsync.ErrConditionFailed):
		o.Failed = true
	case errIs(r.Err, kvsync.ErrUnknownOutcome):
		o.Unknown = true
	default:
		return // a definite error: nothing applied, no place in the history
	}
	w.history = append(w.history, o)
}

// randomOp draws an operation on one of a few keys.
func (w *lworld) randomOp() wire.Op {
	key := []byte(fmt.Sprintf("s:k%d", w.rng.IntN(2)))
	v := []byte(fmt.Sprintf("v%d", w.rng.IntN(4)))
	switch w.rng.IntN(8) {
	case 0, 1:
		return wire.Op{Kind: wire.OpGet, Key: key}
	case 2:
		return wire.Op{Kind: wire.OpPut, Key: key, Value: v}
	case 3:
		return wire.Op{Kind: wire.OpPut, Key: key, Value: v, Cond: wire.CondIfEq, Expect: []byte(fmt.Sprintf("v%d", w.rng.IntN(4)))}
	case 4:
		return wire.Op{Kind: wire.OpPut, Key: key, Value: v, Cond: wire.CondNX}
	case 5:
		return wire.Op{Kind: wire.OpDelete, Key: key, Cond: wire.CondIfEq, Expect: v}
	case 6:
		return wire.Op{Kind: wire.OpIncr, Key: key, By: int64(w.rng.IntN(5) + 1)}
	}
	return wire.Op{Kind: wire.OpDelete, Key: key}
}

// run drives the world for d of simulated time with clients, then lets
// every operation be answered.
func (w *lworld) run(d time.Duration, clients int) {
	cs := make([]*lclient, clients)
	for i := range cs {
		cs[i] = &lclient{id: i}
	}
	end := w.now + int64(d)
	for step := 0; w.now < end || len(w.waiting) > 0 || len(w.queue) > 0; step++ {
		if step > 200_000 {
			w.t.Fatalf("the world never went quiet: %d waiting", len(w.waiting))
		}
		w.now += int64(time.Millisecond)
		if w.now < end {
			for _, c := range cs {
				if !c.busy && w.now >= c.next {
					w.submit(c)
				}
			}
			w.faults()
		} else {
			for _, id := range w.ids {
				if w.nodes[id] == nil {
					w.start(id)
				}
			}
		}
		w.deliver()
		if step%10 == 0 {
			w.setViews()
			for _, id := range w.ids {
				if n := w.nodes[id]; n != nil {
					n.Tick(w.now)
					w.flush(id)
				}
			}
		}
	}
}

func (w *lworld) submit(c *lclient) {
	var up []crdt.NodeID
	for _, id := range w.ids {
		if w.nodes[id] != nil {
			up = append(up, id)
		}
	}
	if len(up) == 0 {
		return
	}
	at := up[w.rng.IntN(len(up))]
	op := w.randomOp()
	w.nextReq++
	c.busy = true
	w.waiting[w.nextReq] = &lwait{node: at, c: c, op: linear.Op{Client: c.id, Call: w.now, Op: op}}
	w.nodes[at].Submit(w.now, kvsync.Request{ID: w.nextReq, Op: op})
	w.flush(at)
}

// faults crashes a node now and then, and restarts it 100ms later.
func (w *lworld) faults() {
	for _, id := range w.ids {
		if w.nodes[id] == nil && w.now-w.downAt[id] > int64(100*time.Millisecond) {
			w.start(id)
		}
	}
	if !w.calm && w.rng.IntN(400) == 0 {
		w.crash(w.ids[w.rng.IntN(len(w.ids))])
	}
}

// deliver hands the messages that are due to their nodes, in random order,
// dropping 5% and duplicating 5%.
func (w *lworld) deliver() {
	var due []lmsg
	keep := w.queue[:0]
	for _, m := range w.queue {
		if m.at <= w.now {
			due = append(due, m)
		} else {
			keep = append(keep, m)
		}
	}
	w.queue = keep
	w.rng.Shuffle(len(due), func(i, j int) { due[i], due[j] = due[j], due[i] })
	for _, lm := range due {
		n := w.nodes[lm.m.To]
		if n == nil || (!w.calm && w.rng.IntN(20) == 0) {
			continue
		}
		if !w.calm && w.rng.IntN(20) == 0 {
			w.queue = append(w.queue, lmsg{m: lm.m, at: w.now + int64(w.rng.IntN(5_000_000))})
		}
		n.Step(w.now, lm.m)
		w.flush(lm.m.To)
	}
}

func errIs(err, target error) bool { return errors.Is(err, target) }

// TestStrongLinearizable: histories of 5 clients on two strong keys, under
// delays, reordering, drops, duplicates and crashes that lose what was not
// synced, are linearizable (porcupine).
func TestStrongLinearizable(t *testing.T) {
	for seed := uint64(1); seed <= uint64(*linearSeeds); seed++ {
		w := newLWorld(t, seed, 5, false)
		w.calm = *linearCalm
		w.run(2*time.Second, 5)
		res := linear.Check(w.history, 10*time.Second)
		if !res.Ok {
			t.Fatalf("seed %d: %d operations, not linearizable (undecided: %v); replay with -run TestStrongLinearizable -linear-seeds %d\n%s",
				seed, res.Ops, res.Unknown, seed, describeHistory(w.history))
		}
	}
}

// TestLinearCheckerCatchesUnsyncedPromises: with a bug planted (acceptor
// records not synced, so a crash forgets promises and acceptances it
// answered), the checker finds a history that is not linearizable.
func TestLinearCheckerCatchesUnsyncedPromises(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		w := newLWorld(t, seed, 3, true)
		w.run(2*time.Second, 5)
		if res := linear.Check(w.history, 10*time.Second); !res.Ok {
			t.Logf("seed %d: the planted bug caught (%d operations)", seed, res.Ops)
			return
		}
	}
	t.Fatal("200 seeds with acceptor records never synced, and every history passed: the checker cannot fail")
}

func describeHistory(h []linear.Op) string {
	h = slices.Clone(h)
	slices.SortFunc(h, func(a, b linear.Op) int { return int(a.Call - b.Call) })
	var b strings.Builder
	for _, o := range h {
		fmt.Fprintf(&b, "  [%d, %d] %s\n", o.Call/1e6%100000, o.Return/1e6%100000, linear.Describe(&o))
	}
	return b.String()
}

// ballotAmnesia is a store whose acceptor records read back without their
// ballots: its acceptors skip the ballot checks (a planted bug).
type ballotAmnesia struct{ *kvsync.MemStore }

func (s ballotAmnesia) GetAcceptor(key []byte) (wire.Acceptor, error) {
	a, err := s.MemStore.GetAcceptor(key)
	a.Promised, a.Accepted = wire.Ballot{}, wire.Ballot{}
	return a, err
}

// TestLinearCheckerCatchesSkippedBallotCheck: with a bug planted (acceptors
// forget the ballots they promised and accepted, so they check none), the
// checker finds a history that is not linearizable.
func TestLinearCheckerCatchesSkippedBallotCheck(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		w := newLWorld(t, seed, 5, false)
		w.amnesia = true
		for _, id := range w.ids {
			w.start(id)
		}
		w.run(2*time.Second, 5)
		if res := linear.Check(w.history, 10*time.Second); !res.Ok {
			t.Logf("seed %d: the planted bug caught (%d operations)", seed, res.Ops)
			return
		}
	}
	t.Fatal("200 seeds with acceptors that skip the ballot check, and every history passed: the checker cannot fail")
}
