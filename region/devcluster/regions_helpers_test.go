package devcluster_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridiankv/meridian/client"
	"github.com/meridiankv/meridian/region/devcluster"
)

// Helpers of the multi-region process tests (regions_process_test.go) and
// figures (regions_bench_test.go): a cluster of several regions, clients
// per node, a heal that removes only this cluster's partition rules, the
// nodes' metrics, and how a write ended.

// regionsCluster is a running cluster of several regions and what the
// tests need around it.
type regionsCluster struct {
	*devcluster.Cluster
	t         *testing.T
	setup     regionsSetup
	dir       string
	regions   int
	nodes     int // per region
	perRegion int // copies of a key in each region: min(--replicas, nodes)
	hc        *http.Client
	cut       bool // a partition rule may be in place
}

// regionsSetup describes a cluster to start.
type regionsSetup struct {
	base, regions, nodes int
	delay, jitter        time.Duration
	replicas             int      // --replicas; 0 leaves the default (3)
	args                 []string // more meridiand flags, after the fast ones
	defaults             bool     // leave the fast flags out: meridiand's defaults
}

// startRegions starts the cluster, waits until every node sees every other
// region's link up, and stops it (healing first) when the test ends. On
// failure it logs the tail of every node's log and keeps the logs in a
// directory it names.
func startRegions(t *testing.T, s regionsSetup) *regionsCluster {
	t.Helper()
	rc := &regionsCluster{t: t, setup: s, dir: t.TempDir(), regions: s.regions, nodes: s.nodes,
		perRegion: min(regionsOr(s.replicas, 3), s.nodes),
		hc:        &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 256}}}
	t.Cleanup(func() {
		nodes, _ := devcluster.LoadManifest(rc.dir)
		if rc.cut {
			if n, err := healRegions(nodes); err != nil {
				t.Errorf("cleanup: removing the partition rules (%d removed): %v", n, err)
			}
		}
		if rc.Cluster != nil {
			rc.Close()
		}
		rc.hc.CloseIdleConnections()
		if t.Failed() {
			rc.keepLogs(nodes)
		}
	})
	rc.start(s.args)
	return rc
}

// start starts the cluster's nodes with the fast flags and args, and
// waits until they are ready and linked.
func (rc *regionsCluster) start(args []string) {
	rc.t.Helper()
	s := rc.setup
	var all []string
	if !s.defaults {
		all = slices.Clone(fast)
	}
	if s.replicas > 0 {
		all = append(all, "--replicas", fmt.Sprint(s.replicas))
	}
	all = append(all, args...)
	started := time.Now()
	c, err := devcluster.Start(rc.t.Context(), devcluster.Config{Dir: rc.dir, Binary: meridiand, Nodes: s.nodes,
		Regions: s.regions, Base: s.base, WANDelay: s.delay, WANJitter: s.jitter, Args: all})
	if err != nil {
		rc.t.Fatal(err)
	}
	rc.Cluster = c
	if err := rc.waitLinked(60 * time.Second); err != nil {
		rc.t.Fatal(err)
	}
	rc.t.Logf("%d regions x %d nodes (base %d, WAN delay %s, flags %s) up and linked in %s",
		s.regions, s.nodes, s.base, s.delay, strings.Join(all, " "), time.Since(started).Round(time.Millisecond))
}

// restartWith stops every node (SIGINT: a clean shutdown) and starts the
// cluster again on the same data with args instead of the setup's: for
// flags a region cannot be formed with, such as --anti-entropy-interval 0
// (a joining node becomes active only once anti-entropy has compared its
// trees with every member's).
func (rc *regionsCluster) restartWith(args ...string) {
	rc.t.Helper()
	rc.Close()
	rc.Cluster = nil
	rc.start(args)
}

var (
	regionAEOnce sync.Once
	regionAEFlag bool
)

// noRegionAntiEntropy returns the flags that turn anti-entropy between
// regions off, when this meridiand has it: these tests check what the
// coordinators' outboxes deliver.
func noRegionAntiEntropy() []string {
	regionAEOnce.Do(func() {
		out, _ := exec.Command(meridiand, "-h").CombinedOutput()
		regionAEFlag = strings.Contains(string(out), "-region-anti-entropy-interval")
	})
	if regionAEFlag {
		return []string{"--region-anti-entropy-interval", "0"}
	}
	return nil
}

func regionsOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// keepLogs logs the tail of every node's log and copies the logs out of
// the test's directory, which is removed, into one that stays.
func (rc *regionsCluster) keepLogs(nodes []devcluster.Node) {
	keep, err := os.MkdirTemp("", "meridian-"+strings.ReplaceAll(rc.t.Name(), "/", "-")+"-")
	for _, n := range nodes {
		b, rerr := os.ReadFile(n.LogFile)
		if rerr != nil {
			continue
		}
		rc.t.Logf("log of %s (last 25 lines):\n%s", n.ID, tail(b, 25))
		if err == nil {
			_ = os.WriteFile(filepath.Join(keep, n.ID+".log"), b, 0o644)
		}
	}
	if err == nil {
		if b, err := os.ReadFile(filepath.Join(rc.dir, "cluster.json")); err == nil {
			_ = os.WriteFile(filepath.Join(keep, "cluster.json"), b, 0o644)
		}
		rc.t.Logf("the nodes' logs are kept in %s", keep)
	}
}

// region returns the nodes of region r ("r1").
func (rc *regionsCluster) region(r string) []devcluster.Node {
	var out []devcluster.Node
	for _, n := range rc.Nodes() {
		if n.Region == r {
			out = append(out, n)
		}
	}
	return out
}

