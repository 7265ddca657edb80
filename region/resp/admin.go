package resp

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	kvsync "github.com/meridiankv/meridian/sync"
)

// redisVersion is the Redis release whose replies the endpoint mimics, as
// HELLO and INFO report it to clients that choose features by version.
const redisVersion = "7.2.0"

func cmdPing(c *client, w *writer, args [][]byte) {
	switch len(args) {
	case 1:
		w.status("PONG")
	case 2:
		w.bulk(args[1])
	default:
		w.err(wrongArity("ping"))
	}
}

func cmdEcho(c *client, w *writer, args [][]byte) { w.bulk(args[1]) }

// cmdQuit replies OK and closes the connection once the reply is written.
func cmdQuit(c *client, w *writer, args [][]byte) {
	w.status("OK")
	c.quit = true
}

// cmdSelect accepts database 0 only: Meridian has one keyspace.
func cmdSelect(c *client, w *writer, args [][]byte) {
	switch n, ok := parseInt(args[1]); {
	case !ok:
		w.err(notInteger)
	case n != 0:
		w.err("ERR DB index is out of range")
	default:
		w.status("OK")
	}
}

// cmdHello: HELLO [protover [SETNAME name]]. Only RESP2 is spoken: HELLO 3
// gets NOPROTO, on which clients such as go-redis fall back to RESP2.
func cmdHello(c *client, w *writer, args [][]byte) {
	if len(args) > 1 {
		v, ok := parseInt(args[1])
		if !ok {
			w.err("ERR Protocol version is not an integer or out of range")
			return
		}
		if v != 2 {
			w.err("NOPROTO unsupported protocol version")
			return
		}
	}
	name := c.name
	for i := 2; i < len(args); i++ {
		switch opt := strings.ToUpper(string(args[i])); {
		case opt == "SETNAME" && i+1 < len(args):
			if !validName(args[i+1]) {
				w.err("ERR Client names cannot contain spaces, newlines or special characters.")
				return
			}
			name, i = string(args[i+1]), i+1
		case opt == "AUTH" && i+2 < len(args):
			w.err("ERR AUTH is not supported by Meridian: it has no users or passwords")
			return
		default:
			w.err(fmt.Sprintf("ERR Syntax error in HELLO option '%s'", clip(args[i], 128)))
			return
		}
	}
	c.name = name
	w.array(14)
	w.bulkString("server")
	w.bulkString("meridian")
	w.bulkString("version")
	w.bulkString(redisVersion)
	w.bulkString("proto")
	w.int(2)
	w.bulkString("id")
	w.int(c.id)
	w.bulkString("mode")
	w.bulkString("standalone")
	w.bulkString("role")
	w.bulkString("master")
	w.bulkString("modules")
	w.array(0)
}

// cmdClient: CLIENT SETNAME, GETNAME, SETINFO, ID, INFO.
func cmdClient(c *client, w *writer, args [][]byte) {
	sub := strings.ToLower(string(args[1]))
	want := map[string]int{"setname": 3, "getname": 2, "setinfo": 4, "id": 2, "info": 2}
	switch n, ok := want[sub]; {
	case !ok:
		w.err(unknownSubcommand(args[1], "CLIENT"))
	case len(args) != n:
		w.err(wrongArity("client|" + sub))
	case sub == "setname" && !validName(args[2]):
		w.err("ERR Client names cannot contain spaces, newlines or special characters.")
	case sub == "setname":
		c.name = string(args[2])
		w.status("OK")
	case sub == "getname" && c.name == "":
		w.null()
	case sub == "getname":
		w.bulkString(c.name)
	case sub == "setinfo":
		c.setInfo(w, strings.ToLower(string(args[2])), args[3])
	case sub == "id":
		w.int(c.id)
	default:
		w.bulkString(c.info())
	}
}

func (c *client) setInfo(w *writer, attr string, value []byte) {
	switch {
	case attr != "lib-name" && attr != "lib-ver":
		w.err(fmt.Sprintf("ERR Unrecognized option '%s'", attr))
	case !validName(value):
		w.err("ERR " + attr + " cannot contain spaces, newlines or special characters.")
	case attr == "lib-name":
		c.libName = string(value)
		w.status("OK")
	default:
		c.libVer = string(value)
		w.status("OK")
	}
}

// info returns the connection's line of CLIENT INFO.
func (c *client) info() string {
	now := time.Now()
	return fmt.Sprintf("id=%d addr=%s laddr=%s name=%s age=%d idle=%d flags=N db=0 resp=2 cmd=client|info lib-name=%s lib-ver=%s\n",
		c.id, c.nc.RemoteAddr(), c.nc.LocalAddr(), c.name,
		int64(now.Sub(c.created).Seconds()), int64(now.Sub(c.active).Seconds()), c.libName, c.libVer)
}

