package resp_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridiankv/meridian/region/resp"
)

// setRequest returns SET k <n bytes> as RESP.
func setRequest(n int) string {
	return fmt.Sprintf("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n%s\r\n", n, strings.Repeat("x", n))
}

// TestBadRequestsCloseTheConnection sends raw requests and reads what the
// server answers before it closes the connection.
func TestBadRequestsCloseTheConnection(t *testing.T) {
	const limit = 4096
	fits := limit - len(setRequest(0)) - 3 // the length prefix grows from 1 digit to 4
	tests := []struct {
		name, send, want string
	}{
		{"request at the limit", setRequest(fits) + "GET k\r\n", "+OK\r\n$" + fmt.Sprint(fits) + "\r\n" + strings.Repeat("x", fits) + "\r\n"},
		{"one byte over the limit", "PING\r\n" + setRequest(fits+1), "+PONG\r\n-ERR Protocol error: request larger than 4096 bytes\r\n"},
		{"too many arguments", "*9\r\n$3\r\nDEL\r\n", "-ERR Protocol error: more than 8 arguments in one request\r\n"},
		{"too many inline arguments", "DEL a b c d e f g h\r\n", "-ERR Protocol error: more than 8 arguments in one request\r\n"},
		{"max arguments", "DEL a b c d e f g\r\n", ":0\r\n"},
		{"arguments of a pipeline", "DEL a b c\r\nDEL d e f\r\nDEL g h i\r\n*4\r\n$3\r\nDEL\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", ":0\r\n:0\r\n:0\r\n:0\r\n"},
		{"multibulk length not a number", "*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"bulk length not a number", "*1\r\n$1x\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"negative bulk length", "*1\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"huge bulk length", "*1\r\n$99999999999999999999\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"not a bulk string", "*1\r\n+PING\r\n", "-ERR Protocol error: expected '$', got '+'\r\n"},
		{"bulk without CRLF", "*1\r\n$4\r\nPINGxx", "-ERR Protocol error: bulk string not followed by CRLF\r\n"},
		{"inline too long", strings.Repeat("a", 17<<10), "-ERR Protocol error: too big inline request\r\n"},
		{"unbalanced quotes", "SET k \"v\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
		{"empty requests are skipped", "\r\n*0\r\nPING\r\n", "+PONG\r\n"},
		{"inline with quotes", "SET k \"a \\\"b\\\"\\x41\" \r\nGET k\r\nECHO 'it\\'s'\r\n", "+OK\r\n$6\r\na \"b\"A\r\n$4\r\nit's\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.MaxRequestSize = limit
			cfg.MaxArgs = 8
			nc := rawConn(t, start(t, cfg, newFake()))
			if _, err := io.WriteString(nc, tt.send); err != nil {
				t.Fatal(err)
			}
			if err := nc.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, nc); got != tt.want {
				t.Errorf("got %.200q; want %.200q", got, tt.want)
			}
		})
	}
}

