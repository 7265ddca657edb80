package resp_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridiankv/meridian/region/resp"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// TestGoRedisTypedAPI drives the server through go-redis's typed methods,
// which parse the replies by their expected shapes.
func TestGoRedisTypedAPI(t *testing.T) {
	for _, proto := range []int{3, 2} { // 3: HELLO 3 is refused, go-redis falls back to RESP2
		t.Run(fmt.Sprintf("protocol %d", proto), func(t *testing.T) {
			ctx := t.Context()
			rdb := dial(t, start(t, testConfig(), newFake()), redis.Options{Protocol: proto})
			check := func(what string, got, want any, err error) {
				t.Helper()
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("%s: got %#v, %v; want %#v", what, got, err, want)
				}
			}
			v, err := rdb.Set(ctx, "k", "v", 0).Result()
			check("Set", v, "OK", err)
			v, err = rdb.Get(ctx, "k").Result()
			check("Get", v, "v", err)
			if _, err := rdb.Get(ctx, "missing").Result(); err != redis.Nil {
				t.Errorf("Get(missing): %v, want redis.Nil", err)
			}
			n, err := rdb.IncrBy(ctx, "c", 41).Result()
			check("IncrBy", n, int64(41), err)
			n, err = rdb.Incr(ctx, "c").Result()
			check("Incr", n, int64(42), err)
			n, err = rdb.SAdd(ctx, "s", "b", "a").Result()
			check("SAdd", n, int64(2), err)
			m, err := rdb.SMembers(ctx, "s").Result()
			check("SMembers", m, []string{"a", "b"}, err)
			b, err := rdb.SIsMember(ctx, "s", "a").Result()
			check("SIsMember", b, true, err)
			vals, err := rdb.MGet(ctx, "k", "c", "nope").Result()
			check("MGet", vals, []any{"v", "42", nil}, err)
			v, err = rdb.Type(ctx, "s").Result()
			check("Type", v, "set", err)
			n, err = rdb.Exists(ctx, "k", "s", "nope").Result()
			check("Exists", n, int64(2), err)
			n, err = rdb.Del(ctx, "k", "s").Result()
			check("Del", n, int64(2), err)
			v, err = rdb.Ping(ctx).Result()
			check("Ping", v, "PONG", err)
			info, err := rdb.ClientInfo(ctx).Result()
			if err != nil || !strings.HasPrefix(info.LibName, "go-redis") || info.Resp != 2 {
				t.Errorf("ClientInfo: %+v, %v; want RESP2 and the lib-name go-redis set with CLIENT SETINFO", info, err)
			}
		})
	}
}

func TestHello(t *testing.T) {
	rdb := dial(t, start(t, testConfig(), newFake()), redis.Options{})
	id, err := rdb.Do(t.Context(), "CLIENT", "ID").Int64()
	if err != nil {
		t.Fatalf("CLIENT ID: %v", err)
	}
	want := []any{"server", "meridian", "version", "7.2.0", "proto", int64(2), "id", id,
		"mode", "standalone", "role", "master", "modules", []any{}}
	for _, args := range [][]any{{"HELLO"}, {"HELLO", "2"}, {"hello", "2", "setname", "worker"}} {
		got, err := rdb.Do(t.Context(), args...).Result()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %#v, %v; want %#v", args, got, err, want)
		}
	}
	if name, err := rdb.Do(t.Context(), "CLIENT", "GETNAME").Result(); name != "worker" {
		t.Errorf("CLIENT GETNAME after HELLO SETNAME: %v, %v; want worker", name, err)
	}
}

// TestConsistencyLevels checks the Level field the Backend receives.
func TestConsistencyLevels(t *testing.T) {
	fake := newFake()
	cfg := testConfig()
	cfg.WriteLevel = kvsync.All
	rdb := dial(t, start(t, cfg, fake), redis.Options{})
	ctx := t.Context()
	run := func(args ...any) {
		t.Helper()
		if err := rdb.Do(ctx, args...).Err(); err != nil && err != redis.Nil {
			t.Fatalf("%q: %v", args, err)
		}
	}
	run("SET", "a", "1")
	run("GET", "a")
	run("CONSISTENCY", "READ", "ONE")
	run("MGET", "a", "b")
	run("CONSISTENCY", "local_quorum")
	run("INCR", "c")
	run("SMEMBERS", "s")
	run("CONSISTENCY", "WRITE", "EACH_QUORUM")
	run("SADD", "s", "m")
	run("DEL", "a")

	want := []struct {
		kind  wire.OpKind
		level kvsync.Level
	}{
		{wire.OpPut, kvsync.All}, {wire.OpGet, 0},
		{wire.OpGet, kvsync.One}, {wire.OpGet, kvsync.One},
		{wire.OpIncr, kvsync.LocalQuorum}, {wire.OpGet, kvsync.LocalQuorum},
		{wire.OpAdd, kvsync.EachQuorum}, {wire.OpDelete, kvsync.EachQuorum},
	}
	got := fake.received()
	if len(got) != len(want) {
		t.Fatalf("backend received %d ops, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Kind != w.kind || got[i].Level != uint8(w.level) {
			t.Errorf("op %d: kind %d level %d; want kind %d level %d (%s)", i, got[i].Kind, got[i].Level, w.kind, w.level, w.level)
		}
	}
}

