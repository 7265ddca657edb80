package simulations

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

var (
	survey       = flag.Bool("survey", false, "TestSurvey: run -seeds seeds and tabulate which kinds of violation each one finds, without failing")
	surveyFaults = flag.String("faults", "", "TestSurvey: the kinds of fault to enable, such as crash+power-loss (default: all)")
	surveyBatch  = flag.String("batched", "", "TestSurvey: true or false forces the sync mode")
)

func parseFaults(t *testing.T, s string) Fault {
	var f Fault
	for _, name := range strings.Split(s, "+") {
		i := slices.Index(faultNames, name)
		if i < 0 {
			t.Fatalf("unknown fault %q: use %v", name, faultNames)
		}
		f |= 1 << i
	}
	return f
}

// violationKinds names the kinds of violation the checker reports, by a
// phrase of their text.
var violationKinds = []struct{ name, phrase string }{
	{"unanswered", "never answered"},
	{"lost-write", "acknowledged write lost"},
	{"lost-add", "acknowledged add lost"},
	{"session-order", "session order broken"},
	{"counter-bounds", "outside ["},
	{"went-back", "went back in time"},
	{"went-back", "lost it with no remove"},
	{"went-back", "with no delete in between"},
	{"diverged", "differ once quiet"},
	{"phantom", "no write that may have applied"},
	{"phantom-member", "every add of it"},
	{"dot-reused", "minted twice"},
	{"ring", "fewer members than replicas"},
	{"ring", "disagree on the ring"},
}

// TestSurvey runs many seeds and prints, for each kind of violation, the
// seeds that found it: how the simulator's reach is measured.
func TestSurvey(t *testing.T) {
	if !*survey {
		t.Skip("run with -survey")
	}
	maxErrors = 1 << 30
	defer func() { maxErrors = 20 }()
	found := map[string][]uint64{}
	for s := uint64(1); s <= uint64(*seeds); s++ {
		cfg := DefaultConfig(s)
		if *surveyFaults != "" {
			cfg.Enabled = parseFaults(t, *surveyFaults)
		}
		if *surveyBatch != "" {
			b := *surveyBatch == "true"
			cfg.Batched = &b
		}
		sim, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		err = sim.Run()
		var f *Failure
		if !errors.As(err, &f) {
			continue
		}
		seen := map[string]bool{}
		for _, line := range strings.Split(f.Err.Error(), "\n") {
			for _, k := range violationKinds {
				if strings.Contains(line, k.phrase) && !seen[k.name] {
					seen[k.name] = true
					found[k.name] = append(found[k.name], s)
				}
			}
		}
	}
	var names []string
	for n := range found {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ss := found[n]
		head := ss[:min(len(ss), 12)]
		fmt.Printf("%-16s %4d seeds, e.g. %v\n", n, len(ss), head)
	}
}