// TestOversizedRequestIsNotRead: a request announcing 1 GiB is refused from
// its length prefix, without the server waiting for or allocating its body.
func TestOversizedRequestIsNotRead(t *testing.T) {
	fake := newFake()
	srv := start(t, testConfig(), fake)
	nc := rawConn(t, srv)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fmt.Fprint(nc, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1073741824\r\nonly the start of the value")
	line, err := bufio.NewReader(nc).ReadString('\n')
	runtime.ReadMemStats(&after)
	if want := "-ERR Protocol error: request larger than 2097152 bytes\r\n"; line != want || err != nil {
		t.Errorf("got %q, %v; want %q", line, err, want)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
		t.Errorf("the process allocated %d bytes while refusing the request", grew)
	}
	if ops := fake.received(); len(ops) != 0 {
		t.Errorf("the backend received %d ops", len(ops))
	}
	if st := srv.Stats(); st.ProtocolErrors != 1 {
		t.Errorf("Stats().ProtocolErrors = %d, want 1", st.ProtocolErrors)
	}
}

// TestOversizedRequestThroughGoRedis: go-redis gets the error as the reply
// to its command, and its next command works on a new connection.
func TestOversizedRequestThroughGoRedis(t *testing.T) {
	cfg := testConfig()
	cfg.MaxRequestSize = 64 << 10
	rdb := dial(t, start(t, cfg, newFake()), redis.Options{})
	err := rdb.Set(t.Context(), "k", strings.Repeat("x", 1<<20), 0).Err()
	if want := "ERR Protocol error: request larger than 65536 bytes"; err == nil || err.Error() != want {
		t.Errorf("Set of 1 MiB: %v; want %q", err, want)
	}
	if err := rdb.Set(t.Context(), "k", "small", 0).Err(); err != nil {
		t.Errorf("Set after the refusal: %v", err)
	}
}

func TestMaxReplySize(t *testing.T) {
	const tooLarge = "ERR reply larger than 4096 bytes: ask for fewer keys or members"
	cfg := testConfig()
	cfg.MaxRequestSize, cfg.MaxReplySize = 4096, 4096
	fake := newFake()
	rdb := dial(t, start(t, cfg, fake), redis.Options{})
	ctx := t.Context()
	keys := make([]string, 200)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d", i)
		if err := rdb.Set(ctx, keys[i], strings.Repeat("v", 300), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 400 {
		if err := rdb.SAdd(ctx, "s", fmt.Sprintf("member-%d", i)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rdb.MGet(ctx, keys[:3]...).Err(); err != nil {
		t.Errorf("MGET of 900 bytes: %v", err)
	}
	before := len(fake.received())
	if err := rdb.MGet(ctx, keys...).Err(); err == nil || err.Error() != tooLarge {
		t.Errorf("MGET of 60,000 bytes: %v; want %q", err, tooLarge)
	}
	if read := len(fake.received()) - before; read >= len(keys) {
		t.Errorf("MGET read all %d keys; want it to stop once the reply is too large", read)
	}
	if err := rdb.SMembers(ctx, "s").Err(); err == nil || err.Error() != tooLarge {
		t.Errorf("SMEMBERS of 7,000 bytes: %v; want %q", err, tooLarge)
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Errorf("PING after the refusals: %v", err)
	}
}

func TestMaxConns(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConns = 2
	srv := start(t, cfg, newFake())
	for range cfg.MaxConns {
		nc := rawConn(t, srv)
		fmt.Fprint(nc, "PING\r\n")
		if line, err := bufio.NewReader(nc).ReadString('\n'); line != "+PONG\r\n" {
			t.Fatalf("PING: %q, %v", line, err)
		}
	}
	if got := readAll(t, rawConn(t, srv)); got != "-ERR max number of clients reached\r\n" {
		t.Errorf("connection beyond MaxConns: got %q", got)
	}
	if st := srv.Stats(); st.Conns != 2 || st.Rejected != 1 || st.Accepted != 3 {
		t.Errorf("Stats() = %+v; want 2 open, 1 rejected, 3 accepted", st)
	}
}

func TestIdleTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.IdleTimeout = 50 * time.Millisecond
	nc := rawConn(t, start(t, cfg, newFake()))
	fmt.Fprint(nc, "PING\r\n")
	if got := readAll(t, nc); got != "+PONG\r\n" {
		t.Errorf("got %q; want PONG, then the connection closed when idle", got)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := resp.DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v", err)
	}
	bad := resp.Config{Addr: "nowhere", IdleTimeout: -1, ReadLevel: 99}
	err := bad.Validate()
	for _, field := range []string{"Addr", "MaxRequestSize", "MaxArgs", "MaxReplySize", "MaxConns", "IdleTimeout", "MaxPipeline", "ReadLevel"} {
		if err == nil || !strings.Contains(err.Error(), "Config."+field) {
			t.Errorf("Validate() = %v; want a problem with %s", err, field)
		}
	}
	if _, err := resp.Listen(bad, newFake()); err == nil {
		t.Error("Listen accepted an invalid Config")
	}
	if _, err := resp.Listen(testConfig(), nil); err == nil {
		t.Error("Listen accepted a nil Backend")
	}
}

// TestRefusedClientStillWritingReadsTheError: a client that keeps writing
// the body of a request refused from its length prefix, as every client
// that writes a whole command before reading does, finishes writing and
// then reads the error, instead of a broken pipe.
func TestRefusedClientStillWritingReadsTheError(t *testing.T) {
	cfg := testConfig()
	cfg.MaxRequestSize = 64 << 10
	nc := rawConn(t, start(t, cfg, newFake()))
	const size = 1 << 20
	if _, err := fmt.Fprintf(nc, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n", size); err != nil {
		t.Fatal(err)
	}
	chunk := []byte(strings.Repeat("x", 64<<10))
	for sent := 0; sent < size; sent += len(chunk) {
		if _, err := nc.Write(chunk); err != nil {
			t.Fatalf("writing the body after %d of %d bytes: %v", sent, size, err)
		}
		time.Sleep(2 * time.Millisecond) // let the server drain what it has
	}
	if err := nc.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(nc).ReadString('\n')
	if want := "-ERR Protocol error: request larger than 65536 bytes\r\n"; line != want || err != nil {
		t.Errorf("got %q, %v; want %q", line, err, want)
	}
}
