package resp_test

import (
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridiankv/meridian/wire"
)

// The replies of a refused transaction.
const (
	multiRefused   = "ERR MULTI is not supported by Meridian: it has no MULTI/EXEC transactions; the commands that follow are refused, none applied, until EXEC or DISCARD"
	inRefusedMulti = "ERR command refused, not applied: it follows a MULTI that Meridian refused (it has no transactions); end it with EXEC or DISCARD, then send the command without MULTI"
	execAbort      = "EXECABORT Transaction discarded because of previous errors."
	execAlone      = "ERR EXEC without MULTI"
	discardAlone   = "ERR DISCARD without MULTI"
	nestedMulti    = "ERR MULTI calls can not be nested"
	watchRefused   = "ERR WATCH is not supported by Meridian: it has no optimistic transactions; for a read-modify-write that loses no concurrent write, use the HTTP API with X-Meridian-Context"
	unwatchRefused = "ERR UNWATCH is not supported by Meridian: it has no WATCH, so no key is ever watched"
)

// req returns a request as RESP, a multibulk of bulk strings, the way
// client libraries send it.
func req(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// errReply returns the error replies of msgs, one after another.
func errReply(msgs ...string) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString("-" + m + "\r\n")
	}
	return b.String()
}

// exchange is one write of a client and the replies it reads before it
// writes again.
type exchange struct{ send, want string }

// TestRefusedMulti sends transactions as raw RESP, as redis-py's default
// pipeline sends them (MULTI, the commands and EXEC in one write) and as a
// client typing them one at a time does, and checks every reply and the
// keys of the ops the Backend received: none of a refused transaction.
func TestRefusedMulti(t *testing.T) {
	const ok, pong, missing = "+OK\r\n", "+PONG\r\n", "$-1\r\n"
	tests := []struct {
		name        string
		maxPipeline int // Config.MaxPipeline, if not zero
		exchanges   []exchange
		closed      bool     // the server closes the connection after the last exchange
		applied     []string // the keys of the ops the Backend received, sorted
	}{
		{
			name: "exec in one write",
			exchanges: []exchange{{
				send: req("SET", "k", "old") + req("MULTI") + req("SET", "k", "new") + req("INCR", "n") + req("EXEC") + req("GET", "k") + req("GET", "n"),
				want: ok + errReply(multiRefused, inRefusedMulti, inRefusedMulti, execAbort) + "$3\r\nold\r\n" + missing,
			}},
			applied: []string{"k", "k", "n"},
		},
		{
			name: "discard in one write",
			exchanges: []exchange{{
				send: req("MULTI") + req("SET", "k", "new") + req("SADD", "s", "m") + req("DISCARD") + req("SET", "k", "after") + req("GET", "k"),
				want: errReply(multiRefused, inRefusedMulti, inRefusedMulti) + ok + ok + "$5\r\nafter\r\n",
			}},
			applied: []string{"k", "k"},
		},
		{
			name: "exec over several writes",
			exchanges: []exchange{
				{req("MULTI"), errReply(multiRefused)},
				{req("SET", "k", "new"), errReply(inRefusedMulti)},
				{req("INCR", "n"), errReply(inRefusedMulti)},
				{req("EXEC"), errReply(execAbort)},
				{req("GET", "k") + req("INCR", "n"), missing + ":1\r\n"},
			},
			applied: []string{"k", "n"},
		},
		{
			name: "discard over several writes",
			exchanges: []exchange{
				{req("MULTI") + req("SET", "k", "new"), errReply(multiRefused, inRefusedMulti)},
				{req("DEL", "k"), errReply(inRefusedMulti)},
				{req("DISCARD"), ok},
				{req("SET", "k", "after"), ok},
			},
			applied: []string{"k"},
		},
		{
			name: "inline commands",
			exchanges: []exchange{{
				send: "MULTI\r\nSET k new\r\nEXEC\r\nGET k\r\n",
				want: errReply(multiRefused, inRefusedMulti, execAbort) + missing,
			}},
			applied: []string{"k"},
		},
		{
			name: "exec and discard without multi",
			exchanges: []exchange{{
				send: req("EXEC") + req("DISCARD") + req("MULTI") + req("EXEC") + req("EXEC") + req("MULTI") + req("DISCARD") + req("DISCARD"),
				want: errReply(execAlone, discardAlone, multiRefused, execAbort, execAlone, multiRefused) + ok + errReply(discardAlone),
			}},
		},
		{
			name: "nested multi",
			exchanges: []exchange{{
				send: req("MULTI") + req("MULTI") + req("SET", "k", "v") + req("multi") + req("EXEC") + req("EXEC"),
				want: errReply(multiRefused, nestedMulti, inRefusedMulti, nestedMulti, execAbort, execAlone),
			}},
		},
		{
			name: "every other command is refused inside",
			exchanges: []exchange{{
				send: req("MULTI") + req("PING") + req("HELLO", "2") + req("CONSISTENCY", "ONE") + req("CLIENT", "SETNAME", "x") +
					req("SELECT", "0") + req("WATCH", "k") + req("UNWATCH") + req("RESET") + req("FOO") + req("GET") +
					req("EXEC", "x") + req("DISCARD", "x") + req("DISCARD") +
					req("CONSISTENCY") + req("CLIENT", "GETNAME") + req("PING"),
				want: errReply(multiRefused, inRefusedMulti, inRefusedMulti, inRefusedMulti, inRefusedMulti, inRefusedMulti, inRefusedMulti, inRefusedMulti, inRefusedMulti, inRefusedMulti, inRefusedMulti,
					"ERR wrong number of arguments for 'exec' command", "ERR wrong number of arguments for 'discard' command") +
					ok + "+read=LOCAL_QUORUM write=LOCAL_QUORUM\r\n" + missing + pong,
			}},
		},
		{
			name: "watch and unwatch are refused without a multi",
			exchanges: []exchange{{
				send: req("WATCH", "k") + req("UNWATCH") + req("SET", "k", "v") + req("EXEC"),
				want: errReply(watchRefused, unwatchRefused) + ok + errReply(execAlone),
			}},
			applied: []string{"k"},
		},
		{
			name: "requests that would run concurrently",
			exchanges: []exchange{{
				send: req("GET", "a") + req("GET", "b") + req("MULTI") + req("GET", "a") + req("SET", "b", "1") + req("MGET", "a", "b") +
					req("DISCARD") + req("SET", "a", "1") + req("SET", "b", "2") + req("MGET", "a", "b"),
				want: missing + missing + errReply(multiRefused, inRefusedMulti, inRefusedMulti, inRefusedMulti) + ok + ok + ok + "*2\r\n$1\r\n1\r\n$1\r\n2\r\n",
			}},
			applied: []string{"a", "a", "a", "b", "b", "b"},
		},
		{
			name:        "the refusal spans batches",
			maxPipeline: 2,
			exchanges: []exchange{{
				send: req("MULTI") + req("SET", "k", "1") + req("SET", "k", "2") + req("SET", "k", "3") + req("EXEC") + req("GET", "k"),
				want: errReply(multiRefused, inRefusedMulti, inRefusedMulti, inRefusedMulti, execAbort) + missing,
			}},
			applied: []string{"k"},
		},
		{
			name: "quit inside closes the connection",
			exchanges: []exchange{{
				send: req("MULTI") + req("SET", "k", "v") + req("QUIT") + req("SET", "k", "w"),
				want: errReply(multiRefused, inRefusedMulti) + ok,
			}},
			closed: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			if tt.maxPipeline > 0 {
				cfg.MaxPipeline = tt.maxPipeline
			}
			fake := newFake()
			nc := rawConn(t, start(t, cfg, fake))
			for i, x := range tt.exchanges {
				if _, err := io.WriteString(nc, x.send); err != nil {
					t.Fatalf("write %d: %v", i, err)
				}
				if got := readN(t, nc, len(x.want)); got != x.want {
					t.Fatalf("write %d %q:\ngot  %q\nwant %q", i, x.send, got, x.want)
				}
			}
			if tt.closed {
				if rest := readAll(t, nc); rest != "" {
					t.Errorf("after QUIT the server sent %q; want the connection closed", rest)
				}
			}
			var keys []string
			for _, op := range fake.received() {
				keys = append(keys, string(op.Key))
			}
			slices.Sort(keys)
			if !slices.Equal(keys, tt.applied) {
				t.Errorf("the backend received ops on %q; want %q", keys, tt.applied)
			}
		})
	}
}

