package resp_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
)

// step is one command and the reply go-redis's Do should return: want, or
// the error text err.
type step struct {
	args []any
	want any
	err  string
}

// runSteps sends each step's command in order on rdb, reporting each
// answer that differs.
func runSteps(t *testing.T, rdb *redis.Client, steps []step) {
	t.Helper()
	for i, s := range steps {
		got, err := rdb.Do(t.Context(), s.args...).Result()
		switch {
		case s.err != "" && (err == nil || err.Error() != s.err):
			t.Errorf("step %d %q: got %#v, %v; want error %q", i, s.args, got, err, s.err)
		case s.err == "" && err != nil:
			t.Errorf("step %d %q: error %v; want %#v", i, s.args, err, s.want)
		case s.err == "" && !reflect.DeepEqual(got, s.want):
			t.Errorf("step %d %q: got %#v; want %#v", i, s.args, got, s.want)
		}
	}
}

func ok(args ...any) step { return step{args: args, want: "OK"} }

func is(want any, args ...any) step { return step{args: args, want: want} }

func fails(err string, args ...any) step { return step{args: args, err: err} }

func null(args ...any) step { return step{args: args, err: redis.Nil.Error()} }

type list = []any

const (
	wrongType  = "WRONGTYPE Operation against a key holding the wrong kind of value"
	notInteger = "ERR value is not an integer or out of range"
)

