package sync

import (
	"slices"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// Consensus on strong keys: CASPaxos (Rystsov 2018). Each strong key is a
// register of its own, with no leader and no log: a proposer reads the
// value a majority of the key's acceptors accepted last (prepare), applies
// the operations' change functions to it, and has a majority accept the
// result (accept). This file is the acceptor: what it keeps of each key
// (wire.Acceptor, beside the key, synced before it answers: the round's
// commit holds the record, and a Node releases messages only after its
// commit) and how it answers. proposer.go is the proposer.
//
// A key's acceptors are its owners: in its home region for a local key,
// in every region for a global one (acceptorSet). While the ring of the
// proposer's region changes (View.Next), a round needs a majority of the
// owners before the change and one of the owners after it (joint quorums),
// and every message carries a digest of the acceptors as its sender sees
// them: an acceptor that sees them otherwise refuses it (RefusedConfig),
// so that a round never counts acceptors of two different views.

// acceptorSet is a strong key's acceptors as this node sees them: groups
// each of which a round needs a majority of, and their digest.
type acceptorSet struct {
	groups [][]crdt.NodeID // as this node addresses them (qualified outside its region)
	all    []crdt.NodeID   // every member of some group, once, sorted
	digest uint64
}

// majorities reports whether got holds a majority of every group.
func (s *acceptorSet) majorities(got func(crdt.NodeID) bool) bool {
	for _, g := range s.groups {
		n := 0
		for _, id := range g {
			if got(id) {
				n++
			}
		}
		if n < len(g)/2+1 {
			return false
		}
	}
	return len(s.groups) > 0
}

// acceptors returns the acceptor set of key, declared by p, or why this
// node cannot tell it.
func (n *core) acceptors(key []byte, p StrongPrefix) (acceptorSet, error) {
	var groups [][]crdt.NodeID
	switch {
	case n.view.Placement == nil:
		return acceptorSet{}, &UnavailableError{Level: p.Scope.Level(), Reason: "this node has no ring yet: retry in a moment, or on another node"}
	case p.Scope == ScopeLocal && p.Home != n.cfg.region():
		return acceptorSet{}, rejectf("key %q is homed in region %s, not this node's (%s)", key, p.Home, n.cfg.region())
	case p.Scope == ScopeLocal:
		groups = append(groups, n.owners(key))
		if n.view.Next != nil {
			groups = append(groups, n.nextOwners(key))
		}
	default:
		if regions := 1 + len(n.view.Remote); regions < MinGlobalRegions {
			return acceptorSet{}, &UnavailableError{Level: Serial, Reason: "key " + string(key) + " is declared global, and global strong keys need at least 3 regions: this node knows " +
				strconv.Itoa(regions) + " (declare its prefix local to one region, or join more regions)"}
		}
		// One group of every region's owners; while a ring changes, in
		// this region or another, a second one of the owners after it.
		now, next := slices.Clone(n.owners(key)), slices.Clone(n.nextOwners(key))
		moving := n.view.Next != nil
		for _, rv := range n.view.Remote {
			if rv.Placement == nil {
				return acceptorSet{}, &UnavailableError{Level: Serial, Region: rv.Name, Reason: "this node does not know the ring of region " + rv.Name + " yet: retry in a moment"}
			}
			reps := rv.Replicas
			if reps == 0 {
				reps = n.cfg.Replicas
			}
			now = append(now, rv.Placement.Owners(key, reps)...)
			if rv.Next != nil {
				moving = true
				next = append(next, rv.Next.Owners(key, reps)...)
			} else {
				next = append(next, rv.Placement.Owners(key, reps)...)
			}
		}
		groups = append(groups, now)
		if moving {
			groups = append(groups, next)
		}
	}
	for _, g := range groups {
		for _, id := range g {
			if n.view.Older[id] {
				return acceptorSet{}, &UnavailableError{Level: p.Scope.Level(), Reason: "node " + string(id) + ", an acceptor of key " + string(key) +
					", runs an older build that knows no consensus: every node must run this build before strong keys are used"}
			}
		}
	}
	s := acceptorSet{groups: groups}
	var b strings.Builder
	for _, g := range groups {
		names := make([]string, len(g))
		for i, id := range g {
			names[i] = n.canonical(id)
			if !slices.Contains(s.all, id) {
				s.all = append(s.all, id)
			}
		}
		slices.Sort(names)
		b.WriteString(strings.Join(names, ","))
		b.WriteByte('|')
	}
	slices.Sort(s.all)
	s.digest = xxhash.Sum64String(b.String())
	return s, nil
}

// canonical names id as every region names it: region/id.
func (n *core) canonical(id crdt.NodeID) string {
	if _, _, ok := SplitQualified(id); ok {
		return string(id)
	}
	return string(Qualify(n.cfg.region(), id))
}

// acceptor is the part of a Node that answers consensus messages.
type acceptor struct {
	*core
	settle  *settler
	pending map[string]wire.Acceptor // records written this round, not yet committed
}

func newAcceptor(c *core, s *settler) *acceptor {
	return &acceptor{core: c, settle: s, pending: map[string]wire.Acceptor{}}
}

// record returns this node's record of key, this round's writes included.
func (a *acceptor) record(key []byte) (wire.Acceptor, error) {
	if r, ok := a.pending[string(key)]; ok {
		return r, nil
	}
	return a.store.GetAcceptor(key)
}

// keep writes r as this node's record of key, in the round's commit.
func (a *acceptor) keep(key []byte, r wire.Acceptor) {
	a.pending[string(key)] = r
	a.batch.Acceptors = append(a.batch.Acceptors, wire.AcceptorEntry{Key: key, Record: r})
}

func (a *acceptor) endRound() { clear(a.pending) }

// check returns why this node refuses a consensus message on key, or
// RefusedNone.
func (a *acceptor) check(key []byte, p *wire.Paxos) wire.Refusal {
	if p.Decl != a.cfg.Strong.Digest() {
		return wire.RefusedDecl
	}
	sp, ok := a.cfg.Strong.Of(key)
	if !ok {
		return wire.RefusedDecl
	}
	set, err := a.acceptors(key, sp)
	if err != nil || set.digest != p.Config || !slices.Contains(set.all, a.cfg.ID) {
		return wire.RefusedConfig
	}
	return wire.RefusedNone
}

// onPrepare promises the message's ballot unless this node promised as
// high a one, and answers with what it accepted last.
func (a *acceptor) onPrepare(m wire.Message) {
	p, rec, refused, ok := a.admit(m)
	if !ok {
		return
	}
	reply := wire.Paxos{Ballot: p.Ballot}
	switch {
	case refused != wire.RefusedNone:
		reply.Refused = refused
	case !rec.Promised.Less(p.Ballot):
		reply.Refused, reply.Ballot = wire.RefusedBallot, rec.Promised
	default:
		rec.Promised = p.Ballot
		a.keep(m.Key, rec)
		reply.Accepted, reply.Value = rec.Accepted, &rec.Value
	}
	a.reply(m, wire.MsgPromise, reply)
}

// onAccept accepts the message's value under its ballot unless this node
// promised a higher one, and promises the next ballot it names.
func (a *acceptor) onAccept(m wire.Message) {
	p, rec, refused, ok := a.admit(m)
	if !ok {
		return
	}
	reply := wire.Paxos{Ballot: p.Ballot}
	switch {
	case refused == wire.RefusedStore:
		reply.Refused = refused
	case p.Value == nil:
		return // not a proposer of this build: nothing to accept
	case refused != wire.RefusedNone:
		reply.Refused = refused
	case p.Ballot.Less(rec.Promised) || !rec.Accepted.Less(p.Ballot):
		reply.Refused, reply.Ballot = wire.RefusedBallot, rec.Promised
	default:
		rec.Accepted, rec.Value, rec.Promised = p.Ballot, *p.Value, p.Ballot
		if rec.Promised.Less(p.Next) {
			rec.Promised = p.Next // the next round's prepare, piggybacked
		}
		a.keep(m.Key, rec)
	}
	a.reply(m, wire.MsgAccepted, reply)
}

// admit decodes a consensus message and reads this node's record of its
// key, and returns why the checks every message passes refuse it:
// RefusedStore, its views (check), or a gained key not settled yet
// (RefusedNotReady); RefusedNone if none does. A message that does not
// decode is dropped, !ok (its sender times out): it came from no node of
// this build.
func (a *acceptor) admit(m wire.Message) (p wire.Paxos, rec wire.Acceptor, refused wire.Refusal, ok bool) {
	p, err := wire.DecodePaxos(m.Blob)
	if err != nil {
		return p, rec, wire.RefusedNone, false
	}
	rec, err = a.record(m.Key)
	switch {
	case err != nil:
		refused = wire.RefusedStore
	default:
		refused = a.check(m.Key, &p)
		if refused == wire.RefusedNone && rec.IsZero() && a.settle.unready(m.Key) {
			refused = wire.RefusedNotReady
		}
	}
	return p, rec, refused, true
}

func (a *acceptor) reply(m wire.Message, t wire.MsgType, p wire.Paxos) {
	switch {
	case p.Refused != wire.RefusedNone:
		a.stats.Strong.Refusals++
	case t == wire.MsgPromise:
		a.stats.Strong.Promised++
	default:
		a.stats.Strong.Accepted++
	}
	blob, err := wire.EncodePaxos(p)
	if err != nil {
		return // cannot happen with a value that decoded; the proposer times out
	}
	a.send(wire.Message{Type: t, To: m.From, ID: m.ID, Key: m.Key, Blob: blob})
}
