package ring_test

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/meridiankv/meridian/ring"
)

// digits is the hand-checkable hashing of golang/groupcache's
// consistenthash_test.go: a key's position is the number it spells, and
// node "4" puts its vnode i at 4 + 10*i. With vnodes 3, nodes "2", "4" and
// "6" put tokens at 2, 12, 22 / 4, 14, 24 / 6, 16, 26.
var digits = ring.Config{
	Probes: 1,
	VNodes: 3,
	KeyHash: func(key []byte) uint64 {
		n, err := strconv.ParseUint(string(key), 10, 64)
		if err != nil {
			panic(err)
		}
		return n
	},
	TokenHash: func(id ring.NodeID, i int) uint64 {
		n, err := strconv.ParseUint(string(id), 10, 64)
		if err != nil {
			panic(err)
		}
		return n + 10*uint64(i)
	},
}

func mustNew(t testing.TB, c ring.Config, members ...ring.Member) *ring.Ring {
	t.Helper()
	r, err := c.New(members...)
	if err != nil {
		t.Fatalf("New(%v): %v", members, err)
	}
	return r
}

func members(ids ...ring.NodeID) []ring.Member {
	ms := make([]ring.Member, len(ids))
	for i, id := range ids {
		ms[i] = ring.Member{ID: id}
	}
	return ms
}

func TestOwnersByHand(t *testing.T) {
	r := mustNew(t, digits, members("2", "4", "6")...)
	joined, err := r.With(ring.Member{ID: "8"}) // tokens 8, 18, 28
	if err != nil {
		t.Fatal(err)
	}
	left := r.Without("2")
	tests := []struct {
		name string
		r    *ring.Ring
		key  string
		n    int
		want []ring.NodeID
	}{
		{"on a token", r, "2", 3, []ring.NodeID{"2", "4", "6"}},
		{"between tokens", r, "11", 3, []ring.NodeID{"2", "4", "6"}},
		{"n below the ring size", r, "23", 2, []ring.NodeID{"4", "6"}},
		{"walk wraps past the top", r, "23", 3, []ring.NodeID{"4", "6", "2"}},
		{"key past the last token wraps", r, "27", 3, []ring.NodeID{"2", "4", "6"}},
		{"key at zero", r, "0", 1, []ring.NodeID{"2"}},
		{"key at the top of the ring", r, strconv.FormatUint(math.MaxUint64, 10), 1, []ring.NodeID{"2"}},
		{"n above the ring size", r, "5", 7, []ring.NodeID{"6", "2", "4"}},
		{"joiner takes the gap before its token", joined, "27", 3, []ring.NodeID{"8", "2", "4"}},
		{"joiner enters the replica list", joined, "5", 3, []ring.NodeID{"6", "8", "2"}},
		{"others keep their keys after a join", joined, "11", 3, []ring.NodeID{"2", "4", "6"}},
		{"removed node's keys go to the next", left, "11", 3, []ring.NodeID{"4", "6"}},
		{"others keep their keys after a leave", left, "23", 2, []ring.NodeID{"4", "6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.Owners([]byte(tt.key), tt.n); !slices.Equal(got, tt.want) {
				t.Errorf("Owners(%q, %d) = %v, want %v", tt.key, tt.n, got, tt.want)
			}
		})
	}
}

func TestRangesByHand(t *testing.T) {
	r := mustNew(t, digits, members("2", "4", "6")...)
	const top = math.MaxUint64
	tests := []struct {
		name string
		id   ring.NodeID
		n    int
		want []ring.Range
	}{
		// Token 2 owns (26, top] and [0, 2], split at the top of the ring.
		{"primary, wrapping", "2", 1, []ring.Range{{0, 2}, {7, 12}, {17, 22}, {27, top}}},
		{"primary", "4", 1, []ring.Range{{3, 4}, {13, 14}, {23, 24}}},
		// Node 6 is second owner for (2, 4] and first for (4, 6]: merged.
		{"first or second", "6", 2, []ring.Range{{3, 6}, {13, 16}, {23, 26}}},
		{"every node holds every key", "4", 3, []ring.Range{{0, top}}},
		{"not a member", "5", 1, nil},
		{"no replicas", "4", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Ranges(tt.id, tt.n); !slices.Equal(got, tt.want) {
				t.Errorf("Ranges(%q, %d) = %v, want %v", tt.id, tt.n, got, tt.want)
			}
		})
	}
}

