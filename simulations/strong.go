package simulations

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// Strong keys. Every run declares the prefix "s:" strong, local to its
// first region, and with Config.GlobalKeys a run of three regions also
// "g:", global (its acceptors are the key's owners in every region).
// Beside the clients of eventual keys, each strong key has five clients
// of its own, each one operation at a time, submitted to a node drawn at
// random (one time in four, of any region, which forwards it to the key's
// home): GET, SET, SET NX, XX, IFEQ and IFNE, DEL, DEL IFEQ and INCR, on
// a few values, so that conditions hold and fail often. No PX: expiry
// depends on the clocks, and the model of a key has none. A key takes at
// most strongOpsPerKey operations a run, spread over the fault phase, so
// that its history stays small enough for the checker (strongcheck.go) to
// decide.

const (
	strongPrefix        = "s:" // local to the first region
	globalPrefix        = "g:" // global, in runs of three regions
	strongClientsPerKey = 5
	strongOpsPerKey     = 150 // operations a strong key takes in a run, at most
	// linearLimit is how long the checker may take to decide a run's
	// strong histories.
	linearLimit = 10 * time.Second
)

// strongKey is one strong key of a run and its history.
type strongKey struct {
	name   string
	probe  *client      // reads it once quiet (probe)
	level  kvsync.Level // LOCAL_SERIAL or SERIAL
	home   *simRegion   // a local key's home region; nil for a global key
	ops    []*clientOp  // in the order they were submitted
	lostAt int64        // when one of its acceptors lost its disk first; never if none did
}

// declare draws the run's strong keys and declares their prefixes: two
// or three local keys, or with Config.GlobalKeys in a run of three
// regions two local keys and a global one. The founding roster records
// the declaration of every node, as each node's entry would.
func (s *Sim) declare() error {
	if !s.cfg.StrongKeys {
		return nil
	}
	home := s.regions[0]
	spec := strongPrefix + "=local:" + home.name
	count := 2 + s.rng.IntN(2)
	global := len(s.regions) >= kvsync.MinGlobalRegions && s.cfg.GlobalKeys
	if global {
		spec += "," + globalPrefix + "=global"
		count = 2
	}
	decl, err := kvsync.ParseDeclaration(spec)
	if err != nil {
		return err
	}
	s.decl = decl
	for _, n := range s.nodes {
		for id, m := range n.stored {
			m.Strong = decl.String()
			n.stored[id] = m
		}
	}
	for i := 0; len(s.strong) < count; i++ {
		name := fmt.Sprintf("%s%d", strongPrefix, i)
		s.strong = append(s.strong, &strongKey{name: name, level: kvsync.LocalSerial, home: home, lostAt: never})
	}
	if global {
		s.strong = append(s.strong, &strongKey{name: globalPrefix + "0", level: kvsync.Serial, lostAt: never})
	}
	return nil
}

// startStrongClients starts strongClientsPerKey clients on each strong
// key, their homes spread over the regions.
func (s *Sim) startStrongClients() {
	for _, k := range s.strong {
		for range strongClientsPerKey {
			c := &client{id: len(s.clients) + 1, home: s.regions[len(s.clients)%len(s.regions)], strong: k}
			s.clients = append(s.clients, c)
			s.at(s.now+s.think(c), event{kind: evClient, client: c})
		}
	}
}

// think draws how long client c waits before its next operation. A strong
// key's clients wait longer, so that its operations spread over the fault
// phase: strongOpsPerKey of them, or about.
func (s *Sim) think(c *client) int64 {
	if c.strong == nil {
		return s.rng.Int64N(int64(s.cfg.Think) + 1)
	}
	mean := int64(s.cfg.Faults) * strongClientsPerKey / strongOpsPerKey
	return s.rng.Int64N(2*mean + 1)
}

// issueStrong submits the next operation of c, a strong key's client, to a
// node of its home region (one time in four, of any region).
func (s *Sim) issueStrong(c *client) {
	k := c.strong
	if len(k.ops) >= strongOpsPerKey {
		return // the key's history is as long as the checker decides quickly
	}
	r := c.home
	if len(s.regions) > 1 && s.rng.IntN(4) == 0 {
		r = s.regions[s.rng.IntN(len(s.regions))]
	}
	up := r.running()
	if len(up) == 0 {
		s.at(s.now+s.think(c), event{kind: evClient, client: c})
		return
	}
	s.submitStrong(c, up[s.rng.IntN(len(up))], s.randomStrongOp(k))
}

