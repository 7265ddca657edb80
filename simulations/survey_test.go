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
	{"protocol", "refuses them"},
	{"ring", "fewer members than replicas"},
	{"ring", "disagree on the ring"},
	{"regions-differ", "hold different states once quiet"},
	{"outbox-stalled", "outbox not drained"},
	{"left-owing", "writes owed to another region lost"},
	{"no-drop", "never dropped a backlog"},
	{"region-unknown", "does not know region"},
	{"link-down", "holds the link to region"},
	{"directory", "directory refused"},
	{"unowed", "writes owed to no region"},
	{"blind-read", "answered without them"},
	{"not-linearizable", "not linearizable"},
	{"undecided", "could not decide"},
	{"strong-no-value", "answered without a value"},
	{"strong-stuck", "not decided once quiet"},
	{"strong-kind", "holds eventual state"},
	{"strong-kind", "holds an acceptor record"},
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
	var actors, retired, churn []int
	for s := uint64(1); s <= uint64(*seeds); s++ {
		cfg := config(s)
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
		actors = append(actors, sim.maxActors)
		retired = append(retired, sim.maxRetired)
		churn = append(churn, len(sim.log))
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
	slices.Sort(actors)
	slices.Sort(retired)
	sum := 0
	for _, a := range actors {
		sum += a
	}
	faults := 0
	for _, c := range churn {
		faults += c
	}
	if len(actors) > 0 {
		fmt.Printf("actors in one key's context, the most per run: median %d, 90th percentile %d, max %d, mean %.1f; of them beyond one per node (retired epochs): median %d, 90th percentile %d, max %d (%.1f fault events per run)\n",
			actors[len(actors)/2], actors[len(actors)*9/10], actors[len(actors)-1], float64(sum)/float64(len(actors)),
			retired[len(retired)/2], retired[len(retired)*9/10], retired[len(retired)-1], float64(faults)/float64(len(churn)))
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
