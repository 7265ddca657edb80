package devcluster_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridiankv/meridian/client"
)

// Multi-region process tests: three regions of three meridiand processes,
// region r on 127.0.<base+r>.x, the tests on bases 150, 152, 154 and 156
// (addresses 127.0.151-159, which no other test uses; they run one after
// another, so the overlaps between them do not meet). Writes reach the
// other regions through their coordinators' outboxes; where the build has
// anti-entropy between regions, these tests turn it off
// (noRegionAntiEntropy), so that the outboxes are what they check.

// TestRegionWriteIsReadElsewhereAfterAboutOneDelay writes keys at
// LOCAL_QUORUM in r1, with 50ms of one-way WAN delay, and polls every 5ms
// with LOCAL_ONE reads in r2 and r3 (rotating over their nodes, each a
// replica) until each write is seen: it must be within 2s; one delay plus
// the shipper's tick is what to expect.
func TestRegionWriteIsReadElsewhereAfterAboutOneDelay(t *testing.T) {
	const (
		delay  = 50 * time.Millisecond
		writes = 20
		limit  = 2 * time.Second
	)
	rc := startRegions(t, regionsSetup{base: 150, regions: 3, nodes: 3, delay: delay})
	r1 := rc.region("r1")
	seen := map[string][]time.Duration{}
	var ackTimes []time.Duration
	for i := range writes {
		key, value := fmt.Sprintf("lag-%d", i), []byte(fmt.Sprintf("v%d", i))
		start := time.Now()
		if _, err := rc.client(r1[i%len(r1)], client.LocalQuorum).Put(t.Context(), key, value); err != nil {
			t.Fatalf("LOCAL_QUORUM write of %s in r1: %v", key, err)
		}
		ackAt := time.Now()
		ackTimes = append(ackTimes, ackAt.Sub(start))
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, r := range []string{"r2", "r3"} {
			reader := rc.region(r)[i%rc.nodes]
			wg.Add(1)
			go func() {
				defer wg.Done()
				took, err := pollUntil(rc, reader.HTTP, key, value, ackAt, limit)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Errorf("write %d (%s) in r1, acknowledged, not seen on %s: %v", i, key, reader.ID, err)
					return
				}
				seen[r] = append(seen[r], took)
			}()
		}
		wg.Wait()
		time.Sleep(20 * time.Millisecond)
	}
	slices.Sort(ackTimes)
	t.Logf("r1 LOCAL_QUORUM write: p50 %s, max %s", regionsPercentile(ackTimes, 50), ackTimes[len(ackTimes)-1])
	for _, r := range []string{"r2", "r3"} {
		d := seen[r]
		t.Logf("from the acknowledgement in r1 to a LOCAL_ONE read in %s (5ms polls, WAN delay %s): %v", r, delay, d)
		slices.Sort(d)
		if len(d) > 0 {
			t.Logf("  %s: min %s, p50 %s, max %s over %d writes", r, d[0], regionsPercentile(d, 50), d[len(d)-1], len(d))
		}
	}
}

// pollUntil reads key at LOCAL_ONE from the node at addr every 5ms until
// it holds value, and returns the time since from; it gives up after limit.
func pollUntil(rc *regionsCluster, addr, key string, value []byte, from time.Time, limit time.Duration) (time.Duration, error) {
	c := client.New(addr, client.WithHTTPClient(rc.hc), client.WithDefaultConsistency(client.LocalOne))
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		v, err := c.Get(rc.t.Context(), key)
		if err == nil && bytes.Equal(v.Value, value) {
			return time.Since(from), nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("it holds %q (%s)", v.Value, v.Type)
		}
		if time.Since(from) > limit {
			return 0, fmt.Errorf("after %s: %s", limit, last)
		}
		<-tick.C
	}
}

