package devcluster_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridiankv/meridian/simulations/linear"
	"github.com/meridiankv/meridian/wire"
)

// TestStrongLockAndBalanceUnderFaults runs two workloads on the strong keys
// of a 3-node region while one node is cut off with iptables and healed,
// and another is killed with -9 and restarted:
//
//   - a lock (SET NX PX, DELEX IFEQ): no two clients ever hold it at once,
//     each counting its lease from before it asked;
//   - an account balance changed only by read, compute, SET IFEQ loops:
//     no read ever sees it below zero, and at the end it equals its start
//     plus every acknowledged change, plus some of the changes whose
//     outcome was unknown; its history (every GET and SET IFEQ, with the
//     times they were asked and answered) is linearizable (porcupine).
func TestStrongLockAndBalanceUnderFaults(t *testing.T) {
	needIptables(t)
	c := startCluster(t, 117, 3, "--strong", "lock:=local:r1,acct:=local:r1", "--request-timeout", "500ms")
	nodes := c.Nodes()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	clients := make([]*redis.Client, len(nodes))
	for i, n := range nodes {
		clients[i] = redis.NewClient(&redis.Options{Addr: n.RESP, MaxRetries: -1, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second})
	}
	t.Cleanup(func() {
		for _, cl := range clients {
			cl.Close()
		}
	})
	const start, lease = 1000, 1500 * time.Millisecond
	epoch := time.Now()
	since := func() int64 { return int64(time.Since(epoch)) }
	var history []linear.Op
	for try := 0; ; try++ {
		call := since()
		if err := clients[0].Set(ctx, "acct:b", strconv.Itoa(start), 0).Err(); err == nil {
			history = append(history, linear.Op{Client: 99, Call: call, Return: since(),
				Op:    wire.Op{Kind: wire.OpPut, Key: []byte("acct:b"), Value: []byte(strconv.Itoa(start))},
				Value: wire.Strong{Kind: wire.StrongString, Bytes: []byte(strconv.Itoa(start))}})
			break
		} else if try > 50 {
			t.Fatalf("setting the balance: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var mu sync.Mutex
	var holds [][2]int64 // [acknowledged, lease end] of every lock held
	var acked, unknown []int64
	negative := ""
	var wg sync.WaitGroup
	for w := range 5 {
		wg.Add(2)
		go func() { // the lock
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for ctx.Err() == nil {
				cl := clients[rng.IntN(len(clients))]
				token := fmt.Sprintf("w%d-%d", w, rng.Uint64())
				asked := since()
				ok, err := cl.SetNX(ctx, "lock:l", token, lease).Result()
				if err != nil || !ok {
					time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
					continue
				}
				got := since()
				time.Sleep(time.Duration(10+rng.IntN(40)) * time.Millisecond)
				end := min(since(), asked+int64(lease))
				mu.Lock()
				holds = append(holds, [2]int64{got, end})
				mu.Unlock()
				cl.DelExArgs(ctx, "lock:l", redis.DelExArgs{Mode: "IFEQ", MatchValue: token})
			}
		}()
		go func() { // the balance
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			for ctx.Err() == nil {
				cl := clients[rng.IntN(len(clients))]
				call := since()
				v, err := cl.Get(ctx, "acct:b").Result()
				ret := since()
				if err != nil {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				n, _ := strconv.ParseInt(v, 10, 64)
				mu.Lock()
				history = append(history, linear.Op{Client: w, Call: call, Return: ret,
					Op: wire.Op{Kind: wire.OpGet, Key: []byte("acct:b")}, Value: wire.Strong{Kind: wire.StrongString, Bytes: []byte(v)}})
				if n < 0 && negative == "" {
					negative = v
				}
				mu.Unlock()
				delta := int64(rng.IntN(100) - 50)
				if n+delta < 0 {
					delta = -delta
				}
				next := strconv.FormatInt(n+delta, 10)
				call = since()
				res, err := cl.SetIFEQ(ctx, "acct:b", next, v, 0).Result()
				op := linear.Op{Client: w, Call: call, Return: since(),
					Op: wire.Op{Kind: wire.OpPut, Key: []byte("acct:b"), Value: []byte(next), Cond: wire.CondIfEq, Expect: []byte(v)}}
				switch {
				case err == nil && res == "OK":
					op.Value = wire.Strong{Kind: wire.StrongString, Bytes: []byte(next)}
				case errors.Is(err, redis.Nil):
					op.Failed = true
				case err != nil && definite(err):
					continue
				default:
					op.Unknown = true
				}
				mu.Lock()
				history = append(history, op)
				switch {
				case op.Unknown:
					unknown = append(unknown, delta)
				case !op.Failed:
					acked = append(acked, delta)
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(2 * time.Second)
	heal := isolate(t, nodes[2].IP)
	time.Sleep(3 * time.Second)
	heal()
	time.Sleep(time.Second)
	if err := c.Kill(nodes[0].ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if err := c.StartNode(nodes[0].ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	cancel()
	wg.Wait()

	final := ""
	for try := 0; ; try++ {
		v, err := clients[1].Get(context.Background(), "acct:b").Result()
		if err == nil {
			final = v
			break
		}
		if try > 50 {
			t.Fatalf("reading the final balance: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	slices.SortFunc(holds, func(a, b [2]int64) int { return int(a[0] - b[0]) })
	for i := 1; i < len(holds); i++ {
		if holds[i][0] < holds[i-1][1] {
			t.Errorf("two holders at once: one held the lock from %s to %s, another from %s",
				time.Duration(holds[i-1][0]), time.Duration(holds[i-1][1]), time.Duration(holds[i][0]))
		}
	}
	if negative != "" {
		t.Errorf("a read saw the balance at %s", negative)
	}
	f, _ := strconv.ParseInt(final, 10, 64)
	sum := int64(start)
	for _, d := range acked {
		sum += d
	}
	if !subsetSum(unknown, f-sum) {
		t.Errorf("final balance %d: start %d plus %d acknowledged changes gives %d, and no subset of the %d changes of unknown outcome %v makes up the difference",
			f, start, len(acked), sum, len(unknown), unknown)
	}
	res := linear.Check(history, 30*time.Second)
	t.Logf("lock held %d times; balance: %d reads and writes (%d acknowledged changes, %d unknown), final %d; history linearizable: %v",
		len(holds), len(history), len(acked), len(unknown), f, res.Ok)
	if !res.Ok {
		t.Errorf("the balance's history is not linearizable (undecided: %v); the shortest prefix that is not ends:\n%s", res.Unknown, failingPrefix(history))
	}
	if len(holds) < 10 || len(acked) < 10 {
		t.Errorf("too little got through to judge: %d holds, %d acknowledged changes", len(holds), len(acked))
	}
}

// definite reports whether a Redis error says nothing was applied.
func definite(err error) bool {
	s := err.Error()
	return strings.Contains(s, "nothing was written") || strings.Contains(s, "nothing was read") ||
		strings.Contains(s, "nothing applied") || strings.Contains(s, "rejected")
}

// subsetSum reports whether some subset of ds sums to want.
func subsetSum(ds []int64, want int64) bool {
	sums := map[int64]bool{0: true}
	for _, d := range ds {
		next := maps.Clone(sums)
		for s := range sums {
			next[s+d] = true
		}
		sums = next
	}
	return sums[want]
}

// failingPrefix returns, in words, the last operations of the shortest
// prefix of history (by call time) that is not linearizable.
func failingPrefix(history []linear.Op) string {
	slices.SortFunc(history, func(a, b linear.Op) int { return int(a.Call - b.Call) })
	lo, hi := 1, len(history)
	for lo < hi {
		mid := (lo + hi) / 2
		if linear.Check(history[:mid], 10*time.Second).Ok {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	var b strings.Builder
	for _, o := range history[max(0, lo-25):lo] {
		ret := "..."
		if !o.Unknown {
			ret = strconv.FormatInt(o.Return/1e3, 10)
		}
		fmt.Fprintf(&b, "  [%dus, %sus] %s\n", o.Call/1e3, ret, linear.Describe(&o))
	}
	return b.String()
}
