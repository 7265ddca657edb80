package crdt

import (
	"bytes"
	"fmt"
)

// Assemble builds a State from its parts, as listed by Context, Siblings,
// MemberDots and Shares: the inverse of taking a state apart, for decoders.
// It returns an error wrapping ErrInvalid when a dot is invalid, appears
// twice, or is not in ctx (a live entry's dot is always one its replica has
// seen). The parts are copied.
func Assemble(ctx Context, siblings []Sibling, members []Member, shares []Share) (State, error) {
	s := State{ctx: ctx.Clone()}
	seen := make(map[Dot]struct{}, len(siblings)+len(members)+len(shares))
	check := func(what string, d Dot) error {
		if !d.Valid() {
			return fmt.Errorf("%w: %s has invalid dot %q:%d", ErrInvalid, what, d.Node, d.Counter)
		}
		if _, dup := seen[d]; dup {
			return fmt.Errorf("%w: dot %s appears twice", ErrInvalid, d)
		}
		if !ctx.Contains(d) {
			return fmt.Errorf("%w: %s dot %s is not in the context %s", ErrInvalid, what, d, ctx)
		}
		seen[d] = struct{}{}
		return nil
	}
	for _, sb := range siblings {
		if err := check("register", sb.Dot); err != nil {
			return State{}, err
		}
		if s.reg == nil {
			s.reg = make(map[Dot]regEntry, len(siblings))
		}
		s.reg[sb.Dot] = regEntry{time: sb.Time, value: bytes.Clone(sb.Value)}
	}
	for _, m := range members {
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
	for _, sh := range shares {
		if err := check("counter", sh.Dot); err != nil {
			return State{}, err
		}
		if s.cnt == nil {
			s.cnt = make(map[Dot]cntEntry, len(shares))
		}
		s.cnt[sh.Dot] = cntEntry{time: sh.Time, inc: sh.Inc, dec: sh.Dec}
	}
	return s, nil
}
