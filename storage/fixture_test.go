package storage_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/storage"
	"github.com/meridiankv/meridian/wire"
)

var writeFixture = flag.Bool("write-fixture", false, "write testdata/datadir-v1 again (only when its layout is meant to change)")

// fixtureDir is a data directory written by the build of layout version 1
// (and badger v4), checked in: every later build must open it and read
// what it holds, or refuse it with ErrLayoutVersion.
const fixtureDir = "testdata/datadir-v1"

// fixtureStates are the keys of the fixture: a register, a set and a
// counter, each written by two actors.
func fixtureStates() map[string]crdt.State {
	reg := write(write(crdt.State{}, "n1.a1b2c3d4.1", "hello", 1), "n2.e5f6a7b8.1", "world", 2)
	var set crdt.State
	must(set.Add("n1.a1b2c3d4.1", crdt.Timestamp{Wall: 3}, "red", "green"))
	must(set.Remove("red"))
	var ctr crdt.State
	must(ctr.Incr("n1.a1b2c3d4.1", 10, crdt.Timestamp{Wall: 4}))
	must(ctr.Incr("n2.e5f6a7b8.1", -3, crdt.Timestamp{Wall: 5}))
	return map[string]crdt.State{"register": reg, "set": set, "counter": ctr}
}

func must(_ crdt.State, err error) {
	if err != nil {
		panic(err)
	}
}

// TestWriteFixture writes the fixture when asked: go test ./storage -run
// TestWriteFixture -write-fixture.
func TestWriteFixture(t *testing.T) {
	if !*writeFixture {
		t.Skip("run with -write-fixture to write the fixture again")
	}
	if err := os.RemoveAll(fixtureDir); err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(fixtureDir, storage.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var b wire.Batch
	for k, s := range fixtureStates() {
		b.Puts = append(b.Puts, wire.Entry{Key: []byte(k), State: s})
	}
	b.Hints = []wire.Hint{{Target: "n3", Key: []byte("register"), State: fixtureStates()["register"]}}
	if err := db.Commit(&b); err != nil {
		t.Fatal(err)
	}
	if err := db.PutMetaSync("incarnation", []byte("a1b2c3d4")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOpensTheLayoutV1Fixture: a data directory written by an earlier
// build opens, and its keys, hints and meta values read back.
func TestOpensTheLayoutV1Fixture(t *testing.T) {
	dir := copyDir(t, fixtureDir)
	db, err := storage.Open(dir, storage.DefaultOptions())
	if err != nil {
		t.Fatalf("opening the layout-1 fixture: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	for k, want := range fixtureStates() {
		got, err := db.Get([]byte(k))
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: got %v, %v; want %v", k, got, err, want)
		}
	}
	n := 0
	if err := db.ScanHints("n3", func(key []byte, s crdt.State) bool {
		n++
		return string(key) == "register" && s.Equal(fixtureStates()["register"])
	}); err != nil || n != 1 {
		t.Errorf("hints for n3: %d read, %v; want the register's", n, err)
	}
	if inc, err := db.GetMeta("incarnation"); err != nil || string(inc) != "a1b2c3d4" {
		t.Errorf("incarnation: %q, %v", inc, err)
	}
}

// TestRefusesAnotherLayout: a data directory of a layout this build does
// not read is refused, with a message that names the version and says what
// to do, and is left as it was.
func TestRefusesAnotherLayout(t *testing.T) {
	dir := copyDir(t, fixtureDir)
	storage.SetLayoutVersion(t, dir, 9)
	_, err := storage.Open(dir, storage.DefaultOptions())
	if !errors.Is(err, storage.ErrLayoutVersion) || !strings.Contains(err.Error(), "layout version 09") ||
		!strings.Contains(err.Error(), "empty data directory") {
		t.Fatalf("error = %v, want ErrLayoutVersion naming version 09 and what to do", err)
	}
	// Refused, not changed: setting the version back makes it open.
	storage.SetLayoutVersion(t, dir, 1)
	db, err := storage.Open(dir, storage.DefaultOptions())
	if err != nil {
		t.Fatalf("the refused directory no longer opens with its own version: %v", err)
	}
	_ = db.Close()
}

// copyDir copies the files of dir into a new temporary directory: badger
// writes to the directory it opens.
func copyDir(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if len(entries) == 0 {
		t.Fatal(fmt.Errorf("%s is empty", dir))
	}
	return out
}
