package resp_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// strongDecl is the declaration of the strong tests: lock: and acct: are
// strong (local to the default region), every other key eventual.
const strongDecl = "lock:,acct:"

// eventual is sync's refusal of a condition on an eventual key.
func eventual(key, what string) string {
	return `ERR rejected: key "` + key + `" is eventual: ` + what + ` apply to strong keys only (declare its prefix strong with --strong)`
}

func TestStrongCommands(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"set nx is a lock", []step{
			ok("SET", "lock:a", "w1", "NX"), null("SET", "lock:a", "w2", "NX"), is("w1", "GET", "lock:a"),
			ok("SET", "lock:a", "w3", "XX"), null("SET", "lock:b", "w1", "xx"), null("GET", "lock:b"),
		}},
		{"ifeq and ifne", []step{
			null("SET", "lock:a", "v1", "IFEQ", "v0"), null("GET", "lock:a"), // IFEQ never creates
			ok("SET", "lock:a", "v1", "IFNE", "v0"), // IFNE does
			ok("SET", "lock:a", "v2", "ifeq", "v1"), null("SET", "lock:a", "v3", "IFEQ", "v1"),
			null("SET", "lock:a", "v3", "IFNE", "v2"), is("v2", "GET", "lock:a"),
		}},
		{"options in any order, each once", []step{
			ok("SET", "lock:a", "v", "PX", "5000", "NX"), ok("SET", "lock:a", "w", "IFEQ", "v", "EX", "5"),
			fails("ERR syntax error", "SET", "lock:a", "v", "NX", "XX"),
			fails("ERR syntax error", "SET", "lock:a", "v", "NX", "IFEQ", "w"),
			fails("ERR syntax error", "SET", "lock:a", "v", "PX", "10", "EX", "10"),
			fails("ERR syntax error", "SET", "lock:a", "v", "PX", "10", "PX", "10"),
			fails("ERR syntax error", "SET", "lock:a", "v", "IFEQ"),
			fails("ERR syntax error", "SET", "lock:a", "v", "PX"),
			fails(notInteger, "SET", "lock:a", "v", "PX", "ten"),
			fails("ERR invalid expire time in 'set' command", "SET", "lock:a", "v", "EX", "0"),
			fails("ERR invalid expire time in 'set' command", "SET", "lock:a", "v", "PX", "-5"),
			fails("ERR invalid expire time in 'set' command", "SET", "lock:a", "v", "EX", "9223372036854775807"),
			is("w", "GET", "lock:a"),
		}},
		{"unsupported options say what to use", []step{
			fails("ERR SET option GET is not supported by Meridian: read the key with GET first, or make the write conditional with IFEQ", "SET", "lock:a", "v", "NX", "GET"),
			fails("ERR SET option KEEPTTL is not supported by Meridian: a SET without PX or EX clears the expiry, as in Redis; give PX again", "SET", "lock:a", "v", "keepttl"),
			fails("ERR SET option EXAT is not supported by Meridian: use EX or PX, relative to now", "SET", "lock:a", "v", "EXAT", "1"),
			fails("ERR SET option PXAT is not supported by Meridian: use EX or PX, relative to now", "SET", "lock:a", "v", "PXAT", "1"),
			fails("ERR SET option IFDEQ is not supported by Meridian: compare the value itself with IFEQ", "SET", "lock:a", "v", "IFDEQ", "abc"),
			fails("ERR SET option IFDNE is not supported by Meridian: compare the value itself with IFNE", "SET", "lock:a", "v", "IFDNE", "abc"),
			fails("ERR DELEX option IFDEQ is not supported by Meridian: compare the value itself with IFEQ", "DELEX", "lock:a", "IFDEQ", "abc"),
			null("GET", "lock:a"),
		}},
		{"delex and delifeq", []step{
			ok("SET", "lock:a", "me"),
			is(int64(0), "DELEX", "lock:a", "IFEQ", "you"), is(int64(0), "DELEX", "lock:a", "IFNE", "me"),
			is(int64(1), "DELEX", "lock:a", "IFEQ", "me"), is(int64(0), "DELEX", "lock:a", "IFEQ", "me"),
			ok("SET", "lock:a", "me"), is(int64(0), "DELIFEQ", "lock:a", "you"), is(int64(1), "DELIFEQ", "lock:a", "me"),
			is(int64(0), "DELIFEQ", "lock:a", "me"),
			ok("SET", "lock:a", "me"), is(int64(1), "DELEX", "lock:a", "ifne", "you"),
			ok("SET", "lock:a", "me"), is(int64(1), "DELEX", "lock:a"), is(int64(0), "DELEX", "lock:a"),
			fails("ERR syntax error", "DELEX", "lock:a", "IFEQ"),
			fails("ERR syntax error", "DELEX", "lock:a", "IF", "x"),
			fails("ERR wrong number of arguments for 'delifeq' command", "DELIFEQ", "lock:a"),
			fails("ERR wrong number of arguments for 'delex' command", "DELEX"),
		}},
		{"reads and counters of strong keys", []step{
			is(int64(1), "INCR", "acct:n"), is(int64(11), "INCRBY", "acct:n", "10"), is(int64(8), "DECRBY", "acct:n", "3"),
			is(int64(7), "DECR", "acct:n"), is("7", "GET", "acct:n"), is("string", "TYPE", "acct:n"),
			ok("SET", "acct:s", "41"), is(int64(42), "INCR", "acct:s"), // a decimal string counts from its value, as in Redis
			ok("SET", "acct:t", "x"), fails(notInteger, "INCR", "acct:t"),
			is(int64(2), "SADD", "acct:set", "b", "a", "b"), is(int64(1), "SREM", "acct:set", "b", "z"),
			is(list{"a"}, "SMEMBERS", "acct:set"), is(int64(1), "SISMEMBER", "acct:set", "a"), is(int64(0), "SISMEMBER", "acct:set", "b"),
			is(int64(1), "SCARD", "acct:set"), is("set", "TYPE", "acct:set"),
			fails(wrongType, "GET", "acct:set"), fails(wrongType, "INCR", "acct:set"), fails(wrongType, "SADD", "acct:n", "m"),
			fails(wrongType, "SMEMBERS", "acct:n"),
			is(list{"7", nil, nil, "x"}, "MGET", "acct:n", "acct:set", "acct:none", "acct:t"),
			is(int64(3), "EXISTS", "acct:n", "acct:set", "acct:none", "acct:t"),
			is(int64(2), "DEL", "acct:n", "acct:set", "acct:none"), is("none", "TYPE", "acct:n"),
			is(list{}, "SMEMBERS", "acct:none"),
		}},
		{"set replaces a strong counter", []step{
			is(int64(5), "INCRBY", "acct:n", "5"), ok("SET", "acct:n", "v", "PX", "10"), is("v", "GET", "acct:n"), ok("SET", "acct:n", "w"),
		}},
		{"conditions on eventual keys are refused by the backend", []step{
			fails(eventual("k", "conditions (NX)"), "SET", "k", "v", "NX"),
			fails(eventual("k", "conditions (IFEQ)"), "SET", "k", "v", "IFEQ", "w"),
			fails(`ERR rejected: key "k" is eventual: expiry (PX) applies to strong keys only (declare its prefix strong with --strong)`, "SET", "k", "v", "EX", "10"),
			fails(eventual("k", "conditions (IFEQ)"), "DELEX", "k", "IFEQ", "v"),
			fails(eventual("k", "conditions (IFEQ)"), "DELIFEQ", "k", "v"),
			ok("SET", "k", "v"), is(int64(1), "DELEX", "k"), null("GET", "k"),
		}},
		{"levels", []step{
			ok("CONSISTENCY", "LOCAL_SERIAL"), ok("SET", "lock:a", "v", "NX"),
			fails(`ERR rejected: key "k" is eventual: LOCAL_SERIAL applies to strong keys only (declare its prefix strong with --strong)`, "GET", "k"),
			ok("CONSISTENCY", "SERIAL"),
			fails(`ERR rejected: key "lock:a" is strong (lock:=local:local): its operations use LOCAL_SERIAL, not SERIAL`, "GET", "lock:a"),
			ok("CONSISTENCY", "QUORUM"),
			fails(`ERR rejected: key "lock:a" is strong (lock:=local:local): its operations use LOCAL_SERIAL, not QUORUM`, "GET", "lock:a"),
			ok("CONSISTENCY", "DEFAULT"), is("v", "GET", "lock:a"), null("GET", "k"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb := dial(t, start(t, testConfig(), newStrongFake(t, strongDecl)), redis.Options{})
			runSteps(t, rdb, tt.steps)
		})
	}
}

