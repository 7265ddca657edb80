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

// TestSimulation runs seeded simulations with crashes, power losses,
// partitions, failing disks, membership changes and a lossy, duplicating
// network, and checks the history and the quiet cluster afterwards: an
// odd seed simulates one region, an even one two or three, with regions
// cut off from the others (DefaultConfig). Seeds run in parallel, one
// worker per core; the first failure stops the others and prints its
// seed, which -seed replays.
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

// TestSameSeedSameRun: a seed fully determines a run, of one region or of
// several.
func TestSameSeedSameRun(t *testing.T) {
	for _, tt := range []struct {
		seed    uint64
		regions int
	}{
		{seed: 41, regions: 1},
		{seed: 42, regions: 3},
		{seed: 44, regions: 2},
	} {
		t.Run(fmt.Sprint(tt.seed), func(t *testing.T) {
			var hashes []uint64
			for range 2 {
				sim, err := New(DefaultConfig(tt.seed))
				if err != nil {
					t.Fatal(err)
				}
				if got := len(sim.regions); got != tt.regions {
					t.Fatalf("seed %d simulates %d regions, want %d", tt.seed, got, tt.regions)
				}
				_ = sim.Run()
				hashes = append(hashes, sim.TraceHash())
			}
			if hashes[0] != hashes[1] {
				t.Fatalf("seed %d gave two different runs: trace %016x and %016x", tt.seed, hashes[0], hashes[1])
			}
		})
	}
}
