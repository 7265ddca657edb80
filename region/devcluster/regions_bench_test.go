package devcluster_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meridiankv/meridian/region/devcluster"
	"github.com/redis/go-redis/v9"
)

// The figures of `make bench-regions`: 3 regions of 3 nodes, 50ms apart,
// driven over the Redis protocol, against one region of 3 nodes measured
// in the same run. It prints numbers; it asserts nothing.

var benchRegions = flag.Bool("bench-regions", false, "run TestBenchRegionFigures (make bench-regions): print the multi-region figures")

// benchCommand is how to run the figures again.
const benchCommand = "make bench-regions  (go test ./region/devcluster -run '^TestBenchRegionFigures$' -count=1 -v -timeout 0 -args -bench-regions)"

// benchTimes are the figures' durations; SHORT=1 shrinks them.
type benchTimes struct {
	oneClient      int           // requests of the 1-client runs
	eachQuorum     int           // EACH_QUORUM writes
	paced          time.Duration // each paced run
	partition      time.Duration // the partition under load
	down           time.Duration // a region down under load
	sharedKeys     int           // keys of each type in the partition's load
	partitionRate  int           // ops/s of the partition's load, all regions
	downRatePerReg int           // writes/s of each region's writers while r3 is down
}

// benchShort reports whether SHORT asks a benchmark to shrink its
// durations (SHORT=1).
func benchShort() bool { return os.Getenv("SHORT") != "" && os.Getenv("SHORT") != "0" }

// printBenchHeader prints how to run a benchmark again, and the machine it
// ran on.
func printBenchHeader(command string) {
	fmt.Printf("# %s\n# SHORT=%q; %s; load average before: %s\n", command, os.Getenv("SHORT"), cpuInfo(), loadAvg())
}

func benchDurations() benchTimes {
	if benchShort() {
		return benchTimes{oneClient: 500, eachQuorum: 50, paced: 4 * time.Second, partition: 8 * time.Second,
			down: 20 * time.Second, sharedKeys: 30, partitionRate: 300, downRatePerReg: 100}
	}
	return benchTimes{oneClient: 3000, eachQuorum: 200, paced: 10 * time.Second, partition: 30 * time.Second,
		down: 2 * time.Minute, sharedKeys: 50, partitionRate: 300, downRatePerReg: 100}
}

// TestBenchRegionFigures prints the multi-region figures (make
// bench-regions); it runs only with -bench-regions. Every node runs with
// meridiand's defaults, anti-entropy between regions off where the build
// has it (the figures measure what the outboxes deliver).
func TestBenchRegionFigures(t *testing.T) {
	if !*benchRegions {
		t.Skip("prints figures, asserts nothing: run it with make bench-regions (-args -bench-regions)")
	}
	bt := benchDurations()
	printBenchHeader(benchCommand)

	rc := startRegions(t, regionsSetup{base: 150, regions: 3, nodes: 3, delay: 50 * time.Millisecond, defaults: true, args: noRegionAntiEntropy()})
	multi := measureLatencies(t, rc, bt, "3 regions x 3 nodes, 50ms one way")
	benchEachQuorum(t, rc, bt)
	benchLag(t, rc, bt, max(50, multi.best["SET"]/2))
	benchPartition(t, rc, bt)
	benchDown(t, rc, bt)
	rc.Close()
	rc.Cluster = nil

	// One region of 3 nodes, for the ratios.
	one := startRegions(t, regionsSetup{base: 150, regions: 1, nodes: 3, defaults: true})
	single := measureLatencies(t, one, bt, "1 region x 3 nodes")
	fmt.Printf("\n## p99 ratios, 3 regions over 1 region (same run, same load)\n")
	for _, k := range multi.order {
		if o, ok := single.p99[k]; ok && o > 0 {
			note := ""
			if multi.saturated[k] || single.saturated[k] {
				note = " (saturated: queueing, not latency)"
			}
			fmt.Printf("%-20s %9s / %9s = %6.2fx%s\n", k, multi.p99[k].Round(10*time.Microsecond), o.Round(10*time.Microsecond), float64(multi.p99[k])/float64(o), note)
		}
	}
	fmt.Printf("# load average after: %s\n", loadAvg())
}

// redisClients returns a go-redis client per node of nodes, each of its
// connections at level.
func redisClients(t *testing.T, nodes []devcluster.Node, level string, pool int) []*redis.Client {
	var out []*redis.Client
	for _, n := range nodes {
		c := redis.NewClient(&redis.Options{Addr: n.RESP, PoolSize: pool, PoolTimeout: 30 * time.Second,
			ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
			OnConnect: func(ctx context.Context, cn *redis.Conn) error {
				return cn.Do(ctx, "CONSISTENCY", level).Err()
			}})
		t.Cleanup(func() { c.Close() })
		out = append(out, c)
	}
	return out
}

