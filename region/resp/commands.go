package resp

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
)

// flags say how a command touches keys.
type flags uint8

const (
	fRead    flags = 1 << iota // reads its keys through the Backend
	fWrite                     // writes its keys through the Backend
	fInMulti                   // runs after a refused MULTI, which refuses every other command (multi.go)
)

// command is one entry of the command table.
type command struct {
	name  string // lower case, as error replies print it
	arity int    // Redis's convention: n arguments exactly, or -n at least n; the name counts
	flags flags
	// Keys are args[first], args[first+step], ... up to args[last]; last -1
	// means the last argument. first 0 means no keys.
	first, last, step int
	run               func(c *client, w *writer, args [][]byte)
}

// commands maps lower-case names to commands. It is filled by init, since
// COMMAND COUNT reads it.
var commands map[string]*command

func init() {
	table := []command{
		{name: "get", arity: 2, flags: fRead, first: 1, last: 1, step: 1, run: cmdGet},
		{name: "set", arity: -3, flags: fWrite, first: 1, last: 1, step: 1, run: cmdSet},
		{name: "del", arity: -2, flags: fWrite, first: 1, last: -1, step: 1, run: cmdDel},
		{name: "delex", arity: -2, flags: fWrite, first: 1, last: 1, step: 1, run: cmdDelEx},
		{name: "delifeq", arity: 3, flags: fWrite, first: 1, last: 1, step: 1, run: cmdDelIfEq},
		{name: "exists", arity: -2, flags: fRead, first: 1, last: -1, step: 1, run: cmdExists},
		{name: "mget", arity: -2, flags: fRead, first: 1, last: -1, step: 1, run: cmdMGet},
		{name: "mset", arity: -3, flags: fWrite, first: 1, last: -1, step: 2, run: cmdMSet},
		{name: "incr", arity: 2, flags: fWrite, first: 1, last: 1, step: 1, run: cmdIncr},
		{name: "incrby", arity: 3, flags: fWrite, first: 1, last: 1, step: 1, run: cmdIncrBy},
		{name: "decr", arity: 2, flags: fWrite, first: 1, last: 1, step: 1, run: cmdDecr},
		{name: "decrby", arity: 3, flags: fWrite, first: 1, last: 1, step: 1, run: cmdDecrBy},
		{name: "type", arity: 2, flags: fRead, first: 1, last: 1, step: 1, run: cmdType},
		{name: "sadd", arity: -3, flags: fWrite, first: 1, last: 1, step: 1, run: cmdSAdd},
		{name: "srem", arity: -3, flags: fWrite, first: 1, last: 1, step: 1, run: cmdSRem},
		{name: "smembers", arity: 2, flags: fRead, first: 1, last: 1, step: 1, run: cmdSMembers},
		{name: "sismember", arity: 3, flags: fRead, first: 1, last: 1, step: 1, run: cmdSIsMember},
		{name: "scard", arity: 2, flags: fRead, first: 1, last: 1, step: 1, run: cmdSCard},
		{name: "ping", arity: -1, run: cmdPing},
		{name: "echo", arity: 2, run: cmdEcho},
		{name: "quit", arity: -1, flags: fInMulti, run: cmdQuit},
		{name: "select", arity: 2, run: cmdSelect},
		{name: "hello", arity: -1, run: cmdHello},
		{name: "client", arity: -2, run: cmdClient},
		{name: "config", arity: -2, run: cmdConfig},
		{name: "command", arity: -1, run: cmdCommand},
		{name: "info", arity: -1, run: cmdInfo},
		{name: "consistency", arity: -1, run: cmdConsistency},
		{name: "multi", arity: 1, flags: fInMulti, run: cmdMulti},
		{name: "exec", arity: 1, flags: fInMulti, run: cmdExec},
		{name: "discard", arity: 1, flags: fInMulti, run: cmdDiscard},
		{name: "watch", arity: -2, run: cmdWatch},
		{name: "unwatch", arity: 1, run: cmdUnwatch},
	}
	commands = make(map[string]*command, len(table))
	for i := range table {
		commands[table[i].name] = &table[i]
	}
}

