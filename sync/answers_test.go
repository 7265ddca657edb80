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
		check  func(t *testing.T, r kvsync.Response)
	}{{
		name: "a write whose fallbacks all refuse the hint", nodes: 5, budget: 0,
		setup: func(c *cluster, owners []crdt.NodeID) (crdt.NodeID, wire.Op) {
			c.down[owners[1]], c.down[owners[2]] = true, true
			c.setViews()
			return owners[0], put("k", "v", kvsync.Quorum)
		},
		check: func(t *testing.T, r kvsync.Response) {
			if !errors.Is(r.Err, kvsync.ErrUnknownOutcome) || !strings.Contains(r.Err.Error(), "hint budget") {
				t.Fatalf("error = %v, want an unknown outcome naming the refusals", r.Err)
			}
		},
	}, {
		name: "a read whose replicas fail to read", nodes: 3, budget: 1 << 20,
		setup: func(c *cluster, owners []crdt.NodeID) (crdt.NodeID, wire.Op) {
			c.stores[owners[1]].FailGets = errors.New("bad sector")
			c.stores[owners[2]].FailGets = errors.New("bad sector")
			return owners[0], get("k", kvsync.Quorum)
		},
		check: func(t *testing.T, r kvsync.Response) {
			if r.Err == nil || errors.Is(r.Err, kvsync.ErrUnknownOutcome) || !strings.Contains(r.Err.Error(), "bad sector") {
				t.Fatalf("error = %v, want a failed read naming the replicas' errors", r.Err)
			}
		},
	}, {
		name: "a write whose own replica cannot read", nodes: 3, budget: 1 << 20,
		setup: func(c *cluster, owners []crdt.NodeID) (crdt.NodeID, wire.Op) {
			c.stores[owners[0]].FailGets = errors.New("bad sector")
			return owners[0], put("k", "v", kvsync.One)
		},
		check: func(t *testing.T, r kvsync.Response) {
			if r.Err == nil || !strings.Contains(r.Err.Error(), "bad sector") {
				t.Fatalf("error = %v", r.Err)
			}
		},
	}, {
		name: "a write waiting for acknowledgements when its commit fails", nodes: 3, budget: 1 << 20,
		setup: func(c *cluster, owners []crdt.NodeID) (crdt.NodeID, wire.Op) {
			c.stores[owners[0]].FailCommits = errors.New("disk full")
			return owners[0], put("k", "v", kvsync.All)
		},
		check: func(t *testing.T, r kvsync.Response) {
			if !errors.Is(r.Err, kvsync.ErrUnknownOutcome) || !strings.Contains(r.Err.Error(), "disk full") {
				t.Fatalf("error = %v, want an unknown outcome naming the commit failure", r.Err)
			}
		},
	}, {
		name: "a forwarded write whose coordinator's commit fails", nodes: 4, budget: 1 << 20,
		setup: func(c *cluster, owners []crdt.NodeID) (crdt.NodeID, wire.Op) {
			_, other := c.owners("k")
			c.stores[owners[0]].FailCommits = errors.New("disk full")
			return other, put("k", "v", kvsync.Quorum)
		},
		check: func(t *testing.T, r kvsync.Response) {
			if !errors.Is(r.Err, kvsync.ErrUnknownOutcome) || !strings.Contains(r.Err.Error(), "disk full") {
				t.Fatalf("error = %v, want the coordinator's commit failure", r.Err)
			}
		},
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
		check: func(t *testing.T, r kvsync.Response) {
			if r.Err != nil || value(t, r.State) != "last" {
				t.Fatalf("write near the hint budget: %q, %v; a hint over budget must be dropped, not the write", value(t, r.State), r.Err)
			}
		},
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
			tt.check(t, r)
		})
	}
}