// latencies are a cluster's figures: p99s by name, and the highest paced
// rate of SET and GET below saturation (0 for none).
type latencies struct {
	order     []string // the names of p99, in the order measured
	p99       map[string]time.Duration
	saturated map[string]bool
	best      map[string]int
}

// benchRates are the paced rates tried, lowest first: a saturated run
// leaves a backlog (hints, shipments, compactions) that would weigh on the
// runs after it.
var benchRates = []int{50, 100, 250, 500, 1000, 2000, 3000, 4000, 5000}

// measureLatencies prints SET and GET latencies at LOCAL_QUORUM with one
// client and paced over every node, at rising rates up to 5,000 requests
// a second or the first that saturates the cluster, with the CPU per
// request.
func measureLatencies(t *testing.T, rc *regionsCluster, bt benchTimes, label string) latencies {
	ctx := t.Context()
	fig := latencies{p99: map[string]time.Duration{}, saturated: map[string]bool{}, best: map[string]int{}}
	fmt.Printf("\n## %s: LOCAL_QUORUM over the Redis protocol, 100-byte values\n", label)
	idle := rc.idleCPU(5 * time.Second)
	fmt.Printf("idle: %s\n", idle)
	value := strings.Repeat("x", 100)
	first := redisClients(t, rc.Nodes()[:1], "LOCAL_QUORUM", 4)[0]
	for _, op := range []string{"SET", "GET"} {
		cpu0, t0 := rc.cpuTicks(), time.Now()
		var lat []time.Duration
		for i := range bt.oneClient {
			key := fmt.Sprintf("bench:%d", i)
			start := time.Now()
			var err error
			if op == "SET" {
				err = first.Set(ctx, key, value, 0).Err()
			} else {
				err = first.Get(ctx, key).Err()
			}
			if err != nil {
				t.Fatalf("%s %s: %v", op, key, err)
			}
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		fig.order = append(fig.order, op+" 1 client")
		fig.p99[op+" 1 client"] = regionsPercentile(lat, 99)
		fmt.Printf("%s, 1 client, %d requests through %s: p50 %s, p99 %s; %s\n", op, bt.oneClient, rc.Nodes()[0].ID,
			regionsPercentile(lat, 50).Round(10*time.Microsecond), regionsPercentile(lat, 99).Round(10*time.Microsecond), rc.cpuPer(cpu0, t0, idle, bt.oneClient))
	}
	clients := redisClients(t, rc.Nodes(), "LOCAL_QUORUM", 64)
	run := func(op string, rate int) pacedRun {
		if _, err := rc.waitDrained(2 * time.Minute); err != nil {
			fmt.Printf("(%v)\n", err)
		}
		cpu0, t0 := rc.cpuTicks(), time.Now()
		r := paced(ctx, clients, rate, bt.paced, func(c *redis.Client, i int) error {
			if op == "SET" {
				return c.Set(ctx, fmt.Sprintf("bench:%d", rand.IntN(100000)), value, 0).Err()
			}
			return c.Get(ctx, fmt.Sprintf("bench:%d", rand.IntN(bt.oneClient))).Err() // a key the 1-client run wrote
		})
		fmt.Printf("%s paced at %d/s for %s over every node: %s; %s\n", op, rate, bt.paced, r, rc.cpuPer(cpu0, t0, idle, r.n))
		k := fmt.Sprintf("%s paced %d/s", op, rate)
		fig.order = append(fig.order, k)
		fig.p99[k], fig.saturated[k] = r.p99, r.saturated()
		return r
	}
	for _, op := range []string{"SET", "GET"} {
		for _, rate := range benchRates {
			if r := run(op, rate); r.saturated() {
				break
			}
			fig.best[op] = rate
		}
		if fig.best[op] == 0 {
			fmt.Printf("  -> %s saturated at every rate tried (%v)\n", op, benchRates)
		} else {
			fmt.Printf("  -> %s: the highest of %v below saturation here: %d/s\n", op, benchRates, fig.best[op])
		}
	}
	return fig
}

// pacedRun is the outcome of an open-loop run.
type pacedRun struct {
	rate, n, errs int
	late          time.Duration // how long after the schedule's end the last answer came
	lat           []time.Duration
	p50, p99, max time.Duration
	firstErr      string
}

func (r pacedRun) String() string {
	s := fmt.Sprintf("p50 %s, p99 %s, max %s, %d errors, last answer %s after the schedule's end",
		r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.max.Round(time.Millisecond), r.errs, r.late.Round(time.Millisecond))
	if r.firstErr != "" {
		s += " (" + r.firstErr + ")"
	}
	if r.saturated() {
		s += " SATURATED"
	}
	return s
}

// saturated reports whether the run fell behind: answers more than a
// second late, errors, or a p99 of queueing (over 100ms).
func (r pacedRun) saturated() bool {
	return r.late > time.Second || r.errs > 0 || r.p99 > 100*time.Millisecond
}

// paced issues rate requests a second for d, open loop (each at its
// scheduled time, whatever the earlier ones are doing), spread over
// clients in turn, and measures each from its scheduled time.
func paced(ctx context.Context, clients []*redis.Client, rate int, d time.Duration, op func(*redis.Client, int) error) pacedRun {
	n := int(float64(rate) * d.Seconds())
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, n)
	var errs atomic.Int64
	var firstErr atomic.Pointer[string]
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		if wait := time.Until(at); wait > time.Millisecond {
			time.Sleep(wait)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := op(clients[i%len(clients)], i)
			lat[i] = time.Since(at)
			if err != nil {
				errs.Add(1)
				s := err.Error()
				firstErr.CompareAndSwap(nil, &s)
			}
		}()
	}
	wg.Wait()
	r := pacedRun{rate: rate, n: n, errs: int(errs.Load()), late: time.Since(start.Add(d)), lat: lat}
	if p := firstErr.Load(); p != nil {
		r.firstErr = *p
	}
	slices.Sort(lat)
	r.p50, r.p99, r.max = regionsPercentile(lat, 50), regionsPercentile(lat, 99), lat[len(lat)-1]
	return r
}

