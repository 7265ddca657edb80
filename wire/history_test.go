package wire_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// history is one seeded random history: replicas apply random operations
// of every kind, with coarse timestamps so that ties are common, and ship
// each delta to each other replica over a network that drops some.
type history struct {
	rng    *rand.Rand
	nodes  []crdt.NodeID
	states []crdt.State
	deltas []crdt.State
}

var elements = []string{"a", "b", "", "\x00\xff", "long element with spaces"}

func newHistory(seed uint64, replicas, ops int) *history {
	h := &history{rng: rand.New(rand.NewPCG(seed, 0)), states: make([]crdt.State, replicas)}
	for i := range replicas {
		h.nodes = append(h.nodes, crdt.NodeID(fmt.Sprintf("node-%d", i)))
	}
	for range ops {
		h.step()
	}
	return h
}

// step applies one random operation at a random replica and ships its delta.
func (h *history) step() {
	r := h.rng.IntN(len(h.states))
	s, node := &h.states[r], h.nodes[r]
	t := crdt.Timestamp{Wall: t0 + int64(h.rng.IntN(3)), Logical: uint32(h.rng.IntN(2))}
	elem := elements[h.rng.IntN(len(elements))]
	var d crdt.State
	var err error
	switch h.rng.IntN(6) {
	case 0:
		d = s.Delete(nil)
	case 1:
		d = s.Put(node, []byte(elem), t, nil)
	case 2:
		d, err = s.Add(node, t, elem)
	case 3:
		d, err = s.Remove(elem)
	default:
		d, err = s.Incr(node, int64(h.rng.IntN(21)-10), t)
	}
	if err != nil { // a write of another kind than the key holds
		return
	}
	h.deltas = append(h.deltas, d)
	for o := range h.states {
		if o != r && h.rng.IntN(4) != 0 {
			h.states[o].Merge(d)
		}
	}
}

// checkRoundTrip checks that s survives encoding and that its encoding is
// canonical: encode(decode(encode(s))) == encode(s).
func checkRoundTrip(t testing.TB, s crdt.State) []byte {
	t.Helper()
	b, err := wire.EncodeState(s)
	if err != nil {
		t.Fatalf("encoding %v: %v", s, err)
	}
	got, err := wire.DecodeState(b)
	if err != nil || !got.Equal(s) {
		t.Fatalf("decode(encode(%v)) = %v, %v", s, got, err)
	}
	if again, err := wire.EncodeState(got); err != nil || !bytes.Equal(again, b) {
		t.Fatalf("re-encoding changed the bytes:\n%x\n%x (%v)", b, again, err)
	}
	return b
}

func TestRandomHistoriesRoundTrip(t *testing.T) {
	for seed := range uint64(100) {
		h := newHistory(seed, 3+int(seed%3), 60)
		for _, d := range h.deltas {
			checkRoundTrip(t, d)
		}
		for _, s := range h.states {
			checkRoundTrip(t, s)
			ctx := s.Context()
			b, err := wire.EncodeContext(ctx)
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			if got, err := wire.DecodeContext(b); err != nil || !got.Equal(ctx) {
				t.Fatalf("seed %d: context %v decoded to %v, %v", seed, ctx, got, err)
			}
		}
	}
}

// TestEqualStatesEncodeIdentically merges the deltas of a history in
// several orders and groupings: the states are Equal and their bytes
// identical, which is what lets anti-entropy compare hashes.
func TestEqualStatesEncodeIdentically(t *testing.T) {
	for seed := range uint64(50) {
		h := newHistory(seed, 4, 80)
		var want []byte
		for order := range 4 {
			deltas := append([]crdt.State(nil), h.deltas...)
			h.rng.Shuffle(len(deltas), func(i, j int) { deltas[i], deltas[j] = deltas[j], deltas[i] })
			var s crdt.State
			if order%2 == 0 {
				for _, d := range deltas {
					s = crdt.Merge(s, d)
				}
			} else {
				s = mergeTree(deltas)
			}
			b := checkRoundTrip(t, s)
			if want == nil {
				want = b
			} else if !bytes.Equal(b, want) {
				t.Fatalf("seed %d: merge order %d encodes differently:\n%s\n%s", seed, order, diag(b), diag(want))
			}
		}
		// Replicas that exchanged their states converge to the same bytes.
		for i := range h.states {
			for j := range h.states {
				h.states[i].Merge(h.states[j])
			}
		}
		for i := range h.states {
			if b := checkRoundTrip(t, h.states[i]); !bytes.Equal(b, want) {
				t.Fatalf("seed %d: replica %d after a full exchange encodes differently", seed, i)
			}
		}
	}
}