// readN reads n bytes, or what came within 10 seconds.
func readN(t *testing.T, nc net.Conn, n int) string {
	t.Helper()
	if err := nc.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, n)
	got, err := io.ReadFull(nc, buf)
	if err != nil {
		return fmt.Sprintf("%s (then %v)", buf[:got], err)
	}
	return string(buf)
}

// TestGoRedisTransactions: go-redis's TxPipelined and Watch fail, apply
// nothing, and leave the client's next command unharmed.
func TestGoRedisTransactions(t *testing.T) {
	fake := newFake()
	rdb := dial(t, start(t, testConfig(), fake), redis.Options{})
	ctx := t.Context()
	if err := rdb.Set(ctx, "k", "old", 0).Err(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"TxPipelined", func() error {
			_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, "k", "new", 0)
				p.Incr(ctx, "n")
				p.SAdd(ctx, "s", "m")
				return nil
			})
			return err
		}, multiRefused},
		{"TxPipeline Exec", func() error {
			p := rdb.TxPipeline()
			p.Del(ctx, "k")
			_, err := p.Exec(ctx)
			return err
		}, multiRefused},
		{"Watch", func() error {
			return rdb.Watch(ctx, func(tx *redis.Tx) error {
				_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
					p.Set(ctx, "k", "watched", 0)
					return nil
				})
				return err
			}, "k")
		}, watchRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); err == nil || err.Error() != tt.want {
				t.Errorf("got %v; want %q", err, tt.want)
			}
			// One connection: the next command must read its own reply,
			// not one the transaction left unread.
			if got, err := rdb.Get(ctx, "k").Result(); got != "old" || err != nil {
				t.Errorf("GET k after the transaction: %q, %v; want \"old\"", got, err)
			}
			for _, key := range []string{"n", "s"} {
				if got, err := rdb.Exists(ctx, key).Result(); got != 0 || err != nil {
					t.Errorf("EXISTS %s after the transaction: %d, %v; want 0", key, got, err)
				}
			}
		})
	}
	for _, op := range fake.received()[1:] { // after SET k old
		if op.Kind != wire.OpGet {
			t.Errorf("the backend received a write of a refused transaction: %+v", op)
		}
	}
}
