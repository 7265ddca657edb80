package storage_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/storage"
	"github.com/meridiankv/meridian/wire"
)

// waitFilter waits until db's key filter is filled.
func waitFilter(t *testing.T, db *storage.DB) {
	t.Helper()
	for start := time.Now(); !db.FilterReady(); time.Sleep(time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the key filter was not filled within 10s")
		}
	}
}

// After a restart the filter is filled from the stored keys: every key is
// still read (none hidden), a write to a stored key still merges with it,
// and reads of keys never stored skip badger.
func TestKeyFilterAfterRestart(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir, storage.Options{Sync: storage.SyncBatched})
	const n = 20_000
	for i := 0; i < n; i += 1000 {
		batch := make([]wire.Entry, 1000)
		for j := range batch {
			batch[j] = wire.Entry{Key: fmt.Appendf(nil, "k%d", i+j), State: write(crdt.State{}, "n1", "v", 1)}
		}
		if err := db.Commit(&wire.Batch{Puts: batch}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDir(t, dir, storage.Options{Sync: storage.SyncBatched})
	waitFilter(t, db)
	for i := range n {
		s, err := db.Get(fmt.Appendf(nil, "k%d", i))
		if err != nil || value(s) != "v" {
			t.Fatalf("k%d after restart: %q, %v", i, value(s), err)
		}
	}
	// A concurrent write to a stored key keeps both siblings: the commit
	// read the stored state although the key filter was consulted.
	if err := db.Commit(&wire.Batch{Puts: []wire.Entry{{Key: []byte("k7"), State: write(crdt.State{}, "n2", "w", 2)}}}); err != nil {
		t.Fatal(err)
	}
	if s, _ := db.Get([]byte("k7")); len(s.Siblings()) != 2 {
		t.Fatalf("k7 holds %d siblings, want 2: the stored state was not merged", len(s.Siblings()))
	}
	before := db.Stats().FilterSkips
	for i := range 1000 {
		if s, err := db.Get(fmt.Appendf(nil, "absent%d", i)); err != nil || !s.IsZero() {
			t.Fatalf("absent%d: %v, %v", i, s, err)
		}
	}
	if skips := db.Stats().FilterSkips - before; skips < 950 {
		t.Fatalf("%d of 1000 reads of absent keys skipped badger, want at least 950 (1%% false positives)", skips)
	}
}

// Keys committed while the filter is being filled are not missed.
func TestKeyFilterFillRacesWithCommits(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir, storage.Options{})
	batch := make([]wire.Entry, 50_000) // so that the fill takes a while
	for j := range batch {
		batch[j] = wire.Entry{Key: fmt.Appendf(nil, "old%d", j), State: write(crdt.State{}, "n1", "v", 1)}
	}
	if err := db.Commit(&wire.Batch{Puts: batch}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDir(t, dir, storage.Options{Sync: storage.SyncBatched})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 2000 {
			e := wire.Entry{Key: fmt.Appendf(nil, "new%d", i), State: write(crdt.State{}, "n1", "v", 1)}
			if err := db.Commit(&wire.Batch{Puts: []wire.Entry{e}}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	waitFilter(t, db)
	for _, k := range []string{"old0", "old49999", "new0", "new1999"} {
		if s, err := db.Get([]byte(k)); err != nil || value(s) != "v" {
			t.Fatalf("%s: %q, %v", k, value(s), err)
		}
	}
	for i := range 2000 {
		if s, _ := db.Get(fmt.Appendf(nil, "new%d", i)); value(s) != "v" {
			t.Fatalf("new%d committed during the fill is hidden by the filter", i)
		}
	}
}

// Without a filter (KeyFilterBytes < 0) every read goes to badger.
func TestNoKeyFilter(t *testing.T) {
	db := open(t, storage.Options{InMemory: true, KeyFilterBytes: -1})
	if db.FilterReady() {
		t.Fatal("FilterReady with no filter")
	}
	if s, err := db.Get([]byte("absent")); err != nil || !s.IsZero() || db.Stats().FilterSkips != 0 {
		t.Fatalf("Get: %v, %v, %d skips", s, err, db.Stats().FilterSkips)
	}
}
