package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// printUsage prints the overview of meridian -h.
func printUsage(w io.Writer) {
	fmt.Fprint(w, `meridian: the command line client of a Meridian key-value store

Usage:
  meridian [--addr URL] [--consistency LEVEL] [--timeout D] COMMAND [ARGS]

Commands:
`)
	t := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(t, "  %s\t%s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	fmt.Fprintf(t, "  dev\trun a local development cluster of R regions of N nodes (meridian dev -h)\n")
	fmt.Fprintf(t, "  dev partition REGION\tcut a dev cluster's region off from the others with iptables (root)\n")
	fmt.Fprintf(t, "  dev heal\tundo every dev partition (root)\n")
	fmt.Fprintf(t, "  gossip-key\tprint a new gossip key for the nodes' key file, and how to rotate it\n")
	fmt.Fprintf(t, "  help [COMMAND]\thelp on a command, with examples\n")
	t.Flush()
	fmt.Fprint(w, `
Global flags (before or after the command's arguments):
  --addr URL           HTTP address of any node (default $MERIDIAN_ADDR, else `+defaultAddr+`)
  --consistency LEVEL  ONE, QUORUM, ALL, LOCAL_ONE, LOCAL_QUORUM or EACH_QUORUM; LOCAL_SERIAL or SERIAL
                       for strong keys (default: the node's, or a strong key's own)
  --timeout D          how long to wait for the node, such as 5s (default 30s; 15m for node leave/remove)

Examples:
  meridian put greeting hello
  meridian get greeting
  meridian inspect greeting            # concurrent values, who wrote them, which wins and why
  meridian incr visits
  meridian sadd tags red green
  meridian --addr http://10.0.0.2:8080 cluster

Read-modify-write, so that a concurrent write is superseded only if you saw it:
  ctx=$(meridian get --context-only greeting)
  meridian put --context "$ctx" greeting 'hello again'

Strong keys (declared with meridiand --strong), decided by consensus: a lock
  meridian put --nx --px 30000 lock:report worker-1   # fails while another holds it
  meridian del --if-eq worker-1 lock:report           # release it only if it is still yours

Run 'meridian help COMMAND' for a command's flags and examples.
`)
}

// printCommand prints the help of one command.
func printCommand(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage:\n  meridian %s\n\n%s\n", strings.TrimSpace(c.name+" [flags] "+c.args), c.detail)
	var o options
	fs := newFlagSet("meridian "+c.name, &o, c.flags)
	fmt.Fprintf(w, "\nFlags:\n")
	t := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		if c.admin && f.Name == "consistency" {
			return
		}
		arg, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(t, "  --%s %s\t%s\n", f.Name, arg, usage)
	})
	t.Flush()
	if len(c.examples) > 0 {
		fmt.Fprintf(w, "\nExamples:\n")
		for _, ex := range c.examples {
			fmt.Fprintf(w, "  %s\n", ex)
		}
	}
}

// help runs `meridian help [COMMAND]`.
func help(args []string, stdout, stderr io.Writer) error {
	switch {
	case len(args) == 0:
		printUsage(stdout)
		return nil
	case args[0] == "dev": // dev, dev partition, dev heal
		return runDev(append(args[1:len(args):len(args)], "-h"), stdout, stderr)
	case args[0] == "gossip-key":
		fmt.Fprintln(stdout, gossipKeyUsage)
		return nil
	case args[0] == "help":
		fmt.Fprintln(stdout, "Usage:\n  meridian help [COMMAND]\n\nPrints the list of commands, or the flags and examples of one.")
		return nil
	case args[0] == "node" && len(args) == 1:
		for _, name := range []string{"node leave", "node remove"} {
			c, _, _ := lookup(strings.Fields(name))
			printCommand(stdout, c)
			fmt.Fprintln(stdout)
		}
		return nil
	}
	c, rest, err := lookup(args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("help: one command at a time: 'meridian help %s'", c.name)
	}
	printCommand(stdout, c)
	return nil
}
