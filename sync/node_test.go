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

func TestQuorumWriteIsReadFromEveryNode(t *testing.T) {
	c := newCluster(t, 4, nil)
	owners, other := c.owners("k")
	if r := c.do(owners[0], put("k", "v1", kvsync.Quorum)); r.Err != nil {
		t.Fatal(r.Err)
	}
	for _, id := range c.ids {
		if r := c.do(id, get("k", kvsync.Quorum)); r.Err != nil || value(t, r.State) != "v1" {
			t.Fatalf("read at %s: %q, %v", id, value(t, r.State), r.Err)
		}
	}
	for _, o := range owners {
		if got := value(t, c.stored(o, "k")); got != "v1" {
			t.Fatalf("replica %s holds %q", o, got)
		}
	}
	if !c.stored(other, "k").IsZero() {
		t.Fatalf("non-owner %s holds the key", other)
	}
}

func TestWriteToANonOwnerIsForwarded(t *testing.T) {
	c := newCluster(t, 4, nil)
	owners, other := c.owners("k")
	r := c.do(other, put("k", "v", kvsync.All))
	if r.Err != nil || value(t, r.State) != "v" {
		t.Fatalf("forwarded write: %q, %v", value(t, r.State), r.Err)
	}
	if c.nodes[other].Stats().Forwarded != 1 || c.nodes[owners[0]].Stats().Coordinated != 1 {
		t.Fatalf("want one forward to the primary %s: %+v", owners[0], c.nodes[owners[0]].Stats())
	}
}

func TestSilentReplicasMakeTheOutcomeUnknownAndGetHints(t *testing.T) {
	c := newCluster(t, 3, nil)
	owners, _ := c.owners("k")
	coord := owners[0]
	cut := true
	// The replicas answer the write's prepare read, then go silent.
	c.drop = func(m wire.Message) bool { return cut && m.From != m.To && m.To != coord && wire.Carries(m.Type) }
	id := c.submit(coord, put("k", "v", kvsync.Quorum))
	c.run()
	c.advance(1100 * time.Millisecond)
	r := c.resps[id]
	want := "QUORUM not reached: 1 of 2 replicas answered within 1s; the write may have been applied"
	if r.Err == nil || r.Err.Error() != want || !errors.Is(r.Err, kvsync.ErrUnknownOutcome) {
		t.Fatalf("error = %v\nwant    %s", r.Err, want)
	}
	if n := c.nodes[coord].Stats().HintsStored; n != 2 {
		t.Fatalf("coordinator stored %d hints, want 2", n)
	}
	cut = false
	c.advance(2 * time.Second) // replays lost to the cut time out first
	for _, o := range owners {
		if got := value(t, c.stored(o, "k")); got != "v" {
			t.Fatalf("after hint replay replica %s holds %q", o, got)
		}
	}
	if b, _ := c.stores[coord].HintTargets(); len(b) != 0 {
		t.Fatalf("delivered hints were not deleted: %+v", b)
	}
}

// TestSilentOwnersBeforeAWriteMeanNothingWritten: a QUORUM write first
// reads a quorum of owners; when they stay silent, it is not applied.
func TestSilentOwnersBeforeAWriteMeanNothingWritten(t *testing.T) {
	c := newCluster(t, 3, nil)
	owners, _ := c.owners("k")
	c.drop = func(m wire.Message) bool { return m.To != owners[0] }
	r := c.do(owners[0], put("k", "v", kvsync.Quorum))
	want := "QUORUM unavailable: a write first reads 2 of the key's owners, and 1 answered (1 of the 2 owners needed answered within 1s); nothing was written: retry later or use consistency ONE"
	if r.Err == nil || r.Err.Error() != want || !errors.Is(r.Err, kvsync.ErrUnavailable) {
		t.Fatalf("error = %v\nwant    %s", r.Err, want)
	}
	c.drop = nil
	c.advance(2 * time.Second)
	for _, id := range c.ids {
		if !c.stored(id, "k").IsZero() {
			t.Fatalf("%s stored a write that was refused", id)
		}
	}
}

