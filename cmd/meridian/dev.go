package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/meridiankv/meridian/region/devcluster"
	kvsync "github.com/meridiankv/meridian/sync"
)

// devUsage is the help of meridian dev; the flags follow it.
const devUsage = `Usage:
  meridian dev [--nodes N] [--regions R] [--wan-delay D] [--wan-jitter J] [--strong DECL] [--dir DIR] [--base B] [-- meridiand flags...]
  meridian dev partition REGION [--dir DIR]
  meridian dev heal

Starts a local cluster: node i of region r, named r<r>n<i> in region r<r>, is
a meridiand process on 127.0.<base+r>.<i> with the default ports (Redis
protocol 6379, HTTP 8080, QUIC 7000, gossip 7946). Talk to a region through
any of its nodes: redis-cli -h 127.0.1.1 -p 6379 reaches region r1,
redis-cli -h 127.0.2.1 -p 6379 region r2, and meridian --addr
http://127.0.1.1:8080 works too. The nodes of region 2 and up --wan-join
region 1's first node, so the regions find each other; --wan-delay and
--wan-jitter make every node delay its messages to other regions, as a WAN
would. Ctrl-C stops every node; the data stays in DIR for the next run.
--strong declares strong keys on every node (meridiand --strong): name the
home region of a local prefix, such as lock:=local:r1, since the regions are
r1, r2, ...; a global prefix (acct:=global) needs 3 regions.

partition REGION cuts every node of REGION off from every node of the other
regions, both ways, while the links within each region keep working: it adds
iptables DROP rules to the INPUT chain, one per direction and pair of nodes,
each with the comment meridian-dev-partition. heal removes every rule that
carries that comment. Both need root and iptables, for example:
  sudo bin/meridian dev partition r2 --dir .meridian/dev
  sudo bin/meridian dev heal

Flags:
`

// runDev starts a local cluster of meridiand processes and keeps it running
// until Ctrl-C, or runs its partition and heal subcommands.
func runDev(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "partition":
			return runPartition(args[1:], stdout)
		case "heal":
			return runHeal(args[1:], stdout)
		}
	}
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	nodes := fs.Int("nodes", 3, "nodes per region")
	regions := fs.Int("regions", 1, "regions")
	wanDelay := fs.Duration("wan-delay", 0, "delay every message between regions by `D` one way, such as 40ms (default 0: none)")
	wanJitter := fs.Duration("wan-jitter", 0, "add up to `J` of random delay to --wan-delay (default 0: none)")
	dir := fs.String("dir", ".meridian/dev", "cluster directory: certificates, data, logs and cluster.json (reused if it exists)")
	bin := fs.String("meridiand", "", "the meridiand binary (default: next to this meridian, else on $PATH)")
	base := fs.Int("base", 0, "region r uses 127.0.<base+r>.0/24 (to run two clusters side by side)")
	strong := fs.String("strong", "", "strong keys of every node, meridiand --strong `DECL`, such as lock:=local:r1,acct:=global (default none)")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, devUsage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return nil
	} else if err != nil {
		return fmt.Errorf("dev: %w\nrun 'meridian help dev' for usage", err)
	}
	extra := fs.Args()
	if i := len(args) - len(extra) - 1; len(extra) > 0 && (i < 0 || args[i] != "--") {
		return fmt.Errorf("dev: unexpected argument %q: meridiand flags go after --, and partition or heal come first, as in meridian dev partition REGION --dir DIR\nrun 'meridian help dev' for usage", extra[0])
	}
	if *strong != "" {
		if err := checkStrong(*strong, *regions); err != nil {
			return err
		}
		extra = append([]string{"--strong", *strong}, extra...)
	}
	binary, err := findMeridiand(*bin)
	if err != nil {
		return err
	}
	absDir, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stdout, "starting %d region(s) of %d node(s) in %s", *regions, *nodes, absDir)
	if *wanDelay > 0 || *wanJitter > 0 {
		fmt.Fprintf(stdout, ", messages between regions delayed %s", *wanDelay)
		if *wanJitter > 0 {
			fmt.Fprintf(stdout, " plus up to %s", *wanJitter)
		}
	}
	fmt.Fprintln(stdout, " ...")
	c, err := devcluster.Start(ctx, devcluster.Config{Dir: absDir, Binary: binary, Nodes: *nodes, Regions: *regions, Base: *base,
		WANDelay: *wanDelay, WANJitter: *wanJitter, Args: extra})
	if err != nil {
		return err
	}
	defer c.Close()
	printCluster(stdout, absDir, os.Args[0], c.Nodes())
	<-ctx.Done()
	fmt.Fprintln(stdout, "\nstopping the cluster ...")
	return nil
}