func TestSharesByHand(t *testing.T) {
	r := mustNew(t, digits, members("2", "4", "6")...)
	// Nodes 4 and 6 own 2+2+2 positions each; node 2 all the others.
	want := map[ring.NodeID]float64{"2": 1 - 12.0/(1<<64), "4": 6.0 / (1 << 64), "6": 6.0 / (1 << 64)}
	got := r.Shares(1)
	for id, w := range want {
		if math.Abs(got[id]-w) > 1e-30 {
			t.Errorf("Shares(1)[%q] = %g, want %g", id, got[id], w)
		}
	}
	if sum := sumShares(r.Shares(2)); math.Abs(sum-2) > 1e-9 {
		t.Errorf("Shares(2) add up to %g, want 2", sum)
	}
}

func sumShares(m map[ring.NodeID]float64) float64 {
	s := 0.0
	for _, v := range m {
		s += v
	}
	return s
}

// TestCollidingTokensOrderByNodeID: groupcache lets a token that lands on
// another's position overwrite it; here both stay, ordered by node ID,
// whatever order the members are given in.
func TestCollidingTokensOrderByNodeID(t *testing.T) {
	same := ring.Config{
		Probes:    1,
		VNodes:    4,
		KeyHash:   ring.KeyHash,
		TokenHash: func(_ ring.NodeID, i int) uint64 { return uint64(i) << 62 },
	}
	for _, order := range [][]ring.NodeID{{"a", "b", "c"}, {"c", "b", "a"}, {"b", "c", "a"}} {
		r := mustNew(t, same, members(order...)...)
		for _, key := range []string{"x", "y", "z"} {
			if got, want := r.Owners([]byte(key), 3), []ring.NodeID{"a", "b", "c"}; !slices.Equal(got, want) {
				t.Errorf("members %v: Owners(%q) = %v, want %v", order, key, got, want)
			}
		}
		if got := r.Without("a").Owners([]byte("x"), 1); !slices.Equal(got, []ring.NodeID{"b"}) {
			t.Errorf("without a: Owners = %v, want [b]", got)
		}
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	tests := []struct {
		name    string
		cfg     ring.Config
		members []ring.Member
		want    []error
	}{
		{"empty id", ring.Config{}, []ring.Member{{ID: ""}}, []error{ring.ErrEmptyID}},
		{"negative vnodes", ring.Config{}, []ring.Member{{ID: "a", VNodes: -1}}, []error{ring.ErrVNodes}},
		{"absurd vnodes", ring.Config{}, []ring.Member{{ID: "a", VNodes: ring.MaxVNodes + 1}}, []error{ring.ErrVNodes}},
		{"duplicate id", ring.Config{}, members("a", "b", "a"), []error{ring.ErrDuplicateID}},
		{"config vnodes", ring.Config{VNodes: -5}, members("a"), []error{ring.ErrVNodes}},
		{"config probes", ring.Config{Probes: ring.MaxProbes + 1}, members("a"), []error{ring.ErrProbes}},
		{"every problem at once", ring.Config{Probes: -1},
			[]ring.Member{{ID: ""}, {ID: "b", VNodes: -2}, {ID: "c"}, {ID: "c"}},
			[]error{ring.ErrProbes, ring.ErrEmptyID, ring.ErrVNodes, ring.ErrDuplicateID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.cfg.New(tt.members...)
			if err == nil || r != nil {
				t.Fatalf("New = %v, %v; want an error", r, err)
			}
			for _, want := range tt.want {
				if !errors.Is(err, want) {
					t.Errorf("error %q does not match %v", err, want)
				}
			}
		})
	}
}

func TestWithRejectsBadMember(t *testing.T) {
	r := mustNew(t, ring.Config{}, members("a")...)
	tests := []struct {
		name string
		m    ring.Member
		want error
	}{
		{"empty id", ring.Member{}, ring.ErrEmptyID},
		{"negative vnodes", ring.Member{ID: "b", VNodes: -1}, ring.ErrVNodes},
		{"absurd vnodes", ring.Member{ID: "b", VNodes: ring.MaxVNodes + 1}, ring.ErrVNodes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := r.With(tt.m); !errors.Is(err, tt.want) || got != nil {
				t.Errorf("With(%+v) = %v, %v; want nil, %v", tt.m, got, err, tt.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  ring.Config
		want error
	}{
		{"zero is the default", ring.Config{}, nil},
		{"default", ring.DefaultConfig(), nil},
		{"largest", ring.Config{VNodes: ring.MaxVNodes, Probes: ring.MaxProbes}, nil},
		{"vnodes", ring.Config{VNodes: ring.MaxVNodes + 1}, ring.ErrVNodes},
		{"probes", ring.Config{Probes: -1}, ring.ErrProbes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Validate() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestEmptyAndZeroRings(t *testing.T) {
	empty := mustNew(t, ring.Config{})
	for name, r := range map[string]*ring.Ring{"New()": empty, "zero Ring": new(ring.Ring)} {
		t.Run(name, func(t *testing.T) {
			if got := r.Owners([]byte("k"), 3); got != nil {
				t.Errorf("Owners = %v, want nil", got)
			}
			if r.Len() != 0 || r.Contains("a") || len(r.Members()) != 0 || r.Shares(1) != nil {
				t.Errorf("empty ring is not empty")
			}
			if r.Position([]byte("k")) != ring.KeyHash([]byte("k")) {
				t.Errorf("Position is not KeyHash")
			}
			one, err := r.With(ring.Member{ID: "a"})
			if err != nil {
				t.Fatal(err)
			}
			if got := one.Owners([]byte("k"), 3); !slices.Equal(got, []ring.NodeID{"a"}) {
				t.Errorf("one-node ring: Owners = %v, want [a]", got)
			}
			if got := one.Members(); !slices.Equal(got, []ring.Member{{ID: "a", VNodes: ring.DefaultVNodes}}) {
				t.Errorf("Members = %v, want a with the default vnodes", got)
			}
		})
	}
}

func TestRingsAreImmutable(t *testing.T) {
	r := mustNew(t, ring.Config{}, members("a", "b", "c")...)
	before := r.Owners([]byte("k"), 3)
	if same, err := r.With(ring.Member{ID: "b"}); err != nil || same != r {
		t.Errorf("With(an unchanged member) = %p, %v; want the receiver %p", same, err, r)
	}
	if r.Without("zz") != r {
		t.Errorf("Without(a non-member) is not the receiver")
	}
	heavier, err := r.With(ring.Member{ID: "b", VNodes: 512})
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Without("a")
	ms := r.Members()
	ms[0].ID = "changed"
	if got := r.Members(); got[0].ID != "a" {
		t.Errorf("Members() aliased the ring: %v", got)
	}
	if got := r.Owners([]byte("k"), 3); !slices.Equal(got, before) || r.Len() != 3 || !r.Contains("a") {
		t.Errorf("receiver changed: Owners = %v, was %v", got, before)
	}
	if got := heavier.Members()[1]; got != (ring.Member{ID: "b", VNodes: 512}) {
		t.Errorf("With replaced b by %+v, want 512 vnodes", got)
	}
}

// TestConcurrentReaders runs under -race: a Ring needs no lock.
func TestConcurrentReaders(t *testing.T) {
	r := mustNew(t, ring.Config{}, members("a", "b", "c", "d")...)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				key := []byte(strconv.Itoa(g*1000 + i))
				if got := r.Owners(key, 3); len(got) != 3 {
					t.Errorf("Owners(%q) = %v", key, got)
				}
			}
		})
	}
	wg.Wait()
}

func TestAppendOwnersDoesNotAllocate(t *testing.T) {
	r := mustNew(t, ring.Config{}, members("a", "b", "c", "d", "e")...)
	dst := make([]ring.NodeID, 0, 3)
	key := []byte("user:42")
	if allocs := testing.AllocsPerRun(100, func() { dst = r.AppendOwners(dst[:0], key, 3) }); allocs != 0 {
		t.Errorf("AppendOwners allocates %v times per call, want 0", allocs)
	}
	if got := r.Owners(key, 3); !slices.Equal(got, dst) {
		t.Errorf("Owners = %v, AppendOwners = %v", got, dst)
	}
}
