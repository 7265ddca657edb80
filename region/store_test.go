package region

import (
	"fmt"
	"testing"
	"time"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/region/membership"
	"github.com/meridiankv/meridian/ring"
	"github.com/meridiankv/meridian/storage"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// TestHintBudgetNeverFailsAWriteOnDisk: with one owner down, QUORUM writes
// fill the hint budget of the real store, and go on succeeding: a hint
// over budget is dropped, never the batch around it. (Before, sync checked
// the budget one way and storage another: near the budget, storage refused
// every batch holding a hint, and the writes of that batch failed or were
// never answered.)
func TestHintBudgetNeverFailsAWriteOnDisk(t *testing.T) {
	ids := []crdt.NodeID{"n1", "n2", "n3", "n4"}
	members := make([]ring.Member, len(ids))
	for i, id := range ids {
		members[i] = ring.Member{ID: ring.NodeID(id)}
	}
	r, err := ring.New(members...)
	if err != nil {
		t.Fatal(err)
	}
	place := membership.Placement(r)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	nodes := map[crdt.NodeID]*kvsync.Node{}
	down := place.Owners([]byte("k"), 3)[2]
	for _, id := range ids {
		db, err := storage.Open("", storage.Options{InMemory: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		cfg := kvsync.DefaultConfig(id)
		cfg.MaxHintBytes, cfg.AntiEntropyInterval = 2000, 0
		n, err := kvsync.NewNode(cfg, diskStore{db}, now)
		if err != nil {
			t.Fatal(err)
		}
		n.SetView(now, kvsync.View{Placement: place, Members: ids, Down: map[crdt.NodeID]bool{down: true}})
		nodes[id] = n
	}
	var queue []wire.Message
	answers := map[uint64]kvsync.Response{}
	flush := func(id crdt.NodeID) {
		rd, err := nodes[id].Flush()
		if err != nil {
			t.Fatalf("%s: commit failed: %v", id, err)
		}
		for _, r := range rd.Responses {
			answers[r.ID] = r
		}
		queue = append(queue, rd.Messages...)
	}
	coord := place.Owners([]byte("k"), 3)[0]
	for i := range 100 {
		id := uint64(i + 1)
		op := wire.Op{Kind: wire.OpPut, Key: []byte(fmt.Sprintf("k%d", i)), Value: make([]byte, 100), Level: uint8(kvsync.Quorum)}
		at := place.Owners(op.Key, 3)[0]
		if at == down {
			at = coord
		}
		nodes[at].Submit(now, kvsync.Request{ID: id, Op: op})
		flush(at)
		for len(queue) > 0 {
			m := queue[0]
			queue = queue[1:]
			if m.To == down {
				continue
			}
			nodes[m.To].Step(now, m)
			flush(m.To)
		}
		r, ok := answers[id]
		if !ok {
			t.Fatalf("write %d never answered", i)
		}
		if r.Err != nil {
			t.Fatalf("write %d near the hint budget: %v", i, r.Err)
		}
	}
	dropped := int64(0)
	for _, n := range nodes {
		dropped += n.Stats().HintsDropped
	}
	if dropped == 0 {
		t.Fatal("no hint was dropped: the test did not reach the budget")
	}
	t.Logf("100 QUORUM writes with an owner down: all acknowledged, %d hints dropped over the budget", dropped)
}