// submitStrong submits w, an operation of client c on its strong key, to
// node n.
func (s *Sim) submitStrong(c *client, n *simNode, w wire.Op) {
	k := c.strong
	s.hist.nextID++
	op := &clientOp{id: s.hist.nextID, client: c.id, key: k.name, strong: &w, level: k.level, node: n.name, region: n.region.idx, start: s.now}
	k.ops = append(k.ops, op)
	c.pending = op
	n.waiting[op.id] = op
	s.record("submit", n.name, op.id, "strong", w.Kind, k.name, w.Cond, string(w.Value), string(w.Expect), w.By)
	n.node.Submit(s.clock(n), kvsync.Request{ID: op.id, Op: w})
	s.flush(n)
}

// running returns the nodes of r that run.
func (r *simRegion) running() []*simNode {
	var up []*simNode
	for _, n := range r.nodes {
		if n.node != nil {
			up = append(up, n)
		}
	}
	return up
}

// randomStrongOp draws an operation on strong key k. Values are small
// integers, so that conditions hold often and INCR counts on what SET
// wrote.
func (s *Sim) randomStrongOp(k *strongKey) wire.Op {
	value := func() []byte { return []byte(strconv.Itoa(1 + s.rng.IntN(4))) }
	w := wire.Op{Key: []byte(k.name), Level: uint8(k.level)}
	switch r := s.rng.IntN(16); {
	case r < 4:
		w.Kind = wire.OpGet
	case r < 6:
		w.Kind, w.Value = wire.OpPut, value()
	case r == 6:
		w.Kind, w.Value, w.Cond = wire.OpPut, value(), wire.CondNX
	case r == 7:
		w.Kind, w.Value, w.Cond = wire.OpPut, value(), wire.CondXX
	case r < 10:
		w.Kind, w.Value, w.Cond, w.Expect = wire.OpPut, value(), wire.CondIfEq, value()
	case r == 10:
		w.Kind, w.Value, w.Cond, w.Expect = wire.OpPut, value(), wire.CondIfNe, value()
	case r == 11:
		w.Kind, w.Cond, w.Expect = wire.OpDelete, wire.CondIfEq, value()
	case r == 12:
		w.Kind = wire.OpDelete
	default:
		w.Kind, w.By = wire.OpIncr, 1+s.rng.Int64N(3)
	}
	return w
}

// respondStrong records a node's answer to an operation on a strong key.
func (s *Sim) respondStrong(n *simNode, op *clientOp, r kvsync.Response) {
	if r.Strong != nil {
		v := r.Strong.Clone()
		r.Strong = &v
	}
	op.resp, op.end = r, s.now
	switch {
	case r.Err == nil:
		op.outcome = outcomeOK
	case definite(r.Err):
		op.outcome = outcomeFailed
	default:
		op.outcome = outcomeUnknown
	}
	errText := ""
	if r.Err != nil {
		errText = r.Err.Error()
	}
	value := "nil"
	if r.Strong != nil {
		value = fmt.Sprintf("%+v", *r.Strong)
	}
	s.record("respond", n.name, r.ID, op.outcome, errText, r.Changed, value)
	s.answered(op)
	s.probed(op)
}

// definite reports whether err says an operation on a strong key took no
// effect, or (a failed condition) took none but what the checker checks.
func definite(err error) bool {
	for _, e := range []error{kvsync.ErrConditionFailed, kvsync.ErrRejected, kvsync.ErrUnavailable, kvsync.ErrNotInteger, crdt.ErrWrongType, crdt.ErrOverflow} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// strongSummary counts the strong keys' operations, for the test log.
func (s *Sim) strongSummary() string {
	var parts []string
	for _, k := range s.strong {
		counts := map[outcome]int{}
		cond := 0
		for _, op := range k.ops {
			counts[op.outcome]++
			if errors.Is(op.resp.Err, kvsync.ErrConditionFailed) {
				cond++
			}
		}
		parts = append(parts, fmt.Sprintf("%s %d ops (%d ok, %d conditions failed, %d refused, %d unknown, %d pending)",
			k.name, len(k.ops), counts[outcomeOK], cond, counts[outcomeFailed]-cond, counts[outcomeUnknown], counts[outcomePending]))
	}
	return fmt.Sprintf("strong keys %s: %s", s.decl, strings.Join(parts, "; "))
}
