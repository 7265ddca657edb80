package devcluster_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The figures of `make bench-strong`: strong keys over the Redis protocol,
// LOCAL_SERIAL beside QUORUM in one region of 3 nodes, then SERIAL and
// forwarded LOCAL_SERIAL across 3 regions 50ms apart, and what a region
// cut off does to each side. It prints numbers; it asserts nothing.

var benchStrong = flag.Bool("bench-strong", false, "run TestBenchStrongFigures (make bench-strong): print the strong-key figures")

const benchStrongCommand = "make bench-strong  (go test ./region/devcluster -run '^TestBenchStrongFigures$' -count=1 -v -timeout 0 -args -bench-strong)"

// strongBench is one figure's sizes; SHORT=1 shrinks them.
type strongBench struct {
	oneClient int           // requests of a 1-client run
	many      time.Duration // each 50-client run
	wan       int           // requests of a run across regions
	cut       time.Duration // the partition
}

func strongDurations() strongBench {
	if benchShort() {
		return strongBench{oneClient: 300, many: 3 * time.Second, wan: 40, cut: 5 * time.Second}
	}
	return strongBench{oneClient: 2000, many: 10 * time.Second, wan: 200, cut: 15 * time.Second}
}

// TestBenchStrongFigures prints the strong-key figures (make bench-strong);
// it runs only with -bench-strong.
func TestBenchStrongFigures(t *testing.T) {
	if !*benchStrong {
		t.Skip("prints figures, asserts nothing: run it with make bench-strong (-args -bench-strong)")
	}
	sb := strongDurations()
	printBenchHeader(benchStrongCommand)

	one := startRegions(t, regionsSetup{base: 150, regions: 1, nodes: 3, defaults: true, args: []string{"--strong", "s:=local:r1"}})
	fmt.Printf("\n## 1 region x 3 nodes, 100-byte values; LOCAL_SERIAL on keys s:*, QUORUM on keys e:* (same run)\n")
	idle := one.idleCPU(3 * time.Second)
	fmt.Printf("idle: %s\n", idle)
	value := strings.Repeat("x", 100)
	c1 := redisClients(t, one.Nodes()[:1], "DEFAULT", 4)[0]
	q1 := redisClients(t, one.Nodes()[:1], "QUORUM", 4)[0]
	ctx := t.Context()
	oneClient := func(name string, n int, op func(i int) error) {
		cpu0, t0 := one.cpuTicks(), time.Now()
		var lat []time.Duration
		errs := 0
		for i := range n {
			start := time.Now()
			if err := op(i); err != nil && !errors.Is(err, redis.Nil) {
				errs++
			}
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		fmt.Printf("%s, 1 client, %d requests: p50 %s, p99 %s, %d errors; %s\n", name, n,
			regionsPercentile(lat, 50).Round(10*time.Microsecond), regionsPercentile(lat, 99).Round(10*time.Microsecond), errs,
			one.cpuPer(cpu0, t0, idle, n))
	}
	oneClient("QUORUM SET", sb.oneClient, func(i int) error { return q1.Set(ctx, fmt.Sprintf("e:%d", i%50), value, 0).Err() })
	oneClient("LOCAL_SERIAL SET", sb.oneClient, func(i int) error { return c1.Set(ctx, fmt.Sprintf("s:%d", i%50), value, 0).Err() })
	oneClient("LOCAL_SERIAL GET", sb.oneClient, func(i int) error { return c1.Get(ctx, fmt.Sprintf("s:%d", i%50)).Err() })
	cas := func(c *redis.Client, key string) (bool, error) {
		v, err := c.Get(ctx, key).Result()
		if errors.Is(err, redis.Nil) {
			v, err = "0", c.SetNX(ctx, key, "0", 0).Err()
		}
		if err != nil {
			return false, err
		}
		n, _ := strconv.Atoi(v)
		r, err := c.SetIFEQ(ctx, key, strconv.Itoa(n+1), v, 0).Result()
		if errors.Is(err, redis.Nil) {
			return false, nil
		}
		return r == "OK", err
	}
	oneClient("LOCAL_SERIAL CAS (GET, then SET IFEQ)", sb.oneClient/2, func(i int) error {
		_, err := cas(c1, fmt.Sprintf("s:cas%d", i%50))
		return err
	})

	many := redisClients(t, one.Nodes(), "DEFAULT", 64)
	manyQ := redisClients(t, one.Nodes(), "QUORUM", 64)
	closed := func(name string, clients []*redis.Client, op func(c *redis.Client, w, i int) (bool, error)) {
		cpu0, t0 := one.cpuTicks(), time.Now()
		var mu sync.Mutex
		var lat []time.Duration
		var ok, failed, errs atomic.Int64
		var wg sync.WaitGroup
		end := time.Now().Add(sb.many)
		for w := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; time.Now().Before(end); i++ {
					start := time.Now()
					done, err := op(clients[w%len(clients)], w, i)
					d := time.Since(start)
					switch {
					case err != nil:
						errs.Add(1)
					case done:
						ok.Add(1)
					default:
						failed.Add(1)
					}
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		slices.Sort(lat)
		secs := sb.many.Seconds()
		fmt.Printf("%s, 50 clients for %s: %.0f done/s, %.0f refused/s, %d errors; p50 %s, p99 %s; %s\n", name, sb.many,
			float64(ok.Load())/secs, float64(failed.Load())/secs, errs.Load(),
			regionsPercentile(lat, 50).Round(10*time.Microsecond), regionsPercentile(lat, 99).Round(10*time.Microsecond),
			one.cpuPer(cpu0, t0, idle, len(lat)))
	}
	closed("QUORUM SET, a key per client", manyQ, func(c *redis.Client, w, i int) (bool, error) {
		return true, c.Set(ctx, fmt.Sprintf("e:w%d", w), value, 0).Err()
	})
	closed("LOCAL_SERIAL SET, a key per client", many, func(c *redis.Client, w, i int) (bool, error) {
		return true, c.Set(ctx, fmt.Sprintf("s:w%d", w), value, 0).Err()
	})
	closed("LOCAL_SERIAL CAS, a key per client (spread)", many, func(c *redis.Client, w, i int) (bool, error) {
		return cas(c, fmt.Sprintf("s:casw%d", w))
	})
	closed("LOCAL_SERIAL CAS, one key for all (contended; refused = IFEQ lost the race)", many, func(c *redis.Client, w, i int) (bool, error) {
		return cas(c, "s:hot")
	})
	one.Close()
	one.Cluster = nil

	rc := startRegions(t, regionsSetup{base: 150, regions: 3, nodes: 3, delay: 50 * time.Millisecond, defaults: true,
		args: []string{"--strong", "g:=global,l:=local:r1"}})
	fmt.Printf("\n## 3 regions x 3 nodes, 50ms one way (a round trip between regions: 100ms)\n")
	byRegion := map[string]*redis.Client{}
	for _, r := range rc.regionNames() {
		byRegion[r] = redisClients(t, rc.region(r)[:1], "DEFAULT", 4)[0]
	}
	wan := func(name, region string, op func(c *redis.Client, i int) error) {
		var lat []time.Duration
		errs := 0
		for i := range sb.wan {
			start := time.Now()
			if err := op(byRegion[region], i); err != nil && !errors.Is(err, redis.Nil) {
				errs++
			}
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		fmt.Printf("%s, 1 client in %s, %d requests: p50 %s, p99 %s, %d errors\n", name, region, sb.wan,
			regionsPercentile(lat, 50).Round(100*time.Microsecond), regionsPercentile(lat, 99).Round(100*time.Microsecond), errs)
	}
	wan("SERIAL SET of a global key", "r1", func(c *redis.Client, i int) error { return c.Set(ctx, "g:k", value, 0).Err() })
	wan("SERIAL GET of a global key", "r2", func(c *redis.Client, i int) error { return c.Get(ctx, "g:k").Err() })
	wan("LOCAL_SERIAL SET of a key homed in r1, at home", "r1", func(c *redis.Client, i int) error { return c.Set(ctx, "l:k", value, 0).Err() })
	wan("LOCAL_SERIAL SET of a key homed in r1, from r3", "r3", func(c *redis.Client, i int) error { return c.Set(ctx, "l:k", value, 0).Err() })

	fmt.Printf("\n## region r3 cut off for %s (iptables), clients writing in r1 and r3\n", sb.cut)
	type side struct{ ok, fail atomic.Int64 }
	sides := map[string]*side{}
	cctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var cutAt, healAt atomic.Int64
	firstOK := map[string]*atomic.Int64{}
	for _, r := range []string{"r1", "r3"} {
		for _, key := range []string{"g:p", "l:p"} {
			name := r + " " + key
			sides[name], firstOK[name] = &side{}, &atomic.Int64{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := byRegion[r]
				for cctx.Err() == nil {
					err := c.Set(cctx, key, value, 0).Err()
					now := time.Now().UnixNano()
					if err == nil {
						sides[name].ok.Add(1)
						if h := healAt.Load(); h != 0 {
							firstOK[name].CompareAndSwap(0, now-h)
						}
					} else if cctx.Err() == nil {
						sides[name].fail.Add(1)
						time.Sleep(10 * time.Millisecond)
					}
				}
			}()
		}
	}
	time.Sleep(time.Second)
	rc.partition("r3")
	time.Sleep(200 * time.Millisecond) // what was in flight when the rules went in
	cutAt.Store(time.Now().UnixNano())
	before := map[string][2]int64{}
	for n, s := range sides {
		before[n] = [2]int64{s.ok.Load(), s.fail.Load()}
	}
	time.Sleep(sb.cut)
	during := map[string][2]int64{}
	for n, s := range sides {
		during[n] = [2]int64{s.ok.Load() - before[n][0], s.fail.Load() - before[n][1]}
	}
	rc.heal()
	healAt.Store(time.Now().UnixNano())
	time.Sleep(10 * time.Second)
	cancel()
	wg.Wait()
	for _, n := range slices.Sorted(maps.Keys(sides)) {
		d := during[n]
		rec := "never within 10s"
		if f := firstOK[n].Load(); f > 0 {
			rec = time.Duration(f).Round(time.Millisecond).String()
		}
		fmt.Printf("%s (g: global, l: homed in r1): during the cut %d succeeded, %d failed (%.0f%% errors); first success after the heal: %s\n",
			n, d[0], d[1], 100*float64(d[1])/float64(max(1, d[0]+d[1])), rec)
	}
}
