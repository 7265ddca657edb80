package region

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/meridiankv/meridian/storage"
	kvsync "github.com/meridiankv/meridian/sync"
)

// Config configures one node. Start from DefaultConfig; cmd/meridiand fills
// it from flags and Validate reports every problem at once.
type Config struct {
	// ID names the node, uniquely within the region. Required.
	ID string
	// Region names the region the node belongs to. Default "local".
	Region string
	// DataDir is where the node keeps its data. Required unless InMemory.
	DataDir string
	// InMemory keeps everything in memory (tests): a restart loses it.
	InMemory bool

	// RESPAddr is the Redis-protocol listener. Default 127.0.0.1:6379.
	RESPAddr string
	// HTTPAddr is the HTTP/JSON listener. Default 127.0.0.1:8080.
	HTTPAddr string
	// PeerAddr is the QUIC listener for node-to-node traffic; outgoing
	// connections leave from its IP too. Default 127.0.0.1:7000.
	PeerAddr string
	// GossipAddr is memberlist's UDP and TCP listener. Default 127.0.0.1:7946.
	GossipAddr string
	// Join lists gossip addresses of nodes already in the region. Empty
	// starts a new region (or restarts a node that knows its region).
	Join []string
	// WANJoin lists peer (QUIC) addresses of nodes of other regions: the
	// node introduces its region to theirs, and from then on the regions
	// keep each other's directories (see the package doc). Empty: the node
	// knows only the regions its region already knows.
	WANJoin []string
	// WANDelay and WANJitter delay every message this node sends to
	// another region by WANDelay plus a uniform random part of up to
	// WANJitter, for demos and tests on one machine (a round trip costs
	// twice). Default 0: none.
	WANDelay, WANJitter time.Duration
	// MaxOutboxBytes bounds what this node keeps on disk for a region it
	// cannot reach: beyond it the region's backlog is dropped, and
	// anti-entropy repairs the region once it is back. Default 1 GiB.
	MaxOutboxBytes int64
	// Strong declares the strong keys (--strong): prefixes whose keys are
	// decided by consensus, local to a home region or global. Every node
	// of the cluster must declare the same: a node that declares otherwise
	// is refused by the acceptors of strong keys, and refuses to serve
	// when it finds a member that does. Default none.
	Strong kvsync.Declaration
	// TLSDir holds ca.crt and the node's certificate and key (<id>.crt, <id>.key)
	// for mutual TLS between nodes. Required unless InMemory.
	TLSDir string
	// GossipKeyFile holds the cluster's gossip keys (see NewGossipKey): the
	// same file on every node. Default <TLSDir>/gossip.key; required when
	// there is a TLSDir. A node without a TLSDir (InMemory, tests) gossips
	// in plain text.
	GossipKeyFile string

	// Replicas is N, the copies of each key. Default 3.
	Replicas int
	// VNodes is the node's virtual-node count, its weight in the ring.
	// Default 256.
	VNodes int
	// Sync says when writes reach the disk: storage.SyncAlways (every commit
	// is fsynced before it is acknowledged) or storage.SyncBatched (fsync
	// every SyncInterval). Default SyncBatched.
	Sync storage.SyncMode
	// SyncInterval is the fsync period under SyncBatched. Default 100ms,
	// MongoDB's journal interval: each sync costs CPU whatever it flushes
	// (10ms cost 10% of a node's throughput), and an acknowledged write at
	// QUORUM is on two machines, so a power loss of one loses no write.
	SyncInterval time.Duration

	// ReadLevel and WriteLevel are the consistency levels of requests that
	// do not choose one (a Redis connection before CONSISTENCY, an HTTP
	// request without ?consistency=). Default LOCAL_QUORUM for both: a
	// quorum of the node's own region (in a cluster of one region, the
	// same as QUORUM).
	ReadLevel, WriteLevel kvsync.Level
	// RequestTimeout is how long a coordinator waits for replicas. Default 1s.
	RequestTimeout time.Duration
	// ReadRetryAfter is how long a read waits for the owners it asked first
	// (as many as its level needs) before it asks the others too. Default
	// 50ms.
	ReadRetryAfter time.Duration
	// MaxKeySize and MaxValueSize bound keys and values, in bytes.
	// Defaults 1 KiB and 1 MiB.
	MaxKeySize, MaxValueSize int
	// AntiEntropyInterval is how often a node compares Merkle trees with a
	// peer. Default 10s.
	AntiEntropyInterval time.Duration
	// MaxHintBytes bounds the disk used by hints. Default 1 GiB.
	MaxHintBytes int64
	// RegionAntiEntropyInterval is how often a node compares one of its
	// Merkle trees with a node of another region, besides right after a
	// link comes back. Zero disables it. Default 30s.
	RegionAntiEntropyInterval time.Duration

	// ProbeInterval is memberlist's failure-detection probe period.
	// Default 250ms.
	ProbeInterval time.Duration
	// ProbeTimeout is how long a probe waits for an ack. Default 150ms.
	ProbeTimeout time.Duration
	// SuspicionMult scales the time a suspect node has to refute before it
	// is declared dead: SuspicionMult * log10(max(1, nodes)) * ProbeInterval
	// (memberlist's formula). Default 4. A node is routed around once it is
	// declared dead: memberlist keeps suspects to itself.
	SuspicionMult int
	// DeadTimeout removes a node dead this long from the ring for good, so
	// that the survivors re-replicate its ranges; a node does so only while
	// it sees more than half of the region's members alive, so that the
	// minority side of a partition removes no one. Zero never removes a
	// node on its own. Default 0: use `meridian node remove`.
	DeadTimeout time.Duration

	// Logger receives the node's logs. Default slog.Default().
	Logger *slog.Logger
	// Clock is the time the node's loop runs on. Default SystemClock.
	Clock Clock
}

