package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/meridiankv/meridian/client"
)

// regionNodes returns the HTTP addresses of the nodes of region as the
// node at --addr knows them: its own region's members, or another
// region's nodes.
func regionNodes(c *client.Cluster, region string) ([]string, error) {
	var addrs []string
	if c.Region == region {
		for _, m := range c.Members {
			if m.HTTPAddr != "" {
				addrs = append(addrs, m.HTTPAddr)
			}
		}
		return addrs, nil
	}
	var known []string
	for _, r := range c.Regions {
		known = append(known, r.Name)
		if r.Name != region {
			continue
		}
		for _, n := range r.Nodes {
			if n.HTTPAddr != "" {
				addrs = append(addrs, n.HTTPAddr)
			}
		}
		return addrs, nil
	}
	return nil, fmt.Errorf("the node at --addr (region %s) knows no region %q: it knows %s",
		c.Region, region, strings.Join(append([]string{c.Region}, known...), ", "))
}

// diffResult is what meridian diff prints with --json.
type diffResult struct {
	A, B       string   `json:"-"`
	Regions    []string `json:"regions"`
	Compared   []string `json:"compared"`   // nodes of A that compared
	Incomplete []string `json:"incomplete"` // what could not be compared, and why
	OnlyA      []string `json:"only_in_a"`
	OnlyB      []string `json:"only_in_b"`
	Differ     []string `json:"differ"`
}

func runDiff(ctx context.Context, e *env, args []string) error {
	a, b := args[0], args[1]
	if a == b {
		return fmt.Errorf("diff: compare two different regions (both are %q)", a)
	}
	c, err := e.c.Cluster(ctx)
	if err != nil {
		return err
	}
	addrs, err := regionNodes(c, a)
	if err != nil {
		return err
	}
	if _, err := regionNodes(c, b); err != nil {
		return err
	}
	if len(addrs) == 0 {
		return fmt.Errorf("diff: no node of region %s has an HTTP address known to the node at --addr: point --addr at a node of %s", a, a)
	}
	res := diffResult{A: a, B: b, Regions: []string{a, b}, Compared: []string{}, Incomplete: []string{},
		OnlyA: []string{}, OnlyB: []string{}, Differ: []string{}}
	// Each node of A compares the keys it is the primary owner of: their
	// answers together cover every key once.
	for _, addr := range addrs {
		d, err := client.New(addr, client.WithHTTPClient(e.hc)).Diff(ctx, b)
		if err != nil {
			res.Incomplete = append(res.Incomplete, fmt.Sprintf("%s: %v", addr, err))
			continue
		}
		res.Compared = append(res.Compared, d.Node)
		res.Incomplete = append(res.Incomplete, d.Incomplete...)
		res.OnlyA = append(res.OnlyA, d.OnlyHere...)
		res.OnlyB = append(res.OnlyB, d.OnlyThere...)
		res.Differ = append(res.Differ, d.Differ...)
	}
	for _, s := range [][]string{res.Compared, res.OnlyA, res.OnlyB, res.Differ} {
		slices.Sort(s)
	}
	if e.opts.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		for _, k := range res.OnlyA {
			fmt.Fprintf(e.stdout, "only in %s\t%q\n", a, k)
		}
		for _, k := range res.OnlyB {
			fmt.Fprintf(e.stdout, "only in %s\t%q\n", b, k)
		}
		for _, k := range res.Differ {
			fmt.Fprintf(e.stdout, "differ\t%q\n", k)
		}
		n := len(res.OnlyA) + len(res.OnlyB) + len(res.Differ)
		verdict := "the regions agree"
		if n > 0 {
			verdict = fmt.Sprintf("%d keys differ (%d only in %s, %d only in %s, %d in both with different states)",
				n, len(res.OnlyA), a, len(res.OnlyB), b, len(res.Differ))
		}
		fmt.Fprintf(e.stdout, "%s vs %s: %s; %d nodes of %s compared\n", a, b, verdict, len(res.Compared), a)
		for _, s := range res.Incomplete {
			fmt.Fprintf(e.stderr, "incomplete: %s\n", s)
		}
	}
	if len(res.Incomplete) > 0 {
		return fmt.Errorf("diff: the comparison is incomplete (%d parts could not be compared, listed above): keys there may differ too; retry once the nodes are up and their trees built", len(res.Incomplete))
	}
	return nil
}
