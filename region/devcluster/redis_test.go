package devcluster_test

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestRedisClientsAgainstARegion drives a 3-node region with go-redis v9,
// unchanged, through every command the endpoint supports and the
// transactions it refuses, writing on one node and reading on another.
func TestRedisClientsAgainstARegion(t *testing.T) {
	c := startCluster(t, 112, 3)
	nodes := c.Nodes()
	ctx := t.Context()
	w := redis.NewClient(&redis.Options{Addr: nodes[0].RESP})
	r := redis.NewClient(&redis.Options{Addr: nodes[2].RESP})
	t.Cleanup(func() { w.Close(); r.Close() })

	steps := []redisStep{
		{"PING", func() (any, error) { return w.Ping(ctx).Result() }, "PONG"},
		{"ECHO", func() (any, error) { return w.Echo(ctx, "hi").Result() }, "hi"},
		{"SET", func() (any, error) { return w.Set(ctx, "greeting", "hello", 0).Result() }, "OK"},
		{"GET elsewhere", func() (any, error) { return r.Get(ctx, "greeting").Result() }, "hello"},
		{"GET missing", func() (any, error) { return r.Get(ctx, "nope").Result() }, redis.Nil},
		{"MSET", func() (any, error) { return w.MSet(ctx, "a", "1", "b", "2").Result() }, "OK"},
		{"MGET", func() (any, error) { return r.MGet(ctx, "a", "b", "nope").Result() }, []any{"1", "2", nil}},
		{"EXISTS", func() (any, error) { return r.Exists(ctx, "a", "b", "nope").Result() }, int64(2)},
		{"DEL", func() (any, error) { return w.Del(ctx, "a", "nope").Result() }, int64(1)},
		{"EXISTS after DEL", func() (any, error) { return r.Exists(ctx, "a").Result() }, int64(0)},
		{"INCR", func() (any, error) { return w.Incr(ctx, "hits").Result() }, int64(1)},
		{"INCRBY", func() (any, error) { return w.IncrBy(ctx, "hits", 10).Result() }, int64(11)},
		{"DECR", func() (any, error) { return w.Decr(ctx, "hits").Result() }, int64(10)},
		{"DECRBY", func() (any, error) { return r.DecrBy(ctx, "hits", 3).Result() }, int64(7)},
		{"GET counter", func() (any, error) { return r.Get(ctx, "hits").Result() }, "7"},
		{"MULTI/EXEC refused", func() (any, error) {
			return w.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, "greeting", "changed", 0)
				p.Incr(ctx, "hits")
				p.SAdd(ctx, "tags", "blue")
				return nil
			})
		}, errors.New("ERR MULTI is not supported by Meridian")},
		{"GET after the refused MULTI", func() (any, error) { return r.Get(ctx, "greeting").Result() }, "hello"},
		{"GET counter after the refused MULTI", func() (any, error) { return r.Get(ctx, "hits").Result() }, "7"},
		{"EXISTS after the refused MULTI", func() (any, error) { return r.Exists(ctx, "tags").Result() }, int64(0)},
		{"WATCH refused", func() (any, error) {
			return nil, w.Watch(ctx, func(*redis.Tx) error { return nil }, "greeting")
		}, errors.New("ERR WATCH is not supported by Meridian")},
		{"SADD", func() (any, error) { return w.SAdd(ctx, "tags", "red", "green", "red").Result() }, int64(2)},
		{"SREM", func() (any, error) { return w.SRem(ctx, "tags", "green", "blue").Result() }, int64(1)},
		{"SMEMBERS", func() (any, error) { return r.SMembers(ctx, "tags").Result() }, []string{"red"}},
		{"SISMEMBER", func() (any, error) { return r.SIsMember(ctx, "tags", "red").Result() }, true},
		{"SCARD", func() (any, error) { return r.SCard(ctx, "tags").Result() }, int64(1)},
		{"TYPE string", func() (any, error) { return r.Type(ctx, "greeting").Result() }, "string"},
		{"TYPE set", func() (any, error) { return r.Type(ctx, "tags").Result() }, "set"},
		{"TYPE none", func() (any, error) { return r.Type(ctx, "nope").Result() }, "none"},
		{"WRONGTYPE", func() (any, error) { return w.SAdd(ctx, "greeting", "x").Result() }, errors.New("WRONGTYPE")},
		{"not an integer", func() (any, error) { return w.Do(ctx, "INCRBY", "hits", "x").Result() }, errors.New("ERR value is not an integer")},
		{"CONSISTENCY", func() (any, error) { return w.Do(ctx, "CONSISTENCY", "WRITE", "ALL").Result() }, "OK"},
		{"SET at ALL", func() (any, error) { return w.Set(ctx, "k", "v", 0).Result() }, "OK"},
		{"bad level", func() (any, error) { return w.Do(ctx, "CONSISTENCY", "TWO").Result() }, errors.New("ERR")},
		{"INFO", func() (any, error) {
			s, err := r.Info(ctx, "cluster").Result()
			return strings.Contains(s, "meridian_members_alive:3"), err
		}, true},
	}
	runSteps(t, steps)
	if path, err := exec.LookPath("redis-cli"); err == nil {
		// A transaction in one write, as redis-py's default pipeline sends
		// it: every command is refused and none applied (GET and SMEMBERS
		// below).
		pipe := exec.CommandContext(ctx, path, "-h", nodes[1].IP, "--pipe")
		pipe.Stdin = strings.NewReader("MULTI\r\nSET greeting piped\r\nSREM tags red\r\nEXEC\r\n")
		out, _ := pipe.CombinedOutput() // exits 1: the replies are errors
		if !strings.Contains(string(out), "\nEXECABORT Transaction discarded") || !strings.Contains(string(out), "errors: 4, replies: 4") {
			t.Errorf("redis-cli --pipe of MULTI, SET, SREM, EXEC: %q; want 4 errors, the last EXECABORT", out)
		}
		out, err := exec.CommandContext(ctx, path, "-h", nodes[1].IP, "GET", "greeting").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "hello" {
			t.Errorf("redis-cli GET: %q, %v", out, err)
		}
		out, err = exec.CommandContext(ctx, path, "-h", nodes[1].IP, "SMEMBERS", "tags").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "red" {
			t.Errorf("redis-cli SMEMBERS: %q, %v", out, err)
		}
	} else {
		t.Log("redis-cli is not installed (apt-get install redis-tools); .ci/run installs it")
	}
}

func equal(a, b any) bool {
	switch b := b.(type) {
	case []any:
		a, ok := a.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	case []string:
		a, ok := a.([]string)
		return ok && strings.Join(a, ",") == strings.Join(b, ",")
	}
	return a == b
}

// redisStep is one command of a scripted Redis session and what it must
// answer.
type redisStep struct {
	name string
	do   func() (any, error)
	want any // a value, redis.Nil, or an error text prefix as error
}

// runSteps runs steps in order, reporting each answer that differs.
func runSteps(t *testing.T, steps []redisStep) {
	t.Helper()
	for _, s := range steps {
		got, err := s.do()
		switch want := s.want.(type) {
		case error:
			if want == redis.Nil {
				if !errors.Is(err, redis.Nil) {
					t.Errorf("%s: got %v, %v; want a null reply", s.name, got, err)
				}
			} else if err == nil || !strings.HasPrefix(err.Error(), want.Error()) {
				t.Errorf("%s: got %v, %v; want an error starting %q", s.name, got, err, want)
			}
		default:
			if err != nil || !equal(got, want) {
				t.Errorf("%s: got %#v, %v; want %#v", s.name, got, err, want)
			}
		}
	}
}