func TestTooFewLiveReplicasIsUnavailableAndChangesNothing(t *testing.T) {
	c := newCluster(t, 3, nil)
	owners, _ := c.owners("k")
	c.down[owners[1]], c.down[owners[2]] = true, true
	c.setViews()
	r := c.do(owners[0], put("k", "v", kvsync.Quorum))
	want := "QUORUM unavailable: 1 of the 2 replicas needed are reachable; nothing was written: retry later or use a lower consistency level"
	if r.Err == nil || r.Err.Error() != want || !errors.Is(r.Err, kvsync.ErrUnavailable) {
		t.Fatalf("error = %v\nwant    %s", r.Err, want)
	}
	for _, id := range c.ids {
		if !c.stored(id, "k").IsZero() {
			t.Fatalf("%s stored a write that was refused", id)
		}
	}
	if r := c.do(owners[0], put("k", "v", kvsync.One)); r.Err != nil {
		t.Fatalf("ONE with one replica up: %v", r.Err)
	}
}

func TestSloppyQuorumHandsTheWriteBackWhenTheOwnerReturns(t *testing.T) {
	c := newCluster(t, 5, nil)
	owners, _ := c.owners("k")
	c.down[owners[2]] = true
	c.setViews()
	if r := c.do(owners[0], put("k", "v", kvsync.All)); r.Err != nil {
		t.Fatalf("ALL with a fallback standing in: %v", r.Err)
	}
	if !c.stored(owners[2], "k").IsZero() {
		t.Fatal("the down owner got the write directly")
	}
	delete(c.down, owners[2])
	c.setViews()
	c.advance(time.Second)
	if got := value(t, c.stored(owners[2], "k")); got != "v" {
		t.Fatalf("returning owner holds %q after hand-back", got)
	}
	for _, id := range c.ids {
		if b, _ := c.stores[id].HintTargets(); len(b) != 0 {
			t.Fatalf("%s still holds hints %+v", id, b)
		}
	}
}

func TestQuorumReadRepairsAStaleReplica(t *testing.T) {
	c := newCluster(t, 3, func(cfg *kvsync.Config) { cfg.MaxHintBytes = 0 })
	owners, _ := c.owners("k")
	stale := owners[2]
	c.drop = func(m wire.Message) bool { return m.To == stale && wire.Carries(m.Type) }
	if r := c.do(owners[0], put("k", "v", kvsync.Quorum)); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.drop = nil
	if !c.stored(stale, "k").IsZero() {
		t.Fatal("the stale replica got the write")
	}
	if r := c.do(stale, get("k", kvsync.All)); r.Err != nil || value(t, r.State) != "v" {
		t.Fatalf("read: %v", r.Err)
	}
	if got := value(t, c.stored(stale, "k")); got != "v" {
		t.Fatalf("read repair left %q on the stale replica", got)
	}
}

// A read asks only as many owners as its level needs; when one of them is
// silent or fails, it asks the others and still answers.
func TestReadsAskOnlyTheOwnersTheLevelNeeds(t *testing.T) {
	tests := []struct {
		name      string
		lvl       kvsync.Level
		at        int // index into owners; -1: a node that is not an owner
		wantReads int // MsgRead sent when nothing goes wrong
	}{
		{"ONE at an owner", kvsync.One, 0, 0},
		{"ONE elsewhere", kvsync.One, -1, 1},
		{"QUORUM at an owner", kvsync.Quorum, 1, 1},
		{"QUORUM elsewhere", kvsync.Quorum, -1, 2},
		{"ALL at an owner", kvsync.All, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, 4, nil)
			owners, other := c.owners("k")
			at := other
			if tt.at >= 0 {
				at = owners[tt.at]
			}
			if r := c.do(owners[0], put("k", "v", kvsync.All)); r.Err != nil {
				t.Fatal(r.Err)
			}
			var asked []crdt.NodeID
			c.observe = func(m wire.Message) {
				if m.Type == wire.MsgRead {
					asked = append(asked, m.To)
				}
			}
			if r := c.do(at, get("k", tt.lvl)); r.Err != nil || value(t, r.State) != "v" {
				t.Fatalf("read: %v", r.Err)
			}
			if len(asked) != tt.wantReads {
				t.Fatalf("asked %v, want %d owners", asked, tt.wantReads)
			}
			if tt.wantReads == 0 {
				return
			}
			// The first owner asked goes silent: the read asks the others.
			silent := asked[0]
			asked = nil
			c.drop = func(m wire.Message) bool { return m.To == silent && m.Type == wire.MsgRead }
			if r := c.do(at, get("k", tt.lvl)); tt.lvl != kvsync.All && (r.Err != nil || value(t, r.State) != "v") {
				t.Fatalf("read with %s silent: %v", silent, r.Err)
			}
			// asked holds the reads delivered: all but the one to silent.
			if tt.lvl != kvsync.All && len(asked) < tt.wantReads {
				t.Fatalf("delivered reads to %v with %s silent: the spare owners were not asked", asked, silent)
			}
		})
	}
}

