package simulations

import (
	"slices"
	"time"

	"github.com/meridiankv/meridian/wire"
)

// Crashes in the middle of consensus. Besides the faults of every run,
// a run arms one or two crashes at a point of a round (three to five with
// Config.Events above the default), each met by the next node to reach
// that point once it is armed: a proposer that gets only some of its
// prepares or accepts out; an acceptor right after its answer got out; or
// an acceptor right after it answered an accept together with its
// proposer once that proposer has taken the answer (it decides, and
// answers its clients, then crashes): two machines of a rack that loses
// power. Under batched sync half of these crashes lose power (both or
// neither of a rack).

// The points of a round a crash is armed at.
const (
	crashProposer = iota // as it sends its prepares or accepts
	crashAcceptor        // once its answer got out
	crashRack            // an acceptor once its accepted got out, and its proposer once it took it
)

// armRoundCrashes arms the crashes mid-round, at times drawn in the fault
// phase [from, end).
func (s *Sim) armRoundCrashes(from, end int64) {
	count := 1 + s.rng.IntN(2)
	if s.cfg.Events > DefaultConfig(s.cfg.Seed).Events {
		count += 2 + s.rng.IntN(2)
	}
	for range count {
		point := s.rng.IntN(3)
		s.fault(from+s.rng.Int64N((end-from)*3/4), func() { s.roundCrashes = append(s.roundCrashes, point) })
	}
}

// crashMidRound returns what node n gets out of msgs, the messages of a
// flush: all of them, unless a crash armed mid-round (roundCrashes) meets
// its point in msgs: then, for a proposer, some of its prepares or
// accepts only. It reports whether n crashes now, and whether it loses
// power.
func (s *Sim) crashMidRound(n *simNode, msgs []wire.Message) (out []wire.Message, crash, power bool) {
	if len(s.roundCrashes) == 0 || !s.faulty || n.gone {
		return msgs, false, false
	}
	point := s.roundCrashes[0]
	var round []int
	for i, m := range msgs {
		switch {
		case point == crashProposer && (m.Type == wire.MsgPrepare || m.Type == wire.MsgAccept),
			point == crashAcceptor && (m.Type == wire.MsgPromise || m.Type == wire.MsgAccepted),
			point == crashRack && m.Type == wire.MsgAccepted && accepted(m):
			round = append(round, i)
		}
	}
	if len(round) == 0 {
		return msgs, false, false
	}
	s.roundCrashes = s.roundCrashes[1:]
	power = s.batched && s.rng.IntN(2) == 0
	m := msgs[round[0]]
	switch point {
	case crashAcceptor:
		s.note("%s crashes right after its %s of %s to %s", n.name, m.Type, m.Key, m.To)
		return msgs, true, power
	case crashRack:
		if p := s.resolve(n, m.To); p != nil && p.node != nil {
			if s.racks == nil {
				s.racks = map[*simNode]rack{}
			}
			s.racks[p] = rack{acceptor: n, power: power, until: s.now + int64(time.Second)}
		}
		s.note("%s crashes right after its %s of %s to %s, which crashes once it took it (a rack)", n.name, m.Type, m.Key, m.To)
		return msgs, true, power
	}
	keep := s.rng.IntN(len(round) + 1)
	s.note("%s crashes mid-round, as it sends the %s of %s: %d of %d messages get out", n.name, m.Type, m.Key, keep, len(round))
	out = make([]wire.Message, 0, len(msgs))
	for i, m := range msgs {
		if j := slices.Index(round, i); j < 0 || j < keep {
			out = append(out, m)
		}
	}
	return out, true, power
}

// rack is a proposer's crash armed with an acceptor's (crashRack): once
// it takes the acceptor's answer, until a time.
type rack struct {
	acceptor *simNode
	power    bool
	until    int64
}

// accepted reports whether m, a MsgAccepted, says the acceptor accepted.
func accepted(m wire.Message) bool {
	p, err := wire.DecodePaxos(m.Blob)
	return err == nil && p.Refused == wire.RefusedNone
}

// rackTakes reports whether n, a proposer whose crash is armed with an
// acceptor's, takes that acceptor's answer among msgs: then it crashes
// once it has handled them (rackCrash).
func (s *Sim) rackTakes(n *simNode, msgs []wire.Message) bool {
	r, ok := s.racks[n]
	if !ok {
		return false
	}
	if r.until < s.now {
		delete(s.racks, n)
		return false
	}
	return slices.ContainsFunc(msgs, func(m wire.Message) bool {
		return m.Type == wire.MsgAccepted && s.resolve(n, m.From) == r.acceptor
	})
}

// rackCrash crashes n, a proposer that took the answer of an acceptor of
// its rack, which crashed.
func (s *Sim) rackCrash(n *simNode) {
	r := s.racks[n]
	delete(s.racks, n)
	if n.node == nil || n.gone {
		return
	}
	s.note("%s crashes once it took the answer of %s, of the same rack", n.name, r.acceptor.name)
	s.crashInRound(n, r.power)
}

// crashInRound crashes n in the middle of a round, losing power when
// power says so, and restarts it a little later.
func (s *Sim) crashInRound(n *simNode, power bool) {
	if power {
		s.note("%s loses power", n.name)
	}
	s.crash(n, power)
	s.fault(s.now+int64(200*time.Millisecond)+s.rng.Int64N(int64(3*time.Second)), func() {
		if n.node == nil && !n.gone {
			s.note("restart %s", n.name)
			s.restart(n)
		}
	})
}
