package simulations

import (
	"errors"
	"fmt"

	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// Keys come in classes, so that the checker knows what each may hold.
const (
	opRead = iota
	opPut
	opDelete
	opIncr
	opAdd
	opRemove
)

const (
	outcomePending = iota
	outcomeOK
	outcomeFailed  // definitely not applied
	outcomeUnknown // may have been applied
)

// clientOp is one client request and what became of it.
type clientOp struct {
	id      uint64
	kind    int
	key     string
	value   string
	by      int64
	level   uint8
	outcome int
	resp    kvsync.Response
}

type history struct {
	keys   []string
	ops    []*clientOp
	nextID uint64
}

func newHistory() history {
	var h history
	for _, class := range []string{"reg", "cnt", "add", "set"} {
		for i := range 6 {
			h.keys = append(h.keys, fmt.Sprintf("%s-%d", class, i))
		}
	}
	return h
}

// randomOp draws the i-th client operation: registers get puts and deletes,
// counters increments, "add" sets additions only, "set" sets both.
func (s *Sim) randomOp(i int) *clientOp {
	key := s.hist.keys[s.rng.IntN(len(s.hist.keys))]
	op := &clientOp{key: key, level: uint8(kvsync.One) + uint8(s.rng.IntN(3))}
	switch key[:3] {
	case "reg":
		op.kind, op.value = opPut, fmt.Sprintf("v%d", i)
		if s.rng.IntN(4) == 0 {
			op.kind = opDelete
		}
	case "cnt":
		op.kind, op.by = opIncr, 1+s.rng.Int64N(10)
	case "add":
		op.kind, op.value = opAdd, fmt.Sprintf("e%d", s.rng.IntN(10))
	default:
		op.kind, op.value = opAdd, fmt.Sprintf("e%d", s.rng.IntN(4))
		if s.rng.IntN(3) == 0 {
			op.kind = opRemove
		}
	}
	if s.rng.IntN(5) == 0 {
		op.kind = opRead
	}
	return op
}

// submit hands op to a random node that is up (or the node the event names).
func (s *Sim) submit(op *clientOp) {
	var up []*simNode
	for _, n := range s.nodes {
		if n.node != nil {
			up = append(up, n)
		}
	}
	if len(up) == 0 {
		op.outcome = outcomeFailed
		return
	}
	n := up[s.rng.IntN(len(up))]
	s.hist.nextID++
	op.id = s.hist.nextID
	s.hist.ops = append(s.hist.ops, op)
	n.waiting[op.id] = op
	s.record("submit", n.id, op.id, op.kind, op.key)
	n.node.Submit(s.clock(n), kvsync.Request{ID: op.id, Op: op.wireOp()})
	s.flush(n)
}

func (op *clientOp) wireOp() wire.Op {
	w := wire.Op{Key: []byte(op.key), Level: op.level}
	switch op.kind {
	case opRead:
		w.Kind = wire.OpGet
	case opPut:
		w.Kind, w.Value = wire.OpPut, []byte(op.value)
	case opDelete:
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
	op.resp = r
	switch {
	case r.Err == nil:
		op.outcome = outcomeOK
	case errors.Is(r.Err, kvsync.ErrUnknownOutcome):
		op.outcome = outcomeUnknown
	default:
		op.outcome = outcomeFailed
	}
	errText := ""
	if r.Err != nil {
		errText = r.Err.Error()
	}
	s.record("respond", n.id, r.ID, op.outcome, errText)
}
