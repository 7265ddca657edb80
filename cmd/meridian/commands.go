package main

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/meridiankv/meridian/client"
)

// command is one subcommand of meridian.
type command struct {
	name     string // "get", or two words: "node leave"
	args     string // its arguments, for the usage line
	summary  string
	detail   string
	examples []string
	flags    []string // its own flags: json, context, context-only, force, and those of strong keys (newFlagSet)
	min, max int      // how many arguments; max -1 for any number
	admin    bool     // changes the region: a longer default timeout
	run      func(ctx context.Context, e *env, args []string) error
}

var commands = []command{
	{
		name: "get", args: "KEY", min: 1, max: 1, flags: []string{"json", "context-only"},
		summary: "read a key: a register's value, a set's members, a counter",
		detail: "Prints a register's value, a set's members one a line, or a counter's value. When concurrent\n" +
			"writes left several values, it prints the one that wins and says so on stderr: see them all\n" +
			"with 'meridian inspect KEY'. Of a strong key it prints the version on stderr (and when a value\n" +
			"written with --px lapses): the N of 'put --if-version N'. A key that holds nothing is an\n" +
			"error, except with --json or --context-only, which print its context: the one to write it with.",
		examples: []string{
			"meridian get greeting",
			"meridian get --json greeting",
			"ctx=$(meridian get --context-only greeting)   # then: meridian put --context \"$ctx\" greeting hi",
			"meridian get lock:report                      # strong: stderr says 'strong key, version 3, ...'",
		},
		run: runGet,
	},
	{
		name: "put", args: "KEY VALUE", min: 2, max: 2, flags: []string{"context", "nx", "xx", "if-eq", "if-ne", "if-version", "px", "request-id"},
		summary: "write a register value (--context CTX: supersede what you read; strong keys: --nx, --px MS, ...)",
		detail: "Writes VALUE, replacing whatever KEY holds. With --context, the write supersedes exactly what\n" +
			"the read that returned CTX saw: the concurrent values it read collapse into this one, and a\n" +
			"write it had not seen survives beside it. Without, the write is blind.\n\n" +
			"On a strong key (meridiand --strong) the write may carry one condition, --nx, --xx, --if-eq V,\n" +
			"--if-ne V or --if-version N, and --px MS: when the condition does not hold, nothing is written\n" +
			"and the command fails, naming what KEY holds. The node refuses these on an eventual key.",
		examples: []string{
			"meridian put greeting hello",
			"meridian put --context \"$(meridian get --context-only greeting)\" greeting 'hello again'",
			"meridian put --consistency ALL config/mode -- -strict",
			"meridian put --nx --px 30000 lock:report worker-1   # a lock for 30 s; fails while another holds it",
			"meridian put --if-version 3 acct:42 100              # only if no one wrote since version 3",
		},
		run: runPut,
	},
	{
		name: "del", args: "KEY", min: 1, max: 1, flags: []string{"context", "if-eq", "if-ne", "if-version", "request-id"},
		summary: "delete a key (--context CTX: delete only what you read; strong keys: --if-eq V, ...)",
		detail: "Deletes whatever KEY holds. With --context, only what the read that returned CTX saw: a write\n" +
			"concurrent with the delete survives it. On a strong key it may carry one condition, --if-eq V,\n" +
			"--if-ne V or --if-version N (DELEX): when it does not hold, nothing is deleted and the command\n" +
			"fails, naming what KEY holds.",
		examples: []string{"meridian del greeting", "meridian del --if-eq worker-1 lock:report   # release the lock only if it is still yours"},
		run:      runDel,
	},
	{
		name: "incr", args: "KEY [BY]", min: 1, max: 2, flags: []string{"request-id"},
		summary: "add BY (default 1, may be negative) to a counter",
		detail: "Adds BY to the counter at KEY, creating it at 0, and prints its new value. If the node answers\n" +
			"that the outcome is unknown, the increment may have been applied: read before retrying. On a\n" +
			"strong key the error names the write's request id: the same command with --request-id ID is\n" +
			"then applied at most once in all (the key remembers its latest 16 writes' ids).",
		examples: []string{"meridian incr visits", "meridian incr stock -5", "meridian incr acct:42 5 --request-id 4f2a9c"},
		run:      runIncr,
	},
	{
		name: "sadd", args: "KEY MEMBER...", min: 2, max: -1, flags: []string{"request-id"},
		summary:  "add members to a set",
		detail:   "Adds the members to the set at KEY, creating it, and prints how many were new.",
		examples: []string{"meridian sadd tags red green"},
		run:      func(ctx context.Context, e *env, a []string) error { return runSet(ctx, e, a, true) },
	},
	{
		name: "srem", args: "KEY MEMBER...", min: 2, max: -1, flags: []string{"request-id"},
		summary:  "remove members from a set",
		detail:   "Removes the members from the set at KEY and prints how many were in it. An add concurrent with\nthe remove survives it (add wins).",
		examples: []string{"meridian srem tags red"},
		run:      func(ctx context.Context, e *env, a []string) error { return runSet(ctx, e, a, false) },
	},
	{
		name: "smembers", args: "KEY", min: 1, max: 1,
		summary:  "list a set's members",
		detail:   "Prints the members of the set at KEY, sorted, one a line.",
		examples: []string{"meridian smembers tags"},
		run:      runSMembers,
	},
	{
		name: "inspect", args: "KEY", min: 1, max: 1, flags: []string{"json"},
		summary: "every concurrent value, which wins and why, each replica's state",
		detail: "Shows everything the replicas of KEY hold: each concurrent value (sibling) with the id of the\n" +
			"write that made it (node:counter), the node it came from and its hybrid logical clock time;\n" +
			"which one a reader sees and why; a set's members and a counter's per-node shares; the causal\n" +
			"context; and what each replica holds, whether it agrees with the merged state, or why it did\n" +
			"not answer.",
		examples: []string{"meridian inspect greeting", "meridian inspect --json greeting"},
		run:      runInspect,
	},
	{
		name: "cluster", min: 0, max: 0, flags: []string{"json"},
		summary: "the region's members and the other regions",
		detail: "Lists the members of the region as the node at --addr sees them: state, addresses, the share of\n" +
			"the key space each is primary for, and the hinted writes waiting for each. Then, for each other\n" +
			"region the node knows: whether the link to it works and when it was last heard from, the node's\n" +
			"replication to it (the age of the oldest write owed, the writes and bytes owed, the writes\n" +
			"shipped and those given up on), and its nodes with their status and health as their own region\n" +
			"reports them.",
		examples: []string{"meridian cluster", "meridian --addr http://10.0.0.2:8080 cluster --json"},
		run:      runCluster,
	},
	{
		name: "diff", args: "REGION_A REGION_B", min: 2, max: 2, flags: []string{"json"},
		summary: "compare two regions and list the keys that differ",
		detail: "Asks every node of REGION_A to compare the keys it is the primary owner of with their primary\n" +
			"owners in REGION_B, over the same Merkle trees anti-entropy between regions uses, as a dry\n" +
			"run that repairs nothing, and lists the keys held in one region only and those held in both\n" +
			"in different states, then a summary line. --addr may be any node that knows both regions.\n" +
			"Writes still on their way between the regions show up as differences; a comparison a node\n" +
			"could not make is listed on stderr and makes the command fail.",
		examples: []string{"meridian diff r1 r2", "meridian --addr http://127.0.2.1:8080 diff r1 r2 --json"},
		run:      runDiff,
	},
	{
		name: "node leave", min: 0, max: 0, admin: true,
		summary:  "ask the node at --addr to hand its data off and leave",
		detail:   "Asks the node at --addr to hand its data off to the nodes taking over its ranges and to leave\nthe region. It waits until the node has left; the default --timeout is 15m.",
		examples: []string{"meridian --addr http://10.0.0.3:8080 node leave"},
		run:      runLeave,
	},
	{
		name: "node remove", args: "ID", min: 1, max: 1, admin: true, flags: []string{"force"},
		summary: "remove a dead node for good (--force: even from a minority)",
		detail: "Removes the dead node ID from the region; the survivors re-replicate its data. A live node\n" +
			"is refused: ask it to leave with 'meridian node leave' instead. So is a removal asked of a node\n" +
			"that sees no more than half of the region alive: it may be on the minority side of a\n" +
			"partition, whose removals would take the majority out of the ring. Heal the partition, or pass\n" +
			"--force if the other members are gone for good.",
		examples: []string{"meridian node remove n3", "meridian --addr http://10.0.0.1:8080 node remove --force n2   # n2 and n3 of 3 are gone for good"},
		run:      runRemove,
	},
}