// cpuTicks returns the CPU ticks (utime+stime) each running node has used,
// by node id.
func (rc *regionsCluster) cpuTicks() map[string]int64 {
	out := map[string]int64{}
	for _, n := range rc.Nodes() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", n.PID))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		u, _ := strconv.ParseInt(f[11], 10, 64)
		k, _ := strconv.ParseInt(f[12], 10, 64)
		out[n.ID] = u + k
	}
	return out
}

// idleCPU measures the cores the nodes use doing nothing, over d.
func (rc *regionsCluster) idleCPU(d time.Duration) idleRate {
	before := rc.cpuTicks()
	time.Sleep(d)
	after := rc.cpuTicks()
	per := map[string]float64{}
	for _, n := range rc.Nodes() {
		per[n.Region] += float64(after[n.ID]-before[n.ID]) / float64(clockTicks()) / d.Seconds()
	}
	return idleRate{regions: rc.regionNames(), cores: per}
}

// idleRate is the CPU, in cores, each region's nodes use when idle.
type idleRate struct {
	regions []string
	cores   map[string]float64
}

func (r idleRate) String() string {
	var parts []string
	total := 0.0
	for _, name := range r.regions {
		parts = append(parts, fmt.Sprintf("%s %.3f", name, r.cores[name]))
		total += r.cores[name]
	}
	return fmt.Sprintf("the nodes use %.3f cores doing nothing (%s)", total, strings.Join(parts, ", "))
}

// cpuPer says how much CPU each region's nodes used per request since
// before (taken at t0), and all of them, and the same less what they use
// when idle.
func (rc *regionsCluster) cpuPer(before map[string]int64, t0 time.Time, idle idleRate, requests int) string {
	after := rc.cpuTicks()
	secs := time.Since(t0).Seconds()
	hz := float64(clockTicks())
	per := map[string]float64{}
	for _, n := range rc.Nodes() {
		per[n.Region] += float64(after[n.ID]-before[n.ID]) / hz
	}
	us := func(cpu float64) string { return fmt.Sprintf("%.0f", cpu*1e6/float64(requests)) }
	var gross, net []string
	var total, totalNet float64
	for _, r := range rc.regionNames() {
		n := per[r] - idle.cores[r]*secs
		gross, net = append(gross, r+" "+us(per[r])), append(net, r+" "+us(n))
		total += per[r]
		totalNet += n
	}
	return fmt.Sprintf("CPU per request (us): %s, all %s; less idle: %s, all %s",
		strings.Join(gross, ", "), us(total), strings.Join(net, ", "), us(totalNet))
}

var (
	clkOnce sync.Once
	clk     int64 = 100
)

