package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/meridiankv/meridian/client"
	"github.com/meridiankv/meridian/region"
)

// defaultAddr is the node --addr names when neither it nor $MERIDIAN_ADDR is
// set.
const defaultAddr = "http://127.0.0.1:8080"

// options are the flags of one invocation.
type options struct {
	addr        string
	consistency string
	timeout     time.Duration
	json        bool   // print the node's JSON answer
	context     string // the causal context a write supersedes
	contextOnly bool   // get prints the context alone
	force       bool   // node remove goes ahead from a minority

	// The options of a write to a strong key: at most one condition, an
	// expiry (put), a request id.
	conds     []condFlag
	px        int64 // milliseconds; 0 for none
	requestID string
}

// condFlag is a condition flag given: its name (for messages) and the
// client option it becomes.
type condFlag struct {
	name string
	opt  client.CallOption
}

// env is what a command runs with.
type env struct {
	opts   options
	c      *client.Client
	hc     *http.Client
	stdout io.Writer
	stderr io.Writer
}

// run runs the command line args (without the program name), writing to
// stdout and stderr. A nil error means success.
func run(args []string, stdout, stderr io.Writer) error {
	var o options
	global := newFlagSet("meridian", &o, nil)
	global.Usage = func() {}
	if err := global.Parse(args); errors.Is(err, flag.ErrHelp) {
		printUsage(stdout)
		return nil
	} else if err != nil {
		return fmt.Errorf("%w\nrun 'meridian help' for usage", err)
	}
	rest := global.Args()
	if len(rest) == 0 {
		printUsage(stderr)
		return errors.New("no command given: run 'meridian help' to list them")
	}
	switch rest[0] {
	case "help":
		return help(rest[1:], stdout, stderr)
	case "dev":
		return runDev(rest[1:], stdout, stderr)
	case "gossip-key":
		return runGossipKey(rest[1:], stdout)
	}
	cmd, rest, err := lookup(rest)
	if err != nil {
		return err
	}
	fs := newFlagSet("meridian "+cmd.name, &o, cmd.flags)
	fs.Usage = func() {}
	pos, err := parseInterleaved(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		printCommand(stdout, cmd)
		return nil
	} else if err != nil {
		hint := ""
		if strings.Contains(err.Error(), "not defined") {
			hint = fmt.Sprintf("\nan argument that starts with - goes after --, as in: meridian %s -- -ARG", cmd.name)
		}
		return fmt.Errorf("%s: %w%s\nrun 'meridian help %s' for usage", cmd.name, err, hint, cmd.name)
	}
	if err := cmd.check(pos); err != nil {
		return err
	}
	e := newEnv(o, stdout, stderr, cmd.admin)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	return explain(cmd.run(ctx, e, pos), e.opts.addr)
}

// lookup finds the command args start with ("node leave" takes two words)
// and returns the arguments after it.
func lookup(args []string) (*command, []string, error) {
	name, rest := args[0], args[1:]
	if name == "node" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return nil, nil, errors.New("node: name what to do: 'meridian node leave' or 'meridian node remove ID'")
		}
		name, rest = "node "+rest[0], rest[1:]
	}
	for i := range commands {
		if commands[i].name == name {
			return &commands[i], rest, nil
		}
	}
	return nil, nil, fmt.Errorf("unknown command %q: run 'meridian help' to list the commands", name)
}

// newFlagSet returns a flag set with the global flags, and the command's
// own among json, context, context-only and force, writing into o.
func newFlagSet(name string, o *options, own []string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := os.Getenv("MERIDIAN_ADDR")
	if addr == "" {
		addr = defaultAddr
	}
	if o.addr != "" {
		addr = o.addr // set by the flags before the command
	}
	fs.StringVar(&o.addr, "addr", addr, "HTTP address `URL` of any node (default $MERIDIAN_ADDR, else "+defaultAddr+")")
	fs.StringVar(&o.consistency, "consistency", o.consistency,
		"how many replicas must answer, a `LEVEL`: ONE, QUORUM, ALL, LOCAL_ONE, LOCAL_QUORUM or EACH_QUORUM; LOCAL_SERIAL or SERIAL for strong keys (default: the node's, or a strong key's own)")
	fs.DurationVar(&o.timeout, "timeout", o.timeout, "how long to wait for the node, a duration `D` such as 5s (default 30s; 15m for node leave and remove)")
	for _, f := range own {
		switch f {
		case "json":
			fs.BoolVar(&o.json, "json", false, "print the node's JSON answer as it is")
		case "context":
			fs.StringVar(&o.context, "context", "", "the causal context `CTX` a read returned: supersede exactly what it saw (default: blind write)")
		case "context-only":
			fs.BoolVar(&o.contextOnly, "context-only", false, "print only the key's causal context, for a later --context")
		case "force":
			fs.BoolVar(&o.force, "force", false, "remove even when the node sees no more than half of the region alive: only when the others are gone for good")
		case "nx", "xx", "if-eq", "if-ne", "if-version":
			condFlags(fs, o, f)
		case "px":
			fs.Func("px", "strong keys: the value lapses after `MS` milliseconds (SET PX)", func(s string) error {
				n, err := strconv.ParseInt(s, 10, 64)
				if err != nil || n <= 0 {
					return errors.New("want a positive whole number of milliseconds, such as 30000")
				}
				o.px = n
				return nil
			})
		case "request-id":
			fs.StringVar(&o.requestID, "request-id", "", "strong keys: name the write `ID` (at most 64 bytes); a retry with the same ID is applied at most once (default: a new ID)")
		}
	}
	return fs
}

