package crdt_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/meridiankv/meridian/crdt"
)

// Reset baselines: a counter's share counts only above its replica's.

func TestAssembleChecksResets(t *testing.T) {
	ctx := crdt.NewContext([]crdt.Dot{{Node: "a", Counter: 2}}, []crdt.Dot{{Node: "c", Counter: 5}})
	share := crdt.Share{Dot: crdt.Dot{Node: "a", Counter: 2}, Inc: 3, Dec: 9}
	tests := []struct {
		name   string
		resets []crdt.Reset
		ok     bool
	}{
		{"none", nil, true},
		{"one per node", []crdt.Reset{{Node: "a", Inc: 1}, {Node: "c", Dec: 1}}, true},
		{"a node seen only in the cloud", []crdt.Reset{{Node: "c", Inc: 1}}, true},
		{"no node", []crdt.Reset{{Inc: 1}}, false},
		{"a node twice", []crdt.Reset{{Node: "a", Inc: 1}, {Node: "a", Inc: 2}}, false},
		{"a node not in the context", []crdt.Reset{{Node: "b", Inc: 1}}, false},
		{"zero", []crdt.Reset{{Node: "a"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := crdt.Assemble(crdt.Parts{Context: ctx, Shares: []crdt.Share{share}, Resets: tt.resets})
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, crdt.ErrInvalid)) {
				t.Fatalf("Assemble: %v, want ok %v", err, tt.ok)
			}
			if err == nil && fmt.Sprint(s.Resets()) != fmt.Sprint(sortedResets(tt.resets)) {
				t.Fatalf("resets %v, want %v", s.Resets(), tt.resets)
			}
		})
	}
}

func sortedResets(r []crdt.Reset) []crdt.Reset {
	if r == nil {
		return []crdt.Reset{}
	}
	return r
}

// TestValueSaturatesBelowTheReset: the mutators never make a share below
// its replica's baseline; a state assembled with one counts it as 0, each
// of its totals separately.
func TestValueSaturatesBelowTheReset(t *testing.T) {
	ctx := crdt.NewContext([]crdt.Dot{{Node: "a", Counter: 1}, {Node: "b", Counter: 1}}, nil)
	s, err := crdt.Assemble(crdt.Parts{
		Context: ctx,
		Shares: []crdt.Share{
			{Dot: crdt.Dot{Node: "a", Counter: 1}, Inc: 3, Dec: 9}, // below a's reset in Inc, above in Dec
			{Dot: crdt.Dot{Node: "b", Counter: 1}, Inc: math.MaxUint64},
		},
		Resets: []crdt.Reset{{Node: "a", Inc: 5, Dec: 4}, {Node: "b", Inc: math.MaxUint64 - 10}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Value(); err != nil || v != -(9-4)+10 {
		t.Fatalf("value %d (%v), want 0 - 5 + 10", v, err)
	}
}
