package simulations

import (
	"flag"
	"testing"
)

var (
	seed  = flag.Uint64("seed", 0, "replay one simulation seed")
	seeds = flag.Int("seeds", 100, "number of seeds TestSimulation runs (from 1)")
)

// TestSimulation runs seeded simulations of a five-node region with crashes,
// restarts, cut links and a lossy, duplicating network, and checks the
// invariants of a quiet cluster afterwards.
func TestSimulation(t *testing.T) {
	if *seed != 0 {
		runSeed(t, *seed)
		return
	}
	n := *seeds
	if testing.Short() {
		n = 10
	}
	for s := uint64(1); s <= uint64(n); s++ {
		runSeed(t, s)
		if t.Failed() {
			return
		}
	}
}

func runSeed(t *testing.T, s uint64) {
	t.Helper()
	sim, err := New(DefaultConfig(s))
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Run(); err != nil {
		t.Fatal(err)
	}
	t.Log(sim.Summary())
}

// TestSameSeedSameRun: a seed fully determines a run.
func TestSameSeedSameRun(t *testing.T) {
	var hashes []uint64
	for range 2 {
		sim, err := New(DefaultConfig(42))
		if err != nil {
			t.Fatal(err)
		}
		_ = sim.Run()
		hashes = append(hashes, sim.TraceHash())
	}
	if hashes[0] != hashes[1] {
		t.Fatalf("seed 42 gave two different runs: trace %016x and %016x", hashes[0], hashes[1])
	}
}
