package ring

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// NodeID names a physical node. Its tokens are placed by hashing it, so it
// must be stable across restarts and the same on every node of the
// cluster: a node that changes its ID moves its keys.
type NodeID string

// Member is one physical node of a ring and its weight.
type Member struct {
	// ID names the node; its tokens are placed by hashing it.
	ID NodeID

	// VNodes is the number of tokens the node places on the ring, its
	// weight: a node with twice the vnodes of another owns about twice as
	// many keys. Zero means the Config's VNodes (DefaultVNodes unless set).
	VNodes int
}

// Ring places keys on nodes by consistent hashing with virtual nodes and
// multi-probe lookup (see the package documentation). A Ring is immutable:
// With and Without return new rings and leave the receiver as it was, so a
// Ring is safe for concurrent use. The zero Ring is an empty ring with the
// default Config.
type Ring struct {
	cfg     Config   // every default filled in, once built by Config.New
	members []Member // sorted by ID, VNodes resolved
	pos     []uint64 // token positions, ascending
	owner   []int32  // owner[i] indexes members: the node of token i
	index   []int32  // index[h] is the first token i with pos[i]>>shift >= h
	shift   uint     // 64 minus the number of index slot bits
}

// New returns a ring of the given members with the default Config. It is
// Config{}.New(members...).
func New(members ...Member) (*Ring, error) { return Config{}.New(members...) }

// New returns a ring of the given members, in any order, placed as c says.
// It reports every problem with c and the members at once: a Config out of
// range, an empty ID (ErrEmptyID), a vnode count below 0 or above MaxVNodes
// (ErrVNodes), an ID given twice (ErrDuplicateID). New with no members
// returns an empty ring, on which Owners finds no one.
func (c Config) New(members ...Member) (*Ring, error) {
	var errs []error
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	c = c.withDefaults()
	ms := make([]Member, len(members))
	for i, m := range members {
		errs = append(errs, checkMember(m, fmt.Sprintf("member %d (%q)", i, m.ID))...)
		if m.VNodes == 0 {
			m.VNodes = c.VNodes
		}
		ms[i] = m
	}
	slices.SortStableFunc(ms, func(a, b Member) int { return cmp.Compare(a.ID, b.ID) })
	for i := 0; i < len(ms); {
		j := i + 1
		for j < len(ms) && ms[j].ID == ms[i].ID {
			j++
		}
		if j-i > 1 && ms[i].ID != "" {
			errs = append(errs, fmt.Errorf("%w: %q is given %d times", ErrDuplicateID, ms[i].ID, j-i))
		}
		i = j
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return build(c, ms), nil
}

// checkMember returns what is wrong with m on its own, naming it which.
func checkMember(m Member, which string) []error {
	var errs []error
	if m.ID == "" {
		errs = append(errs, fmt.Errorf("%w: %s", ErrEmptyID, which))
	}
	if m.VNodes < 0 || m.VNodes > MaxVNodes {
		errs = append(errs, fmt.Errorf("%w: %s has %d vnodes, want 0 (the default) to %d",
			ErrVNodes, which, m.VNodes, MaxVNodes))
	}
	return errs
}

// token is a token while a ring is being built.
type token struct {
	pos    uint64
	member int32
}

// build returns the ring of ms, which are valid, sorted by ID and have their
// VNodes resolved; c has its defaults filled in.
func build(c Config, ms []Member) *Ring {
	total := 0
	for _, m := range ms {
		total += m.VNodes
	}
	toks := make([]token, 0, total)
	for mi, m := range ms {
		for i := range m.VNodes {
			toks = append(toks, token{pos: c.TokenHash(m.ID, i), member: int32(mi)})
		}
	}
	// Tokens at one position are ordered by node ID (members are sorted by
	// ID), never overwritten; a node's repeat of one position is dropped.
	slices.SortFunc(toks, func(a, b token) int {
		if c := cmp.Compare(a.pos, b.pos); c != 0 {
			return c
		}
		return cmp.Compare(a.member, b.member)
	})
	toks = slices.Compact(toks)
	r := &Ring{
		cfg:     c,
		members: ms,
		pos:     make([]uint64, len(toks)),
		owner:   make([]int32, len(toks)),
	}
	for i, t := range toks {
		r.pos[i], r.owner[i] = t.pos, t.member
	}
	r.buildIndex()
	return r
}

// With returns a ring that has m as a member, replacing the member with the
// same ID if there is one (to change its weight), and the receiver's Config.
// Only keys that m now owns move: to m when it joins or gains vnodes, away
// from m when it loses vnodes. With reports an invalid m as New does.
func (r *Ring) With(m Member) (*Ring, error) {
	if errs := checkMember(m, fmt.Sprintf("member %q", m.ID)); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c := r.cfg.withDefaults()
	if m.VNodes == 0 {
		m.VNodes = c.VNodes
	}
	i, found := r.find(m.ID)
	if found && r.members[i] == m {
		return r, nil
	}
	ms := slices.Clone(r.members)
	if found {
		ms[i] = m
	} else {
		ms = slices.Insert(ms, i, m)
	}
	return build(c, ms), nil
}

// Without returns a ring without the member id, with the receiver's Config;
// only the keys id owned move. If id is not a member it returns the receiver.
func (r *Ring) Without(id NodeID) *Ring {
	i, found := r.find(id)
	if !found {
		return r
	}
	return build(r.cfg.withDefaults(), slices.Delete(slices.Clone(r.members), i, i+1))
}

// find returns the index of id in r.members, or where it would go, and
// whether it is there.
func (r *Ring) find(id NodeID) (int, bool) {
	return slices.BinarySearchFunc(r.members, id, func(m Member, id NodeID) int { return cmp.Compare(m.ID, id) })
}

// Members returns the members of r sorted by ID, each with its vnode count
// resolved (never 0). The slice is the caller's.
func (r *Ring) Members() []Member { return slices.Clone(r.members) }

// Len returns the number of members of r.
func (r *Ring) Len() int { return len(r.members) }

// Contains reports whether id is a member of r.
func (r *Ring) Contains(id NodeID) bool {
	_, found := r.find(id)
	return found
}

// Position returns the position of key on r: KeyHash(key), unless r's
// Config injected another key hash. A node is among Owners(key, n) exactly
// when Position(key) lies in one of its Ranges(id, n).
func (r *Ring) Position(key []byte) uint64 {
	if r.cfg.KeyHash == nil {
		return KeyHash(key)
	}
	return r.cfg.KeyHash(key)
}
