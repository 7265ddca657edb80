package devcluster

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// fakeNodes returns a manifest's nodes, no process behind them: regions
// r1 .. r<len(sizes)>, region r holding sizes[r-1] nodes on
// 127.0.<base+r>.<i>.
func fakeNodes(base int, sizes ...int) []Node {
	var nodes []Node
	for r, size := range sizes {
		for i := 1; i <= size; i++ {
			nodes = append(nodes, *Config{Base: base}.layout(r+1, i))
		}
	}
	return nodes
}

// asUser makes this package see euid as its effective uid, and iptables as
// present or not, until the test ends.
func asUser(t *testing.T, euid int, haveIptables bool) {
	t.Helper()
	oldEuid, oldLook := geteuid, lookPath
	t.Cleanup(func() { geteuid, lookPath = oldEuid, oldLook })
	geteuid = func() int { return euid }
	lookPath = func(string) (string, error) {
		if !haveIptables {
			return "", exec.ErrNotFound
		}
		return "/nonexistent/iptables", nil // never run: every case here refuses first
	}
}

// TestPartitionRefuses checks that Partition and Heal say why they refuse
// and what to do, before they run iptables at all: the iptables they would
// run does not exist, so any attempt would show as a different error.
func TestPartitionRefuses(t *testing.T) {
	nodes := fakeNodes(148, 2, 2, 1)
	tests := []struct {
		name         string
		euid         int
		haveIptables bool
		call         func() error
		is           error
		want         []string
	}{
		{"partition, not root", 1000, true, func() error { _, err := Partition(nodes, "r2"); return err },
			ErrNotRoot, []string{"needs root", "runs as uid 1000", "run it as root", "sudo"}},
		{"heal, not root", 1000, true, func() error { _, err := Heal(); return err },
			ErrNotRoot, []string{"needs root", "runs as uid 1000", "sudo"}},
		{"partition, no iptables", 0, false, func() error { _, err := Partition(nodes, "r2"); return err },
			ErrNoIptables, []string{"iptables is not installed", "apt-get install iptables"}},
		{"heal, no iptables", 0, false, func() error { _, err := Heal(); return err },
			ErrNoIptables, []string{"iptables is not installed", "apt-get install iptables"}},
		{"unknown region, before the root check", 1000, true, func() error { _, err := Partition(nodes, "r9"); return err },
			ErrUnknownRegion, []string{`no such region "r9"`, "the cluster's regions are r1, r2, r3"}},
		{"the only region", 0, false, func() error { _, err := Partition(fakeNodes(148, 3), "r1"); return err },
			nil, []string{"r1 is the cluster's only region", "--regions"}},
		{"a node without an IP", 0, false, func() error {
			_, err := Partition(append(slices.Clone(nodes), Node{ID: "bad", Region: "r1", IP: "not-an-ip"}), "r1")
			return err
		}, nil, []string{"node bad has no valid IP"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asUser(t, tt.euid, tt.haveIptables)
			err := tt.call()
			if err == nil {
				t.Fatalf("no error, want one mentioning %q", tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %q", err, tt.is)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestPartitionRulesInListing(t *testing.T) {
	listing := `-P INPUT ACCEPT
-A INPUT -s 127.0.2.1/32 -d 127.0.1.1/32 -m comment --comment meridian-dev-partition -j DROP
-A INPUT -s 127.0.5.3/32 -j DROP -m comment --comment meridian-devcluster-test
-A INPUT -s 127.0.1.1/32 -d 127.0.2.1/32 -m comment --comment meridian-dev-partition-2 -j DROP
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -d 127.0.2.1/32 -s 127.0.1.1/32 -m comment --comment meridian-dev-partition -j DROP
`
	got := partitionRulesIn(listing)
	want := [][]string{
		strings.Fields("INPUT -s 127.0.2.1/32 -d 127.0.1.1/32 -m comment --comment meridian-dev-partition -j DROP"),
		strings.Fields("INPUT -d 127.0.2.1/32 -s 127.0.1.1/32 -m comment --comment meridian-dev-partition -j DROP"),
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("partition rules in the listing:\n got %q\nwant %q", got, want)
	}
}
