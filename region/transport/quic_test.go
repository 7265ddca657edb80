package transport_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/meridiankv/meridian/region/transport"
	"github.com/quic-go/quic-go"
	"go.uber.org/goleak"
)

// rawDial connects to addr with conf directly through quic-go, as a peer
// that is not a Meridian transport, and opens the frame stream.
func rawDial(t *testing.T, addr string, conf *tls.Config) (*quic.Conn, *quic.SendStream, error) {
	t.Helper()
	conf = conf.Clone()
	conf.NextProtos = []string{transport.ALPN}
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	conn, err := quic.DialAddr(ctx, addr, conf, &quic.Config{HandshakeIdleTimeout: 5 * time.Second})
	if err != nil {
		return nil, nil, err
	}
	t.Cleanup(func() { _ = conn.CloseWithError(0, "") })
	s, err := conn.OpenUniStream()
	return conn, s, err
}

// waitClosed returns the error that closed conn, failing after patience.
func waitClosed(t *testing.T, conn *quic.Conn) error {
	t.Helper()
	select {
	case <-conn.Context().Done():
		return context.Cause(conn.Context())
	case <-time.After(patience):
		t.Fatal("the connection stayed open")
		return nil
	}
}

func TestQUICRefusesPeersOutsideTheCluster(t *testing.T) {
	ca, other := newCA(t), newCA(t)
	local := net.IPv4(127, 0, 0, 1)
	good := nodeTLS(t, ca, "good", local)
	foreign := nodeTLS(t, other, "foreign", local)
	withoutCert := good.Clone()
	withoutCert.Certificates = nil
	foreignCertTrustingUs := foreign.Clone()
	foreignCertTrustingUs.RootCAs = good.RootCAs
	tests := []struct {
		name string
		conf *tls.Config
	}{
		{"client certificate from another CA", foreignCertTrustingUs},
		{"no client certificate", withoutCert},
		{"server certificate from another CA", foreign},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rx := newSink()
			srv, err := transport.Listen(transport.Config{Addr: "127.0.0.1:0", TLS: good}, rx.handle)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = srv.Close() })
			conn, s, err := rawDial(t, srv.LocalAddr(), tt.conf)
			if err == nil { // TLS 1.3: the client may finish before the server refuses it
				_, _ = s.Write([]byte{0, 0, 0, 1, 'x'})
				err = waitClosed(t, conn)
			}
			if err == nil {
				t.Fatal("the connection was accepted")
			}
			if n := srv.Stats().Total().FramesReceived; n != 0 {
				t.Fatalf("the server received %d frames", n)
			}
		})
	}
}

func TestQUICTransportsOfTwoCAsDoNotConnect(t *testing.T) {
	rxA, rxB := newSink(), newSink()
	a := quicEnv(t)(transport.Config{}, rxA.handle)
	b := quicEnv(t)(transport.Config{}, rxB.handle) // another CA
	if err := a.Send(b.LocalAddr(), []byte("hello")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the dial fails", func() bool {
		s := a.Stats().Peers[b.LocalAddr()]
		return s.DialErrors == 1 && s.Dropped == 1
	})
	if n := b.Stats().Total().FramesReceived; n != 0 {
		t.Fatalf("received %d frames across CAs", n)
	}
}