func clockTicks() int64 {
	clkOnce.Do(func() {
		if out, err := exec.Command("getconf", "CLK_TCK").Output(); err == nil {
			if v, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && v > 0 {
				clk = v
			}
		}
	})
	return clk
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func cpuInfo() string {
	out, _ := exec.Command("nproc").Output()
	return strings.TrimSpace(string(out)) + " cores"
}

// benchEachQuorum prints the latency of EACH_QUORUM writes from r1, one
// client.
func benchEachQuorum(t *testing.T, rc *regionsCluster, bt benchTimes) {
	ctx := t.Context()
	if _, err := rc.waitDrained(2 * time.Minute); err != nil {
		fmt.Printf("(%v)\n", err)
	}
	c := redisClients(t, rc.region("r1")[:1], "EACH_QUORUM", 4)[0]
	var lat []time.Duration
	for i := range bt.eachQuorum {
		start := time.Now()
		if err := c.Set(ctx, fmt.Sprintf("each:%d", i), "v", 0).Err(); err != nil {
			fmt.Printf("EACH_QUORUM SET failed: %v\n", err)
			return
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	fmt.Printf("\nEACH_QUORUM SET from r1, 1 client, %d writes: p50 %s, p99 %s (a round trip to the farthest region is 100ms)\n",
		bt.eachQuorum, regionsPercentile(lat, 50).Round(100*time.Microsecond), regionsPercentile(lat, 99).Round(100*time.Microsecond))
}

// benchLag samples the time from a LOCAL_QUORUM write's acknowledgement in
// r1 to its visibility at LOCAL_ONE on an r2 node (polled every 2ms),
// under paced SET load on every node.
func benchLag(t *testing.T, rc *regionsCluster, bt benchTimes, rate int) {
	ctx := t.Context()
	if _, err := rc.waitDrained(2 * time.Minute); err != nil {
		fmt.Printf("(%v)\n", err)
	}
	clients := redisClients(t, rc.Nodes(), "LOCAL_QUORUM", 64)
	w := redisClients(t, rc.region("r1")[:1], "LOCAL_QUORUM", 2)[0]
	r := redisClients(t, rc.region("r2")[:1], "LOCAL_ONE", 2)[0]
	var lags []time.Duration
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			key, val := fmt.Sprintf("lag:%d", i), strconv.Itoa(i)
			if err := w.Set(ctx, key, val, 0).Err(); err != nil {
				continue
			}
			acked := time.Now()
			for time.Since(acked) < 10*time.Second {
				if v, err := r.Get(ctx, key).Result(); err == nil && v == val {
					lags = append(lags, time.Since(acked))
					break
				}
				time.Sleep(2 * time.Millisecond)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	run := paced(ctx, clients, rate, bt.paced, func(c *redis.Client, i int) error {
		return c.Set(ctx, fmt.Sprintf("bench:%d", rand.IntN(100000)), "x", 0).Err()
	})
	close(done)
	<-sampled
	slices.Sort(lags)
	if len(lags) == 0 {
		fmt.Printf("\nreplication lag: no sample (%s)\n", run)
		return
	}
	fmt.Printf("\nreplication lag r1 -> r2 under %d SET/s (LOCAL_QUORUM, every node; %s): ack in r1 to a LOCAL_ONE read on %s, %d samples: p50 %s, p99 %s, max %s\n",
		rate, run, rc.region("r2")[0].ID, len(lags), regionsPercentile(lags, 50).Round(100*time.Microsecond),
		regionsPercentile(lags, 99).Round(100*time.Microsecond), lags[len(lags)-1].Round(100*time.Microsecond))
}

// benchPartition cuts r2 off for bt.partition under a paced mixed load on
// shared keys, heals, stops the load and prints when the outboxes drained
// and when every replica of every key was identical in every region.
func benchPartition(t *testing.T, rc *regionsCluster, bt benchTimes) {
	if os.Geteuid() != 0 {
		fmt.Printf("\npartition: skipped (needs root for iptables)\n")
		return
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		fmt.Printf("\npartition: skipped (no iptables)\n")
		return
	}
	if _, err := rc.waitDrained(2 * time.Minute); err != nil {
		fmt.Printf("(%v)\n", err)
	}
	l := startPacedShared(rc, bt.sharedKeys, bt.partitionRate)
	defer l.finish()
	time.Sleep(2 * time.Second)
	rc.partition("r2")
	time.Sleep(bt.partition)
	owed := rc.pendingTo("r1", "r2") + rc.pendingTo("r3", "r2") + rc.pendingTo("r2", "r1") + rc.pendingTo("r2", "r3")
	healing := time.Now()
	rc.heal()
	healed := time.Now()
	l.finish()
	c := l.counts()
	drained, err := rc.waitDrained(5 * time.Minute)
	if err != nil {
		fmt.Printf("partition: %v\n", err)
		return
	}
	var identical time.Duration
	for {
		if _, err := rc.allIdentical(t.Context(), l.keyNames()); err == nil {
			identical = time.Since(healed)
			break
		} else if time.Since(healed) > 5*time.Minute {
			fmt.Printf("partition: no convergence 5 minutes after the heal: %v\n", err)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Printf("\npartition of r2 for %s under %d ops/s (SET, SADD, INCRBY at LOCAL_QUORUM on %d keys, all regions; acknowledged r1 %d, r2 %d, r3 %d): %d writes owed between r2 and the others at the heal; removing the iptables rules took %s; after it, the outboxes drained in %s and every replica of every key was identical in the 3 regions in %s (inspected every 100ms)\n",
		bt.partition, bt.partitionRate, 3*bt.sharedKeys, c["r1"][opAcked], c["r2"][opAcked], c["r3"][opAcked], owed,
		healed.Sub(healing).Round(time.Millisecond), drained.Round(time.Millisecond), identical.Round(time.Millisecond))
}

// startPacedShared is a sharedLoad whose writers together apply about
// rate operations a second.
func startPacedShared(rc *regionsCluster, keys, rate int) *sharedLoad {
	l := startSharedLoad(rc, pickSeed(), keys, 0)
	writers := 6
	for i, r := range rc.regionNames() {
		for w := range writers / len(rc.regionNames()) {
			l.wg.Add(1)
			go l.pacedWrite(r, w, rand.New(rand.NewPCG(uint64(i), uint64(w))), rate/writers)
		}
	}
	return l
}

// benchDown kills every node of r3 for bt.down while r1 and r2 write unique
// keys, starts them again and prints when r3 caught up.
func benchDown(t *testing.T, rc *regionsCluster, bt benchTimes) {
	if _, err := rc.waitDrained(2 * time.Minute); err != nil {
		fmt.Printf("(%v)\n", err)
	}
	l := startUniqueLoad(rc, 2, bt.downRatePerReg/2)
	defer func() {
		for _, r := range rc.regionNames() {
			l.stopRegion(r)
		}
	}()
	time.Sleep(2 * time.Second)
	l.stopRegion("r3")
	for _, n := range rc.region("r3") {
		if err := rc.Kill(n.ID); err != nil {
			t.Fatal(err)
		}
	}
	killed := time.Now()
	time.Sleep(bt.down)
	owed := rc.pendingTo("r1", "r3") + rc.pendingTo("r2", "r3")
	restarted := time.Now()
	for _, n := range rc.region("r3") {
		if err := rc.StartNode(n.ID); err != nil {
			t.Fatal(err)
		}
	}
	all := merged(l.snapshot("r1"), l.snapshot("r2"))
	newest := merged(l.newest("r1", restarted, 2), l.newest("r2", restarted, 2))
	fails := len(l.failsBetween("r1", killed, restarted)) + len(l.failsBetween("r2", killed, restarted))
	if err := rc.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	ready := time.Since(restarted)
	_, _, missing := rc.waitVisible(rc.region("r3"), newest, 10*time.Minute)
	caught := time.Since(restarted)
	for _, r := range rc.regionNames() {
		l.stopRegion(r)
	}
	took, _, missingAll := rc.waitVisible(rc.region("r3"), all, 5*time.Minute)
	fmt.Printf("\nr3 down (kill -9 of its 3 nodes) for %s while r1 and r2 wrote %d writes/s each (LOCAL_QUORUM, unique keys; %d failed meanwhile): owed %d writes at the restart; its nodes were ready %s after the restart; the newest writes of every r1 and r2 coordinator were on every r3 replica %s after the restart",
		bt.down, bt.downRatePerReg, fails, owed, ready.Round(time.Millisecond), caught.Round(time.Millisecond))
	if len(missing) > 0 {
		fmt.Printf(" (NOT ALL: %d missing)", len(missing))
	}
	fmt.Printf("; all %d writes acknowledged before the restart read on every r3 replica after that in %s", len(all), took.Round(time.Millisecond))
	if len(missingAll) > 0 {
		fmt.Printf(" (NOT ALL: %d missing, such as %v)", len(missingAll), missingAll[:min(5, len(missingAll))])
	}
	fmt.Println()
}