// DefaultRegion is the region of a node that names none.
const DefaultRegion = "local"

// DefaultConfig returns the defaults for node id.
func DefaultConfig(id string) Config {
	return Config{
		ID:                  id,
		Region:              DefaultRegion,
		RESPAddr:            "127.0.0.1:6379",
		HTTPAddr:            "127.0.0.1:8080",
		PeerAddr:            "127.0.0.1:7000",
		GossipAddr:          "127.0.0.1:7946",
		Replicas:            3,
		VNodes:              256,
		Sync:                storage.SyncBatched,
		SyncInterval:        100 * time.Millisecond,
		ReadLevel:           kvsync.LocalQuorum,
		WriteLevel:          kvsync.LocalQuorum,
		RequestTimeout:      time.Second,
		ReadRetryAfter:      50 * time.Millisecond,
		MaxKeySize:          1024,
		MaxValueSize:        1 << 20,
		AntiEntropyInterval: 10 * time.Second,
		MaxHintBytes:        1 << 30,
		MaxOutboxBytes:      1 << 30,

		RegionAntiEntropyInterval: 30 * time.Second,
		ProbeInterval:             250 * time.Millisecond,
		ProbeTimeout:              150 * time.Millisecond,
		SuspicionMult:             4,
	}
}

// gossipKeyFile returns the key file the node's gossip uses, "" for none.
func (c Config) gossipKeyFile() string {
	switch {
	case c.GossipKeyFile != "":
		return c.GossipKeyFile
	case c.TLSDir != "":
		return filepath.Join(c.TLSDir, GossipKeyFile)
	}
	return ""
}

