package storage_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/storage"
	"github.com/meridiankv/meridian/wire"
	"go.uber.org/goleak"
)

func TestCommitMerges(t *testing.T) {
	v1 := write(crdt.State{}, "n1", "v1", 1)
	v2 := write(v1, "n1", "v2", 2) // has seen v1
	x := write(crdt.State{}, "n1", "x", 5)
	y := write(crdt.State{}, "n2", "y", 3) // concurrent with x
	tomb := v2.Clone()
	tomb.Delete(nil)
	tests := []struct {
		name      string
		states    []crdt.State // committed in this order to one key
		want      crdt.State
		wantValue string
		unchanged uint64 // puts that must have been skipped
	}{
		{"one write", []crdt.State{v1}, v1, "v1", 0},
		{"newer after older", []crdt.State{v1, v2}, v2, "v2", 0},
		{"older after newer leaves newer", []crdt.State{v2, v1}, v2, "v2", 1},
		{"same state twice is skipped", []crdt.State{v1, v1}, v1, "v1", 1},
		{"concurrent writes keep both", []crdt.State{x, y}, crdt.Merge(x, y), "x", 0},
		{"concurrent writes in the other order", []crdt.State{y, x}, crdt.Merge(x, y), "x", 0},
		{"tombstone beats what it saw", []crdt.State{v2, tomb, v1}, tomb, "", 1},
		{"zero state writes nothing", []crdt.State{{}}, crdt.State{}, "", 1},
	}
	for _, tc := range tests {
		for _, oneBatch := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/oneBatch=%v", tc.name, oneBatch), func(t *testing.T) {
				db := open(t, storage.Options{InMemory: true})
				var b wire.Batch
				for _, s := range tc.states {
					e := wire.Entry{Key: []byte("k"), State: s}
					if oneBatch {
						b.Puts = append(b.Puts, e)
					} else {
						commit(t, db, puts(e))
					}
				}
				if oneBatch {
					commit(t, db, &b)
				}
				got := get(t, db, "k")
				if !got.Equal(tc.want) {
					t.Errorf("Get = %v, want %v", got, tc.want)
				}
				if v := value(got); v != tc.wantValue {
					t.Errorf("value = %q, want %q", v, tc.wantValue)
				}
				if st := db.Stats(); st.PutsUnchanged != tc.unchanged {
					t.Errorf("PutsUnchanged = %d, want %d", st.PutsUnchanged, tc.unchanged)
				}
			})
		}
	}
}

func TestCommitDeletes(t *testing.T) {
	a, b := write(crdt.State{}, "n1", "a", 1), write(crdt.State{}, "n1", "b", 1)
	tests := []struct {
		name    string
		batches []wire.Batch
		want    map[string]string // key -> value; absent keys must read zero
	}{
		{"delete one of two", []wire.Batch{
			{Puts: []wire.Entry{{Key: []byte("a"), State: a}, {Key: []byte("b"), State: b}}},
			{Deletes: [][]byte{[]byte("a")}},
		}, map[string]string{"b": "b"}},
		{"delete of an absent key", []wire.Batch{
			{Deletes: [][]byte{[]byte("nothing")}},
		}, map[string]string{}},
		{"put then delete in one batch ends deleted", []wire.Batch{
			{Puts: []wire.Entry{{Key: []byte("a"), State: a}}, Deletes: [][]byte{[]byte("a")}},
		}, map[string]string{}},
		{"put after delete comes back", []wire.Batch{
			{Puts: []wire.Entry{{Key: []byte("a"), State: a}}},
			{Deletes: [][]byte{[]byte("a")}},
			{Puts: []wire.Entry{{Key: []byte("a"), State: a}}},
		}, map[string]string{"a": "a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := open(t, storage.Options{InMemory: true})
			for i := range tc.batches {
				commit(t, db, &tc.batches[i])
			}
			for _, k := range []string{"a", "b", "nothing"} {
				got := get(t, db, k)
				want, ok := tc.want[k]
				if ok != !got.IsZero() || value(got) != want {
					t.Errorf("Get(%q) = %v, want value %q (present %v)", k, got, want, ok)
				}
			}
			if got := scanAll(t, db, 0, ^uint64(0)); len(got) != len(tc.want) {
				t.Errorf("Scan found %q, want the keys of %v", got, tc.want)
			}
		})
	}
}

