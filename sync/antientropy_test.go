package sync_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// TestAntiEntropyRepairsAThousandMissedWrites loads 100,000 keys on three
// replicas, of which one missed 1,000, and lets anti-entropy alone (no
// hints, no reads) bring it back. It reports the bytes the exchanges put on
// the wire, frame encoding included, and the time it took.
func TestAntiEntropyRepairsAThousandMissedWrites(t *testing.T) {
	keys, missed := 100_000, 1_000
	if testing.Short() {
		keys, missed = 10_000, 100
	}
	c := newCluster(t, 3, func(cfg *kvsync.Config) {
		cfg.MaxHintBytes = 0
		cfg.AntiEntropyInterval = time.Second
		cfg.AntiEntropyScan = 20_000
	})
	lagging := c.ids[2]
	ts := crdt.Timestamp{Wall: c.now}
	for i := range keys {
		key := []byte(fmt.Sprintf("key-%06d", i))
		var s crdt.State
		s.Put(c.ids[i%2], []byte("value"), ts, nil)
		for _, id := range c.ids {
			if id == lagging && i%(keys/missed) == 0 {
				continue
			}
			if err := c.stores[id].Commit(&wire.Batch{Puts: []wire.Entry{{Key: key, State: s}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := c.stores[lagging].Len(); got != keys-missed {
		t.Fatalf("lagging replica holds %d keys, want %d", got, keys-missed)
	}
	var bytes int
	c.observe = func(m wire.Message) {
		frame, err := wire.EncodeFrame([]wire.Message{m})
		if err != nil {
			t.Fatal(err)
		}
		bytes += len(frame)
	}
	start, wall := c.now, time.Now()
	for c.stores[lagging].Len() < keys {
		if time.Duration(c.now-start) > 2*time.Minute {
			t.Fatalf("not converged after 2 simulated minutes: %d of %d keys", c.stores[lagging].Len(), keys)
		}
		c.advance(100 * time.Millisecond)
	}
	took := time.Duration(c.now - start)
	for _, id := range c.ids[:2] {
		for _, k := range c.stores[id].Keys() {
			a, _ := c.stores[id].Get(k)
			b, _ := c.stores[lagging].Get(k)
			if !a.Equal(b) {
				t.Fatalf("key %s differs between %s and %s", k, id, lagging)
			}
		}
	}
	var st kvsync.AEStats
	for _, id := range c.ids {
		s := c.nodes[id].Stats().AE
		st.Exchanges += s.Exchanges
		st.Segments += s.Segments
		st.KeysSent += s.KeysSent
	}
	t.Logf("%d of %d keys repaired by anti-entropy in %s of simulated time (trees built from scratch first; %s of wall time), "+
		"%d bytes exchanged (%.0f per repaired key), %d exchanges, %d segments compared key by key, %d states shipped",
		missed, keys, took, time.Since(wall).Round(time.Millisecond), bytes, float64(bytes)/float64(missed),
		st.Exchanges, st.Segments, st.KeysSent)
}
