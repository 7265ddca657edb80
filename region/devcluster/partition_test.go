package devcluster_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/meridiankv/meridian/client"
)

// ruleComment marks the iptables rules these tests add, so that a rule
// left by a crashed run is recognisable (iptables -S INPUT | grep it).
const ruleComment = "meridian-devcluster-test"

// isolate cuts the node at ip off from every other address with DROP rules
// in the INPUT chain (packets from it and to it), which behave like a real
// partition: the peers' packets vanish, nothing is refused. The rules are
// removed by the returned heal, and by the test's cleanup even when it
// fails. It skips the test when iptables cannot be used here.
func isolate(t *testing.T, ip string) (heal func()) {
	t.Helper()
	needIptables(t)
	rules := [][]string{
		{"INPUT", "-s", ip, "-j", "DROP", "-m", "comment", "--comment", ruleComment},
		{"INPUT", "-d", ip, "-j", "DROP", "-m", "comment", "--comment", ruleComment},
	}
	var added [][]string
	heal = func() {
		for _, r := range added {
			if out, err := exec.Command("iptables", append([]string{"-w", "-D"}, r...)...).CombinedOutput(); err != nil {
				t.Errorf("removing iptables rule %v: %v: %s", r, err, out)
			}
		}
		added = nil
	}
	t.Cleanup(heal)
	for _, r := range rules {
		if out, err := exec.Command("iptables", append([]string{"-w", "-I"}, r...)...).CombinedOutput(); err != nil {
			t.Fatalf("adding iptables rule %v: %v: %s", r, err, out)
		}
		added = append(added, r)
	}
	return heal
}

// needIptables skips the test when iptables cannot be used here: not root,
// or no iptables (apt-get install iptables).
func needIptables(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("partition tests need root for iptables")
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("partition tests need iptables: apt-get install iptables")
	}
	if out, err := exec.Command("iptables", "-w", "-n", "-L", "INPUT").CombinedOutput(); err != nil {
		t.Skipf("iptables does not work here: %v: %s", err, out)
	}
}

// TestPartitionedNodeConvergesAfterHeal cuts one node of three off with
// iptables while clients write at QUORUM through the other two: writes go
// on (the majority side has a quorum, the cut-off owner gets hints), and
// after the heal every replica of every acknowledged key agrees.
func TestPartitionedNodeConvergesAfterHeal(t *testing.T) {
	needIptables(t)
	c := startCluster(t, 130, 3)
	nodes := c.Nodes()
	victim, majority := nodes[2], []string{nodes[0].HTTP, nodes[1].HTTP}
	ip, _, err := net.SplitHostPort(strings.TrimPrefix(victim.HTTP, "http://"))
	if err != nil {
		t.Fatalf("address of %s: %v", victim.ID, err)
	}
	l := startLoad(majority, 8)
	time.Sleep(2 * time.Second)

	l.maxGap.Store(0)
	cut := time.Now()
	heal := isolate(t, ip)
	for !down(t.Context(), majority[0], victim.ID) {
		if time.Since(cut) > 30*time.Second {
			t.Fatal("the majority never noticed the partition")
		}
		time.Sleep(20 * time.Millisecond)
	}
	detected := time.Since(cut)
	time.Sleep(4 * time.Second)
	held := hintsFor(t.Context(), nodes[:2], victim.ID)
	heal()
	healed := time.Now()
	acked := l.finish()
	t.Logf("partition of %s: marked down after %s; longest time without an acknowledged write %s; %d writes acknowledged, %d failed or timed out; %d hints held for it",
		victim.ID, detected.Round(time.Millisecond), time.Duration(l.maxGap.Load()).Round(time.Millisecond), len(acked), l.fails.Load(), held)
	if held <= 0 {
		t.Errorf("no hints were kept for the cut-off node (%d)", held)
	}
	for hintsFor(t.Context(), nodes, victim.ID) != 0 {
		if time.Since(healed) > time.Minute {
			t.Fatal("hints never drained after the heal")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("hints drained %s after the heal", time.Since(healed).Round(time.Millisecond))
	waitConverged(t, majority[0], acked, 60*time.Second)
	t.Logf("every replica of all %d acknowledged keys agreed %s after the heal", len(acked), time.Since(healed).Round(time.Millisecond))
}

// TestPartitionLongerThanDeadTimeoutKeepsEveryMember cuts one node of three
// off for longer than --dead-timeout. The majority side removes it; the
// cut-off node, alone, must remove no one. After the heal the removed node
// sees itself removed, says so, and enters the region again as joining: the
// region ends with its three members active and every acknowledged key on
// three agreeing replicas. Without the majority rule, each side removed the
// other and after the heal no member was left in the ring.
func TestPartitionLongerThanDeadTimeoutKeepsEveryMember(t *testing.T) {
	needIptables(t)
	const deadTimeout = 3 * time.Second
	c := startCluster(t, 131, 3, "--dead-timeout", deadTimeout.String())
	nodes := c.Nodes()
	victim, majority := nodes[2], nodes[0]
	cl := client.New(majority.HTTP)
	acked := putAll(t, cl, 200)
	heal := isolate(t, victim.IP)
	cut := time.Now()
	for state(t.Context(), majority.HTTP, victim.ID) != "removed" {
		if time.Since(cut) > time.Minute {
			t.Fatalf("the majority never removed %s after the dead timeout", victim.ID)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the majority removed %s %s after the cut", victim.ID, time.Since(cut).Round(time.Millisecond))
	// Give the cut-off node as long again: it holds the others dead for
	// longer than the dead timeout too.
	time.Sleep(time.Since(cut))
	// Writes go on through the majority while the node is out.
	for i := 200; i < 300; i++ {
		key, value := fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i)
		if _, err := cl.Put(t.Context(), key, []byte(value), client.WithConsistency(client.Quorum)); err != nil {
			t.Fatal(err)
		}
		acked[key] = value
	}
	heal()
	healed := time.Now()
	if err := c.WaitReady(t.Context()); err != nil {
		for _, n := range nodes {
			if cl, err := client.New(n.HTTP).Cluster(t.Context()); err == nil {
				t.Logf("%s sees %+v", n.ID, cl.Members)
			}
		}
		t.Fatalf("after the heal: %v", err)
	}
	t.Logf("every node saw the three members active and alive %s after the heal", time.Since(healed).Round(time.Millisecond))
	logged, _ := os.ReadFile(victim.LogFile)
	if !regexp.MustCompile(`level=ERROR msg="this node was removed from the region while alive`).Match(logged) {
		t.Errorf("the removed node did not log that it was removed while alive")
	}
	took := waitConverged(t, majority.HTTP, acked, 60*time.Second)
	t.Logf("every acknowledged key had 3 agreeing replicas %s later", took.Round(time.Millisecond))
}

// state returns the state of member id as the node at addr sees it.
func state(ctx context.Context, addr, id string) string {
	cl, err := client.New(addr).Cluster(ctx)
	if err != nil {
		return ""
	}
	for _, m := range cl.Members {
		if m.ID == id {
			return m.State
		}
	}
	return ""
}
