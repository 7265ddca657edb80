package storage_test

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/storage"
	"github.com/meridiankv/meridian/wire"
	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine running: a DB
// must stop its own and badger's on Close.
func TestMain(m *testing.M) {
	if os.Getenv(crashEnv) != "" {
		// The crash child is killed, not finished: no leak check.
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}

// open opens a DB in a fresh temporary directory (or in memory) and closes
// it when the test ends.
func open(t testing.TB, opts storage.Options) *storage.DB {
	t.Helper()
	return openDir(t, t.TempDir(), opts)
}

// openDir opens the DB in dir and closes it when the test ends, unless the
// test closed it first.
func openDir(t testing.TB, dir string, opts storage.Options) *storage.DB {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = storage.LoggerFunc(t.Logf)
	}
	db, err := storage.Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// reopen closes db and opens dir again.
func reopen(t testing.TB, db *storage.DB, dir string, opts storage.Options) *storage.DB {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return openDir(t, dir, opts)
}

// write returns the state a blind write of value by node at wall time
// leaves on top of base, which is not modified.
func write(base crdt.State, node, value string, wall int64) crdt.State {
	s := base.Clone()
	s.Put(crdt.NodeID(node), []byte(value), crdt.Timestamp{Wall: wall}, nil)
	return s
}

// value returns the register value a reader of s sees, or "" for none.
func value(s crdt.State) string {
	sib, ok := s.Get()
	if !ok {
		return ""
	}
	return string(sib.Value)
}

func commit(t testing.TB, db *storage.DB, b *wire.Batch) {
	t.Helper()
	if err := db.Commit(b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func puts(entries ...wire.Entry) *wire.Batch { return &wire.Batch{Puts: entries} }

func get(t testing.TB, db *storage.DB, key string) crdt.State {
	t.Helper()
	s, err := db.Get([]byte(key))
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return s
}

// keys returns n distinct keys "k0", "k1", ...
func keys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("k%d", i)
	}
	return out
}

// byHash returns keys sorted in storage order: by KeyHash, then bytes.
func byHash(ks []string) []string {
	out := slices.Clone(ks)
	slices.SortFunc(out, func(a, b string) int {
		return cmp.Or(cmp.Compare(wire.KeyHash([]byte(a)), wire.KeyHash([]byte(b))), strings.Compare(a, b))
	})
	return out
}

// scanAll returns the keys Scan(lo, hi) visits, in order.
func scanAll(t testing.TB, db *storage.DB, lo, hi uint64) []string {
	t.Helper()
	var got []string
	err := db.Scan(lo, hi, func(key []byte, _ crdt.State, _ uint64) bool {
		got = append(got, string(key))
		return true
	})
	if err != nil {
		t.Fatalf("Scan(%d, %d): %v", lo, hi, err)
	}
	return got
}
