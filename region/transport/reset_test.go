package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

// resetRecorder is a slog.Handler that notes whether a connection failed
// on a stateless reset.
type resetRecorder struct{ seen *atomic.Bool }

func (r resetRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r resetRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r resetRecorder) WithGroup(string) slog.Handler            { return r }
func (r resetRecorder) Handle(_ context.Context, rec slog.Record) error {
	rec.Attrs(func(a slog.Attr) bool {
		var reset *quic.StatelessResetError
		if err, ok := a.Value.Any().(error); ok && errors.As(err, &reset) {
			r.seen.Store(true)
		}
		return true
	})
	return nil
}

// TestCrashedPeerRestartResetsStaleConnections: a node that crashes (no
// CONNECTION_CLOSE) and restarts on its address answers the connections of
// its previous run with a stateless reset, so they fail at once instead of
// after the idle timeout (set here beyond the test's patience).
func TestCrashedPeerRestartResetsStaleConnections(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	tlsFor := func(name string) *tls.Config {
		certPEM, keyPEM, err := ca.Issue(name, []net.IP{net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		conf, err := MutualTLS(ca.CertPEM(), certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return conf
	}
	var sawReset atomic.Bool
	a, err := Listen(Config{
		Addr: "127.0.0.1:0", TLS: tlsFor("a"), IdleTimeout: time.Hour, KeepAlive: -1,
		Logger: slog.New(resetRecorder{&sawReset}),
	}, func(string, []byte) {})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	bTLS := tlsFor("b")
	var mu sync.Mutex
	var got []string
	record := func(_ string, f []byte) {
		mu.Lock()
		got = append(got, string(f))
		mu.Unlock()
	}
	b1, err := Listen(Config{Addr: "127.0.0.1:0", TLS: bTLS}, record)
	if err != nil {
		t.Fatal(err)
	}
	addr := b1.LocalAddr()
	sendUntil(t, a, addr, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) > 0 })

	// Crash: drop every connection without telling the peers.
	_ = b1.tr.Close()
	_ = b1.udp.Close()
	_ = b1.Close()
	mu.Lock()
	got = nil
	mu.Unlock()

	b2, err := Listen(Config{Addr: addr, TLS: bTLS}, record)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b2.Close() })
	sendUntil(t, a, addr, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) > 0 })
	if !sawReset.Load() {
		t.Error("the stale connection did not fail on a stateless reset")
	}
	if s := a.Stats().Peers[addr]; s.Reconnects < 1 || s.ConnErrors < 1 {
		t.Errorf("stats %+v, want a connection error and a reconnect", s)
	}
}

// sendUntil sends probes from a to addr until done holds.
func sendUntil(t *testing.T, a *QUIC, addr string, done func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(20 * time.Second)
	for !done() {
		_ = a.Send(addr, []byte("probe"))
		select {
		case <-tick.C:
		case <-timeout:
			t.Fatal("no probe arrived")
		}
	}
}
