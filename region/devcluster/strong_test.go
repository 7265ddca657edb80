package devcluster_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridiankv/meridian/client"
)

// TestStrongKeysAgainstARegion drives the strong keys of a 3-node region
// (meridiand --strong) with go-redis v9 and the Go client, through
// different nodes: a lock taken with SET NX PX, refused while held,
// extended with IFEQ, released with DELEX and DELIFEQ, and lapsing; INCR
// and sets; versions over HTTP; and eventual keys refusing conditions.
func TestStrongKeysAgainstARegion(t *testing.T) {
	c := startCluster(t, 116, 3, "--strong", "lock:=local:r1,acct:=local:r1")
	nodes := c.Nodes()
	ctx := t.Context()
	a := redis.NewClient(&redis.Options{Addr: nodes[0].RESP})
	b := redis.NewClient(&redis.Options{Addr: nodes[1].RESP})
	z := redis.NewClient(&redis.Options{Addr: nodes[2].RESP})
	t.Cleanup(func() { a.Close(); b.Close(); z.Close() })
	if err := a.Get(ctx, "lock:probe").Err(); err != nil && !errors.Is(err, redis.Nil) {
		// A node that gives an operation of level 0 its default level
		// before sync sees it makes every strong key refuse it.
		t.Fatalf("GET of a strong key: %v\nregion.Node.Do must leave the level of an op on a strong key at 0 (sync then uses the key's serial level)", err)
	}

	steps := []redisStep{
		{"SET NX takes the lock", func() (any, error) { return a.SetNX(ctx, "lock:job", "w1", 10*time.Second).Result() }, true},
		{"SET NX elsewhere while held", func() (any, error) { return b.SetNX(ctx, "lock:job", "w2", 10*time.Second).Result() }, false},
		{"GET elsewhere", func() (any, error) { return z.Get(ctx, "lock:job").Result() }, "w1"},
		{"SET IFEQ of another holder", func() (any, error) { return b.SetIFEQ(ctx, "lock:job", "w2", "w2", 0).Result() }, redis.Nil},
		{"SET IFEQ extends it", func() (any, error) { return z.SetIFEQ(ctx, "lock:job", "w1", "w1", 10*time.Second).Result() }, "OK"},
		{"DELEX IFEQ of another holder", func() (any, error) {
			return b.DelExArgs(ctx, "lock:job", redis.DelExArgs{Mode: "IFEQ", MatchValue: "w2"}).Result()
		}, int64(0)},
		{"DELEX IFEQ of the holder", func() (any, error) {
			return a.DelExArgs(ctx, "lock:job", redis.DelExArgs{Mode: "IFEQ", MatchValue: "w1"}).Result()
		}, int64(1)},
		{"GET after the release", func() (any, error) { return z.Get(ctx, "lock:job").Result() }, redis.Nil},
		{"SET NX again", func() (any, error) { return b.Do(ctx, "SET", "lock:job", "w2", "NX", "EX", "10").Result() }, "OK"},
		{"DELIFEQ of another holder", func() (any, error) { return a.Do(ctx, "DELIFEQ", "lock:job", "w1").Result() }, int64(0)},
		{"DELIFEQ of the holder", func() (any, error) { return z.Do(ctx, "DELIFEQ", "lock:job", "w2").Result() }, int64(1)},
		{"SET XX of nothing", func() (any, error) { return a.SetXX(ctx, "lock:job", "w3", 0).Result() }, false},
		{"INCR", func() (any, error) { return a.Incr(ctx, "acct:n").Result() }, int64(1)},
		{"INCRBY elsewhere", func() (any, error) { return b.IncrBy(ctx, "acct:n", 10).Result() }, int64(11)},
		{"DECRBY", func() (any, error) { return z.DecrBy(ctx, "acct:n", 4).Result() }, int64(7)},
		{"GET a counter", func() (any, error) { return a.Get(ctx, "acct:n").Result() }, "7"},
		{"TYPE", func() (any, error) { return b.Type(ctx, "acct:n").Result() }, "string"},
		{"SADD", func() (any, error) { return a.SAdd(ctx, "acct:s", "x", "y", "x").Result() }, int64(2)},
		{"SREM", func() (any, error) { return b.SRem(ctx, "acct:s", "y", "q").Result() }, int64(1)},
		{"SMEMBERS", func() (any, error) { return z.SMembers(ctx, "acct:s").Result() }, []string{"x"}},
		{"GET a set", func() (any, error) { return z.Get(ctx, "acct:s").Result() }, errors.New("WRONGTYPE")},
		{"EXISTS", func() (any, error) { return a.Exists(ctx, "acct:n", "acct:s", "acct:none").Result() }, int64(2)},
		{"DEL", func() (any, error) { return a.Del(ctx, "acct:n", "acct:none").Result() }, int64(1)},
		{"NX on an eventual key", func() (any, error) { return a.SetNX(ctx, "plain", "v", 0).Result() },
			errors.New(`ERR rejected: key "plain" is eventual: conditions (NX) apply to strong keys only (declare its prefix strong with --strong)`)},
		{"SERIAL on a local strong key", func() (any, error) {
			return z.Pipelined(ctx, func(p redis.Pipeliner) error {
				p.Do(ctx, "CONSISTENCY", "SERIAL")
				p.Get(ctx, "lock:job")
				p.Do(ctx, "CONSISTENCY", "DEFAULT")
				return nil
			})
		}, errors.New(`ERR rejected: key "lock:job" is strong (lock:=local:r1): its operations use LOCAL_SERIAL, not SERIAL`)},
	}
	runSteps(t, steps)

	// A lock that lapses: taken for 300 ms, it is free again after, and
	// not before (the nodes share this machine's clock).
	start := time.Now()
	if ok, err := a.SetNX(ctx, "lock:short", "w1", 300*time.Millisecond).Result(); !ok || err != nil {
		t.Fatalf("SET NX PX 300: %v, %v", ok, err)
	}
	if ok, err := b.SetNX(ctx, "lock:short", "w2", time.Second).Result(); ok || err != nil {
		t.Errorf("SET NX of a held lock: %v, %v; want false", ok, err)
	}
	for {
		_, err := z.Get(ctx, "lock:short").Result()
		if errors.Is(err, redis.Nil) {
			break
		}
		if err != nil || time.Since(start) > 5*time.Second {
			t.Fatalf("GET of a lock taken for 300 ms, %s ago: %v; want a null reply once it lapsed", time.Since(start), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if lapsed := time.Since(start); lapsed < 300*time.Millisecond {
		t.Errorf("the lock lapsed after %s, before its 300 ms", lapsed)
	}
	if ok, err := b.SetNX(ctx, "lock:short", "w2", 30*time.Second).Result(); !ok || err != nil {
		t.Errorf("SET NX of a lapsed lock: %v, %v; want true", ok, err)
	}

	// Over HTTP: the version, a write conditional on it, and a retried
	// increment applied once.
	hc := client.New(nodes[2].HTTP)
	v, err := hc.Get(ctx, "lock:short")
	if err != nil || !v.Strong || string(v.Value) != "w2" || v.Version == 0 || v.Expires.IsZero() {
		t.Fatalf("Get over HTTP: %+v, %v; want w2, strong, with a version and an expiry", v, err)
	}
	if _, err := hc.Put(ctx, "lock:short", []byte("w3"), client.IfVersion(v.Version+1)); !errors.Is(err, client.ErrConditionFailed) {
		t.Errorf("Put at a wrong version: %v, want ErrConditionFailed", err)
	}
	if w, err := hc.Put(ctx, "lock:short", []byte("w3"), client.IfVersion(v.Version)); err != nil || w.Version != v.Version+1 {
		t.Errorf("Put at the version read: %+v, %v", w, err)
	}
	n, err := hc.Incr(ctx, "acct:m", 5, client.WithRequestID("e2e-1"))
	if err != nil || n != 5 {
		t.Fatalf("Incr: %d, %v", n, err)
	}
	if n, err := hc.Incr(ctx, "acct:m", 5, client.WithRequestID("e2e-1")); err != nil || n != 5 {
		t.Errorf("Incr retried with its request id: %d, %v; want 5, not applied again", n, err)
	}
	if v, err := client.New(nodes[0].HTTP).Get(ctx, "acct:m"); err != nil || v.Count != 5 || v.Version != 1 {
		t.Errorf("the counter after the retry: %+v, %v; want 5 at version 1", v, err)
	}
}

// TestRemovalWithStrongKeys kills a node of a 4-node region that declares
// strong keys and removes it: it is removing until the steward has settled
// the strong keys it was an acceptor of, then removed, and every strong
// key keeps its value and takes writes after it.
func TestRemovalWithStrongKeys(t *testing.T) {
	c := startCluster(t, 118, 4, "--strong", "lock:=local:r1")
	nodes := c.Nodes()
	ctx := t.Context()
	cl := client.New(nodes[0].HTTP)
	const keys = 40
	for i := range keys {
		if _, err := cl.Put(ctx, fmt.Sprintf("lock:%d", i), []byte(fmt.Sprintf("v%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	dead := nodes[3]
	if err := c.Kill(dead.ID); err != nil {
		t.Fatal(err)
	}
	for !down(ctx, nodes[0].HTTP, dead.ID) {
		time.Sleep(50 * time.Millisecond)
	}
	start := time.Now()
	if err := cl.Remove(ctx, dead.ID); err != nil {
		t.Fatalf("remove: %v", err)
	}
	var states []string
	for {
		cluster, err := cl.Cluster(ctx)
		if err != nil {
			t.Fatal(err)
		}
		state := "gone"
		for _, m := range cluster.Members {
			if m.ID == dead.ID {
				state = m.State
			}
		}
		if len(states) == 0 || states[len(states)-1] != state {
			states = append(states, state)
		}
		if state == "removed" || state == "gone" {
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("%s still %s 30s after its removal (states seen: %v)", dead.ID, state, states)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%s removed in %s, through %v", dead.ID, time.Since(start).Round(time.Millisecond), states)
	for i := range keys {
		key := fmt.Sprintf("lock:%d", i)
		v, err := client.New(nodes[1+i%2].HTTP).Get(ctx, key)
		if err != nil || string(v.Value) != fmt.Sprintf("v%d", i) {
			t.Fatalf("%s after the removal: %v %v, want v%d", key, v, err, i)
		}
		if _, err := cl.Put(ctx, key, []byte("after")); err != nil {
			t.Fatalf("%s written after the removal: %v", key, err)
		}
	}
}
