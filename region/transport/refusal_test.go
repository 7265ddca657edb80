package transport_test

import (
	"bytes"
	"crypto/tls"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/meridiankv/meridian/region/transport"
)

// syncBuffer is a log output the test reads while transports write it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRefusedPeersAreLoggedOnBothSides: a peer outside the cluster is
// refused, and the logs of both ends say it is about certificates and what
// to do. Two strangers: one whose certificates all come from another CA
// (each end refuses the other's server certificate when it dials), and
// one that trusts the cluster's CA but presents a certificate of another
// (the member refuses it as a client).
func TestRefusedPeersAreLoggedOnBothSides(t *testing.T) {
	ca, other := newCA(t), newCA(t)
	local := net.IPv4(127, 0, 0, 1)
	foreignTrustingUs := nodeTLS(t, other, "stranger", local)
	foreignTrustingUs.RootCAs = nodeTLS(t, ca, "x", local).RootCAs
	tests := []struct {
		name        string
		stranger    *tls.Config
		memberSays  string // what the member's log must hold
		memberDials bool   // the member dials the stranger too
	}{
		{"certificates of another CA", nodeTLS(t, other, "stranger", local), "not from this cluster's CA", true},
		{"a certificate of another CA, trusting ours", foreignTrustingUs, "refused a peer whose certificate is not from this cluster's CA", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var memberLog, strangerLog syncBuffer
			member, err := transport.Listen(transport.Config{Addr: "127.0.0.1:0", TLS: nodeTLS(t, ca, "member", local),
				Logger: slog.New(slog.NewTextHandler(&memberLog, nil))}, newSink().handle)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = member.Close() })
			stranger, err := transport.Listen(transport.Config{Addr: "127.0.0.1:0", TLS: tt.stranger,
				Logger: slog.New(slog.NewTextHandler(&strangerLog, nil))}, newSink().handle)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = stranger.Close() })
			if err := stranger.Send(member.LocalAddr(), []byte("hello")); err != nil {
				t.Fatal(err)
			}
			if tt.memberDials {
				if err := member.Send(stranger.LocalAddr(), []byte("hello")); err != nil {
					t.Fatal(err)
				}
			}
			defer func() { t.Logf("member:\n%s\nstranger:\n%s", memberLog.String(), strangerLog.String()) }()
			eventually(t, "both logs say why", func() bool {
				return strings.Contains(memberLog.String(), tt.memberSays) && strings.Contains(strangerLog.String(), "certificate")
			})
			for name, log := range map[string]string{"member": memberLog.String(), "stranger": strangerLog.String()} {
				if !strings.Contains(log, "--tls-dir") {
					t.Errorf("the %s's log does not say what to do:\n%s", name, log)
				}
			}
			if n := member.Stats().Total().FramesReceived; n != 0 {
				t.Fatalf("the member received %d frames from a stranger", n)
			}
		})
	}
}
