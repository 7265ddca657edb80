package simulations

import (
	"flag"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

var (
	seed  = flag.Uint64("seed", 0, "replay one simulation seed")
	seeds = flag.Int("seeds", 300, "number of seeds TestSimulation runs (from 1), spread over GOMAXPROCS workers")
)

// TestSimulation runs seeded simulations of a region with crashes, power
// losses, partitions, failing disks, membership changes and a lossy,
// duplicating network, and checks the history and the quiet cluster
// afterwards. Seeds run in parallel, one worker per core; the first
// failure stops the others and prints its seed, which -seed replays.
func TestSimulation(t *testing.T) {
	if *seed != 0 {
		runSeed(t, *seed)
		return
	}
	n := uint64(*seeds)
	if testing.Short() {
		n = 20
	}
	start := time.Now()
	var next, done atomic.Uint64
	var stop atomic.Bool
	t.Run("seeds", func(t *testing.T) {
		for w := range runtime.GOMAXPROCS(0) {
			t.Run(fmt.Sprintf("worker%d", w), func(t *testing.T) {
				t.Parallel()
				for !stop.Load() {
					s := next.Add(1)
					if s > n {
						return
					}
					if err := simulate(s); err != nil {
						stop.Store(true)
						t.Fatal(err)
					}
					done.Add(1)
				}
			})
		}
	})
	t.Logf("%d of %d seeds passed in %s", done.Load(), n, time.Since(start).Round(time.Millisecond))
}

func simulate(s uint64) error {
	sim, err := New(DefaultConfig(s))
	if err != nil {
		return err
	}
	return sim.Run()
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
