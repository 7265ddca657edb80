package sync_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// TestEveryRequestIsAnswered: whatever fails (replicas that refuse, reads
// that fail, commits that fail), every request gets an answer within its
// timeout, saying whether it may have been applied. Each case was a request
// left waiting for good before the fix.
func TestEveryRequestIsAnswered(t *testing.T) {
	tests := []struct {
		name   string
		nodes  int
		budget int64 // MaxHintBytes
		setup  func(c *cluster, owners []crdt.NodeID) (at crdt.NodeID, op wire.Op)
		// says is what the error must say, "" for a success;
		// unknown, whether it must be an unknown outcome.
		says    string
		unknown bool
		value   string // a success's value, if any
	}{{
		name: "a write whose fallbacks all refuse the hint", nodes: 5, budget: 0,
		setup: func(c *cluster, owners []crdt.NodeID) (crdt.NodeID, wire.Op) {
			c.down[owners[1]], c.down[owners[2]] = true, true
			c.setViews()
			return owners[0], put("k", "v", kvsync.Quorum)
		},
		says: "hint budget", unknown: true,
	}, {
		name: "a read whose replicas fail to read", nodes: 3, budget: 1 << 20,
		setup: func(c *cluster, owners []crdt.NodeID) (crdt.NodeID, wire.Op) {
			c.stores[owners[1]].FailGets = errors.New("bad sector")
			c.stores[owners[2]].FailGets = errors.New("bad sector")
			return owners[0], get("k", kvsync.Quorum)
		},
		says: "bad sector",
	}, {
		name: "a write whose own replica cannot read", nodes: 3, budget: 1 << 20,
		setup: func(c *cluster, owners []crdt.NodeID) (crdt.NodeID, wire.Op) {
			c.stores[owners[0]].FailGets = errors.New("bad sector")
			return owners[0], put("k", "v", kvsync.One)
		},
		says: "bad sector",
	}, {
		name: "a write waiting for acknowledgements when its commit fails", nodes: 3, budget: 1 << 20,
		setup: func(c *cluster, owners []crdt.NodeID) (crdt.NodeID, wire.Op) {
			c.stores[owners[0]].FailCommits = errors.New("disk full")
			return owners[0], put("k", "v", kvsync.All)
		},
		says: "disk full", unknown: true,
	}, {
		name: "a forwarded write whose coordinator's commit fails", nodes: 4, budget: 1 << 20,
		setup: func(c *cluster, owners []crdt.NodeID) (crdt.NodeID, wire.Op) {
			_, other := c.owners("k")
			c.stores[owners[0]].FailCommits = errors.New("disk full")
			return other, put("k", "v", kvsync.Quorum)
		},
		says: "disk full", unknown: true,
	}, {
		name: "QUORUM writes with an owner down and the hint budget nearly full", nodes: 4, budget: 200,
		setup: func(c *cluster, owners []crdt.NodeID) (crdt.NodeID, wire.Op) {
			c.down[owners[2]] = true
			c.setViews()
			for i := range 20 { // fill the budget of the fallback and the coordinator
				if r := c.do(owners[0], put("k", strings.Repeat("x", 30+i), kvsync.Quorum)); r.Err != nil {
					t.Fatalf("write %d: %v", i, r.Err)
				}
			}
			return owners[0], put("k", "last", kvsync.Quorum)
		},
		value: "last", // a hint over budget is dropped, not the write
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, tt.nodes, func(cfg *kvsync.Config) { cfg.MaxHintBytes = tt.budget })
			owners, _ := c.owners("k")
			at, op := tt.setup(c, owners)
			id := c.submit(at, op)
			c.run()
			for range 200 { // 2 s: longer than any request's timeout
				if _, ok := c.resps[id]; ok {
					break
				}
				c.advance(10 * time.Millisecond)
			}
			r, ok := c.resps[id]
			if !ok {
				t.Fatal("never answered")
			}
			switch {
			case tt.says == "":
				if r.Err != nil || value(t, r.State) != tt.value {
					t.Fatalf("got %q, %v; want %q", value(t, r.State), r.Err, tt.value)
				}
			case r.Err == nil || !strings.Contains(r.Err.Error(), tt.says):
				t.Fatalf("error = %v, want one saying %q", r.Err, tt.says)
			case errors.Is(r.Err, kvsync.ErrUnknownOutcome) != tt.unknown:
				t.Fatalf("error = %v: unknown outcome %v, want %v", r.Err, !tt.unknown, tt.unknown)
			}
		})
	}
}
