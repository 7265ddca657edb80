package ring

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

var (
	sweepSets = flag.Int("ring.sets", 0, "random name sets for TestBalanceOverRandomNameSets (0: 200, or 20 under -short or -race)")
	sweepSeed = flag.Uint64("ring.seed", 1, "seed of the random name sets")
	contrast  = flag.Bool("ring.contrast", false, "TestBalanceOverRandomNameSets also measures classic consistent hashing")
)

// nameKinds draw ten node names of the kinds clusters use, from rng.
var nameKinds = []struct {
	name string
	draw func(rng *rand.Rand, i int, set []string) string
}{
	{"uuid", func(rng *rand.Rand, _ int, _ []string) string {
		a, b := rng.Uint64(), rng.Uint64()
		return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, a>>16&0xffff, a&0xfff, b>>48&0x3fff|0x8000, b&0xffffffffffff)
	}},
	{"host-N", func(rng *rand.Rand, i int, set []string) string {
		if i > 0 { // same prefix and numbering as the first
			prefix, n := cutNumber(set[0])
			return fmt.Sprintf("%s%d", prefix, n+i)
		}
		prefixes := []string{"node-", "kv-", "db", "meridian-", "store-eu-west-1-", "us-east-2a-kv"}
		return fmt.Sprintf("%s%d", prefixes[rng.IntN(len(prefixes))], rng.IntN(3)*rng.IntN(100))
	}},
	{"ip:port", func(rng *rand.Rand, i int, set []string) string {
		if i > 0 {
			var a, b, c, d, port int
			fmt.Sscanf(set[0], "%d.%d.%d.%d:%d", &a, &b, &c, &d, &port)
			return fmt.Sprintf("%d.%d.%d.%d:%d", a, b, c, d+i, port)
		}
		ports := []int{7000, 7946, 9042, 8080, 7000 + rng.IntN(1000)}
		nets := []string{"127.0.1", "10.0.0", fmt.Sprintf("10.%d.%d", rng.IntN(256), rng.IntN(256)), fmt.Sprintf("192.168.%d", rng.IntN(256))}
		return fmt.Sprintf("%s.%d:%d", nets[rng.IntN(len(nets))], 1+rng.IntN(200), ports[rng.IntN(len(ports))])
	}},
	{"k8s", func(rng *rand.Rand, i int, set []string) string {
		if i > 0 {
			return strings.Replace(set[0], "meridian-0.", fmt.Sprintf("meridian-%d.", i), 1)
		}
		ns := []string{"default", "prod", "staging", fmt.Sprintf("team-%d", rng.IntN(1000))}
		return fmt.Sprintf("meridian-0.meridian.%s.svc.cluster.local:7000", ns[rng.IntN(len(ns))])
	}},
}

// cutNumber splits "node-12" into "node-" and 12.
func cutNumber(s string) (string, int) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	n := 0
	fmt.Sscanf(s[i:], "%d", &n)
	return s[:i], n
}

// imbalances returns, exactly over the whole key space, the busiest
// member's share over the mean share as primary and as one of 3 replicas.
func imbalances(r *Ring) (primary, replica float64) {
	prim, held := make([]float64, r.Len()), make([]float64, r.Len())
	n := min(3, r.Len())
	r.segments(n, func(rg Range, owners []candidate) {
		size := float64(rg.End-rg.Start) + 1
		prim[owners[0].member] += size
		for _, c := range owners {
			held[c.member] += size
		}
	})
	most := func(xs []float64, total float64) float64 {
		m := 0.0
		for _, x := range xs {
			m = max(m, x)
		}
		return m / (total / float64(len(xs)))
	}
	return most(prim, 1<<64), most(held, float64(n)*(1<<64))
}

// figures gathers max/mean ratios over many sets.
type figures struct {
	worst, sum float64
	worstSet   string
	count      int
}

func (f *figures) add(v float64, set string) {
	if v > f.worst {
		f.worst, f.worstSet = v, set
	}
	f.sum += v
	f.count++
}

func (f *figures) String() string {
	return fmt.Sprintf("worst %.4f, mean %.4f", f.worst, f.sum/float64(f.count))
}

// TestBalanceOverRandomNameSets draws sets of ten node names of four kinds
// and measures every node's share exactly. The busiest node must stay
// within 10% of the mean for every set, as primary and as one of three
// replicas. It logs the figures, and with -ring.contrast those of classic
// consistent hashing (one probe) with 256 and with 4,096 vnodes.
func TestBalanceOverRandomNameSets(t *testing.T) {
	sets := *sweepSets
	if sets == 0 {
		sets = 200
		if testing.Short() || RaceEnabled {
			sets = 20
		}
	}
	// Draw every set first, then measure them on every core.
	rng := rand.New(rand.NewPCG(*sweepSeed, 0))
	type result struct {
		kind, label                   string
		prim, repl, classic, classicX float64
		err                           error
	}
	results := make([]result, sets)
	memberSets := make([][]Member, sets)
	for s := range sets {
		kind := nameKinds[s%len(nameKinds)]
		var names []string
		for i := range 10 {
			names = append(names, kind.draw(rng, i, names))
		}
		for _, n := range names {
			memberSets[s] = append(memberSets[s], Member{ID: NodeID(n)})
		}
		results[s] = result{kind: kind.name, label: fmt.Sprintf("%s set %d (%s, ...)", kind.name, s, names[0])}
	}
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for s := int(next.Add(1) - 1); s < sets; s = int(next.Add(1) - 1) {
				res, ms := &results[s], memberSets[s]
				r, err := New(ms...)
				if res.err = err; err != nil {
					continue
				}
				res.prim, res.repl = imbalances(r)
				if *contrast {
					one, _ := Config{Probes: 1}.New(ms...)
					res.classic, _ = imbalances(one)
					many, _ := Config{Probes: 1, VNodes: 4096}.New(ms...)
					res.classicX, _ = imbalances(many)
				}
			}
		})
	}
	wg.Wait()
	var prim, repl, classic, classic4096 figures
	perKind := map[string]*figures{}
	for _, res := range results {
		if res.err != nil {
			t.Fatalf("%s: %v", res.label, res.err)
		}
		prim.add(res.prim, res.label)
		repl.add(res.repl, res.label)
		if perKind[res.kind] == nil {
			perKind[res.kind] = &figures{}
		}
		perKind[res.kind].add(res.prim, res.label)
		classic.add(res.classic, res.label)
		classic4096.add(res.classicX, res.label)
	}
	t.Logf("%d sets of 10 nodes, default Config (%d vnodes, %d probes), max/mean over the sets:", sets, DefaultVNodes, DefaultProbes)
	t.Logf("  primary:         %v (worst: %s)", &prim, prim.worstSet)
	t.Logf("  one of 3 owners: %v (worst: %s)", &repl, repl.worstSet)
	for _, k := range nameKinds {
		if f := perKind[k.name]; f != nil {
			t.Logf("  primary, %-8s %v over %d sets", k.name+":", f, f.count)
		}
	}
	if *contrast {
		t.Logf("  classic, one probe, 256 vnodes, primary:  %v", &classic)
		t.Logf("  classic, one probe, 4096 vnodes, primary: %v", &classic4096)
	}
	if prim.worst > 1.10 || repl.worst > 1.10 {
		t.Errorf("busiest node over the mean: %.4f as primary (%s), %.4f as replica (%s); want at most 1.10",
			prim.worst, prim.worstSet, repl.worst, repl.worstSet)
	}
}
