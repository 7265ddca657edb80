package membership

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Config describes this node to the Manager. Start from DefaultConfig;
// Validate reports every problem at once.
type Config struct {
	// ID names this node, uniquely within the region. Required.
	ID string
	// Region names the region. Default "local".
	Region string
	// Incarnation names this node's data: a node whose data is new (a new
	// data directory, or a wiped one) must get a new one, and a node
	// restarted on its data keeps it. The Manager tells by it an entry of
	// its own from one of an earlier life of its id. Required.
	Incarnation string
	// Peer, Gossip, RESP and HTTP are this node's addresses (host:port),
	// copied into its roster entry. Empty ones are recorded as empty.
	Peer, Gossip, RESP, HTTP string
	// VNodes is this node's weight in the ring, and the weight of members
	// whose entry records none. Default 256.
	VNodes int
	// DeadTimeout removes a member dead this long from the ring for good,
	// provided a majority of the region is alive in this node's view.
	// Zero never removes a member on its own.
	DeadTimeout time.Duration
	// Strong is this node's declaration of strong keys, canonical
	// (kvsync.Declaration.String): a joining node that finds a member
	// declaring otherwise stays joining and says why. Empty for none.
	Strong string
	// Logger receives what the Manager decides (ring changes, joins,
	// removals). Nil discards it.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults for node id; set Incarnation and the
// addresses.
func DefaultConfig(id string) Config {
	return Config{ID: id, Region: "local", VNodes: 256}
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	check := func(bad bool, format string, args ...any) {
		if bad {
			errs = append(errs, fmt.Errorf("membership: "+format, args...))
		}
	}
	check(c.ID == "", "the node's ID is empty")
	check(c.Region == "", "the region's name is empty")
	check(c.Incarnation == "", "the Incarnation of %q is empty: give every new data directory a new one", c.ID)
	check(c.VNodes < 1, "VNodes %d: must be at least 1", c.VNodes)
	check(c.DeadTimeout < 0, "DeadTimeout %s: must not be negative (0 disables)", c.DeadTimeout)
	return errors.Join(errs...)
}

func (c Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// entry is this node's roster entry with status s, before a version is
// given to it.
func (c Config) entry(s Status) Member {
	return Member{ID: c.ID, Region: c.Region, Peer: c.Peer, Gossip: c.Gossip, RESP: c.RESP, HTTP: c.HTTP,
		VNodes: c.VNodes, Status: s, Incarnation: c.Incarnation, Strong: c.Strong}
}