func TestBadRequestsAreRejectedAndChangeNothing(t *testing.T) {
	c := newCluster(t, 3, nil)
	owners, _ := c.owners("k")
	tests := []struct {
		name string
		op   wire.Op
		want string
	}{
		{"value too large", wire.Op{Kind: wire.OpPut, Key: []byte("k"), Value: make([]byte, 1<<20+1)},
			"rejected: value too large: 1048577 bytes, the limit is 1048576"},
		{"key too large", wire.Op{Kind: wire.OpPut, Key: make([]byte, 1025)}, "rejected: key too large: 1025 bytes, the limit is 1024"},
		{"empty key", wire.Op{Kind: wire.OpPut}, "rejected: empty key: keys are 1 to 1024 bytes"},
		{"no elements", wire.Op{Kind: wire.OpAdd, Key: []byte("k")}, "rejected: no elements given: name at least one"},
		{"bad level", wire.Op{Kind: wire.OpGet, Key: []byte("k"), Level: 99}, "rejected: unknown consistency level 99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.do(owners[0], tt.op)
			if r.Err == nil || r.Err.Error() != tt.want || !errors.Is(r.Err, kvsync.ErrRejected) {
				t.Fatalf("error = %v, want %q", r.Err, tt.want)
			}
		})
	}
	for _, id := range c.ids {
		if c.stores[id].Len() != 0 {
			t.Fatalf("%s stored something", id)
		}
	}
}

func TestWrongTypeCrossesAForward(t *testing.T) {
	c := newCluster(t, 4, nil)
	_, other := c.owners("k")
	if r := c.do(other, wire.Op{Kind: wire.OpAdd, Key: []byte("k"), Elems: [][]byte{[]byte("x")}}); r.Err != nil || r.Changed != 1 {
		t.Fatalf("SADD: %d, %v", r.Changed, r.Err)
	}
	r := c.do(other, wire.Op{Kind: wire.OpIncr, Key: []byte("k"), By: 1})
	if !errors.Is(r.Err, crdt.ErrWrongType) || !strings.Contains(r.Err.Error(), "holds a set, not a counter") {
		t.Fatalf("INCR on a set through a forward: %v", r.Err)
	}
}

func TestFailedCommitAcknowledgesNothing(t *testing.T) {
	c := newCluster(t, 3, nil)
	owners, _ := c.owners("k")
	c.stores[owners[0]].FailCommits = errors.New("disk full")
	id := c.submit(owners[0], put("k", "v", kvsync.One))
	if len(c.queue) != 0 {
		t.Fatalf("messages released after a failed commit: %v", c.queue)
	}
	r := c.resps[id]
	if !errors.Is(r.Err, kvsync.ErrUnknownOutcome) || !strings.Contains(r.Err.Error(), "disk full") {
		t.Fatalf("error = %v", r.Err)
	}
	c.stores[owners[0]].FailCommits = nil
	c.advance(2 * time.Second) // the forgotten write must not answer again
	if r := c.do(owners[0], get("k", kvsync.All)); r.Err != nil || !r.State.IsZero() {
		t.Fatalf("read after failed commit: %v, %v", r.State, r.Err)
	}
}

