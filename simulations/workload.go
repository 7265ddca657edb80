package simulations

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// Keys come in classes, so that the checker knows what each may hold:
// registers get puts and deletes, counters increments and deletes, sets
// additions, removals and deletes; every key gets reads.
const (
	classReg = "reg"
	classCnt = "cnt"
	classSet = "set"
)

type opKind int

const (
	opGet opKind = iota
	opPut
	opDel
	opIncr
	opAdd
	opRemove
)

func (k opKind) String() string {
	return [...]string{"get", "put", "del", "incr", "add", "remove"}[k]
}

type outcome int

const (
	outcomePending outcome = iota
	outcomeOK
	outcomeFailed  // definitely not applied
	outcomeUnknown // may have been applied
)

func (o outcome) String() string { return [...]string{"pending", "ok", "failed", "unknown"}[o] }

// never is the end of an operation whose outcome is unknown: it may take
// effect at any time.
const never = math.MaxInt64

// clientOp is one client request and what became of it. Puts write values
// unique to the run, so that the checker can tell every write apart without
// trusting dots.
type clientOp struct {
	id      uint64
	client  int
	kind    opKind
	key     string
	value   string // put: unique; add, remove: the element
	by      int64  // incr: always positive
	level   kvsync.Level
	scope   scope       // the replicas its level reaches (scope.go)
	node    crdt.NodeID // the node it was submitted to (qualified with several regions)
	region  int         // the index of that node's region
	start   int64       // true time it was submitted
	end     int64       // true time it was answered (or its node crashed)
	outcome outcome
	resp    kvsync.Response
	strict  bool     // acknowledged at a level of a quorum or more, by the key's owners in every region it needs
	final   bool     // not an operation: the final state of a region, as the checks see it (finalOf)
	note    string   // what its messages add: its node's view lacked a region
	strong  *wire.Op // the operation on a strong key (strong.go); nil for an eventual key
}

func (op *clientOp) String() string {
	if op.strong != nil {
		return op.strongString()
	}
	arg := op.value
	if op.kind == opIncr {
		arg = fmt.Sprint(op.by)
	}
	return fmt.Sprintf("#%d c%d %s(%s %s) %s at %s [%.3fs, %.3fs] %s%s", op.id, op.client, op.kind, op.key, arg,
		op.level, op.node, float64(op.start)/1e9, float64(op.end)/1e9, op.outcome, op.note)
}

// finalOf stands for the final state of region i in the checks: it
// reflects every operation, and nothing may still be on its way.
func finalOf(i int) *clientOp {
	return &clientOp{final: true, region: i, strict: true, start: never, end: never}
}

// mayApply reports whether the operation may have taken effect.
func (op *clientOp) mayApply() bool { return op.outcome != outcomeFailed && op.kind != opGet }

// endT is when the operation's effect was settled: its answer, or never
// when its outcome is unknown.
func (op *clientOp) endT() int64 {
	if op.outcome == outcomeOK || op.outcome == outcomeFailed {
		return op.end
	}
	return never
}

// before reports whether a was acknowledged before b started.
func before(a, b *clientOp) bool { return a.outcome == outcomeOK && a.end < b.start }

type history struct {
	keys   []string
	ops    []*clientOp
	byKey  map[string][]*clientOp
	nextID uint64
}

func newHistory(perClass int) history {
	h := history{byKey: map[string][]*clientOp{}}
	for _, class := range []string{classReg, classCnt, classSet} {
		for i := range perClass {
			h.keys = append(h.keys, fmt.Sprintf("%s-%d", class, i))
		}
	}
	return h
}

func class(key string) string { return key[:3] }

// client issues one operation at a time, to a node drawn at random each
// time, waiting a little between them: the sessions whose order the
// checker verifies. With several regions, a client connects to the nodes
// of its home region, and now and then to another region's.
type client struct {
	id      int
	home    *simRegion
	pending *clientOp
	key     string     // the key of its last operation: it often stays on it
	strong  *strongKey // the strong key it works on (strong.go); nil for a client of eventual keys
}

func (s *Sim) startClients() {
	for i := range s.cfg.Clients {
		c := &client{id: i + 1, home: s.regions[i%len(s.regions)]}
		s.clients = append(s.clients, c)
		s.at(s.now+s.think(c), event{kind: evClient, client: c})
	}
}

