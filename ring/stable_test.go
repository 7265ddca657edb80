package ring_test

import (
	"slices"
	"testing"

	"github.com/meridiankv/meridian/ring"
)

// TestPlacementIsStable pins where keys go. Every node of a cluster must
// place every key the same way, whatever version it runs: if this fails you
// changed the placement (a hash, the token encoding, the probes, the
// ranking), which moves data and splits a cluster that upgrades node by
// node. Do not edit the table: add a Config option that keeps the old
// placement the default.
func TestPlacementIsStable(t *testing.T) {
	hashes := []struct {
		name string
		got  uint64
		want uint64
	}{
		{"KeyHash of nothing (XXH64 test vector)", ring.KeyHash(nil), 0xef46db3751d8e999},
		{"KeyHash", ring.KeyHash([]byte("user:42")), 0xdc1fea7da8d2d1c2},
		{"TokenHash", ring.TokenHash("node-1", 0), 0x83aee9f84e5537a2},
	}
	for _, h := range hashes {
		if h.got != h.want {
			t.Errorf("%s = %#x, want %#x", h.name, h.got, h.want)
		}
	}
	r := mustNew(t, ring.Config{}, members("node-1", "node-2", "node-3", "node-4", "node-5")...)
	placements := []struct {
		key  string
		want []ring.NodeID
	}{
		{"user:0", []ring.NodeID{"node-4", "node-5", "node-2"}},
		{"user:1", []ring.NodeID{"node-1", "node-3", "node-5"}},
		{"user:2", []ring.NodeID{"node-3", "node-2", "node-4"}},
		{"user:3", []ring.NodeID{"node-2", "node-5", "node-1"}},
		{"user:4", []ring.NodeID{"node-5", "node-2", "node-4"}},
		{"user:5", []ring.NodeID{"node-1", "node-2", "node-5"}},
		{"user:6", []ring.NodeID{"node-2", "node-5", "node-3"}},
		{"user:7", []ring.NodeID{"node-3", "node-1", "node-5"}},
		{"user:8", []ring.NodeID{"node-4", "node-1", "node-2"}},
		{"user:9", []ring.NodeID{"node-5", "node-3", "node-4"}},
		{"user:10", []ring.NodeID{"node-4", "node-2", "node-5"}},
		{"user:11", []ring.NodeID{"node-4", "node-1", "node-5"}},
	}
	for _, p := range placements {
		if got := r.Owners([]byte(p.key), 3); !slices.Equal(got, p.want) {
			t.Errorf("Owners(%q, 3) = %v, want %v", p.key, got, p.want)
		}
	}
}
