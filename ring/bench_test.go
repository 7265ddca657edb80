package ring_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/meridiankv/meridian/ring"
)

func tenNodes(b *testing.B, c ring.Config) *ring.Ring {
	b.Helper()
	ids := make([]ring.NodeID, 10)
	for i := range ids {
		ids[i] = ring.NodeID("node-" + strconv.Itoa(i+1))
	}
	return mustNew(b, c, members(ids...)...)
}

func benchKeys() [][]byte {
	keys := make([][]byte, 4096)
	for i := range keys {
		keys[i] = []byte("user:" + strconv.Itoa(i))
	}
	return keys
}

// BenchmarkOwners looks keys up on ten nodes of 256 vnodes, with the
// default probes and with one (classic consistent hashing).
func BenchmarkOwners(b *testing.B) {
	keys := benchKeys()
	for _, probes := range []int{ring.DefaultProbes, 1} {
		r := tenNodes(b, ring.Config{Probes: probes})
		for _, n := range []int{1, 3} {
			b.Run(fmt.Sprintf("probes=%d/n=%d/AppendOwners", probes, n), func(b *testing.B) {
				dst := make([]ring.NodeID, 0, n)
				i := 0
				for b.Loop() {
					dst = r.AppendOwners(dst[:0], keys[i%len(keys)], n)
					i++
				}
			})
			b.Run(fmt.Sprintf("probes=%d/n=%d/Owners", probes, n), func(b *testing.B) {
				i := 0
				for b.Loop() {
					_ = r.Owners(keys[i%len(keys)], n)
					i++
				}
			})
		}
	}
}

// BenchmarkNew builds a ring of ten nodes of 256 vnodes, as every
// membership change does.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		tenNodes(b, ring.Config{})
	}
}

// BenchmarkRanges lists the ranges a node holds as one of three replicas
// on ten nodes, as handoff does on a membership change.
func BenchmarkRanges(b *testing.B) {
	r := tenNodes(b, ring.Config{})
	for b.Loop() {
		_ = r.Ranges("node-1", 3)
	}
}