// checkStrong refuses a declaration of strong keys that a cluster of
// regions r1 .. r<regions> cannot serve: malformed, a local prefix homed
// in a region it does not have, a global one with fewer than 3 regions.
func checkStrong(decl string, regions int) error {
	d, err := kvsync.ParseDeclaration(decl)
	if err != nil {
		return fmt.Errorf("dev: --strong %q: %w", decl, err)
	}
	regions = max(regions, 1)
	for _, p := range d {
		switch {
		case p.Scope == kvsync.ScopeGlobal && regions < kvsync.MinGlobalRegions:
			return fmt.Errorf("dev: --strong %q: the global prefix %q needs %d regions, and the cluster has %d: add --regions %d, or make it local, as %s=local:r1",
				decl, p.Prefix, kvsync.MinGlobalRegions, regions, kvsync.MinGlobalRegions, p.Prefix)
		case p.Scope == kvsync.ScopeLocal && !validRegion(p.Home, regions):
			return fmt.Errorf("dev: --strong %q: prefix %q is local to region %q, which the cluster does not have (its regions are r1 to r%d): name one, as %s=local:r1",
				decl, p.Prefix, p.Home, regions, p.Prefix)
		}
	}
	return nil
}

// validRegion reports whether name is one of r1 .. r<regions>.
func validRegion(name string, regions int) bool {
	for r := 1; r <= regions; r++ {
		if name == fmt.Sprintf("r%d", r) {
			return true
		}
	}
	return false
}

// printCluster prints each region's nodes and how to reach it, then what to
// try; self is how this program was run.
func printCluster(w io.Writer, dir, self string, nodes []devcluster.Node) {
	regions := byRegion(nodes)
	for _, r := range regions {
		fmt.Fprintf(w, "\nREGION %s: %s, or %s --addr http://%s cluster\n", r[0].Region, redisCLI(r[0]), self, r[0].HTTP)
		fmt.Fprintf(w, "  %-8s %-17s %-17s %-7s %s\n", "NODE", "REDIS", "HTTP", "PID", "LOG")
		for _, n := range r {
			fmt.Fprintf(w, "  %-8s %-17s %-17s %-7d %s\n", n.ID, n.RESP, n.HTTP, n.PID, n.LogFile)
		}
	}
	first, other := regions[0][0], nodes[len(nodes)-1]
	fmt.Fprintf(w, "\nThe cluster is up. Try:\n  %s SET greeting hello\n", redisCLI(first))
	if len(regions) > 1 {
		other = regions[1][0]
		fmt.Fprintf(w, "  %s GET greeting   # region %s, once the write has crossed\n", redisCLI(other), other.Region)
	} else {
		fmt.Fprintf(w, "  %s GET greeting\n", redisCLI(other))
	}
	fmt.Fprintf(w, "  %s --addr http://%s inspect greeting\n  %s --addr http://%s cluster\n", self, first.HTTP, self, first.HTTP)
	if len(regions) > 1 {
		fmt.Fprintf(w, "Cut region %s off from the others, then heal it (needs root):\n  sudo %s dev partition %s --dir %s\n  sudo %s dev heal\n",
			other.Region, self, other.Region, dir, self)
	}
	fmt.Fprintf(w, "Every node's id, addresses, pid and command line are in %s.\nPress Ctrl-C to stop.\n", filepath.Join(dir, "cluster.json"))
}

// byRegion groups nodes by region, in the order the regions first appear.
func byRegion(nodes []devcluster.Node) [][]devcluster.Node {
	var out [][]devcluster.Node
	at := map[string]int{}
	for _, n := range nodes {
		i, ok := at[n.Region]
		if !ok {
			i = len(out)
			at[n.Region] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], n)
	}
	return out
}

// redisCLI returns the redis-cli command that reaches node n.
func redisCLI(n devcluster.Node) string {
	host, port, err := net.SplitHostPort(n.RESP)
	if err != nil {
		return "redis-cli -h " + n.IP
	}
	return fmt.Sprintf("redis-cli -h %s -p %s", host, port)
}

