package simulations

import (
	"flag"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var (
	seed   = flag.Uint64("seed", 0, "replay one simulation seed")
	seeds  = flag.Int("seeds", 300, "number of seeds TestSimulation runs (from 1), spread over GOMAXPROCS workers")
	global = flag.Bool("global", false, "declare a global strong prefix in runs of three regions (Config.GlobalKeys)")
	strong = flag.Bool("strong", false, "run strong keys with clients and porcupine's check (Config.StrongKeys)")
)

// config returns the configuration of seed s, as the flags shape it.
func config(s uint64) Config {
	cfg := DefaultConfig(s)
	cfg.StrongKeys = *strong || *global
	cfg.GlobalKeys = *global
	return cfg
}

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
	sim, err := New(config(s))
	if err != nil {
		return err
	}
	return sim.Run()
}

func runSeed(t *testing.T, s uint64) {
	t.Helper()
	sim, err := New(config(s))
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

// TestSimulationCatchesUnsyncedAcceptors plants a bug, and sees the
// checker of strong keys catch it: every store leaves its acceptor records
// unsynced, so that a power loss forgets promises and acceptances that
// were answered. Runs under batched sync, with crashes and power losses
// (and more crashes in the middle of rounds than by default: racks that
// lose power right after an acceptance) must find a history that is not
// linearizable within a few seeds, in a run that passes without the bug.
func TestSimulationCatchesUnsyncedAcceptors(t *testing.T) {
	const limit = 40
	for s := uint64(1); s <= limit; s++ {
		err := runPlanted(t, s, true)
		if !notLinearizable(err) {
			continue
		}
		if clean := runPlanted(t, s, false); notLinearizable(clean) {
			t.Logf("seed %d: not linearizable without the planted bug too (a bug of its own): %s", s, firstLines(clean))
			continue
		}
		t.Logf("seed %d: the planted bug caught (the same seed passes the check without it): %s", s, firstLines(err))
		return
	}
	t.Fatalf("%d seeds with acceptor records never synced, under power losses, and no history was found not linearizable: the checker cannot fail", limit)
}

// runPlanted runs seed s with crashes and power losses under batched sync,
// with acceptor records left unsynced when bug is set.
func runPlanted(t *testing.T, s uint64, bug bool) error {
	t.Helper()
	batched := true
	cfg := DefaultConfig(s)
	cfg.Batched, cfg.Enabled, cfg.Events, cfg.unsyncedAcceptors = &batched, FaultCrash|FaultPowerLoss, 16, bug
	cfg.StrongKeys = true
	sim, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sim.Run()
}

func notLinearizable(err error) bool {
	return err != nil && strings.Contains(err.Error(), "not linearizable")
}

// firstLines returns the violation of err that names a strong key's
// history, shortened to its first lines.
func firstLines(err error) string {
	text := err.Error()
	i := strings.Index(text, "strong key")
	if i < 0 {
		i = 0
	}
	lines := strings.SplitN(text[i:], "\n", 12)
	return strings.Join(lines[:min(len(lines), 11)], "\n")
}
