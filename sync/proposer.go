package sync

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// The proposer of strong keys (CASPaxos). A node proposes for the strong
// keys whose operations reach it: one round at a time per key, the
// operations that arrive meanwhile queued and decided together in the next
// round (up to StrongBatch, applied in order). A round that succeeds leaves
// the next ballot promised by a majority (the accept carries the next
// round's prepare), so the next round on the key from this proposer needs
// one round trip, an accept, instead of two. A round that loses to another
// proposer's ballot waits a backoff that doubles with each loss, jittered
// by the node's id, and tries again with a higher ballot, until the
// request's deadline.
//
// Every write carries a request id (the client's, or one the proposer
// makes), which the value remembers with the answer (wire.Strong.Done): a
// round tried again after an accept that may have reached some acceptors
// finds its own operation applied, and answers it as it was, never
// applying it twice.

// strongReq is one operation on a strong key, waiting for its round.
type strongReq struct {
	origin   origin
	op       wire.Op
	id       []byte // nil for a read
	deadline int64
	accepted bool // an accept carrying it was sent: it may be applied
}

// strongRound is one attempt at deciding a key's queued operations.
type strongRound struct {
	id       uint64
	reqs     []*strongReq
	ballot   wire.Ballot
	next     wire.Ballot // promised along with the accept
	accept   bool        // the accept phase (else the prepare phase)
	fast     bool        // it began with the accept phase (the fast path)
	set      acceptorSet
	promises map[crdt.NodeID]wire.Paxos
	acks     map[crdt.NodeID]bool
	refused  map[crdt.NodeID]wire.Refusal
	value    wire.Strong // the accept phase's value
	outs     []strongOutcome
	deadline int64 // when the phase under way (prepare, then accept) gives up
	started  int64 // when the attempt began
}

// strongKey is a proposer's state of one key.
type strongKey struct {
	key     []byte
	queue   []*strongReq
	round   *strongRound
	retryAt int64 // a lost round waits until then
	losses  int
	maxN    uint64 // the highest ballot number seen for the key
	// The fast path: a majority accepted value under a ballot and promised
	// next, under the acceptor set of digest config.
	warm    bool
	next    wire.Ballot
	value   wire.Strong
	config  uint64
	used    int64         // when its last round ended
	lastSet []crdt.NodeID // the acceptors of its last round
}

// proposer is the part of a Node that proposes for strong keys.
type proposer struct {
	*core
	keys   map[string]*strongKey
	rounds map[uint64]*strongKey // by round id
	reqs   uint64                // request ids made here
}

func newProposer(c *core) *proposer {
	// Request ids start at the clock, as message ids do: a node restarted
	// cleanly keeps its actor, and must not make an id a key remembers.
	return &proposer{core: c, keys: map[string]*strongKey{}, rounds: map[uint64]*strongKey{}, reqs: uint64(max(c.now, 0))}
}

// propose queues op on strong key p declares, for origin o.
func (pr *proposer) propose(o origin, op *wire.Op) {
	k := pr.keys[string(op.Key)]
	if k == nil {
		k = &strongKey{key: op.Key}
		pr.keys[string(op.Key)] = k
	}
	r := &strongReq{origin: o, op: *op, deadline: pr.now + int64(pr.cfg.RequestTimeout)}
	if op.Kind != wire.OpGet && op.Kind != wire.OpInspect {
		r.id = op.ReqID
		if r.id == nil {
			pr.reqs++
			r.id = []byte(string(pr.actor) + "#" + strconv.FormatUint(pr.reqs, 36))
		}
	}
	k.queue = append(k.queue, r)
	pr.start(k)
}

// start begins a round on k if none is under way and one may start.
func (pr *proposer) start(k *strongKey) {
	if k.round != nil || len(k.queue) == 0 || pr.now < k.retryAt {
		return
	}
	sp, _ := pr.cfg.Strong.Of(k.key)
	set, err := pr.acceptors(k.key, sp)
	if err != nil {
		for _, r := range k.queue {
			pr.finish(r, Response{Err: err})
		}
		k.queue = nil
		return
	}
	n := min(len(k.queue), pr.cfg.StrongBatch)
	rd := &strongRound{id: pr.newID(partCoordinator), reqs: k.queue[:n:n], set: set,
		promises: map[crdt.NodeID]wire.Paxos{}, acks: map[crdt.NodeID]bool{}, refused: map[crdt.NodeID]wire.Refusal{},
		deadline: pr.now + pr.phase(), started: pr.now}
	k.queue = k.queue[n:]
	k.round, k.lastSet = rd, set.all
	pr.rounds[rd.id] = k
	if k.warm && k.config == set.digest {
		rd.ballot, rd.fast = k.next, true
		pr.acceptPhase(k, k.value)
		return
	}
	k.warm = false
	k.maxN++
	rd.ballot = wire.Ballot{N: k.maxN, By: pr.canonical(pr.cfg.ID)}
	pr.broadcast(k, wire.MsgPrepare, wire.Paxos{Ballot: rd.ballot})
}