// Validate reports every problem with c at once. Each message starts with
// the name of the meridiand flag that sets the field.
func (c Config) Validate() error {
	var errs []error
	check := func(bad bool, format string, args ...any) {
		if bad {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.ID == "" || len(c.ID) > 64 || strings.ContainsAny(c.ID, "/\\ ,"),
		"--id %q: give every node a unique id of 1 to 64 characters, without spaces, commas or slashes", c.ID)
	check(!validRegion(c.Region), "--region %q: name the region with 1 to 32 letters, digits, '-' or '_' (default \"local\")", c.Region)
	check(!c.InMemory && c.DataDir == "", "--data is empty: give the node a data directory")
	check(!c.InMemory && c.TLSDir == "", "--tls-dir is empty: it must hold ca.crt, %s.crt and %s.key (meridian dev makes them)", c.ID, c.ID)
	for _, a := range []struct{ flag, addr string }{{"resp", c.RESPAddr}, {"http", c.HTTPAddr}, {"peer", c.PeerAddr}, {"gossip", c.GossipAddr}} {
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("--%s %q: want host:port", a.flag, a.addr))
		}
	}
	for _, j := range c.Join {
		if _, _, err := net.SplitHostPort(j); err != nil {
			errs = append(errs, fmt.Errorf("--join %q: want host:port of a node's gossip listener", j))
		}
	}
	for _, j := range c.WANJoin {
		if _, _, err := net.SplitHostPort(j); err != nil {
			errs = append(errs, fmt.Errorf("--wan-join %q: want host:port of a node's peer (QUIC) listener in another region", j))
		}
	}
	check(c.WANDelay < 0 || c.WANDelay > time.Minute, "--wan-delay %s: use 0 to 1m", c.WANDelay)
	check(c.WANJitter < 0 || c.WANJitter > time.Minute, "--wan-jitter %s: use 0 to 1m", c.WANJitter)
	check(c.MaxOutboxBytes < 0, "--max-outbox-bytes %d: must not be negative (0 keeps no backlog: regions it cannot reach are repaired by anti-entropy)", c.MaxOutboxBytes)
	check(c.Replicas < 1 || c.Replicas > 9, "--replicas %d: use 1 to 9", c.Replicas)
	check(c.VNodes < 1 || c.VNodes > 4096, "--vnodes %d: use 1 to 4096", c.VNodes)
	check(c.Sync != storage.SyncAlways && c.Sync != storage.SyncBatched, "--sync %v: use always or batched", c.Sync)
	check(c.Sync == storage.SyncBatched && c.SyncInterval <= 0, "--sync-interval %s: must be positive", c.SyncInterval)
	check(!c.ReadLevel.Valid() || c.ReadLevel.IsSerial(), "--read-consistency %v: use ONE, QUORUM, ALL, LOCAL_ONE, LOCAL_QUORUM or EACH_QUORUM (strong keys use their serial level whatever this says)", c.ReadLevel)
	check(!c.WriteLevel.Valid() || c.WriteLevel.IsSerial(), "--write-consistency %v: use ONE, QUORUM, ALL, LOCAL_ONE, LOCAL_QUORUM or EACH_QUORUM (strong keys use their serial level whatever this says)", c.WriteLevel)
	if err := c.Strong.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("--strong: %w", err))
	}
	check(c.RequestTimeout <= 0, "--request-timeout %s: must be positive", c.RequestTimeout)
	check(c.ReadRetryAfter <= 0, "--read-retry-after %s: must be positive", c.ReadRetryAfter)
	check(c.MaxKeySize < 1 || c.MaxKeySize > 64<<10, "--max-key-size %d: use 1 to 65536 bytes", c.MaxKeySize)
	check(c.MaxValueSize < 1 || c.MaxValueSize > 32<<20, "--max-value-size %d: use 1 byte to 32 MiB", c.MaxValueSize)
	check(c.AntiEntropyInterval < 0, "--anti-entropy-interval %s: must not be negative (0 disables)", c.AntiEntropyInterval)
	check(c.MaxHintBytes < 0, "--max-hint-bytes %d: must not be negative", c.MaxHintBytes)
	check(c.RegionAntiEntropyInterval < 0, "--region-anti-entropy-interval %s: must not be negative (0 disables)", c.RegionAntiEntropyInterval)
	check(c.ProbeInterval <= 0, "--probe-interval %s: must be positive", c.ProbeInterval)
	check(c.ProbeTimeout <= 0 || c.ProbeTimeout > c.ProbeInterval, "--probe-timeout %s: must be positive and at most --probe-interval", c.ProbeTimeout)
	check(c.SuspicionMult < 1, "--suspicion-mult %d: must be at least 1", c.SuspicionMult)
	check(c.DeadTimeout < 0, "--dead-timeout %s: must not be negative (0 disables)", c.DeadTimeout)
	return errors.Join(errs...)
}

// validRegion reports whether name can name a region: it travels in node
// names (region/id) and actors, and labels metrics.
func validRegion(name string) bool {
	if len(name) < 1 || len(name) > 32 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