// TestCommitSplitsLargeBatches commits a batch far over badger's
// transaction limit (about 15% of a 1 MiB memtable).
func TestCommitSplitsLargeBatches(t *testing.T) {
	db := open(t, storage.Options{InMemory: true, MemTableBytes: 1 << 20})
	ks := keys(3000)
	var b wire.Batch
	big := strings.Repeat("v", 200)
	for _, k := range ks {
		b.Puts = append(b.Puts, wire.Entry{Key: []byte(k), State: write(crdt.State{}, "n1", big+k, 1)})
	}
	b.Deletes = [][]byte{[]byte(ks[0])}
	commit(t, db, &b)
	st := db.Stats()
	if st.SplitBatches != 1 || st.Commits < 2 {
		t.Errorf("SplitBatches = %d, Commits = %d; want 1 split batch in several commits", st.SplitBatches, st.Commits)
	}
	if !get(t, db, ks[0]).IsZero() {
		t.Errorf("%s: deleted in the batch, still present", ks[0])
	}
	for _, k := range ks[1:] {
		if v := value(get(t, db, k)); v != big+k {
			t.Fatalf("Get(%q) = %q, want %q", k, v, big+k)
		}
	}
}

// TestCommitConcurrent commits concurrent writes of several nodes to the
// same keys from several goroutines: every key ends as the merge of all.
func TestCommitConcurrent(t *testing.T) {
	db := open(t, storage.Options{InMemory: true})
	const writers, rounds = 4, 50
	ks := keys(8)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			node := fmt.Sprintf("n%d", w)
			mine := make(map[string]crdt.State) // this node's own view of each key
			for r := range rounds {
				k := ks[r%len(ks)]
				mine[k] = write(mine[k], node, fmt.Sprintf("%s-%d", node, r), int64(r))
				if err := db.Commit(puts(wire.Entry{Key: []byte(k), State: mine[k]})); err != nil {
					t.Errorf("Commit: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, k := range ks {
		// Each node's writes to k supersede its own earlier ones and have
		// seen none of the other nodes': one sibling per node.
		if n := len(get(t, db, k).Siblings()); n != writers {
			t.Errorf("%s: %d siblings, want %d", k, n, writers)
		}
	}
}

func TestClosed(t *testing.T) {
	db, err := storage.Open("", storage.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	noop := func([]byte, crdt.State) bool { return true }
	_, errGet := db.Get([]byte("k"))
	_, errMeta := db.GetMeta("m")
	_, errTargets := db.HintTargets()
	for name, err := range map[string]error{
		"Get":         errGet,
		"GetMeta":     errMeta,
		"HintTargets": errTargets,
		"Commit":      db.Commit(puts(wire.Entry{Key: []byte("k")})),
		"PutMeta":     db.PutMeta("m", nil),
		"Scan":        db.Scan(0, 1, func([]byte, crdt.State, uint64) bool { return true }),
		"ScanHints":   db.ScanHints("n1", noop),
		"Close":       db.Close(),
	} {
		if !errors.Is(err, storage.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

func TestStats(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir, storage.Options{})
	waitFilter(t, db)
	s := write(crdt.State{}, "n1", "v", 1)
	commit(t, db, puts(wire.Entry{Key: []byte("a"), State: s}, wire.Entry{Key: []byte("b"), State: s})) // new keys: the filter skips 2 reads
	commit(t, db, puts(wire.Entry{Key: []byte("a"), State: s}))                                         // unchanged: no transaction
	commit(t, db, &wire.Batch{Deletes: [][]byte{[]byte("b")}})                                          // one transaction
	commit(t, db, &wire.Batch{Hints: []wire.Hint{{Target: "n2", Key: []byte("a"), State: s}}})          // one more
	got := db.Stats()
	want := storage.Stats{Commits: 3, KeysWritten: 2, PutsUnchanged: 1, KeysDeleted: 1, HintsWritten: 1, Syncs: 3,
		FilterSkips: 2, HintTargets: 1, Hints: 1, HintBytes: db.HintBytes()}
	got.LSMBytes, got.ValueLogBytes, got.WALBytes = 0, 0, 0
	if got != want {
		t.Errorf("Stats = %+v\nwant    %+v", got, want)
	}
	db = reopen(t, db, dir, storage.Options{})
	if st := db.Stats(); st.LSMBytes+st.WALBytes == 0 {
		t.Errorf("after reopen, Stats = %+v: want some bytes on disk", st)
	}
}

// TestCloseStopsGoroutines checks that Close stops the background goroutine
// (here both syncing and value-log GC) and all of badger's.
func TestCloseStopsGoroutines(t *testing.T) {
	db, err := storage.Open(t.TempDir(), storage.Options{
		Sync: storage.SyncBatched, SyncInterval: time.Millisecond, ValueLogGCInterval: time.Millisecond,
		Logger: storage.LoggerFunc(t.Logf),
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		commit(t, db, puts(wire.Entry{Key: fmt.Appendf(nil, "k%d", i), State: write(crdt.State{}, "n1", "v", 1)}))
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	goleak.VerifyNone(t)
}