// regionNames returns r1 .. rR.
func (rc *regionsCluster) regionNames() []string {
	var out []string
	for r := 1; r <= rc.regions; r++ {
		out = append(out, fmt.Sprintf("r%d", r))
	}
	return out
}

// client returns a client of node n at level l.
func (rc *regionsCluster) client(n devcluster.Node, l client.Level) *client.Client {
	return client.New(n.HTTP, client.WithHTTPClient(rc.hc), client.WithDefaultConsistency(l))
}

// partition cuts region r off from the others with devcluster.Partition;
// the cleanup removes the rules even when the test fails. It skips the
// test when iptables cannot be used here.
func (rc *regionsCluster) partition(r string) {
	rc.t.Helper()
	needIptables(rc.t)
	rc.cut = true
	if _, err := devcluster.Partition(rc.Nodes(), r); err != nil {
		rc.t.Fatal(err)
	}
}

// heal removes this cluster's partition rules.
func (rc *regionsCluster) heal() {
	rc.t.Helper()
	if _, err := healRegions(rc.Nodes()); err != nil {
		rc.t.Fatal(err)
	}
	rc.cut = false
}

// healRegions removes the rules of the INPUT chain that carry
// devcluster.PartitionComment and name one of nodes' addresses, and
// returns how many it removed. Unlike devcluster.Heal it leaves alone the
// rules of clusters other tests run at the same time.
func healRegions(nodes []devcluster.Node) (int, error) {
	out, err := exec.Command("iptables", "-w", "-S", "INPUT").Output()
	if err != nil {
		return 0, fmt.Errorf("iptables -S INPUT: %w", err)
	}
	mine := map[string]bool{}
	for _, n := range nodes {
		mine[n.IP+"/32"] = true
	}
	removed := 0
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "-A" || !strings.Contains(line, "--comment "+devcluster.PartitionComment+" ") {
			continue
		}
		ours := false
		for i := 1; i+1 < len(f); i++ {
			if (f[i] == "-s" || f[i] == "-d") && mine[f[i+1]] {
				ours = true
			}
		}
		if !ours {
			continue
		}
		if b, err := exec.Command("iptables", append([]string{"-w", "-D"}, f[1:]...)...).CombinedOutput(); err != nil {
			return removed, fmt.Errorf("iptables -D %s: %w: %s", strings.Join(f[1:], " "), err, b)
		}
		removed++
	}
	return removed, nil
}

// waitLinked waits until every running node sees every other region's
// link up (meridian_region_link_up 1 for each), so that writes from now on
// are owed to every region.
func (rc *regionsCluster) waitLinked(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		why := rc.linked()
		if why == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the regions did not find each other in %s: %s", limit, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (rc *regionsCluster) linked() string {
	for _, n := range rc.Nodes() {
		m, err := rc.metrics(n)
		if err != nil {
			return fmt.Sprintf("%s: %v", n.ID, err)
		}
		for _, r := range rc.regionNames() {
			if r == n.Region {
				continue
			}
			if v := m[fmt.Sprintf(`meridian_region_link_up{from=%q,to=%q}`, n.Region, r)]; v != "1" {
				return fmt.Sprintf("%s sees the link to %s as %q", n.ID, r, v)
			}
		}
	}
	return ""
}

// metrics returns node n's Prometheus metrics, by series.
func (rc *regionsCluster) metrics(n devcluster.Node) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(rc.t.Context(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.HTTP+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := rc.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			out[line[:i]] = line[i+1:]
		}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return out, sc.Err()
}

// waitDrained waits until no node owes another region a write and no
// node holds a hint, and returns how long that took.
func (rc *regionsCluster) waitDrained(limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		var owed int64
		for _, a := range rc.regionNames() {
			for _, b := range rc.regionNames() {
				if a != b {
					owed += rc.pendingTo(a, b)
				}
			}
		}
		hints := rc.hintsHeld()
		if owed == 0 && hints == 0 {
			return time.Since(start), nil
		}
		if time.Since(start) > limit {
			return time.Since(start), fmt.Errorf("after %s the nodes still owe other regions %d writes and hold %d hints", limit, owed, hints)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hintsHeld sums the hints the nodes that answer hold
// (meridian_hints_pending).
func (rc *regionsCluster) hintsHeld() int64 {
	var sum int64
	for _, n := range rc.Nodes() {
		m, err := rc.metrics(n)
		if err != nil {
			continue
		}
		for k, v := range m {
			if strings.HasPrefix(k, "meridian_hints_pending{") {
				var x int64
				fmt.Sscan(v, &x)
				sum += x
			}
		}
	}
	return sum
}

// pendingTo sums, over the nodes of region from that answer, the writes
// they owe region to (meridian_region_pending_deltas).
func (rc *regionsCluster) pendingTo(from, to string) int64 {
	var sum int64
	for _, n := range rc.region(from) {
		m, err := rc.metrics(n)
		if err != nil {
			continue
		}
		var v int64
		fmt.Sscan(m[fmt.Sprintf(`meridian_region_pending_deltas{from=%q,to=%q}`, from, to)], &v)
		sum += v
	}
	return sum
}

// outcome classifies a write's error: acknowledged, certainly not
// applied, or unknown (it may have been applied and will then spread).
type regionsOutcome int

const (
	opAcked regionsOutcome = iota
	opNotApplied
	opMaybe
)

func outcomeOf(err error) regionsOutcome {
	var ce *client.Error
	switch {
	case err == nil:
		return opAcked
	case errors.As(err, &ce) && ce.Applied == "no":
		return opNotApplied
	}
	return opMaybe
}

// percentile returns the p-th percentile (0 to 100) of sorted durations.
func regionsPercentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}
