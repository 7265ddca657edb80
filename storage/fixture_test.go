package storage_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/storage"
)

// fixtureDir is a data directory written by the build of layout version 1
// (and badger v4), checked in: every later build must open it and read
// what it holds, or refuse it with ErrLayoutVersion. It was written by
// that build's TestWriteFixture (a Commit of fixtureStates' puts and a hint
// of the register for n3, then PutMetaSync of "incarnation"); a build of a
// later layout cannot write it again, so that test is gone: never replace
// the directory.
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

// TestOpensTheLayoutV1Fixture: a data directory written by an earlier
// build opens, its keys, hints and meta values read back, its outbox is
// empty, and it is upgraded to the current layout (version 3): the version
// is rewritten, and the directory opens again with everything intact.
func TestOpensTheLayoutV1Fixture(t *testing.T) {
	dir := copyDir(t, fixtureDir)
	if v := storage.LayoutVersion(t, dir); string(v) != "\x01" {
		t.Fatalf("the fixture holds layout version %x, want 01", v)
	}
	db, err := storage.Open(dir, storage.DefaultOptions())
	if err != nil {
		t.Fatalf("opening the layout-1 fixture: %v", err)
	}
	checkFixture(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if v := storage.LayoutVersion(t, dir); string(v) != "\x03" {
		t.Errorf("after Open, the layout version is %x, want 03", v)
	}
	db, err = storage.Open(dir, storage.DefaultOptions())
	if err != nil {
		t.Fatalf("reopening the upgraded fixture: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	checkFixture(t, db)
}

// checkFixture checks that db holds what the fixture holds.
func checkFixture(t *testing.T, db *storage.DB) {
	t.Helper()
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
	if ob, err := db.Outbox(); err != nil || ob.Count != 0 || ob.Bytes != 0 || ob.First != 0 || ob.Last != 0 ||
		ob.Cursors == nil || len(ob.Cursors) != 0 {
		t.Errorf("Outbox() = %+v, %v; want an empty outbox with an empty cursor map", ob, err)
	}
}

// TestNewDirectoryHasLayoutV3: Open writes the current layout version into
// a new directory.
func TestNewDirectoryHasLayoutV3(t *testing.T) {
	dir := t.TempDir()
	db, err := storage.Open(dir, storage.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if v := storage.LayoutVersion(t, dir); string(v) != "\x03" {
		t.Errorf("a new directory holds layout version %x, want 03", v)
	}
}

// TestRefusesAnotherLayout: a data directory of a layout this build does
// not read (a newer one, or one that never existed) is refused, with a
// message that names the version and says what to do, and is left as it
// was.
func TestRefusesAnotherLayout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version byte
		want    string
	}{
		{"never existed", 0, "layout version 00"},
		{"next", 4, "layout version 04"},
		{"far ahead", 9, "layout version 09"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, fixtureDir)
			storage.SetLayoutVersion(t, dir, tc.version)
			_, err := storage.Open(dir, storage.DefaultOptions())
			if !errors.Is(err, storage.ErrLayoutVersion) || !strings.Contains(err.Error(), tc.want) ||
				!strings.Contains(err.Error(), "empty data directory") {
				t.Fatalf("error = %v, want ErrLayoutVersion naming %q and what to do", err, tc.want)
			}
			if v := storage.LayoutVersion(t, dir); len(v) != 1 || v[0] != tc.version {
				t.Fatalf("the refused directory now holds layout version %x, want %02x", v, tc.version)
			}
			// Refused, not changed: setting a version this build reads
			// makes it open.
			storage.SetLayoutVersion(t, dir, 3)
			db, err := storage.Open(dir, storage.DefaultOptions())
			if err != nil {
				t.Fatalf("the refused directory no longer opens with version 3: %v", err)
			}
			checkFixture(t, db)
			_ = db.Close()
		})
	}
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