func TestAntiEntropyRepairsWritesNobodyHinted(t *testing.T) {
	c := newCluster(t, 3, func(cfg *kvsync.Config) {
		cfg.MaxHintBytes = 0
		cfg.AntiEntropyInterval = 100 * time.Millisecond
	})
	c.advance(100 * time.Millisecond) // build the (empty) trees
	lagging := c.ids[2]
	c.drop = func(m wire.Message) bool { return m.To == lagging && wire.Carries(m.Type) }
	for i := range 200 {
		key := "key-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		if r := c.do(c.ids[0], put(key, "v", kvsync.One)); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	c.drop = nil
	c.advance(5 * time.Second)
	for _, key := range c.stores[c.ids[0]].Keys() {
		owners := c.place.Owners(key, 3)
		for _, o := range owners {
			if got := value(t, c.stored(o, string(key))); got != "v" {
				t.Fatalf("key %s on %s = %q after anti-entropy", key, o, got)
			}
		}
	}
	var sent int64
	for _, id := range c.ids {
		st := c.nodes[id].Stats()
		if st.HintsStored != 0 {
			t.Fatalf("%s stored hints with a zero hint budget", id)
		}
		sent += st.AE.KeysSent
	}
	if sent < 200 {
		t.Fatalf("anti-entropy shipped %d states, want at least the 200 missed", sent)
	}
}

func TestInspectShowsEachReplica(t *testing.T) {
	c := newCluster(t, 3, func(cfg *kvsync.Config) { cfg.MaxHintBytes = 0 })
	owners, _ := c.owners("k")
	stale := owners[2]
	c.drop = func(m wire.Message) bool { return m.To == stale && wire.Carries(m.Type) }
	if r := c.do(owners[0], put("k", "v", kvsync.Quorum)); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.drop = nil
	c.down[owners[1]] = true
	c.setViews()
	r := c.do(owners[0], wire.Op{Kind: wire.OpInspect, Key: []byte("k")})
	if r.Err != nil || len(r.Replicas) != 3 || value(t, r.State) != "v" {
		t.Fatalf("inspect: %+v", r)
	}
	for _, rs := range r.Replicas {
		switch rs.Node {
		case owners[0]:
			if value(t, rs.State) != "v" || rs.Err != nil {
				t.Fatalf("coordinator's replica: %+v", rs)
			}
		case owners[1]:
			if rs.Err == nil || !strings.Contains(rs.Err.Error(), "is down") {
				t.Fatalf("down replica: %+v", rs)
			}
		case stale:
			if !rs.State.IsZero() || rs.Err != nil {
				t.Fatalf("stale replica must show its own (empty) state: %+v", rs)
			}
		}
	}
	if value(t, c.stored(stale, "k")) != "v" {
		t.Fatal("inspect did not repair the stale replica")
	}
}

// TestCounterReplyCountsWhatAQuorumAcknowledged: INCR answers with the
// counter's value. At QUORUM and ALL that value includes every increment
// acknowledged at QUORUM before it, even when the coordinator itself missed
// one: the replicas that acknowledge send their counter back. At ONE it is
// what the coordinator holds.
func TestCounterReplyCountsWhatAQuorumAcknowledged(t *testing.T) {
	for _, tt := range []struct {
		level kvsync.Level
		want  int64
	}{
		{kvsync.Quorum, 7},
		{kvsync.All, 7},
		{kvsync.One, -3},
	} {
		t.Run(tt.level.String(), func(t *testing.T) {
			c := newCluster(t, 3, nil)
			owners, _ := c.owners("hits")
			late := owners[2]
			c.drop = func(m wire.Message) bool { return m.To == late }
			incr := func(by int64, lvl kvsync.Level) wire.Op {
				return wire.Op{Kind: wire.OpIncr, Key: []byte("hits"), By: by, Level: uint8(lvl)}
			}
			if r := c.do(owners[0], incr(10, kvsync.Quorum)); r.Err != nil {
				t.Fatal(r.Err)
			}
			c.drop = nil
			if got := c.stored(late, "hits"); !got.IsZero() {
				t.Fatalf("%s got the first increment; the test needs it to miss it", late)
			}
			r := c.do(late, incr(-3, tt.level))
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			if v, err := r.State.Value(); err != nil || v != tt.want {
				t.Errorf("DECRBY 3 at %s: %d, %v; want %d", tt.level, v, err, tt.want)
			}
		})
	}
}
