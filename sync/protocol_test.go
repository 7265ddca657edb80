package sync_test

import (
	"testing"
	"time"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// TestKindsFollowTheReceiversProtocol: each part sends its own kind (a
// hint to a fallback, its replay, a read repair), except to a node that
// has not announced protocol 2, which gets protocol 1's MsgWrite for all of
// them (a hint with its Target) and takes them as before.
func TestKindsFollowTheReceiversProtocol(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		c := newCluster(t, 4, nil)
		owners, _ := c.owners("k")
		fallback := c.ids[0]
		for _, id := range c.ids {
			if id != owners[0] && id != owners[1] && id != owners[2] {
				fallback = id
			}
		}
		if legacy {
			c.legacy = map[crdt.NodeID]bool{fallback: true, owners[2]: true}
		}
		kinds := map[wire.MsgType]int{}
		c.observe = func(m wire.Message) {
			if m.To == fallback || m.To == owners[2] {
				kinds[m.Type]++
			}
		}
		c.down[owners[2]] = true
		c.setViews()
		if r := c.do(owners[0], put("k", "v", kvsync.Quorum)); r.Err != nil {
			t.Fatal(r.Err)
		}
		delete(c.down, owners[2])
		c.setViews()
		c.advance(2 * time.Second) // the fallback replays its hint to owners[2]
		if got := value(t, c.stored(owners[2], "k")); got != "v" {
			t.Fatalf("legacy %v: the returning owner holds %q", legacy, got)
		}
		switch {
		case legacy && (kinds[wire.MsgHint] != 0 || kinds[wire.MsgReplay] != 0 || kinds[wire.MsgWrite] < 2):
			t.Fatalf("to protocol-1 nodes: %v, want only MsgWrite", kinds)
		case !legacy && (kinds[wire.MsgHint] != 1 || kinds[wire.MsgReplay] != 1):
			t.Fatalf("to protocol-2 nodes: %v, want one MsgHint and one MsgReplay", kinds)
		}
	}
}