// issue submits c's next operation, while the fault phase lasts.
func (s *Sim) issue(c *client) {
	if !s.faulty || c.pending != nil {
		return
	}
	if c.strong != nil {
		s.issueStrong(c)
		return
	}
	r := c.home
	if len(s.regions) > 1 && s.rng.IntN(8) == 0 {
		r = s.regions[s.rng.IntN(len(s.regions))] // a visit to another region, or home
	}
	var up []*simNode
	for _, n := range r.nodes {
		if n.node != nil {
			up = append(up, n)
		}
	}
	if len(up) == 0 {
		s.at(s.now+int64(s.cfg.Think), event{kind: evClient, client: c})
		return
	}
	n := up[s.rng.IntN(len(up))]
	op := s.randomOp(c)
	op.scope = s.scopeOf(op.level)
	s.hist.nextID++
	op.id, op.node, op.region, op.start = s.hist.nextID, n.name, r.idx, s.now
	if n.dir != nil && n.known < len(s.regions)-1 {
		// Its node serves a level that spans regions as if the regions it
		// does not know did not exist.
		op.note = fmt.Sprintf(" (its node's view named %d of the %d other regions)", n.known, len(s.regions)-1)
	}
	if op.kind == opPut {
		op.value = fmt.Sprintf("v%d", op.id)
	}
	s.hist.ops = append(s.hist.ops, op)
	s.hist.byKey[op.key] = append(s.hist.byKey[op.key], op)
	c.pending = op
	n.waiting[op.id] = op
	s.record("submit", n.name, op.id, op.kind, op.key)
	n.node.Submit(s.clock(n), kvsync.Request{ID: op.id, Op: op.wireOp()})
	s.flush(n)
}

// randomOp draws a client's next operation.
func (s *Sim) randomOp(c *client) *clientOp {
	key := c.key
	if key == "" || s.rng.IntN(5) < 2 {
		key = s.hist.keys[s.rng.IntN(len(s.hist.keys))]
	}
	c.key = key
	op := &clientOp{client: c.id, key: key}
	if len(s.regions) > 1 {
		op.level = s.regionalLevel()
	} else {
		switch r := s.rng.IntN(10); {
		case r < 6:
			op.level = kvsync.Quorum
		case r < 8:
			op.level = kvsync.All
		default:
			op.level = kvsync.One
		}
	}
	roll := s.rng.IntN(10)
	switch {
	case roll < 3:
		op.kind = opGet
	case roll == 3:
		op.kind = opDel
	default:
		switch class(key) {
		case classReg:
			op.kind = opPut
		case classCnt:
			op.kind, op.by = opIncr, 1+s.rng.Int64N(10)
		default:
			op.kind, op.value = opAdd, fmt.Sprintf("e%d", s.rng.IntN(5))
			if roll >= 8 {
				op.kind = opRemove
			}
		}
	}
	return op
}

func (op *clientOp) wireOp() wire.Op {
	w := wire.Op{Key: []byte(op.key), Level: uint8(op.level)}
	switch op.kind {
	case opGet:
		w.Kind = wire.OpGet
	case opPut:
		w.Kind, w.Value = wire.OpPut, []byte(op.value)
	case opDel:
		w.Kind = wire.OpDelete
	case opIncr:
		w.Kind, w.By = wire.OpIncr, op.by
	case opAdd:
		w.Kind, w.Elems = wire.OpAdd, [][]byte{[]byte(op.value)}
	case opRemove:
		w.Kind, w.Elems = wire.OpRemove, [][]byte{[]byte(op.value)}
	}
	return w
}

// respond records a node's answer to a client.
func (s *Sim) respond(n *simNode, r kvsync.Response) {
	op, ok := n.waiting[r.ID]
	if !ok {
		panic(fmt.Sprintf("simulations: %s answered request %d twice or never got it", n.id, r.ID))
	}
	delete(n.waiting, r.ID)
	if op.strong != nil {
		s.respondStrong(n, op, r)
		return
	}
	op.resp, op.end = r, s.now
	switch {
	case r.Err == nil:
		op.outcome = outcomeOK
	case errors.Is(r.Err, kvsync.ErrUnknownOutcome):
		op.outcome = outcomeUnknown
	default:
		op.outcome = outcomeFailed
	}
	op.strict = op.outcome == outcomeOK && op.scope != scopeNone && !s.maybeSloppy(n, op)
	errText := ""
	if r.Err != nil {
		errText = r.Err.Error()
	}
	s.record("respond", n.name, r.ID, op.outcome, errText)
	s.answered(op)
}

// maybeSloppy reports whether an owner of op's key, in a region op needs,
// was held down by some node while op ran: its coordinator (or a region's
// relay) may then have counted the acknowledgement of a fallback (a sloppy
// quorum), or gone ahead without reading a quorum of owners first.
// (Response.Sloppy says so too, but only at the coordinator: a forwarded
// answer does not carry it, nor does a region's answer to a relay.) Owners
// are placed by the roster of n in its region, by that of a running node
// in another.
func (s *Sim) maybeSloppy(n *simNode, op *clientOp) bool {
	if op.resp.Sloppy {
		return true
	}
	for _, r := range s.needs(op) {
		roster := n.stored
		if r != n.region {
			roster = r.roster()
		}
		if roster == nil {
			return true
		}
		for _, id := range s.placement(roster).Owners([]byte(op.key), r.replicas) {
			if o := r.node(id); o == nil || s.suspected(o, op.start, op.end) {
				return true
			}
		}
	}
	return false
}

// answered lets the client of op go on with its next operation.
func (s *Sim) answered(op *clientOp) {
	c := s.clients[op.client-1]
	if c.pending == op {
		c.pending = nil
		s.at(s.now+s.think(c), event{kind: evClient, client: c})
	}
}

func sortedKeys[V any](m map[uint64]V) []uint64 {
	ks := slices.Collect(maps.Keys(m))
	slices.SortFunc(ks, cmp.Compare)
	return ks
}
