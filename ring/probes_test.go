package ring

import (
	"slices"
	"strconv"
	"testing"
)

// TestSecondProbeWinsWhenNearer checks multi-probe placement by hand. Keys
// at small positions fall in bucket 0, whose second probe lies off :=
// probeOffset(0, 1) past the key. Node "near" has one token 105 past that
// offset, node "far" one token at 150. A key at p is 105-p from near
// through the second probe and 150-p from far through the first, so near is
// primary up to position 105 and far from 106.
func TestSecondProbeWinsWhenNearer(t *testing.T) {
	off := probeOffset(0, 1)
	cfg := Config{
		Probes: 2,
		VNodes: 1,
		KeyHash: func(key []byte) uint64 {
			n, _ := strconv.ParseUint(string(key), 10, 64)
			return n
		},
		TokenHash: func(id NodeID, _ int) uint64 {
			if id == "near" {
				return off + 105
			}
			return 150
		},
	}
	r, err := cfg.New(Member{ID: "far"}, Member{ID: "near"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key  string
		want []NodeID
	}{
		{"0", []NodeID{"near", "far"}},
		{"100", []NodeID{"near", "far"}}, // 5 through the second probe, 50 through the first
		{"105", []NodeID{"near", "far"}}, // the second probe is on near's token
		{"106", []NodeID{"far", "near"}}, // it has passed it: near is a lap away
		{"150", []NodeID{"far", "near"}}, // the first probe is on far's token
	}
	for _, tt := range tests {
		if got := r.Owners([]byte(tt.key), 2); !slices.Equal(got, tt.want) {
			t.Errorf("Owners(%s) = %v, want %v", tt.key, got, tt.want)
		}
	}
	// Past 150 both tokens are most of a lap away, through either probe.
	if got := r.Ranges("far", 1)[0]; got.Start != 106 || !got.Contains(150) {
		t.Errorf("far's first range is %v, want one from 106 past 150", got)
	}
	// With one probe the same tokens give classic placement: far owns
	// everything up to 150.
	cfg.Probes = 1
	classic, _ := cfg.New(Member{ID: "far"}, Member{ID: "near"})
	if got := classic.Owners([]byte("100"), 1); !slices.Equal(got, []NodeID{"far"}) {
		t.Errorf("one probe: Owners(100) = %v, want [far]", got)
	}
}
