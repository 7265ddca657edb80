package sync

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/meridiankv/meridian/crdt"
)

// Config configures a Node. Start from DefaultConfig; a zero field means the
// default only where it says so.
type Config struct {
	// ID names the node in the ring and in membership. Required.
	ID crdt.NodeID
	// Actor is the base of the actor the node mints its dots under: the
	// node adds an epoch to it (ActorOf), which it changes itself whenever
	// it may have lost a dot it minted (see Epochs). Actor must change when
	// the store is replaced by an empty one (a wiped disk), whose epochs
	// record starts again: the region layer sets it to ID plus an
	// incarnation stored with the data. Zero means ID.
	Actor crdt.NodeID
	// Region names the node's region. Messages to other regions carry it,
	// and their nodes know this one as Region/ID. Default "local".
	Region string
	// Replicas is N, the number of copies of each key. Default 3.
	Replicas int
	// RequestTimeout is how long a coordinator waits for replicas before it
	// answers with a timeout (unknown outcome for writes). Default 1s.
	RequestTimeout time.Duration
	// ReadRetryAfter is how long a read waits for the owners it asked
	// first (as many as its level needs) before it asks the other
	// reachable owners too. A replica that answers with an error gets them
	// asked at once. Default 50ms.
	ReadRetryAfter time.Duration
	// MaxSkew is how far ahead of local time a remote timestamp may be before
	// the hybrid logical clock refuses to absorb it (the data still merges).
	// Default 1 minute.
	MaxSkew time.Duration
	// MaxKeySize is the largest key in bytes. Default 1024.
	MaxKeySize int
	// MaxValueSize is the largest register value or set element in bytes.
	// Default 1 MiB.
	MaxValueSize int
	// MaxElements is the most set elements one request may add or remove.
	// Default 10,000.
	MaxElements int
	// HintInterval is how often hints are replayed to returning replicas.
	// Default 50ms.
	HintInterval time.Duration
	// HintsInFlight bounds the hints being replayed at once per target, so
	// that a returning node is not flooded (back-pressure). Default 256.
	HintsInFlight int
	// MaxHintBytes bounds the disk used by the hints this node keeps for
	// others; beyond it a replica refuses to take a hint (the coordinator
	// then counts one fewer acknowledgement) and a coordinator keeps no
	// local hint, leaving the repair to anti-entropy. Zero keeps no hints
	// at all. Default 1 GiB.
	MaxHintBytes int64
	// AntiEntropyInterval is how often the node compares its Merkle tree
	// with one peer's (round robin). Zero disables anti-entropy. Default 10s.
	AntiEntropyInterval time.Duration
	// AntiEntropyScan is how many stored keys one tick adds to the trees
	// while they are being built (at start and after a ring change).
	// Default 10,000.
	AntiEntropyScan int
	// MaxSegments caps the leaf segments one exchange compares key by key:
	// the budget that keeps a badly diverged pair from flooding the
	// network; the rest waits for the next exchange. Default 1,024.
	MaxSegments int

	// RegionAntiEntropyInterval is how often the node compares one of its
	// trees with a node of another region (round robin), besides once
	// with each right after a region's link comes back. Zero disables
	// anti-entropy between regions. Default 30s.
	RegionAntiEntropyInterval time.Duration

	// Between regions (ship.go): the writes this node coordinates are
	// kept in its outbox and shipped to every other region in batches.
	//
	// ShipBatch is the most keys one batch holds. Default 512.
	ShipBatch int
	// ShipInFlight is the most batches sent to one region and not yet
	// acknowledged. Default 4.
	ShipInFlight int
	// ShipTimeout is how long a batch waits for its acknowledgement
	// before it is sent again, to another node of the region. Default 2s.
	ShipTimeout time.Duration
	// ShipRate bounds the bytes per second shipped to one region, so that
	// a region catching up after a partition does not starve the traffic
	// of the regions' own clients. Default 8 MiB.
	ShipRate int64
	// MaxOutboxBytes bounds what is owed to one region: beyond it the
	// region's backlog is dropped (Stats.Regions counts it) and
	// anti-entropy repairs the region once it is back. Zero keeps no
	// backlog at all. Default 1 GiB.
	MaxOutboxBytes int64

	// Strong keys (strong.go, proposer.go): Strong declares which keys are
	// decided by consensus, the same on every node. Default none.
	Strong Declaration
	// StrongBackoff is the first pause of a proposer whose ballot lost to
	// another's before it tries again; each further loss doubles it (up to
	// 32 times), with a jitter drawn from the node's id and the attempt,
	// so that two proposers contending for a key do not livelock. A pause
	// after a loss is at least the time the lost attempt took (a round trip
	// to the key's acceptors, which for a global key crosses regions).
	// Default 5ms.
	StrongBackoff time.Duration
	// StrongBatch is the most operations on one key a proposer decides in
	// one round (the operations that arrived while the previous round ran,
	// applied in order). Default 64.
	StrongBatch int
	// RememberRequests is how many requests that carried an id a strong
	// key remembers with their answers, so that a retry is answered, not
	// applied again. Default 16.
	RememberRequests int
}