// acceptPhase applies the round's operations to v, the value a majority
// accepted last, and asks the acceptors to accept the result.
func (pr *proposer) acceptPhase(k *strongKey, v wire.Strong) {
	rd := k.round
	rd.accept, rd.deadline = true, pr.now+pr.phase()
	rd.outs = make([]strongOutcome, len(rd.reqs))
	now := pr.now
	for i, r := range rd.reqs {
		v, rd.outs[i] = applyStrong(v, &r.op, r.id, now, pr.cfg.RememberRequests)
		rd.outs[i].after = v
		if r.id != nil {
			r.accepted = true
		}
	}
	rd.value = v
	k.maxN = max(k.maxN, rd.ballot.N) + 1
	rd.next = wire.Ballot{N: k.maxN, By: pr.canonical(pr.cfg.ID)}
	pr.broadcast(k, wire.MsgAccept, wire.Paxos{Ballot: rd.ballot, Next: rd.next, Value: &rd.value})
}

// ballotLead is how far above the highest ballot it saw a proposer that
// lost to another tries again: more rounds than the winner decides while
// the loser backs off.
const ballotLead = 1 << 10

// phase is how long a phase of a round (prepare, accept) may take before
// the attempt is given up and tried again: half the request timeout, a
// round trip to the farthest acceptor with room to spare. Per phase, not
// per round: a cold round of a global key takes two round trips between
// regions, which half the request timeout may not hold.
func (pr *proposer) phase() int64 { return int64(pr.cfg.RequestTimeout) / 2 }

// broadcast sends a consensus message of the round to every acceptor.
func (pr *proposer) broadcast(k *strongKey, t wire.MsgType, p wire.Paxos) {
	rd := k.round
	p.Config, p.Decl = rd.set.digest, pr.cfg.Strong.Digest()
	blob, err := wire.EncodePaxos(p)
	if err != nil {
		pr.fail(k, fmt.Errorf("sync: encoding a consensus message for key %q: %w", k.key, err))
		return
	}
	for _, id := range rd.set.all {
		pr.send(wire.Message{Type: t, To: id, ID: rd.id, Key: k.key, Blob: blob})
	}
}

// onReply takes an acceptor's MsgPromise or MsgAccepted.
func (pr *proposer) onReply(m wire.Message) {
	k := pr.rounds[m.ID]
	if k == nil || k.round == nil || k.round.id != m.ID {
		return // an attempt given up on
	}
	rd := k.round
	p, err := wire.DecodePaxos(m.Blob)
	if err != nil || (m.Type == wire.MsgAccepted) != rd.accept || !slices.Contains(rd.set.all, m.From) {
		return
	}
	if p.Refused != wire.RefusedNone {
		rd.refused[m.From] = p.Refused
		if p.Refused == wire.RefusedBallot {
			k.maxN = max(k.maxN, p.Ballot.N)
		}
		pr.checkLost(k)
		return
	}
	if rd.accept {
		rd.acks[m.From] = true
		if rd.set.majorities(func(id crdt.NodeID) bool { return rd.acks[id] }) {
			pr.decided(k)
		}
		return
	}
	rd.promises[m.From] = p
	if rd.set.majorities(func(id crdt.NodeID) bool { _, ok := rd.promises[id]; return ok }) {
		var best wire.Paxos
		for _, id := range rd.set.all {
			if q, ok := rd.promises[id]; ok && !q.Accepted.Less(best.Accepted) && q.Value != nil {
				best = q
			}
		}
		v := wire.Strong{}
		if best.Value != nil {
			v = best.Value.Clone()
		}
		pr.acceptPhase(k, v)
	}
}

// checkLost gives the round up when its refusals leave no majority to win.
func (pr *proposer) checkLost(k *strongKey) {
	rd := k.round
	if rd.set.majorities(func(id crdt.NodeID) bool { _, no := rd.refused[id]; return !no }) {
		return
	}
	for _, why := range rd.refused {
		if why == wire.RefusedDecl {
			pr.fail(k, rejectf("key %q: some of its acceptors declare strong keys otherwise than this node (%s): start every node with the same --strong", k.key, pr.cfg.Strong))
			return
		}
	}
	pr.retry(k, true)
}

