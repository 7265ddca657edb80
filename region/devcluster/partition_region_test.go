package devcluster_test

import (
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meridiankv/meridian/region/devcluster"
)

// listPartitionRules returns the rules of iptables -S INPUT that carry
// devcluster.PartitionComment, sorted.
func listPartitionRules(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("iptables", "-w", "-S", "INPUT").Output()
	if err != nil {
		t.Fatalf("iptables -S INPUT: %v", err)
	}
	var rules []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "--comment "+devcluster.PartitionComment+" ") {
			rules = append(rules, line)
		}
	}
	slices.Sort(rules)
	return rules
}

// TestPartitionRegionAndHeal cuts region r2 of a manifest of fake nodes (no
// process behind them) off from r1 and r3 and checks that exactly the rules
// for each pair, both ways, are in place, that they cut those links and no
// other, that a second Partition adds nothing, and that Heal removes them
// all. Its cleanup heals even when it fails.
func TestPartitionRegionAndHeal(t *testing.T) {
	needIptables(t)
	if rules := listPartitionRules(t); len(rules) > 0 {
		t.Skipf("%d rules with the comment %s are in place already (a meridian dev partition?): the test would remove them; run meridian dev heal first", len(rules), devcluster.PartitionComment)
	}
	t.Cleanup(func() {
		if _, err := devcluster.Heal(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	var nodes []devcluster.Node
	for _, n := range []struct{ id, region, ip string }{
		{"r1n1", "r1", "127.0.141.1"}, {"r1n2", "r1", "127.0.141.2"},
		{"r2n1", "r2", "127.0.142.1"}, {"r2n2", "r2", "127.0.142.2"},
		{"r3n1", "r3", "127.0.143.1"},
	} {
		nodes = append(nodes, devcluster.Node{ID: n.id, Region: n.region, IP: n.ip})
	}

	added, err := devcluster.Partition(nodes, "r2")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, in := range []string{"127.0.142.1", "127.0.142.2"} {
		for _, out := range []string{"127.0.141.1", "127.0.141.2", "127.0.143.1"} {
			for _, pair := range [][2]string{{in, out}, {out, in}} {
				want = append(want, fmt.Sprintf("-A INPUT -s %s/32 -d %s/32 -m comment --comment meridian-dev-partition -j DROP", pair[0], pair[1]))
			}
		}
	}
	slices.Sort(want)
	if got := listPartitionRules(t); added != 12 || !slices.Equal(got, want) {
		t.Fatalf("Partition added %d rules, want 12; iptables -S INPUT holds:\n%s\nwant:\n%s", added, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, l := range []struct {
		from, to string
		cut      bool
	}{
		{"127.0.142.1", "127.0.141.1", true},
		{"127.0.141.2", "127.0.142.2", true},
		{"127.0.143.1", "127.0.142.1", true},
		{"127.0.142.1", "127.0.142.2", false}, // within r2
		{"127.0.141.1", "127.0.143.1", false}, // r1 to r3
	} {
		if got := !connects(t, l.from, l.to); got != l.cut {
			t.Errorf("link %s -> %s cut: %v, want %v", l.from, l.to, got, l.cut)
		}
	}

	if again, err := devcluster.Partition(nodes, "r2"); err != nil || again != 0 {
		t.Errorf("a second Partition of r2 added %d rules (error %v), want 0", again, err)
	}
	if got := listPartitionRules(t); !slices.Equal(got, want) {
		t.Errorf("after a second Partition, iptables -S INPUT holds:\n%s", strings.Join(got, "\n"))
	}

	removed, err := devcluster.Heal()
	if err != nil || removed != 12 {
		t.Fatalf("Heal removed %d rules (error %v), want 12", removed, err)
	}
	if got := listPartitionRules(t); len(got) > 0 {
		t.Fatalf("after Heal, iptables -S INPUT still holds:\n%s", strings.Join(got, "\n"))
	}
	if !connects(t, "127.0.142.1", "127.0.141.1") {
		t.Errorf("after Heal, 127.0.142.1 still cannot reach 127.0.141.1")
	}
	if removed, err := devcluster.Heal(); err != nil || removed != 0 {
		t.Errorf("a second Heal removed %d rules (error %v), want 0", removed, err)
	}
}

// connects reports whether a TCP connection from address from reaches a
// listener on address to within half a second: a dropped SYN times out.
func connects(t *testing.T, from, to string) bool {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(to, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d := net.Dialer{Timeout: 500 * time.Millisecond, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		return false
	}
	c.Close()
	return true
}