func TestCommands(t *testing.T) {
	tests := []struct {
		name  string
		fail  map[string]error // errors the fake backend returns, by key
		steps []step
	}{
		{"ping", nil, []step{is("PONG", "PING"), is("hi", "ping", "hi"), fails("ERR wrong number of arguments for 'ping' command", "PING", "a", "b")}},
		{"echo", nil, []step{is("hi", "ECHO", "hi"), fails("ERR wrong number of arguments for 'echo' command", "ECHO")}},
		{"names are case-insensitive", nil, []step{ok("sEt", "k", "v"), is("v", "get", "k"), is("v", "GET", "k")}},
		{"set get", nil, []step{ok("SET", "k", "v"), is("v", "GET", "k"), null("GET", "missing"), ok("SET", "k", ""), is("", "GET", "k")}},
		{"set options refused", nil, []step{
			fails("ERR SET option KEEPTTL is not supported by Meridian: a SET without PX or EX clears the expiry, as in Redis; give PX again", "SET", "k", "v", "KEEPTTL"),
			fails("ERR SET option GET is not supported by Meridian: read the key with GET first, or make the write conditional with IFEQ", "SET", "k", "v", "GET"),
			fails("ERR syntax error", "SET", "k", "v", "BOGUS"),
			null("GET", "k"),
		}},
		{"set replaces a counter and a set", nil, []step{
			is(int64(1), "INCR", "c"), ok("SET", "c", "v"), is("v", "GET", "c"),
			is(int64(1), "SADD", "s", "m"), ok("SET", "s", "v"), is("string", "TYPE", "s"),
		}},
		{"get a counter or a set", nil, []step{
			is(int64(5), "INCRBY", "c", "5"), is("5", "GET", "c"),
			is(int64(1), "SADD", "s", "m"), fails(wrongType, "GET", "s"),
		}},
		{"del", nil, []step{ok("SET", "a", "1"), ok("SET", "b", "2"), is(int64(2), "DEL", "a", "b", "c", "a"), null("GET", "a"), is(int64(0), "DEL", "a")}},
		{"exists", nil, []step{ok("SET", "a", "1"), is(int64(1), "SADD", "s", "m"), is(int64(3), "EXISTS", "a", "b", "a", "s"), is(int64(0), "EXISTS", "b")}},
		{"mget", nil, []step{
			ok("SET", "a", "1"), is(int64(7), "INCRBY", "c", "7"), is(int64(1), "SADD", "s", "m"),
			is(list{"1", nil, "7", nil, "1"}, "MGET", "a", "b", "c", "s", "a"),
		}},
		{"mset", nil, []step{
			ok("MSET", "a", "1", "b", "2", "a", "3"), is(list{"3", "2"}, "MGET", "a", "b"),
			fails("ERR wrong number of arguments for 'mset' command", "MSET", "a", "1", "b"),
		}},
		{"incr decr", nil, []step{
			is(int64(1), "INCR", "n"), is(int64(2), "INCR", "n"), is(int64(12), "INCRBY", "n", "10"),
			is(int64(11), "DECR", "n"), is(int64(-4), "DECRBY", "n", "15"), is(int64(-4), "INCRBY", "n", "0"), fails(notInteger, "INCRBY", "n", "-0"),
		}},
		{"incr argument not an integer", nil, []step{
			fails(notInteger, "INCRBY", "n", "x"), fails(notInteger, "INCRBY", "n", "1.5"),
			fails(notInteger, "INCRBY", "n", "01"), fails(notInteger, "INCRBY", "n", "+1"),
			fails(notInteger, "DECRBY", "n", " 1"), fails(notInteger, "INCRBY", "n", "9223372036854775808"),
			fails("ERR decrement would overflow", "DECRBY", "n", "-9223372036854775808"),
			null("GET", "n"),
		}},
		{"incr overflow", nil, []step{
			is(int64(9223372036854775807), "INCRBY", "n", "9223372036854775807"),
			fails("ERR increment or decrement would overflow", "INCR", "n"),
			is("9223372036854775807", "GET", "n"),
		}},
		{"incr on a register or a set", nil, []step{
			ok("SET", "k", "1"), fails(wrongType, "INCR", "k"),
			is(int64(1), "SADD", "s", "m"), fails(wrongType, "DECRBY", "s", "2"),
		}},
		{"sadd srem", nil, []step{
			is(int64(2), "SADD", "s", "a", "b", "a"), is(int64(1), "SADD", "s", "a", "c"),
			is(int64(1), "SREM", "s", "a", "x"), is(int64(0), "SREM", "missing", "a"),
			is(list{"b", "c"}, "SMEMBERS", "s"),
		}},
		{"set reads", nil, []step{
			is(int64(2), "SADD", "s", "b", "a"),
			is(list{"a", "b"}, "SMEMBERS", "s"), is(list{}, "SMEMBERS", "missing"),
			is(int64(1), "SISMEMBER", "s", "a"), is(int64(0), "SISMEMBER", "s", "z"), is(int64(0), "SISMEMBER", "missing", "a"),
			is(int64(2), "SCARD", "s"), is(int64(0), "SCARD", "missing"),
		}},
		{"set commands on a string", nil, []step{
			ok("SET", "k", "v"), is(int64(1), "INCR", "c"),
			fails(wrongType, "SADD", "k", "m"), fails(wrongType, "SREM", "k", "m"), fails(wrongType, "SMEMBERS", "k"),
			fails(wrongType, "SISMEMBER", "c", "m"), fails(wrongType, "SCARD", "c"),
		}},
		{"type", nil, []step{
			ok("SET", "r", "v"), is(int64(1), "INCR", "c"), is(int64(1), "SADD", "s", "m"),
			is("string", "TYPE", "r"), is("string", "TYPE", "c"), is("set", "TYPE", "s"), is("none", "TYPE", "x"),
		}},
		{"wrong arity", nil, []step{
			fails("ERR wrong number of arguments for 'get' command", "GET"),
			fails("ERR wrong number of arguments for 'get' command", "get", "a", "b"),
			fails("ERR wrong number of arguments for 'sadd' command", "SADD", "s"),
			fails("ERR wrong number of arguments for 'incrby' command", "INCRBY", "n"),
			fails("ERR wrong number of arguments for 'del' command", "DEL"),
		}},
		{"unknown command", nil, []step{
			fails("ERR unknown command 'FOO', with args beginning with: 'a' 'b c' ", "FOO", "a", "b c"),
			fails("ERR unknown command 'nope', with args beginning with: ", "nope"),
		}},
		{"select", nil, []step{ok("SELECT", "0"), fails("ERR DB index is out of range", "SELECT", "1"), fails(notInteger, "SELECT", "x")}},
		{"client", nil, []step{
			null("CLIENT", "GETNAME"), ok("CLIENT", "SETNAME", "app"), is("app", "CLIENT", "GETNAME"),
			fails("ERR Client names cannot contain spaces, newlines or special characters.", "CLIENT", "SETNAME", "a b"),
			ok("CLIENT", "SETINFO", "LIB-NAME", "mylib"), ok("client", "setinfo", "lib-ver", "1.0"),
			fails("ERR Unrecognized option 'color'", "CLIENT", "SETINFO", "color", "red"),
			fails("ERR wrong number of arguments for 'client|getname' command", "CLIENT", "GETNAME", "x"),
			fails("ERR unknown subcommand 'FOO'. Try CLIENT HELP.", "CLIENT", "FOO"),
		}},
		{"config", nil, []step{
			is(list{"save", ""}, "CONFIG", "GET", "save"),
			is(list{"appendonly", "no"}, "CONFIG", "GET", "appendonly"),
			is(list{"appendonly", "no", "save", ""}, "CONFIG", "GET", "save", "appendonly"),
			is(list{}, "CONFIG", "GET", "nothing"),
			fails("ERR CONFIG SET is not supported by Meridian: configure the node instead", "CONFIG", "SET", "save", ""),
			fails("ERR unknown subcommand 'FOO'. Try CONFIG HELP.", "CONFIG", "FOO"),
			fails("ERR wrong number of arguments for 'config|get' command", "CONFIG", "GET"),
		}},
		{"command", nil, []step{is(list{}, "COMMAND"), is(int64(33), "COMMAND", "COUNT"), is(list{}, "COMMAND", "DOCS")}},
		{"hello", nil, []step{
			fails("NOPROTO unsupported protocol version", "HELLO", "3"),
			fails("NOPROTO unsupported protocol version", "HELLO", "1"),
			fails("ERR Protocol version is not an integer or out of range", "HELLO", "x"),
			fails("ERR AUTH is not supported by Meridian: it has no users or passwords", "HELLO", "2", "AUTH", "u", "p"),
		}},
		{"consistency", nil, []step{
			is("read=LOCAL_QUORUM write=LOCAL_QUORUM", "CONSISTENCY"),
			ok("CONSISTENCY", "one"), is("read=ONE write=ONE", "CONSISTENCY"),
			ok("CONSISTENCY", "READ", "ALL"), ok("consistency", "write", "local_quorum"),
			is("read=ALL write=LOCAL_QUORUM", "CONSISTENCY"),
			fails("ERR unknown consistency level 'most': use one of ONE, QUORUM, ALL, LOCAL_ONE, LOCAL_QUORUM, EACH_QUORUM, LOCAL_SERIAL, SERIAL, or DEFAULT", "CONSISTENCY", "most"),
			fails("ERR syntax error: use CONSISTENCY [READ|WRITE] <level>", "CONSISTENCY", "BOTH", "ONE"),
			fails("ERR wrong number of arguments for 'consistency' command", "CONSISTENCY", "READ", "ONE", "x"),
			is("read=ALL write=LOCAL_QUORUM", "CONSISTENCY"),
			ok("CONSISTENCY", "serial"), is("read=SERIAL write=SERIAL", "CONSISTENCY"),
			ok("CONSISTENCY", "WRITE", "LOCAL_SERIAL"), is("read=SERIAL write=LOCAL_SERIAL", "CONSISTENCY"),
			ok("CONSISTENCY", "default"), is("read=LOCAL_QUORUM write=LOCAL_QUORUM", "CONSISTENCY"),
		}},
		{"backend errors pass through intact", map[string]error{
			"timeout":  &kvsync.TimeoutError{Level: kvsync.Quorum, Got: 1, Need: 2, Timeout: 500 * time.Millisecond, Write: true},
			"slow":     &kvsync.TimeoutError{Level: kvsync.All, Got: 2, Need: 3, Timeout: time.Second},
			"down":     &kvsync.UnavailableError{Level: kvsync.Quorum, Alive: 1, Need: 2, Write: true},
			"big":      &kvsync.RejectedError{Reason: "value too large: 2000000 bytes, the limit is 1048576"},
			"wrapped":  fmt.Errorf("sync: forwarding to n2: %w", crdt.ErrWrongType),
			"overflow": fmt.Errorf("remote: %w", crdt.ErrOverflow),
			"commit":   fmt.Errorf("sync: %w: commit failed, the write may not have been applied: %w", kvsync.ErrUnknownOutcome, errors.New("disk full")),
		}, []step{
			fails("ERR QUORUM not reached: 1 of 2 replicas answered within 500ms; the write may have been applied", "SET", "timeout", "v"),
			fails("ERR ALL not reached: 2 of 3 replicas answered within 1s; nothing was changed", "GET", "slow"),
			fails("ERR QUORUM unavailable: 1 of the 2 replicas needed are reachable; nothing was written: retry later or use a lower consistency level", "SADD", "down", "m"),
			fails("ERR rejected: value too large: 2000000 bytes, the limit is 1048576", "SET", "big", "v"),
			fails(wrongType, "INCR", "wrapped"),
			fails("ERR increment or decrement would overflow", "INCR", "overflow"),
			fails("ERR sync: sync: outcome unknown: commit failed, the write may not have been applied: disk full", "DEL", "a", "commit"),
			fails("ERR ALL not reached: 2 of 3 replicas answered within 1s; nothing was changed", "MGET", "a", "slow"),
			fails("ERR QUORUM not reached: 1 of 2 replicas answered within 500ms; the write may have been applied", "MSET", "a", "1", "timeout", "2"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake()
			for k, err := range tt.fail {
				fake.fail[k] = err
			}
			rdb := dial(t, start(t, testConfig(), fake), redis.Options{})
			runSteps(t, rdb, tt.steps)
		})
	}
}