// decided answers the round's operations, keeps the fast path warm, and
// starts the next round.
func (pr *proposer) decided(k *strongKey) {
	rd := k.round
	pr.endAttempt(k)
	pr.stats.Strong.Rounds++
	pr.stats.Strong.Ops += int64(len(rd.reqs))
	if rd.fast {
		pr.stats.Strong.FastPath++
	}
	k.warm, k.next, k.value, k.config, k.losses = true, rd.next, rd.value, rd.set.digest, 0
	for i, r := range rd.reqs {
		out := rd.outs[i]
		shown := live(out.after, pr.now)
		resp := Response{Strong: &shown, Changed: out.result}
		if out.replayed {
			resp.Strong = nil // decided earlier: the value right after it is not known
		}
		switch {
		case out.err != nil:
			resp = Response{Err: out.err}
		case out.failed:
			resp.Err = fmt.Errorf("%w: key %q: %s", ErrConditionFailed, k.key, r.op.Cond)
		}
		pr.finish(r, resp)
	}
	pr.start(k)
}

// retry gives the attempt up and tries again after a backoff, with a
// higher ballot; requests past their deadline are answered. lost says the
// attempt lost to another proposer's ballot (else its phase timed out).
func (pr *proposer) retry(k *strongKey, lost bool) {
	rd := k.round
	pr.endAttempt(k)
	pr.stats.Strong.Lost++
	k.warm = false
	k.losses++
	k.queue = append(rd.reqs, k.queue...)
	pr.expire(k)
	// After a loss to another proposer the pause is at least as long as
	// the attempt took: one that tries again sooner than a round trip to
	// the key's acceptors preempts the winner's round before it can finish
	// (a global key's rounds take a round trip between regions).
	back := int64(pr.cfg.StrongBackoff) << min(k.losses-1, 5)
	if lost {
		back = max(back, pr.now-rd.started)
		// The winner goes on deciding while this one waits, a ballot a
		// round: a prepare one above the ballot that won would arrive
		// below the winner's by then, and lose again, for ever.
		k.maxN += ballotLead
	}
	jitter := int64(xxhash.Sum64String(fmt.Sprintf("%s/%s/%d", pr.cfg.ID, k.key, k.maxN)) % uint64(back))
	k.retryAt = pr.now + back + jitter
}

// endAttempt forgets the round in flight.
func (pr *proposer) endAttempt(k *strongKey) {
	delete(pr.rounds, k.round.id)
	k.round, k.used = nil, pr.now
}

// fail answers every operation of k's round and queue with err.
func (pr *proposer) fail(k *strongKey, err error) {
	if k.round != nil {
		k.queue = append(k.round.reqs, k.queue...)
		pr.endAttempt(k)
	}
	for _, r := range k.queue {
		pr.finish(r, Response{Err: err})
	}
	k.queue = nil
}

// expire answers the queued operations past their deadline: with an
// unknown outcome when an accept carrying them was sent, else as not
// applied.
func (pr *proposer) expire(k *strongKey) {
	keep := k.queue[:0]
	for _, r := range k.queue {
		if r.deadline > pr.now {
			keep = append(keep, r)
			continue
		}
		lvl := level(&r.op)
		if r.accepted {
			pr.finish(r, Response{Err: &TimeoutError{Level: lvl, Need: len(k.lastSet)/2 + 1, Timeout: pr.cfg.RequestTimeout, Write: true}})
		} else {
			pr.finish(r, Response{Err: &UnavailableError{Level: lvl, Write: r.id != nil,
				Reason: fmt.Sprintf("no majority of key %q's acceptors took a ballot in %s (they are unreachable, or other proposers contend for the key)", k.key, pr.cfg.RequestTimeout)}})
		}
	}
	k.queue = keep
}

// finish answers r.
func (pr *proposer) finish(r *strongReq, resp Response) { pr.answer(r.origin, resp) }

// tick gives up attempts past their deadline, and starts the rounds whose
// backoff ended.
func (pr *proposer) tick() {
	for _, name := range slices.Sorted(maps.Keys(pr.keys)) {
		k := pr.keys[name]
		if k.round != nil && k.round.deadline <= pr.now {
			pr.retry(k, false)
		}
		pr.expire(k)
		pr.start(k)
		if k.round == nil && len(k.queue) == 0 && (!k.warm || pr.now-k.used > int64(strongIdle)) {
			delete(pr.keys, name)
		}
	}
}

// strongIdle is how long a proposer keeps a key's fast path after its last
// round: a key not used for that long forgets it.
const strongIdle = time.Minute
