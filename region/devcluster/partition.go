package devcluster

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// PartitionComment marks every iptables rule Partition adds, so that Heal
// (and a person reading iptables -S INPUT) can tell them from any other.
const PartitionComment = "meridian-dev-partition"

var (
	// ErrNotRoot is returned by Partition and Heal when this process is not
	// root, which changing iptables rules needs. Use errors.Is(err, ErrNotRoot).
	ErrNotRoot = errors.New("devcluster: changing iptables rules needs root")
	// ErrNoIptables is returned by Partition and Heal when there is no
	// iptables on $PATH. Use errors.Is(err, ErrNoIptables).
	ErrNoIptables = errors.New("devcluster: iptables is not installed")
	// ErrUnknownRegion is returned by Partition for a region that no node
	// belongs to. Use errors.Is(err, ErrUnknownRegion).
	ErrUnknownRegion = errors.New("devcluster: no such region")
)

// Seams for the tests: who this process runs as, and where iptables is.
var (
	geteuid  = os.Geteuid
	lookPath = exec.LookPath
)

// Partition cuts every link between the nodes of region and the nodes of
// every other region, in both directions, and leaves the links within each
// region alone. For each such pair of addresses A and B it inserts two DROP
// rules at the top of the INPUT chain, -s A -d B and -s B -d A, each with
// the comment PartitionComment: every node is on loopback, so a rule must
// name both ends. Packets vanish as they would in a real partition; nothing
// is refused. Rules already in place are not added twice, so region can be
// cut off again, or a second region cut off too. Partition returns how many
// rules it added.
//
// It changes nothing when region is unknown (ErrUnknownRegion, naming the
// regions there are), when it is the only region, when this process is not
// root (ErrNotRoot) or when iptables is missing (ErrNoIptables). If adding a
// rule fails, it removes the rules it had added and returns the error.
func Partition(nodes []Node, region string) (int, error) {
	rules, err := partitionRules(nodes, region)
	if err != nil {
		return 0, err
	}
	ipt, err := iptables()
	if err != nil {
		return 0, err
	}
	var added [][]string
	for _, r := range rules {
		if ipt.run("-C", r) == nil {
			continue // already in place
		}
		if err := ipt.run("-I", r); err != nil {
			for _, a := range added {
				_ = ipt.run("-D", a)
			}
			return 0, fmt.Errorf("devcluster: cutting %s off (the rules added before are removed again): %w", region, err)
		}
		added = append(added, r)
	}
	return len(added), nil
}

// Heal removes every rule of the INPUT chain that carries PartitionComment,
// whichever cluster or call added it, and returns how many it removed. It
// refuses, changing nothing, when this process is not root (ErrNotRoot) or
// when iptables is missing (ErrNoIptables).
func Heal() (int, error) {
	ipt, err := iptables()
	if err != nil {
		return 0, err
	}
	out, err := exec.Command(ipt.path, "-w", "-S", "INPUT").Output()
	if err != nil {
		return 0, fmt.Errorf("devcluster: listing the INPUT chain (iptables -S INPUT): %w", err)
	}
	removed := 0
	for _, rule := range partitionRulesIn(string(out)) {
		if err := ipt.run("-D", rule); err != nil {
			return removed, fmt.Errorf("devcluster: healing, after removing %d rules: %w", removed, err)
		}
		removed++
	}
	return removed, nil
}

// partitionRulesIn returns the rules in the output of iptables -S INPUT
// that carry PartitionComment, each as the arguments after -A.
func partitionRulesIn(listing string) [][]string {
	var rules [][]string
	for _, line := range strings.Split(listing, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "-A" {
			continue
		}
		for i := 1; i+1 < len(f); i++ {
			if f[i] == "--comment" && f[i+1] == PartitionComment {
				rules = append(rules, f[1:])
				break
			}
		}
	}
	return rules
}

// partitionRules returns the rules that cut region off from the other
// regions of nodes, each as the arguments after -I, in the order of nodes:
// for each node A of region and each node B of another region, -s A -d B,
// then -s B -d A.
func partitionRules(nodes []Node, region string) ([][]string, error) {
	var regions []string
	var in, out []string
	for _, n := range nodes {
		if net.ParseIP(n.IP) == nil {
			return nil, fmt.Errorf("devcluster: node %s has no valid IP (%q) in cluster.json", n.ID, n.IP)
		}
		if !slices.Contains(regions, n.Region) {
			regions = append(regions, n.Region)
		}
		if n.Region == region {
			in = append(in, n.IP)
		} else {
			out = append(out, n.IP)
		}
	}
	switch {
	case len(in) == 0:
		return nil, fmt.Errorf("%w %q: the cluster's regions are %s", ErrUnknownRegion, region, strings.Join(regions, ", "))
	case len(out) == 0:
		return nil, fmt.Errorf("devcluster: %s is the cluster's only region: there is no other region to cut it off from (start more with meridian dev --regions R)", region)
	}
	var rules [][]string
	for _, a := range in {
		for _, b := range out {
			rules = append(rules, dropRule(a, b), dropRule(b, a))
		}
	}
	return rules, nil
}

func dropRule(src, dst string) []string {
	return []string{"INPUT", "-s", src, "-d", dst, "-m", "comment", "--comment", PartitionComment, "-j", "DROP"}
}

// iptablesCmd runs the iptables at path.
type iptablesCmd struct{ path string }

// iptables returns the iptables to run, or why this process cannot change
// its rules.
func iptables() (iptablesCmd, error) {
	if uid := geteuid(); uid != 0 {
		return iptablesCmd{}, fmt.Errorf("%w, and this process runs as uid %d: run it as root, for example with sudo", ErrNotRoot, uid)
	}
	path, err := lookPath("iptables")
	if err != nil {
		return iptablesCmd{}, fmt.Errorf("%w (%v): install it, for example with apt-get install iptables", ErrNoIptables, err)
	}
	return iptablesCmd{path}, nil
}

// run runs iptables -w op rule... and returns its output in the error when
// it fails.
func (c iptablesCmd) run(op string, rule []string) error {
	args := append([]string{"-w", op}, rule...)
	if out, err := exec.Command(c.path, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("iptables %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
