package region

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/meridiankv/meridian/region/membership"
	"github.com/meridiankv/meridian/wire"
)

func TestReadGossipKeys(t *testing.T) {
	k32 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	k16 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 16))
	k8 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 8))
	tests := []struct {
		name, file string
		keys       int    // keys read, when no error
		err        string // what the error says
	}{
		{"one key", k32 + "\n", 1, ""},
		{"two keys, comments and blank lines", "# rotation\n" + k32 + "\n\n  " + k16 + "  \n", 2, ""},
		{"empty", "\n# nothing\n", 0, "holds no key"},
		{"not base64", "not a key!\n", 0, "line 1 is not base64"},
		{"wrong size", k32 + "\n" + k8 + "\n", 0, "line 2 holds a 8-byte key"},
		{"repeated", k32 + "\n" + k32 + "\n", 0, "line 2 repeats a key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "gossip.key")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			keys, err := readGossipKeys(path)
			switch {
			case tt.err == "" && (err != nil || len(keys) != tt.keys):
				t.Fatalf("got %d keys, %v; want %d keys", len(keys), err, tt.keys)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrGossipKey)):
				t.Fatalf("error = %v, want an ErrGossipKey saying %q", err, tt.err)
			}
		})
	}
	if _, err := readGossipKeys(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "meridian gossip-key") {
		t.Fatalf("a missing file: %v, want an error that says how to make one", err)
	}
}

// TestInstallKeysKeepsWhatStays: the keyring ends with exactly the keys
// given, the first one primary.
func TestInstallKeysKeepsWhatStays(t *testing.T) {
	a, b, c := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32)
	kr, err := memberlist.NewKeyring([][]byte{a, b}, a)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range [][][]byte{{a, b, c}, {c, a}, {c}} {
		if err := installKeys(kr, step); err != nil {
			t.Fatal(err)
		}
		got := kr.GetKeys()
		if !bytes.Equal(kr.GetPrimaryKey(), step[0]) || len(got) != len(step) {
			t.Fatalf("after installing %d keys: %d keys, primary %x", len(step), len(got), kr.GetPrimaryKey()[:1])
		}
	}
}

// logBuffer is a slog handler's output that tests can read while nodes
// write it.
type logBuffer struct {
	mu gosync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// TestWrongGossipKeyIsRefused: a node whose key file holds another key
// never gets into the region, and both logs say why.
func TestWrongGossipKeyIsRefused(t *testing.T) {
	r := newTestRegion(t, 1, 204)
	var first, stranger logBuffer
	r.stop(0)
	r.cfgs[0].Logger = first.logger()
	r.start(0)
	waitFor(t, "the first node is active", 10*time.Second, r.settled)

	other := filepath.Join(t.TempDir(), "other.key")
	if err := WriteGossipKeyFile(other); err != nil {
		t.Fatal(err)
	}
	c := r.cfgs[0]
	c.ID, c.DataDir = "n2", filepath.Join(r.dir, "n2")
	ip := "127.0.204.2"
	if err := r.issue("n2", ip); err != nil {
		t.Fatal(err)
	}
	c.RESPAddr, c.HTTPAddr, c.PeerAddr, c.GossipAddr = ip+":16379", ip+":18080", ip+":17000", ip+":17946"
	c.Join = []string{"127.0.204.1:17946"}
	c.GossipKeyFile, c.Logger = other, stranger.logger()
	n2, err := Start(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n2.Close() })
	waitFor(t, "both logs to say why", 20*time.Second, func() bool {
		return strings.Contains(first.String(), "gossip refused") && strings.Contains(stranger.String(), "could not join")
	})
	for _, n := range []*Node{r.nodes[0], n2} {
		if m := n.Cluster().Members; len(m) != 1 {
			t.Fatalf("%s sees %d members across a wrong key", n.cfg.ID, len(m))
		}
	}
	if !strings.Contains(stranger.String(), "--gossip-key") || !strings.Contains(first.String(), "--gossip-key") {
		t.Fatalf("the logs do not say what to do:\nfirst:\n%s\nstranger:\n%s", first.String(), stranger.String())
	}
	t.Logf("the member's log: %s", lineWith(first.String(), "gossip refused"))
	t.Logf("the stranger's log: %s", lineWith(stranger.String(), "could not join"))
}

