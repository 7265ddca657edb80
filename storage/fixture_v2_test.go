package storage_test

import (
	"flag"
	"os"
	"testing"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/storage"
	"github.com/meridiankv/meridian/wire"
)

// fixtureV2Dir is a data directory of layout version 2 (regions: actors
// qualified by their region, and an outbox with cursors), checked in:
// every later build must open it and read what it holds, or refuse it with
// ErrLayoutVersion. TestWriteFixtureV2 wrote it; it refuses to write over
// an existing directory, so a later layout cannot replace it by accident.
const fixtureV2Dir = "testdata/datadir-v2"

var writeFixture = flag.Bool("write-fixture", false, "TestWriteFixtureV2: write "+fixtureV2Dir+" (refused when it exists)")

// fixtureV2States are the keys of the layout-2 fixture: a register, a set
// and a counter written by nodes of two regions.
func fixtureV2States() map[string]crdt.State {
	reg := write(write(crdt.State{}, "r1/n1.a1b2c3d4.1", "hello", 1), "r2/n2.e5f6a7b8.1", "world", 2)
	var set crdt.State
	must(set.Add("r1/n1.a1b2c3d4.1", crdt.Timestamp{Wall: 3}, "red", "green"))
	must(set.Remove("red"))
	var ctr crdt.State
	must(ctr.Incr("r1/n1.a1b2c3d4.1", 10, crdt.Timestamp{Wall: 4}))
	must(ctr.Incr("r2/n2.e5f6a7b8.1", -3, crdt.Timestamp{Wall: 5}))
	return map[string]crdt.State{"register": reg, "set": set, "counter": ctr}
}

// fixtureV2Keys are the keys of shipments 1 to 3, in order. Shipment 1
// was trimmed (every region took it), r2 took them all and r3 only the
// first.
var fixtureV2Keys = []string{"register", "set", "counter"}

// TestWriteFixtureV2 writes the layout-2 fixture, with -write-fixture.
func TestWriteFixtureV2(t *testing.T) {
	if !*writeFixture {
		t.Skip("run with -write-fixture to write " + fixtureV2Dir)
	}
	if _, err := os.Stat(fixtureV2Dir); err == nil {
		t.Fatalf("%s exists: a checked-in fixture is never replaced", fixtureV2Dir)
	}
	db, err := storage.Open(fixtureV2Dir, storage.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	states := fixtureV2States()
	var b wire.Batch
	for i, k := range fixtureV2Keys {
		b.Puts = append(b.Puts, wire.Entry{Key: []byte(k), State: states[k]})
		b.Outbox = append(b.Outbox, wire.Shipment{Seq: uint64(i + 1), Key: []byte(k), State: states[k], At: int64(i + 1)})
	}
	b.Hints = []wire.Hint{{Target: "n3", Key: []byte("register"), State: states["register"]}}
	b.Cursors = map[string]uint64{"r2": 1, "r3": 1}
	if err := db.Commit(&b); err != nil {
		t.Fatal(err)
	}
	if err := db.Commit(&wire.Batch{Cursors: map[string]uint64{"r2": 3}, Trim: 1}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutMetaSync("incarnation", []byte("a1b2c3d4")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOpensTheLayoutV2Fixture: the layout-2 directory opens: its keys,
// hint, meta value, outbox and cursors read back, it holds no acceptor
// record, and it is upgraded to layout version 3.
func TestOpensTheLayoutV2Fixture(t *testing.T) {
	dir := copyDir(t, fixtureV2Dir)
	if v := storage.LayoutVersion(t, dir); string(v) != "\x02" {
		t.Fatalf("the fixture holds layout version %x, want 02", v)
	}
	db, err := storage.Open(dir, storage.DefaultOptions())
	if err != nil {
		t.Fatalf("opening the layout-2 fixture: %v", err)
	}
	defer func() { _ = db.Close() }()
	states := fixtureV2States()
	for k, want := range states {
		got, err := db.Get([]byte(k))
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: got %v, %v; want %v", k, got, err, want)
		}
	}
	n := 0
	if err := db.ScanHints("n3", func(key []byte, s crdt.State) bool {
		n++
		return string(key) == "register" && s.Equal(states["register"])
	}); err != nil || n != 1 {
		t.Errorf("hints for n3: %d read, %v; want the register's", n, err)
	}
	if inc, err := db.GetMeta("incarnation"); err != nil || string(inc) != "a1b2c3d4" {
		t.Errorf("incarnation: %q, %v", inc, err)
	}
	ob, err := db.Outbox()
	if err != nil || ob.Count != 2 || ob.First != 2 || ob.Last != 3 || ob.Bytes <= 0 ||
		len(ob.Cursors) != 2 || ob.Cursors["r2"] != 3 || ob.Cursors["r3"] != 1 {
		t.Fatalf("Outbox() = %+v, %v; want shipments 2 and 3, r2 at 3 and r3 at 1", ob, err)
	}
	var seqs []uint64
	if err := db.ScanOutbox(1, func(s wire.Shipment) bool {
		seqs = append(seqs, s.Seq)
		k := fixtureV2Keys[s.Seq-1]
		if string(s.Key) != k || !s.State.Equal(states[k]) || s.At != int64(s.Seq) {
			t.Errorf("shipment %d: %s %v at %d; want %s %v at %d", s.Seq, s.Key, s.State, s.At, k, states[k], s.Seq)
		}
		return true
	}); err != nil || len(seqs) != 2 {
		t.Errorf("ScanOutbox after 1: %v, %v; want shipments 2 and 3", seqs, err)
	}
	n = 0
	if err := db.ScanAcceptors(0, ^uint64(0), func([]byte, wire.Acceptor) bool { n++; return true }); err != nil || n != 0 {
		t.Errorf("acceptor records: %d, %v; want none", n, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if v := storage.LayoutVersion(t, dir); string(v) != "\x03" {
		t.Errorf("after Open, the layout version is %x, want 03", v)
	}
}