// TestRegionPartitionConvergesWithNoLostWrite has two writers in each
// region apply register SETs, set adds and counter increments to the same
// 8+8+8 keys at LOCAL_QUORUM for 3s, cuts one region (chosen by the seed)
// off with devcluster.Partition for 5s while every region keeps writing,
// heals, and waits until every replica of every key in every region holds
// the same state (compared through /v1/inspect, replica by replica). Then
// no acknowledged set add is missing, every counter is the sum of its
// acknowledged increments (plus at most those of unknown outcome), and
// every register holds a value some writer wrote.
func TestRegionPartitionConvergesWithNoLostWrite(t *testing.T) {
	needIptables(t)
	seed := pickSeed()
	t.Logf("seed %d (-regions-seed %d picks the same region and operations)", seed, seed)
	rc := startRegions(t, regionsSetup{base: 152, regions: 3, nodes: 3, delay: 20 * time.Millisecond, args: noRegionAntiEntropy()})
	cut := fmt.Sprintf("r%d", 1+rand.New(rand.NewPCG(seed, 0)).IntN(3))
	l := startSharedLoad(rc, seed, 8, 2)
	defer l.finish()
	time.Sleep(3 * time.Second)

	before := l.counts()
	rc.partition(cut)
	cutAt := time.Now()
	time.Sleep(5 * time.Second)
	during := l.counts()
	for _, r := range rc.regionNames() {
		if r != cut {
			t.Logf("before the heal, %s owes %s %d writes, and %s owes it %d", r, cut, rc.pendingTo(r, cut), cut, rc.pendingTo(cut, r))
		}
	}
	healing := time.Now()
	rc.heal()
	healed := time.Now()
	t.Logf("%s was cut off for %s; removing the rules took %s", cut, healing.Sub(cutAt).Round(time.Millisecond), healed.Sub(healing).Round(time.Millisecond))
	l.finish()
	after := l.counts()
	for _, r := range rc.regionNames() {
		b, d, a := before[r], during[r], after[r]
		t.Logf("%s: %d operations acknowledged (%d while %s was cut off), %d certainly not applied, %d of unknown outcome (last error: %q)",
			r, a[opAcked], d[opAcked]-b[opAcked], cut, a[opNotApplied], a[opMaybe], l.lastErr[r])
		if d[opAcked] == b[opAcked] {
			t.Errorf("%s acknowledged no write while %s was cut off: LOCAL_QUORUM must go on in every region", r, cut)
		}
	}

	keys := l.keyNames()
	var states map[string][]replicaState
	var err error
	for {
		states, err = rc.allIdentical(t.Context(), keys)
		if err == nil {
			break
		}
		if time.Since(healed) > 60*time.Second {
			t.Fatalf("no convergence 60s after the heal of %s (seed %d): %v", cut, seed, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("every replica of all %d keys identical in all 3 regions %s after the heal of %s (%s after its rules began to be removed)",
		len(keys), time.Since(healed).Round(time.Millisecond), cut, time.Since(healing).Round(time.Millisecond))
	members, total, conflicted := 0, int64(0), 0
	for _, k := range keys {
		st := states[k][0].st
		members += len(st.Members)
		if st.Count != nil {
			total += *st.Count
		}
		if len(st.Siblings) > 1 {
			conflicted++
		}
	}
	t.Logf("converged state: %d set members, counters summing to %d, %d of %d registers holding concurrent siblings", members, total, conflicted, l.keys)
	for _, p := range l.check(states) {
		if strings.HasPrefix(p, "note: ") {
			t.Log(p)
		} else {
			t.Errorf("%s (seed %d)", p, seed)
		}
	}
}

// TestRegionKilledUnderLoadCatchesUp has two writers per region write
// unique keys at LOCAL_QUORUM, kills -9 every node of r3 and, 5s later,
// starts them again. r1 and r2 must answer every write meanwhile; after the
// restart every write r1 and r2 acknowledged must reach every replica of
// r3, and every write r3 acknowledged before the kill (owed from its
// coordinators' outboxes, which survive the kill) every replica of r1 and
// r2.
func TestRegionKilledUnderLoadCatchesUp(t *testing.T) {
	rc := startRegions(t, regionsSetup{base: 154, regions: 3, nodes: 3, delay: 20 * time.Millisecond, args: noRegionAntiEntropy()})
	l := startUniqueLoad(rc, 2, 40)
	defer func() {
		for _, r := range rc.regionNames() {
			l.stopRegion(r)
		}
	}()
	time.Sleep(3 * time.Second)

	l.stopRegion("r3")
	r3Before := l.snapshot("r3")
	killed := time.Now()
	var wg sync.WaitGroup
	for _, n := range rc.region("r3") {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := rc.Kill(n.ID); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	_, _, unshipped := rc.waitVisible(rc.region("r1"), r3Before, 0)
	t.Logf("killed every node of r3 (kill -9) after %d writes acknowledged there, %d of them not yet on every r1 replica", len(r3Before), len(unshipped))
	time.Sleep(5 * time.Second)

	owed := rc.pendingTo("r1", "r3") + rc.pendingTo("r2", "r3")
	restarted := time.Now()
	for _, n := range rc.region("r3") {
		if err := rc.StartNode(n.ID); err != nil {
			t.Fatal(err)
		}
	}
	// What r3 must catch up on: every write r1 and r2 acknowledged so far.
	// The newest of each coordinator are the last its outbox ships.
	owedToR3 := merged(l.snapshot("r1"), l.snapshot("r2"))
	newest := merged(l.newest("r1", restarted, 2), l.newest("r2", restarted, 2))
	if err := rc.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	ready := time.Now()
	t.Logf("r3 restarted: its members saw each other alive %s after the restart; r1 and r2 owed it %d writes",
		ready.Sub(restarted).Round(time.Millisecond), owed)
	for _, r := range []string{"r1", "r2"} {
		if f := l.failsBetween(r, killed, ready); len(f) > 0 {
			t.Errorf("%s: %d LOCAL_QUORUM writes failed while r3 was down, the first at +%s on %s: %s",
				r, len(f), f[0].at.Sub(killed).Round(time.Millisecond), f[0].node, f[0].err)
		}
	}
	l.start("r3", 2, 1)

	// Poll the newest writes cheaply (every 100ms on every r3 replica),
	// then check every one: reading thousands of keys on two cores takes
	// seconds, and would be most of what it measures.
	if _, _, missing := rc.waitVisible(rc.region("r3"), newest, 60*time.Second); len(missing) > 0 {
		t.Fatalf("r3 never caught up: 60s after its restart the newest writes of r1's and r2's coordinators are missing on its replicas: %v", missing)
	}
	caughtUp := time.Since(restarted)
	took, passes, missing := rc.waitVisible(rc.region("r3"), owedToR3, 60*time.Second)
	if len(missing) > 0 {
		t.Fatalf("r3 holds the newest writes of r1 and r2, but 60s later %d of the %d writes they acknowledged before its restart are missing on its replicas, such as %v",
			len(missing), len(owedToR3), missing[:min(5, len(missing))])
	}
	t.Logf("r3 caught up %s after its restart (%s after its members were ready): the newest writes of each r1 and r2 coordinator on every r3 replica",
		caughtUp.Round(time.Millisecond), (caughtUp - ready.Sub(restarted)).Round(time.Millisecond))
	t.Logf("  then all %d writes r1 and r2 acknowledged until the restart read on every r3 replica in %d pass(es) taking %s (one: they were all there)",
		len(owedToR3), passes, took.Round(time.Millisecond))

	time.Sleep(2 * time.Second)
	for _, r := range rc.regionNames() {
		l.stopRegion(r)
	}
	for _, r := range []string{"r1", "r2"} {
		if f := l.failsBetween(r, ready, time.Now()); len(f) > 0 {
			t.Errorf("%s: %d LOCAL_QUORUM writes failed after r3's restart, the first on %s: %s", r, len(f), f[0].node, f[0].err)
		}
	}
	final := merged(l.snapshot("r1"), l.snapshot("r2"))
	if took, _, missing := rc.waitVisible(rc.region("r3"), final, 60*time.Second); len(missing) > 0 {
		t.Errorf("%d of the %d writes r1 and r2 acknowledged are missing in r3, such as %v", len(missing), len(final), missing[:min(5, len(missing))])
	} else {
		t.Logf("all %d writes of r1 and r2 on every r3 replica %s after the load stopped", len(final), took.Round(time.Millisecond))
	}
	if f := l.failsBetween("r3", ready, time.Now()); len(f) > 0 {
		t.Logf("r3: %d writes failed after its restart, the first on %s: %s", len(f), f[0].node, f[0].err)
	}
	for _, r := range []string{"r1", "r2"} {
		if took, _, missing := rc.waitVisible(rc.region(r), r3Before, 30*time.Second); len(missing) > 0 {
			t.Errorf("%d of the %d writes r3 acknowledged before the kill never reached %s (its outboxes did not ship them after the restart), such as %v",
				len(missing), len(r3Before), r, missing[:min(5, len(missing))])
		} else {
			t.Logf("the %d writes r3 acknowledged before the kill are on every %s replica (%s after checking began)", len(r3Before), r, took.Round(time.Millisecond))
		}
	}
}

// TestCoordinatorKilledRightAfterAckStillShips cuts r2 off, so that
// nothing can ship there, writes 100 keys at LOCAL_QUORUM through r1n1
// (every node of a 3-node region owns every key, so r1n1 coordinates each
// one and is the only node that owes it to the other regions), kills -9
// r1n1 right after the last acknowledgement, heals, starts r1n1 again and
// checks that every replica of r2, and of r3, gets every key. Anti-entropy
// is off (--anti-entropy-interval 0), so only r1n1's durable outbox can
// bring them there.
func TestCoordinatorKilledRightAfterAckStillShips(t *testing.T) {
	needIptables(t)
	const keys = 100
	rc := startRegions(t, regionsSetup{base: 156, regions: 3, nodes: 3, delay: 50 * time.Millisecond})
	// A region cannot form with anti-entropy off (its joining nodes wait for
	// a tree exchange to become active): form it, then restart it so.
	rc.restartWith("--anti-entropy-interval", "0")
	coord := rc.region("r1")[0]
	rc.partition("r2")
	want := map[string]string{}
	w := rc.client(coord, client.LocalQuorum)
	for i := range keys {
		key, value := fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i)
		if _, err := w.Put(t.Context(), key, []byte(value)); err != nil {
			t.Fatalf("LOCAL_QUORUM write of %s through %s: %v", key, coord.ID, err)
		}
		want[key] = value
	}
	ackAt := time.Now()
	if err := rc.Kill(coord.ID); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d keys acknowledged by %s at LOCAL_QUORUM, killed -9 %s later", keys, coord.ID, time.Since(ackAt).Round(time.Microsecond))

	// The writes are in r1 (coordinated by r1n1) and not in r2.
	r1 := rc.region("r1")
	in, err := rc.client(r1[1], client.LocalQuorum).Inspect(t.Context(), "k0")
	if err != nil || len(in.Siblings) != 1 || actorNode(in.Siblings[0].Node) != coord.ID {
		t.Fatalf("k0 in r1 should be one value coordinated by %s: %+v, %v", coord.ID, in, err)
	}
	if _, _, missing := rc.waitVisible(rc.region("r2"), want, 0); len(missing) != keys {
		t.Fatalf("%d of the keys reached r2 through the partition: the test cannot show the outbox ships them", keys-len(missing))
	}
	_, _, missingR3 := rc.waitVisible(rc.region("r3"), want, 0)
	t.Logf("when r1n1 died, r2 held none of the keys and r3 lacked %d on some replica", len(missingR3))

	rc.heal()
	healed := time.Now()
	if err := rc.StartNode(coord.ID); err != nil {
		t.Fatal(err)
	}
	if err := rc.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Logf("healed; %s restarted and ready %s after the heal", coord.ID, time.Since(healed).Round(time.Millisecond))
	for _, r := range []string{"r2", "r3"} {
		_, _, missing := rc.waitVisible(rc.region(r), want, 30*time.Second)
		if len(missing) > 0 {
			t.Errorf("%d of the %d keys %s acknowledged never reached %s within 30s of its restart, such as %v; r1's nodes that answer owe %s %d writes",
				len(missing), keys, coord.ID, r, missing[:min(5, len(missing))], r, rc.pendingTo("r1", r))
			continue
		}
		t.Logf("every %s replica holds all %d keys %s after the heal", r, keys, time.Since(healed).Round(time.Millisecond))
	}
}

// actorNode returns the node id of an actor, "r1/r1n1.989e4eb0.1" (region,
// node, incarnation, epoch): r1n1.
func actorNode(actor string) string {
	if i := strings.LastIndexByte(actor, '/'); i >= 0 {
		actor = actor[i+1:]
	}
	node, _, _ := strings.Cut(actor, ".")
	return node
}