// lineWith returns the first line of s that holds sub.
func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

// TestGossipKeyRotationWithoutDowntime: three nodes move from key A to
// key B in the three steps of a rotation (add B, make it primary, remove
// A), reloading each node in turn; no member is ever seen down, and at the
// end a node holding only A is refused.
func TestGossipKeyRotationWithoutDowntime(t *testing.T) {
	r := newTestRegion(t, 3, 205)
	waitFor(t, "the region settles", 20*time.Second, r.settled)
	path := filepath.Join(r.dir, "tls", GossipKeyFile)
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a := strings.TrimSpace(string(old))
	b, err := NewGossipKey()
	if err != nil {
		t.Fatal(err)
	}
	down := func() string {
		for _, n := range r.nodes {
			for _, m := range n.Cluster().Members {
				if m.Health != membership.Alive {
					return fmt.Sprintf("%s sees %s %v", n.cfg.ID, m.ID, m.Health)
				}
			}
		}
		return ""
	}
	for _, keys := range []string{a + "\n" + b, b + "\n" + a, b} {
		if err := os.WriteFile(path, []byte(keys+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, n := range r.nodes { // in turn, as an operator would
			if err := n.ReloadGossipKeys(); err != nil {
				t.Fatal(err)
			}
			for range 3 { // a few probe rounds under the new keys
				time.Sleep(r.cfgs[0].ProbeInterval)
				if d := down(); d != "" {
					t.Fatalf("during the rotation %s", d)
				}
			}
		}
	}
	if err := os.WriteFile(path, []byte(a+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.nodes[0].ReloadGossipKeys(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the node left on the old key to be cut off", 20*time.Second, func() bool {
		return len(r.nodes[1].Cluster().Members) == 3 && r.nodes[1].Cluster().Members[0].Health != membership.Alive
	})
}

// TestNodesAnnounceTheirProtocol: every node announces wire.Protocol in
// memberlist's node metadata, and its view sends its peers protocol 2's
// kinds.
func TestNodesAnnounceTheirProtocol(t *testing.T) {
	r := newTestRegion(t, 2, 206)
	waitFor(t, "the region settles", 20*time.Second, r.settled)
	waitFor(t, "both nodes announce protocol 2", 10*time.Second, func() bool {
		for _, n := range r.nodes {
			p := n.g.Protocols()
			if p["n1"] != wire.Protocol || p["n2"] != wire.Protocol {
				return false
			}
		}
		return true
	})
}

// TestReloadOfABadKeyFileChangesNothing: a reload that finds the key file
// damaged (or its keys refused) says what is wrong, and the node keeps the
// keys it had: the region stays together.
func TestReloadOfABadKeyFileChangesNothing(t *testing.T) {
	r := newTestRegion(t, 2, 207)
	waitFor(t, "the region settles", 20*time.Second, r.settled)
	path := filepath.Join(r.dir, "tls", GossipKeyFile)
	for _, bad := range []struct{ file, says string }{
		{"", "holds no key"},
		{"not base64!\n", "line 1 is not base64"},
		{base64.StdEncoding.EncodeToString([]byte("short")) + "\n", "5-byte key"},
	} {
		good, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(bad.file), 0o600); err != nil {
			t.Fatal(err)
		}
		err = r.nodes[0].ReloadGossipKeys()
		if err == nil || !errors.Is(err, ErrGossipKey) || !strings.Contains(err.Error(), bad.says) {
			t.Fatalf("reloading %q: %v, want an ErrGossipKey saying %q", bad.file, err, bad.says)
		}
		if err := os.WriteFile(path, good, 0o600); err != nil {
			t.Fatal(err)
		}
		if k := r.nodes[0].g.(*gossip).keyring.GetKeys(); len(k) != 1 || !bytes.Equal(k[0], mustDecode(t, string(good))) {
			t.Fatalf("after a refused reload the keyring holds %d keys, want the one it had", len(k))
		}
	}
	for range 5 {
		time.Sleep(r.cfgs[0].ProbeInterval)
		if !r.settled() {
			t.Fatal("the region came apart after a refused reload")
		}
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