// lookup returns the command named name, in any case, or nil.
func lookup(name []byte) *command {
	var buf [16]byte
	if len(name) > len(buf) {
		return nil
	}
	for i, ch := range name {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		buf[i] = ch
	}
	return commands[string(buf[:len(name)])]
}

func (cmd *command) arityOK(n int) bool {
	if cmd.arity < 0 {
		return n >= -cmd.arity
	}
	return n == cmd.arity
}

// keys returns the key positions of a request: first, last and step.
func (r request) keys() (first, last, step int) {
	if r.cmd == nil || r.cmd.first == 0 || !r.cmd.arityOK(len(r.args)) {
		return 0, -1, 1
	}
	last = r.cmd.last
	if last < 0 {
		last = len(r.args) - 1
	}
	return r.cmd.first, last, r.cmd.step
}

// maxGroupKeys bounds the keys of a group of requests run concurrently, and
// so the cost of checking a request against the group.
const maxGroupKeys = 256

// groupEnd returns the end of the group of requests starting at batch[i]
// that can run concurrently: consecutive requests that go to the Backend
// and where none writes a key another one reads or writes. Every other
// request (local ones such as CONSISTENCY, errors) runs alone, in order.
func groupEnd(batch []request, i int) int {
	keys := 0
	j := i
	for ; j < len(batch); j++ {
		r := batch[j]
		first, last, step := r.keys()
		n := (last-first)/step + 1
		if first == 0 || r.cmd.flags&(fRead|fWrite) == 0 || keys+n > maxGroupKeys && j > i || j > i && conflicts(batch[i:j], r) {
			break
		}
		keys += n
	}
	return max(j, i+1)
}

// conflicts reports whether r touches a key a request of g touches, with
// one of them writing it.
func conflicts(g []request, r request) bool {
	rf, rl, rs := r.keys()
	for _, q := range g {
		qf, ql, qs := q.keys()
		if q.cmd.flags&fWrite == 0 && r.cmd.flags&fWrite == 0 {
			continue
		}
		for a := rf; a <= rl; a += rs {
			for b := qf; b <= ql; b += qs {
				if string(r.args[a]) == string(q.args[b]) {
					return true
				}
			}
		}
	}
	return false
}

// The replies for errors Redis has a text of its own for.
const (
	wrongType   = "WRONGTYPE Operation against a key holding the wrong kind of value"
	overflow    = "ERR increment or decrement would overflow"
	notInteger  = "ERR value is not an integer or out of range"
	syntaxError = "ERR syntax error"
)

// errorText returns the error reply for an error of the Backend: Redis's
// texts for a wrong type, an overflow and INCR of a string that is not an
// integer, and otherwise "ERR " and the error's text intact, which says
// whether a write may have been applied.
func errorText(err error) string {
	switch {
	case errors.Is(err, crdt.ErrWrongType):
		return wrongType
	case errors.Is(err, crdt.ErrOverflow):
		return overflow
	case errors.Is(err, kvsync.ErrNotInteger):
		return notInteger
	case errors.Is(err, context.Canceled):
		return "ERR connection closing: the outcome of the request is unknown"
	}
	return "ERR " + err.Error()
}

// wrongArity returns Redis's reply to a wrong number of arguments.
func wrongArity(name string) string {
	return "ERR wrong number of arguments for '" + name + "' command"
}

// unknownCommand returns Redis's reply to an unknown command: the name and
// the first 128 bytes or so of its arguments, quoted.
func unknownCommand(args [][]byte) string {
	var b strings.Builder
	for _, a := range args[1:] {
		if b.Len() >= 128 {
			break
		}
		fmt.Fprintf(&b, "'%s' ", clip(a, 128-b.Len()))
	}
	return fmt.Sprintf("ERR unknown command '%s', with args beginning with: %s", clip(args[0], 128), b.String())
}

// unknownSubcommand returns Redis's reply to an unknown subcommand.
func unknownSubcommand(sub []byte, cmd string) string {
	return fmt.Sprintf("ERR unknown subcommand '%s'. Try %s HELP.", clip(sub, 128), cmd)
}

func clip(b []byte, n int) []byte { return b[:min(len(b), n)] }