// TestOpBytesAreNotReused: a Backend may keep an op's bytes after Do
// returns, so the server must never write over them.
func TestOpBytesAreNotReused(t *testing.T) {
	fake := newFake()
	rdb := dial(t, start(t, testConfig(), fake), redis.Options{})
	pipe := rdb.Pipeline()
	for i := range 500 {
		pipe.Set(t.Context(), fmt.Sprintf("key-%d", i), fmt.Sprintf("value-%d", i), 0)
	}
	if _, err := pipe.Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, op := range fake.received() {
		if k, v := string(op.Key), string(op.Value); "value-"+strings.TrimPrefix(k, "key-") != v {
			t.Fatalf("op key %q holds value %q: its bytes were overwritten", k, v)
		}
	}
}

func TestQuit(t *testing.T) {
	srv := start(t, testConfig(), newFake())
	nc := rawConn(t, srv)
	fmt.Fprint(nc, "PING\r\nQUIT\r\nPING\r\n")
	if got := readAll(t, nc); got != "+PONG\r\n+OK\r\n" {
		t.Errorf("got %q; want PONG, OK and the connection closed", got)
	}
}

func TestInfo(t *testing.T) {
	fake := newFake()
	fake.info = []resp.InfoSection{
		{Name: "replication", Fields: []resp.InfoField{{Key: "role", Value: "replica"}}},
		{Name: "server", Fields: []resp.InfoField{{Key: "meridian_version", Value: "0.1.0"}}},
	}
	rdb := dial(t, start(t, testConfig(), fake), redis.Options{})
	tests := []struct {
		args          []any
		want, notWant []string
	}{
		{[]any{"INFO"}, []string{"# Server\r\nredis_version:7.2.0\r\n", "meridian_version:0.1.0\r\n", "# Clients\r\nconnected_clients:1\r\n", "# Stats\r\n", "\r\n\r\n# Replication\r\nrole:replica\r\n"}, nil},
		{[]any{"INFO", "REPLICATION"}, []string{"# Replication\r\nrole:replica\r\n"}, []string{"# Server"}},
		{[]any{"INFO", "server", "stats"}, []string{"# Server\r\n", "meridian_version:0.1.0", "# Stats\r\ntotal_connections_received:1\r\n"}, []string{"# Clients", "# Replication"}},
		{[]any{"INFO", "everything"}, []string{"# Server", "# Replication"}, nil},
		{[]any{"INFO", "nosuch"}, nil, []string{"#"}},
	}
	for _, tt := range tests {
		got, err := rdb.Do(t.Context(), tt.args...).Text()
		if err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%q: reply lacks %q:\n%s", tt.args, w, got)
			}
		}
		for _, w := range tt.notWant {
			if strings.Contains(got, w) {
				t.Errorf("%q: reply holds %q:\n%s", tt.args, w, got)
			}
		}
	}
}

// TestCloseCancelsBackendCalls: Close ends a connection whose request is
// blocked in the Backend, cancelling its context.
func TestCloseCancelsBackendCalls(t *testing.T) {
	fake := newFake()
	entered := make(chan struct{})
	fake.hook = func(ctx context.Context, op wire.Op) (kvsync.Response, bool) {
		close(entered)
		<-ctx.Done()
		return kvsync.Response{Err: ctx.Err()}, true
	}
	srv, err := resp.Listen(testConfig(), fake)
	if err != nil {
		t.Fatal(err)
	}
	nc := rawConn(t, srv)
	fmt.Fprint(nc, "GET k\r\n")
	<-entered
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	readAll(t, nc) // the server closed the connection
}

// rawConn dials srv and closes the connection when the test ends.
func rawConn(t *testing.T, srv *resp.Server) net.Conn {
	t.Helper()
	var d net.Dialer
	nc, err := d.DialContext(t.Context(), "tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// readAll reads until the server closes the connection.
func readAll(t *testing.T, nc net.Conn) string {
	t.Helper()
	if err := nc.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	_, err := bufio.NewReader(nc).WriteTo(&b)
	if err != nil {
		t.Fatalf("reading until the server closes: %v (read %q)", err, b.String())
	}
	return b.String()
}