// validName reports whether a client name holds printable ASCII only, no
// space, as Redis requires.
func validName(b []byte) bool {
	return !slices.ContainsFunc(b, func(ch byte) bool { return ch < '!' || ch > '~' })
}

// cmdConfig: CONFIG GET pattern [pattern ...], over the few parameters
// tools ask about (redis-benchmark reads save and appendonly).
func cmdConfig(c *client, w *writer, args [][]byte) {
	switch sub := strings.ToLower(string(args[1])); {
	case sub == "get" && len(args) < 3:
		w.err(wrongArity("config|get"))
	case sub == "get":
		c.configGet(w, args[2:])
	case sub == "set" || sub == "resetstat" || sub == "rewrite":
		w.err("ERR CONFIG " + strings.ToUpper(sub) + " is not supported by Meridian: configure the node instead")
	default:
		w.err(unknownSubcommand(args[1], "CONFIG"))
	}
}

func (c *client) configGet(w *writer, patterns [][]byte) {
	cfg := c.srv.cfg
	params := []InfoField{
		{"appendonly", "no"},
		{"databases", "1"},
		{"maxclients", strconv.Itoa(cfg.MaxConns)},
		{"proto-max-bulk-len", strconv.Itoa(cfg.MaxRequestSize)},
		{"save", ""},
		{"timeout", strconv.Itoa(int(cfg.IdleTimeout.Seconds()))},
	}
	var out []InfoField
	for _, p := range params {
		if slices.ContainsFunc(patterns, func(pat []byte) bool {
			ok, _ := path.Match(strings.ToLower(string(pat)), p.Key)
			return ok
		}) {
			out = append(out, p)
		}
	}
	w.array(2 * len(out))
	for _, p := range out {
		w.bulkString(p.Key)
		w.bulkString(p.Value)
	}
}

// cmdCommand: COMMAND, COMMAND COUNT, DOCS, INFO, LIST. The endpoint does
// not describe its commands: DOCS and COMMAND are empty, which redis-cli
// takes as "use the built-in help".
func cmdCommand(c *client, w *writer, args [][]byte) {
	sub := ""
	if len(args) > 1 {
		sub = strings.ToLower(string(args[1]))
	}
	switch sub {
	case "", "docs":
		w.array(0)
	case "count":
		w.int(int64(len(commands)))
	case "info":
		w.array(len(args) - 2)
		for range args[2:] {
			w.array(-1)
		}
	case "list":
		names := slices.Sorted(func(yield func(string) bool) {
			for n := range commands {
				if !yield(n) {
					return
				}
			}
		})
		w.array(len(names))
		for _, n := range names {
			w.bulkString(n)
		}
	default:
		w.err(unknownSubcommand(args[1], "COMMAND"))
	}
}

// cmdConsistency: CONSISTENCY [READ|WRITE] [level|DEFAULT]. With no
// argument it shows the connection's levels; with a level alone it sets
// both. A level applies to every key the connection touches: the serial
// levels to strong keys only, the others to eventual keys only; DEFAULT
// lets each key use its own (the Backend's default, or a strong key's
// serial level).
func cmdConsistency(c *client, w *writer, args [][]byte) {
	switch len(args) {
	case 1:
		w.status("read=" + shown(c.readLevel) + " write=" + shown(c.writeLevel))
		return
	case 2, 3:
	default:
		w.err(wrongArity("consistency"))
		return
	}
	which := "" // both
	if len(args) == 3 {
		which = strings.ToUpper(string(args[1]))
	}
	l, err := parseLevel(args[len(args)-1])
	switch {
	case len(args) == 3 && which != "READ" && which != "WRITE":
		w.err("ERR syntax error: use CONSISTENCY [READ|WRITE] <level>")
	case err != nil:
		w.err(badLevel(args[len(args)-1]))
	default:
		if which != "WRITE" {
			c.readLevel = l
		}
		if which != "READ" {
			c.writeLevel = l
		}
		w.status("OK")
	}
}

// parseLevel parses CONSISTENCY's level: a level's name, or DEFAULT, which
// is zero: the Backend's default for an eventual key, and its own serial
// level for a strong one.
func parseLevel(arg []byte) (kvsync.Level, error) {
	if strings.EqualFold(string(arg), "DEFAULT") {
		return 0, nil
	}
	return kvsync.ParseLevel(string(arg))
}

// shown names a connection's level, zero being the default.
func shown(l kvsync.Level) string {
	if l == 0 {
		l = kvsync.DefaultLevel
	}
	return l.String()
}

// badLevel returns the error for an unknown level, listing the valid ones.
func badLevel(arg []byte) string {
	var names []string
	for l := kvsync.Level(1); l.Valid(); l++ {
		names = append(names, l.String())
	}
	return fmt.Sprintf("ERR unknown consistency level '%s': use one of %s, or DEFAULT", clip(arg, 64), strings.Join(names, ", "))
}
