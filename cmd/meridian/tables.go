package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/meridiankv/meridian/client"
)

// printJSON fetches path from the node and prints its JSON answer,
// indented. With missingOK, a 404 that is not an error (a key that holds
// nothing) is printed too.
func (e *env) printJSON(ctx context.Context, path string, missingOK bool) error {
	u := strings.TrimRight(e.opts.addr, "/") + path
	if e.opts.consistency != "" {
		u += "?consistency=" + url.QueryEscape(e.opts.consistency)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("reading the answer of %s: %w", u, err)
	}
	var answer struct {
		Error, Code, Applied string
	}
	isErr := json.Unmarshal(body, &answer) != nil || answer.Code != ""
	if resp.StatusCode != http.StatusOK && (isErr || !missingOK || resp.StatusCode != http.StatusNotFound) {
		return &client.Error{Status: resp.StatusCode, Code: answer.Code, Applied: answer.Applied, Message: firstNonEmpty(answer.Error, strings.TrimSpace(string(body)))}
	}
	var out bytes.Buffer
	if err := json.Indent(&out, body, "", "  "); err != nil {
		return fmt.Errorf("the node at %s answered something that is not JSON: %w", e.opts.addr, err)
	}
	out.WriteByte('\n')
	_, err = out.WriteTo(e.stdout)
	return err
}

// firstNonEmpty returns the first of its arguments that is not empty.
func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func runInspect(ctx context.Context, e *env, args []string) error {
	if e.opts.json {
		return e.printJSON(ctx, "/v1/inspect/"+url.PathEscape(args[0]), false)
	}
	in, err := e.c.Inspect(ctx, args[0])
	if err != nil {
		return err
	}
	printInspection(e.stdout, in)
	return nil
}

// printInspection renders in as aligned tables.
func printInspection(w io.Writer, in *client.Inspection) {
	t := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	defer t.Flush()
	kind := string(in.Type)
	switch {
	case in.Type == client.TypeNone:
		kind = "none (never written, or deleted)"
	case len(in.Siblings) > 1:
		kind += fmt.Sprintf(", %d concurrent values", len(in.Siblings))
	}
	fmt.Fprintf(t, "key\t%s\n", in.Key)
	fmt.Fprintf(t, "type\t%s\n", kind)
	if len(in.Kinds) > 1 {
		fmt.Fprintf(t, "note\tconcurrent writes of types %s: the latest one's type is shown\n", joinTypes(in.Kinds))
	}
	fmt.Fprintf(t, "causality\t%s\n", in.Causality)
	fmt.Fprintf(t, "context\t%s\n", in.Context)
	if len(in.Siblings) > 0 {
		fmt.Fprintf(t, "\nSIBLINGS\n\tVALUE\tDOT\tNODE\tREGION\tHLC TIME\n")
		for _, s := range in.Siblings {
			mark := ""
			if s.Winner {
				mark = "*"
			}
			fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%s\n", mark, quote(s.Value), s.Dot, s.Node, dash(s.Region), s.HLC)
		}
		fmt.Fprintf(t, "winner: %s (%s)\n", in.Winner.Dot, in.Winner.Reason)
	}
	if len(in.Elements) > 0 {
		fmt.Fprintf(t, "\nMEMBERS\n\tVALUE\tDOT\tNODE\tHLC TIME\n")
		for _, m := range in.Elements {
			fmt.Fprintf(t, "\t%s\t%s\t%s\t%s\n", quote([]byte(m.Value)), m.Dot, m.Node, m.HLC)
		}
	}
	if len(in.Shares) > 0 {
		count := strconv.FormatInt(in.Count, 10)
		if in.CountError != "" {
			count = in.CountError
		}
		fmt.Fprintf(t, "\nSHARES (count %s)\n\tNODE\tDOT\tINC\tDEC\tHLC TIME\n", count)
		for _, s := range in.Shares {
			fmt.Fprintf(t, "\t%s\t%s\t+%d\t-%d\t%s\n", s.Node, s.Dot, s.Inc, s.Dec, s.HLC)
		}
	}
	if len(in.Resets) > 0 {
		fmt.Fprintf(t, "\nRESETS (each node's share counts above what deletes removed of it)\n\tNODE\tINC\tDEC\n")
		for _, r := range in.Resets {
			fmt.Fprintf(t, "\t%s\t+%d\t-%d\n", r.Node, r.Inc, r.Dec)
		}
	}
	fmt.Fprintf(t, "\nREPLICAS\n\tNODE\tAGREES\tHOLDS\tCAUSALITY\n")
	for _, r := range in.Replicas {
		if r.Err != "" {
			fmt.Fprintf(t, "\t%s\t-\tno answer: %s\n", r.Node, r.Err)
			continue
		}
		agrees := "no"
		if r.Agrees {
			agrees = "yes"
		}
		fmt.Fprintf(t, "\t%s\t%s\t%s\t%s\n", r.Node, agrees, summary(r.State), r.State.Causality)
	}
}