func TestQUICRefusesCertificateForAnotherIP(t *testing.T) {
	ca := newCA(t)
	a := quicEnv(t)(transport.Config{TLS: nodeTLS(t, ca, "a", net.IPv4(127, 0, 0, 1))}, newSink().handle)
	b := quicEnv(t)(transport.Config{TLS: nodeTLS(t, ca, "b", net.IPv4(127, 0, 0, 99))}, newSink().handle)
	if err := a.Send(b.LocalAddr(), []byte("hello")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the dial fails", func() bool { return a.Stats().Peers[b.LocalAddr()].DialErrors == 1 })
}

func TestQUICLengthPrefixOverLimitClosesConnection(t *testing.T) {
	ca := newCA(t)
	local := net.IPv4(127, 0, 0, 1)
	rx := newSink()
	srv := quicEnv(t)(transport.Config{TLS: nodeTLS(t, ca, "srv", local), MaxFrameSize: 1 << 20}, rx.handle)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	conn, s, err := rawDial(t, srv.LocalAddr(), nodeTLS(t, ca, "raw", local))
	if err != nil {
		t.Fatal(err)
	}
	var prefix [4]byte
	binary.BigEndian.PutUint32(prefix[:], 0xFFFF_FFF0) // about 4 GiB
	if _, err := s.Write(prefix[:]); err != nil {
		t.Fatal(err)
	}
	err = waitClosed(t, conn)
	runtime.ReadMemStats(&after)
	var app *quic.ApplicationError
	if !errors.As(err, &app) || !app.Remote || app.ErrorCode != 1 {
		t.Fatalf("connection closed with %v, want the server's application error 1 (frame too large)", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 256<<20 {
		t.Fatalf("the process allocated %d MiB meanwhile: the prefix was allocated", grew>>20)
	}
	eventually(t, "the server counts the error", func() bool { return srv.Stats().Total().ConnErrors == 1 })
	// The server still serves well-behaved peers.
	a := quicEnv(t)(transport.Config{TLS: nodeTLS(t, ca, "a", local)}, newSink().handle)
	if err := a.Send(srv.LocalAddr(), []byte("fine")); err != nil {
		t.Fatal(err)
	}
	rx.wait(t, a.LocalAddr(), 1)
}

func TestQUICReconnectsAfterPeerRestart(t *testing.T) {
	ca := newCA(t)
	local := net.IPv4(127, 0, 0, 1)
	listen := quicEnv(t)
	a := listen(transport.Config{TLS: nodeTLS(t, ca, "a", local), BackoffMax: 100 * time.Millisecond}, newSink().handle)
	bTLS := nodeTLS(t, ca, "b", local)
	rx1 := newSink()
	b1 := listen(transport.Config{TLS: bTLS}, rx1.handle)
	addr := b1.LocalAddr()
	if err := a.Send(addr, []byte("before")); err != nil {
		t.Fatal(err)
	}
	rx1.wait(t, a.LocalAddr(), 1)
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}
	rx2 := newSink()
	listen(transport.Config{Addr: addr, TLS: bTLS}, rx2.handle)
	// Frames sent while the connection fails may be lost: send until one
	// arrives, then check that what follows arrives in order.
	eventually(t, "the restarted peer receives a frame", func() bool {
		_ = a.Send(addr, []byte("probe"))
		f, _ := rx2.got(a.LocalAddr())
		return len(f) > 0
	})
	const n = 100
	for i := range n {
		if err := a.SendWait(t.Context(), addr, numbered(i, 50)); err != nil {
			t.Fatal(err)
		}
	}
	var frames [][]byte
	eventually(t, "the numbered frames arrive", func() bool {
		f, _ := rx2.got(a.LocalAddr())
		frames = trimProbes(f)
		return len(frames) >= n
	})
	checkSequence(t, a.LocalAddr(), frames, n)
	if s := a.Stats().Peers[addr]; s.Reconnects < 1 {
		t.Errorf("stats %+v, want a reconnect", s)
	}
}

// trimProbes drops the leading "probe" frames.
func trimProbes(frames [][]byte) [][]byte {
	for len(frames) > 0 && string(frames[0]) == "probe" {
		frames = frames[1:]
	}
	return frames
}

// TestQUICFromIsTheSenderAddress gives each node its own loopback IP, as the
// cluster tests do, and checks that frames leave from it.
func TestQUICFromIsTheSenderAddress(t *testing.T) {
	ca := newCA(t)
	listen := quicEnv(t)
	var nodes []transport.Transport
	var sinks []*sink
	for i := range 3 {
		ip := net.IPv4(127, 0, 1, byte(i+1))
		if c, err := net.ListenPacket("udp", ip.String()+":0"); err != nil {
			t.Skipf("cannot bind %s here: %v", ip, err)
		} else {
			_ = c.Close()
		}
		s := newSink()
		sinks = append(sinks, s)
		nodes = append(nodes, listen(transport.Config{Addr: ip.String() + ":0", TLS: nodeTLS(t, ca, fmt.Sprint("n", i), ip)}, s.handle))
	}
	for _, from := range nodes {
		for _, to := range nodes {
			if from != to {
				if err := from.Send(to.LocalAddr(), []byte(from.LocalAddr())); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for i, to := range nodes {
		for _, from := range nodes {
			if from != to {
				frames, _ := sinks[i].wait(t, from.LocalAddr(), 1)
				if string(frames[0]) != from.LocalAddr() {
					t.Errorf("frame from %s says %q", from.LocalAddr(), frames[0])
				}
			}
		}
	}
}

func TestCloseEndsEveryGoroutine(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			ignore := goleak.IgnoreCurrent()
			listen := im.env(t)
			rx := newSink()
			a := listen(transport.Config{}, newSink().handle)
			b := listen(transport.Config{}, rx.handle)
			c := listen(transport.Config{Delay: hold}, newSink().handle)
			for i := range 100 {
				_ = a.Send(b.LocalAddr(), numbered(i, 100))
				_ = b.Send(a.LocalAddr(), numbered(i, 100))
				_ = c.Send(a.LocalAddr(), numbered(i, 100)) // held in the queue
			}
			rx.wait(t, a.LocalAddr(), 100)
			for _, tr := range []transport.Transport{a, b, c} {
				if err := tr.Close(); err != nil {
					t.Fatal(err)
				}
			}
			goleak.VerifyNone(t, ignore)
		})
	}
}

func TestConfigValidate(t *testing.T) {
	good := &tls.Config{
		Certificates: []tls.Certificate{{}},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    x509.NewCertPool(),
		RootCAs:      x509.NewCertPool(),
	}
	tests := []struct {
		name string
		cfg  transport.Config
		want []string // substrings of the error, one per problem; none for valid
	}{
		{"defaults", transport.Config{Addr: "127.0.0.1:7001", TLS: good}, nil},
		{"explicit defaults", withAddrTLS(transport.DefaultConfig(), good), nil},
		{"empty", transport.Config{}, []string{"Addr is empty", "TLS is nil"}},
		{"every problem at once", transport.Config{
			Addr: "nowhere", TLS: &tls.Config{InsecureSkipVerify: true}, MaxFrameSize: -1, QueueLen: -1,
			QueueBytes: -2, WriteTimeout: -time.Second, BackoffMin: time.Minute, BackoffMax: time.Second,
		}, []string{
			"not host:port", "MaxFrameSize", "QueueLen", "QueueBytes", "WriteTimeout", "BackoffMin 1m0s is above",
			"no certificate", "client certificates", "verify servers",
		}},
		{"frame size over the prefix", transport.Config{Addr: ":1", TLS: good, MaxFrameSize: 1 << 32}, []string{"MaxFrameSize"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted the config")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate error lacks %q:\n%v", w, err)
				}
			}
			if got := strings.Count(err.Error(), "\n") + 1; got != len(tt.want) {
				t.Errorf("Validate reported %d problems, want %d:\n%v", got, len(tt.want), err)
			}
		})
	}
}

func withAddrTLS(c transport.Config, conf *tls.Config) transport.Config {
	c.Addr, c.TLS = "127.0.0.1:0", conf
	return c
}
