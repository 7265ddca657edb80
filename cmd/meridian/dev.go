package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/meridiankv/meridian/region/devcluster"
)

// runDev starts a local cluster of meridiand processes and keeps it running
// until Ctrl-C.
func runDev(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	nodes := fs.Int("nodes", 3, "nodes per region")
	regions := fs.Int("regions", 1, "regions (one until multi-region replication lands)")
	dir := fs.String("dir", ".meridian/dev", "cluster directory: certificates, data, logs and cluster.json (reused if it exists)")
	bin := fs.String("meridiand", "", "the meridiand binary (default: next to this meridian, else on $PATH)")
	base := fs.Int("base", 0, "region r uses 127.0.<base+r>.0/24 (to run two clusters side by side)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `usage: meridian dev [--nodes N] [--regions R] [--dir DIR] [-- meridiand flags...]

Starts a local cluster: node i of region r is a meridiand process on 127.0.r.i
with the default ports (Redis protocol 6379, HTTP 8080, QUIC 7000, gossip 7946).
Talk to it with redis-cli -h 127.0.1.1 or meridian --addr http://127.0.1.1:8080.
Ctrl-C stops every node; the data stays in DIR for the next run.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
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
	fmt.Fprintf(stdout, "starting %d node(s) in %s ...\n", *nodes**regions, absDir)
	c, err := devcluster.Start(ctx, devcluster.Config{Dir: absDir, Binary: binary, Nodes: *nodes, Regions: *regions, Base: *base, Args: fs.Args()})
	if err != nil {
		return err
	}
	defer c.Close()
	printCluster(stdout, absDir, c.Nodes())
	<-ctx.Done()
	fmt.Fprintln(stdout, "\nstopping the cluster ...")
	return nil
}

func printCluster(w io.Writer, dir string, nodes []devcluster.Node) {
	fmt.Fprintf(w, "\n%-6s %-7s %-17s %-17s %-7s %s\n", "NODE", "REGION", "REDIS", "HTTP", "PID", "LOG")
	for _, n := range nodes {
		fmt.Fprintf(w, "%-6s %-7s %-17s %-17s %-7d %s\n", n.ID, n.Region, n.RESP, n.HTTP, n.PID, n.LogFile)
	}
	first := nodes[0]
	fmt.Fprintf(w, `
The cluster is up. Try:
  redis-cli -h %s SET greeting hello
  redis-cli -h %s GET greeting
  meridian --addr http://%s inspect greeting
  meridian --addr http://%s cluster
Every node's id, addresses, pid and command line are in %s.
Press Ctrl-C to stop.
`, first.IP, nodes[len(nodes)-1].IP, first.HTTP, first.HTTP, filepath.Join(dir, "cluster.json"))
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
