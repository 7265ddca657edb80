package crdt

import (
	"bytes"
	"fmt"
)

// Parts are the pieces a State is made of, as its accessors list them:
// Context, Siblings, MemberDots, Shares and Resets. Decoders build a State
// from them with Assemble.
type Parts struct {
	Context  Context
	Siblings []Sibling
	Members  []Member
	Shares   []Share
	Resets   []Reset
}

// Assemble builds a State from its parts: the inverse of taking a state
// apart, for decoders. It returns an error wrapping ErrInvalid when a dot is
// invalid, appears twice, or is not in the context (a live entry's dot is
// always one its replica has seen), or when a reset names an invalid node,
// names a node twice, names a node with no dot in the context (a reset
// comes from a share whose dot was seen) or is (0, 0) (no reset at all, and
// never stored). The parts are copied.
func Assemble(p Parts) (State, error) {
	s := State{ctx: p.Context.Clone()}
	seen := make(map[Dot]struct{}, len(p.Siblings)+len(p.Members)+len(p.Shares))
	check := func(what string, d Dot) error {
		if !d.Valid() {
			return fmt.Errorf("%w: %s has invalid dot %q:%d", ErrInvalid, what, d.Node, d.Counter)
		}
		if _, dup := seen[d]; dup {
			return fmt.Errorf("%w: dot %s appears twice", ErrInvalid, d)
		}
		if !s.ctx.Contains(d) {
			return fmt.Errorf("%w: %s dot %s is not in the context %s", ErrInvalid, what, d, s.ctx)
		}
		seen[d] = struct{}{}
		return nil
	}
	for _, sb := range p.Siblings {
		if err := check("register", sb.Dot); err != nil {
			return State{}, err
		}
		if s.reg == nil {
			s.reg = make(map[Dot]regEntry, len(p.Siblings))
		}
		s.reg[sb.Dot] = regEntry{time: sb.Time, value: bytes.Clone(sb.Value)}
	}
	for _, m := range p.Members {
		if err := check("set", m.Dot); err != nil {
			return State{}, err
		}
		if s.set == nil {
			s.set = make(map[string]map[Dot]Timestamp)
		}
		if s.set[m.Value] == nil {
			s.set[m.Value] = make(map[Dot]Timestamp, 1)
		}
		s.set[m.Value][m.Dot] = m.Time
	}
	for _, sh := range p.Shares {
		if err := check("counter", sh.Dot); err != nil {
			return State{}, err
		}
		if s.cnt == nil {
			s.cnt = make(map[Dot]cntEntry, len(p.Shares))
		}
		s.cnt[sh.Dot] = cntEntry{time: sh.Time, totals: totals{inc: sh.Inc, dec: sh.Dec}}
	}
	if err := s.assembleResets(p.Resets); err != nil {
		return State{}, err
	}
	return s, nil
}

// assembleResets adds resets to s, checking them as Assemble says.
func (s *State) assembleResets(resets []Reset) error {
	for _, r := range resets {
		switch _, dup := s.rst[r.Node]; {
		case r.Node == "":
			return fmt.Errorf("%w: a reset names no node", ErrInvalid)
		case dup:
			return fmt.Errorf("%w: node %q has two resets", ErrInvalid, r.Node)
		case !s.ctx.hasNode(r.Node):
			return fmt.Errorf("%w: reset of node %q, which has no dot in the context %s", ErrInvalid, r.Node, s.ctx)
		case r.Inc == 0 && r.Dec == 0:
			return fmt.Errorf("%w: reset of node %q is zero", ErrInvalid, r.Node)
		}
		if s.rst == nil {
			s.rst = make(map[NodeID]totals, len(resets))
		}
		s.rst[r.Node] = totals{inc: r.Inc, dec: r.Dec}
	}
	return nil
}