// summary renders a replica's state on one line.
func summary(s *client.ReplicaState) string {
	switch s.Type {
	case client.TypeRegister:
		out := fmt.Sprintf("register %s", quote(s.Value))
		if len(s.Siblings) > 1 {
			out += fmt.Sprintf(" of %d siblings", len(s.Siblings))
		}
		return out + " [" + strings.Join(s.Siblings, " ") + "]"
	case client.TypeSet:
		return fmt.Sprintf("set of %d: %s", len(s.Members), strings.Join(s.Members, " "))
	case client.TypeCounter:
		if s.Count == nil {
			return "counter (overflowed)"
		}
		return fmt.Sprintf("counter %d", *s.Count)
	}
	return "nothing"
}

// quote renders a value for a table: quoted, escaped, and cut short.
func quote(v []byte) string {
	const limit = 40
	if len(v) > limit {
		return strconv.Quote(string(v[:limit])) + fmt.Sprintf("... (%d bytes)", len(v))
	}
	return strconv.Quote(string(v))
}

func joinTypes(ts []client.Type) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

func runCluster(ctx context.Context, e *env, _ []string) error {
	if e.opts.json {
		return e.printJSON(ctx, "/v1/cluster", false)
	}
	c, err := e.c.Cluster(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "region %s, %d replicas of each key, as node %s sees it\n\n", c.Region, c.Replicas, c.Self)
	t := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(t, "ID\tSTATE\tREGION\tOWNS\tHINTS\tHTTP\tPEER\tGOSSIP\tRESP")
	for _, m := range c.Members {
		id := m.ID
		if id == c.Self {
			id += " (self)"
		}
		fmt.Fprintf(t, "%s\t%s\t%s\t%.1f%%\t%d\t%s\t%s\t%s\t%s\n", id, m.State, m.Region, 100*m.Ownership,
			m.HintsPending, dash(m.HTTPAddr), dash(m.PeerAddr), dash(m.GossipAddr), dash(m.RESPAddr))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	for _, r := range c.Regions {
		if err := printRegion(e.stdout, r); err != nil {
			return err
		}
	}
	return nil
}

// printRegion renders another region: a line on the link to it and this
// node's replication to it, then a table of its nodes.
func printRegion(w io.Writer, r client.Region) error {
	fmt.Fprintf(w, "\nregion %s: %s, replication lag %s, %s pending (%s), %s shipped, %s dropped\n",
		r.Name, linkSummary(r), ago(r.Replication.Lag()), thousands(r.Replication.Pending),
		byteSize(r.Replication.PendingBytes), thousands(r.Replication.Shipped), thousands(r.Replication.Dropped))
	if len(r.Nodes) == 0 {
		_, err := fmt.Fprintln(w, "no nodes known")
		return err
	}
	t := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(t, "ID\tSTATUS\tHEALTH\tRESP")
	for _, n := range r.Nodes {
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\n", n.ID, n.Status, n.Health, dash(n.RESPAddr))
	}
	return t.Flush()
}

// linkSummary says whether the link to r works and when r was last heard
// from: "link up, heard 120ms ago", "link DOWN, last heard 12s ago",
// "link DOWN, never heard from".
func linkSummary(r client.Region) string {
	heard, ok := r.HeardAgo()
	switch {
	case r.Link == client.LinkUp && ok:
		return "link up, heard " + ago(heard) + " ago"
	case r.Link == client.LinkUp:
		return "link up, never heard from"
	case ok:
		return "link " + strings.ToUpper(string(r.Link)) + ", last heard " + ago(heard) + " ago"
	}
	return "link " + strings.ToUpper(string(r.Link)) + ", never heard from"
}

// ago renders a duration for a person: milliseconds under a second, tenths
// of a second under a minute, whole seconds beyond.
func ago(d time.Duration) string {
	switch {
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// thousands renders n with a comma between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// byteSize renders n bytes in decimal units: "0 B", "512 B", "1.2 kB",
// "3.4 MB".
func byteSize(n int64) string {
	if n < 1000 && n > -1000 {
		return strconv.FormatInt(n, 10) + " B"
	}
	f, unit := float64(n), 0
	for (f >= 999.95 || f <= -999.95) && unit < len(byteUnits)-1 {
		f /= 1000
		unit++
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " " + byteUnits[unit]
}

var byteUnits = []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
