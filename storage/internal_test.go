package storage

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// TestBackgroundSync drives the background goroutine with hand-made ticks.
// A tick is handled before the next send completes (the channel is
// unbuffered and the goroutine handles one at a time), so two sends in a
// row wait for the first tick's work.
func TestBackgroundSync(t *testing.T) {
	ticks := make(chan time.Time)
	old := newTicker
	newTicker = func(time.Duration) (<-chan time.Time, func()) { return ticks, func() {} }
	t.Cleanup(func() { newTicker = old })
	db, err := Open(t.TempDir(), Options{Sync: SyncBatched, ValueLogGCInterval: -1, Logger: LoggerFunc(t.Logf)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	var syncs int
	var fail error
	db.syncLog = func() error {
		if fail != nil {
			return fail
		}
		syncs++
		return db.bdb.Sync()
	}
	tick := func() { ticks <- time.Time{}; ticks <- time.Time{} }
	put := func() error {
		var s crdt.State
		s.Put("n1", []byte("v"), crdt.Timestamp{Wall: 1}, nil)
		return db.Commit(&wire.Batch{Puts: []wire.Entry{{Key: []byte("k"), State: s}}})
	}

	tick()
	if syncs != 0 {
		t.Errorf("%d syncs with nothing committed, want 0", syncs)
	}
	if err := put(); err != nil {
		t.Fatal(err)
	}
	tick()
	if st := db.Stats(); syncs != 1 || st.Syncs != 1 {
		t.Errorf("after a commit and a tick: %d syncs, Stats.Syncs %d; want 1", syncs, st.Syncs)
	}

	fail = errors.New("disk on fire")
	if err := db.PutMeta("m", []byte("v")); err != nil {
		t.Fatal(err)
	}
	tick()
	if err := put(); !errors.Is(err, fail) {
		t.Errorf("Commit after a failed sync = %v, want it to wrap %v", err, fail)
	}
	if err := db.PutMeta("m", nil); !errors.Is(err, fail) {
		t.Errorf("PutMeta after a failed sync = %v, want it to wrap %v", err, fail)
	}
	if st := db.Stats(); st.SyncFailures != 1 {
		t.Errorf("SyncFailures = %d, want 1", st.SyncFailures)
	}
	fail = nil
}

// TestUndecodableValues stores bytes that are not an encoded state: every
// read names the key and wraps the decoder's error, and nothing panics. The
// bytes go into badger behind the DB's back, so the key filter is off: it
// would (rightly) report the key as never stored once its fill had run.
func TestUndecodableValues(t *testing.T) {
	db, err := Open("", Options{InMemory: true, KeyFilterBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	key := []byte("bad")
	hk, err := hintKey("n2", key)
	if err != nil {
		t.Fatal(err)
	}
	err = db.bdb.Update(func(txn *badger.Txn) error {
		return errors.Join(txn.Set(dataKey(key), []byte{0xff, 0x00}), txn.Set(hk, []byte{0xff}))
	})
	if err != nil {
		t.Fatal(err)
	}
	noop := func([]byte, crdt.State) bool { return true }
	_, getErr := db.Get(key)
	for name, err := range map[string]error{
		"Get":         getErr,
		"Scan":        db.Scan(0, ^uint64(0), func([]byte, crdt.State, uint64) bool { return true }),
		"ScanHints":   db.ScanHints("n2", noop),
		"Commit":      db.Commit(&wire.Batch{Puts: []wire.Entry{{Key: key}}}),
		"Commit hint": db.Commit(&wire.Batch{Hints: []wire.Hint{{Target: "n2", Key: key}}}),
	} {
		if err == nil || !strings.Contains(err.Error(), "626164") || !strings.HasPrefix(err.Error(), "storage: ") {
			t.Errorf("%s = %v, want a storage error naming key 626164", name, err)
			continue
		}
		if !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("%s = %v, want it to wrap wire.ErrMalformed", name, err)
		}
	}
}

func TestKeyLayout(t *testing.T) {
	for _, key := range []string{"", "k", "a longer key"} {
		h, k, err := splitData(dataKey([]byte(key)))
		if err != nil || h != wire.KeyHash([]byte(key)) || string(k) != key {
			t.Errorf("splitData(dataKey(%q)) = %x, %q, %v", key, h, k, err)
		}
		for _, target := range []crdt.NodeID{"n", "node-17"} {
			bk, err := hintKey(target, []byte(key))
			if err != nil {
				t.Fatal(err)
			}
			gt, gk, err := splitHint(bk)
			if err != nil || gt != target || string(gk) != key {
				t.Errorf("splitHint(hintKey(%q, %q)) = %q, %q, %v", target, key, gt, gk, err)
			}
		}
	}
	if _, err := hintKey(crdt.NodeID(strings.Repeat("x", maxTargetLen+1)), nil); err == nil {
		t.Error("hintKey accepted a target too long for its length prefix")
	}
	for _, bad := range [][]byte{nil, {prefixData}, {prefixHint, 0, 9, 'x'}, {prefixMeta}} {
		if _, _, err := splitData(bad); err == nil {
			t.Errorf("splitData(%x): no error", bad)
		}
		if _, _, err := splitHint(bad); err == nil {
			t.Errorf("splitHint(%x): no error", bad)
		}
	}
}

// The key filter never forgets a key, and its false positives match the
// Bloom-filter bound for its bits per key.
func TestKeyFilterBounds(t *testing.T) {
	tests := []struct {
		bytes  int64
		keys   int
		maxFPR float64
	}{
		{1 << 16, 52_428, 0.02},  // 10 bits per key: about 1.2%
		{1 << 16, 194_180, 0.45}, // 2.7 bits per key: about 36%
	}
	for _, tt := range tests {
		f := newKeyFilter(tt.bytes)
		if f.mayHold(1) != true {
			t.Fatal("a filter not filled yet must answer maybe")
		}
		f.ready.Store(true)
		for i := range tt.keys {
			f.add(wire.KeyHash([]byte(fmt.Sprint("in", i))))
		}
		for i := range tt.keys {
			if !f.mayHold(wire.KeyHash([]byte(fmt.Sprint("in", i)))) {
				t.Fatalf("key in%d added but reported absent", i)
			}
		}
		fp := 0
		for i := range 100_000 {
			if f.mayHold(wire.KeyHash([]byte(fmt.Sprint("out", i)))) {
				fp++
			}
		}
		if rate := float64(fp) / 100_000; rate > tt.maxFPR {
			t.Errorf("%d keys in %d bytes: false-positive rate %.3f, want at most %.2f", tt.keys, tt.bytes, rate, tt.maxFPR)
		} else {
			t.Logf("%d keys in %d bytes: false-positive rate %.3f", tt.keys, tt.bytes, rate)
		}
	}
	if newKeyFilter(0) != nil || newKeyFilter(-1) != nil {
		t.Fatal("a filter of no bytes must be nil")
	}
	var none *keyFilter
	none.add(1)
	if !none.mayHold(1) {
		t.Fatal("a nil filter must answer maybe")
	}
}