// DefaultConfig returns the defaults for node id.
func DefaultConfig(id crdt.NodeID) Config {
	return Config{
		ID:             id,
		Replicas:       3,
		RequestTimeout: time.Second,
		ReadRetryAfter: 50 * time.Millisecond,
		MaxSkew:        time.Minute,
		MaxKeySize:     1024,
		MaxValueSize:   1 << 20,
		MaxElements:    10_000,
		HintInterval:   50 * time.Millisecond,
		HintsInFlight:  256,
		MaxHintBytes:   1 << 30,

		AntiEntropyInterval: 10 * time.Second,
		AntiEntropyScan:     10_000,
		MaxSegments:         1024,

		RegionAntiEntropyInterval: 30 * time.Second,

		ShipBatch:      512,
		ShipInFlight:   4,
		ShipTimeout:    2 * time.Second,
		ShipRate:       8 << 20,
		MaxOutboxBytes: 1 << 30,

		StrongBackoff:    5 * time.Millisecond,
		StrongBatch:      64,
		RememberRequests: 16,
	}
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	check := func(bad bool, format string, args ...any) {
		if bad {
			errs = append(errs, fmt.Errorf("sync: "+format, args...))
		}
	}
	check(c.ID == "", "Config.ID is empty: every node needs a unique id")
	check(c.Replicas < 1 || c.Replicas > 9, "Config.Replicas = %d: use 1 to 9 copies", c.Replicas)
	check(c.RequestTimeout <= 0, "Config.RequestTimeout = %s: must be positive", c.RequestTimeout)
	check(c.ReadRetryAfter <= 0, "Config.ReadRetryAfter = %s: must be positive", c.ReadRetryAfter)
	check(c.MaxSkew < 0, "Config.MaxSkew = %s: must not be negative", c.MaxSkew)
	check(c.MaxKeySize < 1, "Config.MaxKeySize = %d: must be at least 1", c.MaxKeySize)
	check(c.MaxValueSize < 1, "Config.MaxValueSize = %d: must be at least 1", c.MaxValueSize)
	check(c.MaxElements < 1, "Config.MaxElements = %d: must be at least 1", c.MaxElements)
	check(c.HintInterval <= 0, "Config.HintInterval = %s: must be positive", c.HintInterval)
	check(c.HintsInFlight < 1, "Config.HintsInFlight = %d: must be at least 1", c.HintsInFlight)
	check(c.MaxHintBytes < 0, "Config.MaxHintBytes = %d: must not be negative", c.MaxHintBytes)
	check(c.AntiEntropyInterval < 0, "Config.AntiEntropyInterval = %s: must not be negative (0 disables)", c.AntiEntropyInterval)
	check(c.AntiEntropyScan < 1, "Config.AntiEntropyScan = %d: must be at least 1", c.AntiEntropyScan)
	check(c.RegionAntiEntropyInterval < 0, "Config.RegionAntiEntropyInterval = %s: must not be negative (0 disables)", c.RegionAntiEntropyInterval)
	check(c.MaxSegments < 1, "Config.MaxSegments = %d: must be at least 1", c.MaxSegments)
	check(strings.Contains(c.Region, "/") || strings.Contains(string(c.ID), "/"), "Config.Region %q, Config.ID %q: a '/' separates a region from a node id, and may appear in neither", c.Region, c.ID)
	check(c.ShipBatch < 1, "Config.ShipBatch = %d: must be at least 1", c.ShipBatch)
	check(c.ShipInFlight < 1, "Config.ShipInFlight = %d: must be at least 1", c.ShipInFlight)
	check(c.ShipTimeout <= 0, "Config.ShipTimeout = %s: must be positive", c.ShipTimeout)
	check(c.ShipRate < 1, "Config.ShipRate = %d: must be at least 1 byte per second", c.ShipRate)
	check(c.MaxOutboxBytes < 0, "Config.MaxOutboxBytes = %d: must not be negative", c.MaxOutboxBytes)
	if err := c.Strong.Validate(); err != nil {
		errs = append(errs, err)
	}
	check(c.StrongBackoff <= 0, "Config.StrongBackoff = %s: must be positive", c.StrongBackoff)
	check(c.StrongBatch < 1, "Config.StrongBatch = %d: must be at least 1", c.StrongBatch)
	check(c.RememberRequests < 1, "Config.RememberRequests = %d: must be at least 1", c.RememberRequests)
	return errors.Join(errs...)
}

func (c Config) region() string {
	if c.Region == "" {
		return "local"
	}
	return c.Region
}

func (c Config) actor() crdt.NodeID {
	if c.Actor == "" {
		return c.ID
	}
	return c.Actor
}