// TestStrongOps checks the ops the options become: EX is sent as PX in
// milliseconds, IFEQ's value as Expect.
func TestStrongOps(t *testing.T) {
	fake := newStrongFake(t, strongDecl)
	rdb := dial(t, start(t, testConfig(), fake), redis.Options{})
	for _, args := range [][]any{
		{"SET", "lock:a", "v", "EX", "30", "NX"},
		{"SET", "lock:a", "w", "IFEQ", "v", "PX", "1500"},
		{"SET", "lock:a", "x", "XX"},
		{"SET", "lock:a", "y", "IFNE", "q"},
		{"DELEX", "lock:a", "IFNE", "y"},
		{"DELIFEQ", "lock:a", "y"},
	} {
		if err := rdb.Do(t.Context(), args...).Err(); err != nil && !errors.Is(err, redis.Nil) {
			t.Fatalf("%q: %v", args, err)
		}
	}
	want := []wire.Op{
		{Kind: wire.OpPut, Key: []byte("lock:a"), Value: []byte("v"), Cond: wire.CondNX, TTL: 30_000},
		{Kind: wire.OpPut, Key: []byte("lock:a"), Value: []byte("w"), Cond: wire.CondIfEq, Expect: []byte("v"), TTL: 1500},
		{Kind: wire.OpPut, Key: []byte("lock:a"), Value: []byte("x"), Cond: wire.CondXX},
		{Kind: wire.OpPut, Key: []byte("lock:a"), Value: []byte("y"), Cond: wire.CondIfNe, Expect: []byte("q")},
		{Kind: wire.OpDelete, Key: []byte("lock:a"), Cond: wire.CondIfNe, Expect: []byte("y")},
		{Kind: wire.OpDelete, Key: []byte("lock:a"), Cond: wire.CondIfEq, Expect: []byte("y")},
	}
	if got := fake.received(); !reflect.DeepEqual(got, want) {
		t.Errorf("the backend received\n%+v\nwant\n%+v", got, want)
	}
}