// partitionUsage is the help of meridian dev partition.
const partitionUsage = `Usage:
  meridian dev partition REGION [--dir DIR]

Cuts every node of REGION off from every node of the other regions of the
cluster in DIR (default .meridian/dev), both ways; the links within each
region keep working. It adds iptables DROP rules to the INPUT chain, one per
direction and pair of nodes, each with the comment meridian-dev-partition;
'meridian dev heal' removes them. It needs root and iptables:
  sudo bin/meridian dev partition r2 --dir .meridian/dev
`

// runPartition runs meridian dev partition.
func runPartition(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("dev partition", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	dir := fs.String("dir", ".meridian/dev", "the cluster directory whose cluster.json lists the nodes")
	pos, err := parseInterleaved(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, partitionUsage)
		return nil
	case err != nil:
		return fmt.Errorf("dev partition: %w\nusage: meridian dev partition REGION [--dir DIR]", err)
	case len(pos) != 1:
		return fmt.Errorf("dev partition: name one region to cut off, got %d arguments %q\nusage: meridian dev partition REGION [--dir DIR]", len(pos), pos)
	}
	nodes, err := devcluster.LoadManifest(*dir)
	if err != nil {
		return fmt.Errorf("dev partition: reading the cluster's nodes: %w\nis %s the --dir of a cluster that meridian dev started?", err, *dir)
	}
	added, err := devcluster.Partition(nodes, pos[0])
	if errors.Is(err, devcluster.ErrNotRoot) {
		return fmt.Errorf("dev partition: %w\nfor example: sudo %s dev partition %s --dir %s", err, os.Args[0], pos[0], *dir)
	} else if err != nil {
		return fmt.Errorf("dev partition: %w", err)
	}
	var in, others []string
	for _, r := range byRegion(nodes) {
		if r[0].Region != pos[0] {
			others = append(others, r[0].Region)
			continue
		}
		for _, n := range r {
			in = append(in, n.ID)
		}
	}
	if added == 0 {
		fmt.Fprintf(stdout, "region %s was cut off from %s already: no rule added\n", pos[0], strings.Join(others, ", "))
		return nil
	}
	fmt.Fprintf(stdout, "cut region %s (%s) off from %s: added %d iptables DROP rules to INPUT (comment %s); the links within each region still work\nundo with: %s dev heal\n",
		pos[0], strings.Join(in, " "), strings.Join(others, ", "), added, devcluster.PartitionComment, os.Args[0])
	return nil
}

// healUsage is the help of meridian dev heal.
const healUsage = `Usage:
  meridian dev heal

Removes every iptables rule of the INPUT chain that carries the comment
meridian-dev-partition, whichever cluster 'meridian dev partition' cut: every
link between the regions works again. --dir is accepted, and not needed. It
needs root and iptables:
  sudo bin/meridian dev heal
`

// runHeal runs meridian dev heal.
func runHeal(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("dev heal", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.String("dir", ".meridian/dev", "accepted for symmetry with partition; heal removes every partition rule")
	pos, err := parseInterleaved(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, healUsage)
		return nil
	case err != nil:
		return fmt.Errorf("dev heal: %w\nusage: meridian dev heal", err)
	case len(pos) > 0:
		return fmt.Errorf("dev heal: takes no argument, got %q: it heals every partition\nusage: meridian dev heal", pos)
	}
	removed, err := devcluster.Heal()
	if errors.Is(err, devcluster.ErrNotRoot) {
		return fmt.Errorf("dev heal: %w\nfor example: sudo %s dev heal", err, os.Args[0])
	} else if err != nil {
		return fmt.Errorf("dev heal: %w", err)
	}
	if removed == 0 {
		fmt.Fprintln(stdout, "no partition rules were in place: nothing to heal")
		return nil
	}
	fmt.Fprintf(stdout, "removed %d iptables rules (comment %s): every link between the regions works again\n", removed, devcluster.PartitionComment)
	return nil
}

// findMeridiand returns the meridiand to run: the one given, the one next to
// this executable, or the one on $PATH.
func findMeridiand(given string) (string, error) {
	if given != "" {
		return filepath.Abs(given)
	}
	if self, err := os.Executable(); err == nil {
		next := filepath.Join(filepath.Dir(self), "meridiand")
		if _, err := os.Stat(next); err == nil {
			return next, nil
		}
	}
	if p, err := exec.LookPath("meridiand"); err == nil {
		return p, nil
	}
	return "", errors.New("dev: no meridiand binary next to meridian or on $PATH: run `make build` (binaries go to ./bin) or pass --meridiand PATH")
}