// mergeTree merges states pairwise, as a tree, rather than left to right.
func mergeTree(states []crdt.State) crdt.State {
	switch len(states) {
	case 0:
		return crdt.State{}
	case 1:
		return states[0]
	}
	mid := len(states) / 2
	return crdt.Merge(mergeTree(states[mid:]), mergeTree(states[:mid]))
}

// churn writes and deletes one key ops times through 3 nodes exchanging
// deltas, some lost, then exchanges full states, as
// crdt.TestMetadataStaysBoundedUnderChurn does, and returns a replica.
func churn(ops int) crdt.State {
	nodes := []crdt.NodeID{"node-a", "node-b", "node-c"}
	states := make([]crdt.State, 3)
	for i := range ops {
		r := i % 3
		var d crdt.State
		if i%2 == 0 {
			d = states[r].Put(nodes[r], []byte("value"), crdt.Timestamp{Wall: t0 + int64(i)*int64(time.Millisecond)}, nil)
		} else {
			d = states[r].Delete(nil)
		}
		for o := range states {
			if o != r && (i+o)%5 != 0 {
				states[o].Merge(d)
			}
		}
	}
	for i := range states {
		for j := range states {
			states[i].Merge(states[j])
		}
	}
	return states[0]
}

// TestEncodedSizeBoundedUnderChurn: the encoding of a key written and
// deleted 10,000 times is as small as after 100 operations, give or take
// the bytes of larger counters, whether the last operation was a delete or
// a write.
func TestEncodedSizeBoundedUnderChurn(t *testing.T) {
	for _, last := range []struct {
		name  string
		extra int
	}{{"ending with a delete", 0}, {"ending with a write", 1}} {
		small := checkRoundTrip(t, churn(100+last.extra))
		large := checkRoundTrip(t, churn(10_000+last.extra))
		t.Logf("%s: %d bytes after %d operations, %d bytes after %d",
			last.name, len(small), 100+last.extra, len(large), 10_000+last.extra)
		if len(large) >= 200 || len(large)-len(small) > 16 {
			t.Errorf("%s: the encoding grows with the number of operations: %d bytes after 100, %d after 10,000:\n%s",
				last.name, len(small), len(large), diag(large))
		}
	}
}

// TestNilAndEmptyEncodeAlike: a nil value and an empty one are Equal, so
// they must encode alike.
func TestNilAndEmptyEncodeAlike(t *testing.T) {
	var withNil, withEmpty crdt.State
	withNil.Put("n", nil, at(0, 0), nil)
	withEmpty.Put("n", []byte{}, at(0, 0), nil)
	a, b := checkRoundTrip(t, withNil), checkRoundTrip(t, withEmpty)
	if !withNil.Equal(withEmpty) || !bytes.Equal(a, b) {
		t.Fatalf("nil and empty values encode differently:\n%s\n%s", diag(a), diag(b))
	}
}

// TestDecoderChecksStructureNotBytes: an integer written longer than needed
// is accepted, and re-encoding writes the canonical form, as doc.go says.
func TestDecoderChecksStructureNotBytes(t *testing.T) {
	canonical := state([]any{bs("a")}, []any{dot(0, 3)}, none, none, none, none)
	long := fill(state([]any{bs("a")}, []any{[]any{0, hole}}, none, none, none, none), 0x1b, 0, 0, 0, 0, 0, 0, 0, 3)
	s, err := wire.DecodeState(long)
	if err != nil {
		t.Fatal(err)
	}
	if b := checkRoundTrip(t, s); !bytes.Equal(b, canonical) {
		t.Fatalf("re-encoding gave %s, want %s", diag(b), diag(canonical))
	}
}
