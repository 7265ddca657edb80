package transport_test

import (
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/meridiankv/meridian/region/transport"
	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// patience bounds every wait for the network. It is generous: tests assert
// order and lower bounds, never speed, and fail only when something is lost.
const patience = 20 * time.Second

// impl makes transports of one implementation for a test.
type impl struct {
	name string
	// env returns a listen function for one test; transports it makes
	// share a network (or a CA) and are closed by t.Cleanup.
	env func(t testing.TB) listenFunc
}

// listenFunc starts a transport with cfg (Addr and TLS filled in if empty).
type listenFunc func(cfg transport.Config, h transport.Handler) transport.Transport

var impls = []impl{
	{name: "quic", env: quicEnv},
	{name: "mem", env: memEnv},
}

// quicEnv listens on 127.0.0.1, port 0 unless cfg.Addr says otherwise, with
// a certificate of one CA per test.
func quicEnv(t testing.TB) listenFunc {
	ca := newCA(t)
	return func(cfg transport.Config, h transport.Handler) transport.Transport {
		t.Helper()
		if cfg.Addr == "" {
			cfg.Addr = "127.0.0.1:0"
		}
		if cfg.TLS == nil {
			host, _, err := net.SplitHostPort(cfg.Addr)
			if err != nil {
				t.Fatal(err)
			}
			cfg.TLS = nodeTLS(t, ca, "node", net.ParseIP(host))
		}
		tr, err := transport.Listen(cfg, h)
		if err != nil {
			t.Fatalf("Listen(%s): %v", cfg.Addr, err)
		}
		t.Cleanup(func() { _ = tr.Close() })
		return tr
	}
}

// memEnv listens on a fresh MemNetwork at node-1, node-2, ...
func memEnv(t testing.TB) listenFunc {
	network := transport.NewMemNetwork()
	n := 0
	return func(cfg transport.Config, h transport.Handler) transport.Transport {
		t.Helper()
		if cfg.Addr == "" {
			n++
			cfg.Addr = fmt.Sprintf("node-%d", n)
		}
		tr, err := network.ListenConfig(cfg, h)
		if err != nil {
			t.Fatalf("ListenConfig(%s): %v", cfg.Addr, err)
		}
		t.Cleanup(func() { _ = tr.Close() })
		return tr
	}
}

func newCA(t testing.TB) *transport.CA {
	t.Helper()
	ca, err := transport.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// nodeTLS issues a certificate of ca for ip and returns its mutual TLS config.
func nodeTLS(t testing.TB, ca *transport.CA, name string, ip net.IP) *tls.Config {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(name, []net.IP{ip})
	if err != nil {
		t.Fatal(err)
	}
	conf, err := transport.MutualTLS(ca.CertPEM(), certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return conf
}

// sink is a Handler that records frames per sender and lets a test wait
// for them.
type sink struct {
	mu     sync.Mutex
	frames map[string][][]byte
	at     map[string][]time.Time
	notify chan struct{}
}

func newSink() *sink {
	return &sink{
		frames: make(map[string][][]byte),
		at:     make(map[string][]time.Time),
		notify: make(chan struct{}, 1),
	}
}

func (s *sink) handle(from string, frame []byte) {
	now := time.Now()
	s.mu.Lock()
	s.frames[from] = append(s.frames[from], frame)
	s.at[from] = append(s.at[from], now)
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// got returns a copy of the frames from from and their arrival times.
func (s *sink) got(from string) ([][]byte, []time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.frames[from]), slices.Clone(s.at[from])
}

// wait returns the frames from from once there are at least n, failing
// the test after patience.
func (s *sink) wait(t testing.TB, from string, n int) ([][]byte, []time.Time) {
	t.Helper()
	timeout := time.NewTimer(patience)
	defer timeout.Stop()
	for {
		if f, at := s.got(from); len(f) >= n {
			return f, at
		}
		select {
		case <-s.notify:
		case <-timeout.C:
			f, _ := s.got(from)
			t.Fatalf("received %d frames from %s, want %d", len(f), from, n)
		}
	}
}

// eventually polls cond until it holds, failing the test after patience.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	timeout := time.NewTimer(patience)
	defer timeout.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-timeout.C:
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// numbered returns frame i of a sequence: "i" padded to size bytes.
func numbered(i, size int) []byte {
	b := make([]byte, size)
	copy(b, fmt.Sprintf("%d:", i))
	return b
}

// checkSequence fails unless frames are numbered(0..n-1) in order.
func checkSequence(t testing.TB, from string, frames [][]byte, n int) {
	t.Helper()
	if len(frames) != n {
		t.Fatalf("from %s: %d frames, want %d", from, len(frames), n)
	}
	for i, f := range frames {
		var got int
		if _, err := fmt.Sscanf(string(f), "%d:", &got); err != nil || got != i {
			t.Fatalf("from %s: frame %d is %q, want number %d", from, i, f[:min(len(f), 16)], i)
		}
	}
}