// check reports a wrong number of arguments with the usage line.
func (c *command) check(args []string) error {
	var what string
	switch {
	case len(args) < c.min:
		what = "missing arguments"
	case c.max >= 0 && len(args) > c.max:
		what = fmt.Sprintf("too many arguments (%d)", len(args))
	default:
		return nil
	}
	return fmt.Errorf("%s: %s\nusage: meridian %s %s\nrun 'meridian help %s' for flags and examples", c.name, what, c.name, c.args, c.name)
}

func runGet(ctx context.Context, e *env, args []string) error {
	key := args[0]
	if e.opts.json {
		return e.printJSON(ctx, "/v1/kv/"+url.PathEscape(key), true)
	}
	v, err := e.c.Get(ctx, key)
	if err != nil {
		return err
	}
	switch {
	case e.opts.contextOnly && v.Strong:
		return fmt.Errorf("key %q is strong: it has no causal context; write it conditionally with --if-version %d (its version) instead", key, v.Version)
	case e.opts.contextOnly:
		fmt.Fprintln(e.stdout, v.Context)
	case v.Type == client.TypeNone && v.Strong:
		return fmt.Errorf("key %q holds nothing: it was never written, was deleted or lapsed (strong key, version %d)", key, v.Version)
	case v.Type == client.TypeNone:
		return fmt.Errorf("key %q holds nothing: it was never written, or was deleted", key)
	case v.Type == client.TypeRegister:
		e.stdout.Write(append(v.Value, '\n'))
		if v.Siblings > 1 {
			fmt.Fprintf(e.stderr, "note: %q holds %d concurrent values; this is the one that wins. See all of them: meridian inspect %s\n", key, v.Siblings, key)
		}
	case v.Type == client.TypeSet:
		for _, m := range v.Members {
			fmt.Fprintln(e.stdout, m)
		}
	case v.Type == client.TypeCounter:
		fmt.Fprintln(e.stdout, v.Count)
	}
	if v.Strong {
		fmt.Fprintln(e.stderr, strongNote(v))
	}
	return nil
}