// condFlags defines the condition flag name of strong keys' writes.
func condFlags(fs *flag.FlagSet, o *options, name string) {
	add := func(opt client.CallOption) { o.conds = append(o.conds, condFlag{name: "--" + name, opt: opt}) }
	switch name {
	case "nx":
		fs.BoolFunc("nx", "strong keys: write only if KEY holds nothing (SET NX)", func(string) error { add(client.NX()); return nil })
	case "xx":
		fs.BoolFunc("xx", "strong keys: write only if KEY holds something (SET XX)", func(string) error { add(client.XX()); return nil })
	case "if-eq":
		fs.Func("if-eq", "strong keys: only if KEY holds the string `V` (SET IFEQ, DELEX IFEQ)", func(v string) error { add(client.IfEq([]byte(v))); return nil })
	case "if-ne":
		fs.Func("if-ne", "strong keys: only if KEY does not hold the string `V` (SET IFNE)", func(v string) error { add(client.IfNe([]byte(v))); return nil })
	case "if-version":
		fs.Func("if-version", "strong keys: only if KEY's version is `N` (what get shows; 0: never written)", func(v string) error {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return errors.New("want a version, a whole number such as 3")
			}
			add(client.IfVersion(n))
			return nil
		})
	}
}

// parseInterleaved parses flags anywhere among args and returns the other
// arguments in order. After "--" everything is an argument, and so is a
// negative number, so that `incr KEY -5` decrements.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(pos, args[i+1:]...), fs.Parse(flags)
		case a == "-" || !strings.HasPrefix(a, "-") || isNumber(a):
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if f := fs.Lookup(name); f != nil && !hasValue && !isBool(f) && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	if err := fs.Parse(flags); err != nil {
		return nil, err
	}
	return pos, nil
}

func isNumber(s string) bool {
	if len(s) < 2 || s[0] != '-' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// newEnv builds the client of the node o names.
func newEnv(o options, stdout, stderr io.Writer, admin bool) *env {
	if o.timeout == 0 {
		o.timeout = 30 * time.Second
		if admin {
			o.timeout = 15 * time.Minute
		}
	}
	if !strings.Contains(o.addr, "://") {
		o.addr = "http://" + o.addr
	}
	hc := &http.Client{Timeout: o.timeout}
	opts := []client.Option{client.WithHTTPClient(hc)}
	if o.consistency != "" {
		opts = append(opts, client.WithDefaultConsistency(client.Level(o.consistency)))
	}
	return &env{opts: o, c: client.New(o.addr, opts...), hc: hc, stdout: stdout, stderr: stderr}
}

// explain turns an error of a command into one that says what went wrong
// and what to do.
func explain(err error, addr string) error {
	var ce *client.Error
	var ue interface{ Timeout() bool }
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		msg := fmt.Sprintf("%s (HTTP %d)", ce.Message, ce.Status)
		if ce.Code != "" {
			msg = fmt.Sprintf("%s (%s, HTTP %d)", ce.Message, ce.Code, ce.Status)
		}
		switch {
		case ce.Code == "unknown_outcome" && ce.RequestID != "":
			msg += "\nthe write may have been applied: read the key before retrying it; on a strong key, retry the same command with --request-id " +
				ce.RequestID + " to apply it at most once in all"
		case ce.Code == "unknown_outcome":
			msg += "\nthe write may have been applied: read the key before retrying it"
		case ce.Code == "condition_failed":
			msg += "\nthe condition did not hold: nothing was written"
		case ce.Code == "unavailable":
			msg += "\ntoo few replicas are reachable: retry later, or pass a lower --consistency such as ONE"
		case ce.Code == "wrong_type":
			msg += "\nuse the commands of the key's type ('meridian get' shows it), or put/del to replace it"
		case ce.Code == "" && ce.Status == http.StatusNotFound:
			msg += "\nis " + addr + " a Meridian node's HTTP address?"
		}
		return errors.New(msg)
	case errors.As(err, &ue) && ue.Timeout() && client.RequestIDOf(err) != "":
		return fmt.Errorf("%w\nthe node at %s did not answer in time, and the write may have been applied: read the key before retrying it; on a strong key, retry the same command with --request-id %s to apply it at most once in all",
			err, addr, client.RequestIDOf(err))
	case errors.As(err, &ue) && ue.Timeout():
		return fmt.Errorf("%w\nthe node at %s did not answer in time: raise --timeout, or check the node", err, addr)
	case strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such host"):
		return fmt.Errorf("cannot reach a node at %s: %w\nis a node running there? point --addr or MERIDIAN_ADDR at a node's HTTP address", addr, err)
	}
	return err
}

// gossipKeyUsage is the help of meridian gossip-key.
const gossipKeyUsage = `Usage:
  meridian gossip-key > gossip.key

Prints a new random gossip key (32 bytes, base64). Every node of a cluster
reads the same key file (meridiand --gossip-key, default TLS-DIR/gossip.key):
the first key encrypts gossip, every key decrypts it. To rotate a key without
downtime, on every node in turn edit the file and send meridiand SIGHUP:
add the new key as a second line; then move it first; then remove the old one.`

// runGossipKey prints a new gossip key.
func runGossipKey(args []string, stdout io.Writer) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprintln(stdout, gossipKeyUsage)
		return nil
	}
	if len(args) > 0 {
		return fmt.Errorf("gossip-key takes no argument, got %q: run 'meridian help gossip-key'", args)
	}
	k, err := region.NewGossipKey()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, k)
	return err
}