// TestGoRedisLock takes and releases a lock with go-redis's own methods
// for Redis 8.4's commands, and lets one lapse.
func TestGoRedisLock(t *testing.T) {
	fake := newStrongFake(t, strongDecl)
	rdb := dial(t, start(t, testConfig(), fake), redis.Options{})
	ctx := t.Context()
	check := func(what string, got, want any, err error) {
		t.Helper()
		if err != nil && !errors.Is(err, redis.Nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v, %v; want %#v", what, got, err, want)
		}
	}
	took, err := rdb.SetNX(ctx, "lock:job", "w1", 2*time.Second).Result()
	check("SetNX", took, true, err)
	took, err = rdb.SetNX(ctx, "lock:job", "w2", 2*time.Second).Result()
	check("SetNX when held", took, false, err)
	n, err := rdb.DelExArgs(ctx, "lock:job", redis.DelExArgs{Mode: "IFEQ", MatchValue: "w2"}).Result()
	check("DelExArgs IFEQ of another holder", n, int64(0), err)
	s, err := rdb.SetIFEQ(ctx, "lock:job", "w1", "w1", 1500*time.Millisecond).Result()
	check("SetIFEQ to extend", s, "OK", err)
	s, err = rdb.SetArgs(ctx, "lock:job", "w3", redis.SetArgs{Mode: "NX", TTL: time.Second}).Result()
	check("SetArgs NX when held", s, "", err)

	fake.strong.Advance(1600 * time.Millisecond) // the 1.5 s of the SetIFEQ lapse
	_, err = rdb.Get(ctx, "lock:job").Result()
	check("Get once lapsed", err, redis.Nil, nil)
	n, err = rdb.Exists(ctx, "lock:job").Result()
	check("Exists once lapsed", n, int64(0), err)
	took, err = rdb.SetNX(ctx, "lock:job", "w2", time.Second).Result()
	check("SetNX once lapsed", took, true, err)
	n, err = rdb.DelExArgs(ctx, "lock:job", redis.DelExArgs{Mode: "IFEQ", MatchValue: "w2"}).Result()
	check("DelExArgs IFEQ of the holder", n, int64(1), err)
}

// TestStrongAnswerFromMemory: a write answered from a strong key's
// request-id memory carries no value (Response.Strong nil); INCR's value
// is then Changed.
func TestStrongAnswerFromMemory(t *testing.T) {
	fake := newFake()
	fake.hook = func(_ context.Context, op wire.Op) (kvsync.Response, bool) {
		switch op.Kind {
		case wire.OpIncr:
			return kvsync.Response{Changed: 42}, true
		case wire.OpPut:
			return kvsync.Response{Err: fmt.Errorf("%w: key %q: NX", kvsync.ErrConditionFailed, op.Key)}, true
		}
		return kvsync.Response{}, false
	}
	rdb := dial(t, start(t, testConfig(), fake), redis.Options{})
	if n, err := rdb.Incr(t.Context(), "acct:n").Result(); err != nil || n != 42 {
		t.Errorf("INCR = %d, %v; want 42", n, err)
	}
	if err := rdb.SetNX(t.Context(), "lock:a", "v", 0).Err(); err != nil {
		t.Errorf("SET NX whose condition failed: %v; want a null reply", err)
	}
}