func runPut(ctx context.Context, e *env, args []string) error {
	opts, err := e.writeOpts()
	if err != nil {
		return fmt.Errorf("put: %w", err)
	}
	v, err := e.c.Put(ctx, args[0], []byte(args[1]), append(opts, client.WithContext(e.opts.context))...)
	if err != nil {
		return e.conditionFailed("not written", args[0], err)
	}
	fmt.Fprintln(e.stdout, "OK")
	if v.Strong {
		fmt.Fprintln(e.stderr, strongNote(v))
	}
	if v.Siblings > 1 {
		fmt.Fprintf(e.stderr, "note: %q still holds %d concurrent values: writes this one had not seen. To replace them all:\n  meridian put --context \"$(meridian get --context-only %s)\" %s VALUE\n",
			args[0], v.Siblings, args[0], args[0])
	}
	return nil
}

func runDel(ctx context.Context, e *env, args []string) error {
	opts, err := e.writeOpts()
	if err != nil {
		return fmt.Errorf("del: %w", err)
	}
	deleted, err := e.c.Delete(ctx, args[0], append(opts, client.WithContext(e.opts.context))...)
	if err != nil {
		return e.conditionFailed("not deleted", args[0], err)
	}
	if deleted {
		fmt.Fprintln(e.stdout, "deleted")
	} else {
		fmt.Fprintf(e.stdout, "nothing to delete: %q held no value\n", args[0])
	}
	return nil
}

func runIncr(ctx context.Context, e *env, args []string) error {
	by := int64(1)
	if len(args) == 2 {
		var err error
		if by, err = strconv.ParseInt(args[1], 10, 64); err != nil {
			return fmt.Errorf("incr: BY must be a whole number, such as 5 or -2, not %q", args[1])
		}
	}
	opts, _ := e.writeOpts() // incr has no condition flag
	n, err := e.c.Incr(ctx, args[0], by, opts...)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, n)
	return nil
}

func runSet(ctx context.Context, e *env, args []string, add bool) error {
	op, verb := e.c.SRem, "removed"
	if add {
		op, verb = e.c.SAdd, "added"
	}
	opts, _ := e.writeOpts() // sadd and srem have no condition flag
	n, err := op(ctx, args[0], args[1:], opts...)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, verb, n)
	return nil
}

func runSMembers(ctx context.Context, e *env, args []string) error {
	members, err := e.c.SMembers(ctx, args[0])
	if err != nil {
		return err
	}
	for _, m := range members {
		fmt.Fprintln(e.stdout, m)
	}
	return nil
}

func runLeave(ctx context.Context, e *env, _ []string) error {
	if err := e.c.Leave(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "the node at %s handed its data off and left the region\n", e.opts.addr)
	return nil
}

func runRemove(ctx context.Context, e *env, args []string) error {
	var opts []client.CallOption
	if e.opts.force {
		opts = append(opts, client.WithForce())
	}
	if err := e.c.Remove(ctx, args[0], opts...); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed node %s: the others re-replicate its data\n", args[0])
	return nil
}
