package storage_test

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/storage"
	"github.com/meridiankv/meridian/wire"
)

// outboxModel is a plain reference outbox, kept as package sync's MemStore
// keeps one: the DB must report what it reports.
type outboxModel struct {
	ships   []wire.Shipment // by Seq
	cursors map[string]uint64
}

func (m *outboxModel) commit(b *wire.Batch) {
	m.ships = append(m.ships, b.Outbox...)
	slices.SortFunc(m.ships, func(a, b wire.Shipment) int { return compareSeq(a.Seq, b.Seq) })
	if m.cursors == nil {
		m.cursors = map[string]uint64{}
	}
	maps.Copy(m.cursors, b.Cursors)
	m.ships = slices.DeleteFunc(m.ships, func(s wire.Shipment) bool { return s.Seq <= b.Trim })
}

func compareSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// state is what Outbox must return: Bytes counts each shipment's key,
// encoded state and 16, as MemStore does.
func (m *outboxModel) state(t *testing.T) wire.OutboxState {
	t.Helper()
	st := wire.OutboxState{Count: len(m.ships), Cursors: maps.Clone(m.cursors)}
	if st.Cursors == nil {
		st.Cursors = map[string]uint64{}
	}
	for _, s := range m.ships {
		enc, err := wire.EncodeState(s.State)
		if err != nil {
			t.Fatal(err)
		}
		st.Bytes += int64(len(s.Key)+len(enc)) + 16
	}
	if len(m.ships) > 0 {
		st.First, st.Last = m.ships[0].Seq, m.ships[len(m.ships)-1].Seq
	}
	return st
}

func (m *outboxModel) after(seq uint64) []wire.Shipment {
	return slices.DeleteFunc(slices.Clone(m.ships), func(s wire.Shipment) bool { return s.Seq <= seq })
}

// ship returns the shipment of seq: a write of key by n1 at wall time seq.
func ship(seq uint64, key string, at int64) wire.Shipment {
	return wire.Shipment{Seq: seq, Key: []byte(key), State: write(crdt.State{}, "n1", fmt.Sprint("v", seq), int64(seq)), At: at}
}

// scanOutbox returns every shipment ScanOutbox(after) passes.
func scanOutbox(t *testing.T, db *storage.DB, after uint64) []wire.Shipment {
	t.Helper()
	var got []wire.Shipment
	if err := db.ScanOutbox(after, func(s wire.Shipment) bool { got = append(got, s); return true }); err != nil {
		t.Fatalf("ScanOutbox(%d): %v", after, err)
	}
	return got
}

func sameShipments(a, b []wire.Shipment) bool {
	return slices.EqualFunc(a, b, func(x, y wire.Shipment) bool {
		return x.Seq == y.Seq && string(x.Key) == string(y.Key) && x.At == y.At && x.State.Equal(y.State)
	})
}

func seqs(ships []wire.Shipment) []uint64 {
	out := make([]uint64, len(ships))
	for i, s := range ships {
		out[i] = s.Seq
	}
	return out
}

// checkOutbox compares db's outbox with the model's: Outbox, and
// ScanOutbox after every Seq around the ones held.
func checkOutbox(t *testing.T, db *storage.DB, m *outboxModel) {
	t.Helper()
	got, err := db.Outbox()
	if err != nil {
		t.Fatalf("Outbox: %v", err)
	}
	want := m.state(t)
	if got.Count != want.Count || got.Bytes != want.Bytes || got.First != want.First || got.Last != want.Last ||
		got.Cursors == nil || !maps.Equal(got.Cursors, want.Cursors) {
		t.Errorf("Outbox() = %+v, want %+v", got, want)
	}
	afters := []uint64{0, 1, want.First, want.Last, want.Last + 1, math.MaxUint64}
	if want.First > 0 {
		afters = append(afters, want.First-1, (want.First+want.Last)/2)
	}
	for _, after := range afters {
		if got, want := scanOutbox(t, db, after), m.after(after); !sameShipments(got, want) {
			t.Errorf("ScanOutbox(%d) = Seqs %v, want %v", after, seqs(got), seqs(want))
		}
	}
}

// TestOutbox commits a sequence of outbox batches and checks, after each,
// what Outbox and ScanOutbox report against a plain reference outbox; on
// disk, also after reopening, which counts the outbox again.
func TestOutbox(t *testing.T) {
	v := write(crdt.State{}, "n1", "v", 1)
	steps := []struct {
		name string
		b    wire.Batch
	}{
		{"append three", wire.Batch{Outbox: []wire.Shipment{ship(1, "a", 10), ship(2, "bb", -5), ship(3, "", 0)}}},
		{"append with a put and a cursor", wire.Batch{
			Puts:    []wire.Entry{{Key: []byte("k"), State: v}},
			Outbox:  []wire.Shipment{ship(4, "k", 40), ship(5, "a longer key", 50)},
			Cursors: map[string]uint64{"eu": 2},
		}},
		{"cursors only", wire.Batch{Cursors: map[string]uint64{"eu": 3, "us": 1, "": 7}}},
		{"trim some", wire.Batch{Trim: 2}},
		{"trim below the first is a no-op", wire.Batch{Trim: 1}},
		{"append and trim one of them", wire.Batch{Outbox: []wire.Shipment{ship(6, "f", 60), ship(7, "g", 70)}, Trim: 6}},
		{"trim beyond the last", wire.Batch{Trim: 100}},
		{"trim an empty outbox", wire.Batch{Trim: 200, Cursors: map[string]uint64{"us": 100}}},
		{"append after a gap", wire.Batch{Outbox: []wire.Shipment{ship(101, "x", 1), ship(103, "y", 3)}}},
		{"trim between two", wire.Batch{Trim: 102}},
		{"trim exactly the last", wire.Batch{Trim: 103}},
		{"append a batch in any order", wire.Batch{Outbox: []wire.Shipment{ship(110, "z", 1), ship(108, "w", 1), ship(109, "v", 1)}}},
		{"commit the same shipment again", wire.Batch{Outbox: []wire.Shipment{ship(109, "v", 1)}}},
	}
	modes := []struct {
		name   string
		opts   storage.Options
		reopen bool
	}{
		{"in memory", storage.Options{InMemory: true}, false},
		{"on disk, reopened after each step", storage.Options{Sync: storage.SyncBatched}, true},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			dir := t.TempDir()
			db := openDir(t, dir, mode.opts)
			var m outboxModel
			checkOutbox(t, db, &m)
			for _, step := range steps {
				b := step.b
				commit(t, db, &b)
				m.commit(&step.b)
				if step.name == "commit the same shipment again" {
					m.ships = slices.CompactFunc(m.ships, func(a, b wire.Shipment) bool { return a.Seq == b.Seq })
				}
				checkOutbox(t, db, &m)
				if mode.reopen {
					db = reopen(t, db, dir, mode.opts)
					checkOutbox(t, db, &m)
				}
				if t.Failed() {
					t.Fatalf("after step %q", step.name)
				}
			}
			if got := get(t, db, "k"); !got.Equal(v) {
				t.Errorf("the put committed with the outbox reads %v, want %v", got, v)
			}
		})
	}
}

// TestOutboxIsTheCallers: what Outbox and ScanOutbox return may be changed
// by the caller without changing what the DB holds.
func TestOutboxIsTheCallers(t *testing.T) {
	db := open(t, storage.Options{InMemory: true})
	commit(t, db, &wire.Batch{Outbox: []wire.Shipment{ship(1, "a", 1)}, Cursors: map[string]uint64{"eu": 1}})
	st, err := db.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	st.Cursors["eu"], st.Cursors["us"] = 9, 9
	scanOutbox(t, db, 0)[0].Key[0] = 'x'
	m := outboxModel{ships: []wire.Shipment{ship(1, "a", 1)}, cursors: map[string]uint64{"eu": 1}}
	checkOutbox(t, db, &m)
}

// TestScanOutboxStops: ScanOutbox stops at the first false, having passed
// that shipment.
func TestScanOutboxStops(t *testing.T) {
	db := open(t, storage.Options{InMemory: true})
	var b wire.Batch
	for seq := range uint64(10) {
		b.Outbox = append(b.Outbox, ship(seq+1, "k", 0))
	}
	commit(t, db, &b)
	for _, tc := range []struct {
		after  uint64
		stopAt int // fn returns false on its stopAt-th call
		want   []uint64
	}{
		{0, 1, []uint64{1}},
		{0, 3, []uint64{1, 2, 3}},
		{4, 2, []uint64{5, 6}},
		{9, 5, []uint64{10}},
		{10, 1, nil},
	} {
		t.Run(fmt.Sprintf("after %d, stop at %d", tc.after, tc.stopAt), func(t *testing.T) {
			var got []uint64
			err := db.ScanOutbox(tc.after, func(s wire.Shipment) bool {
				got = append(got, s.Seq)
				return len(got) < tc.stopAt
			})
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("ScanOutbox = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// TestOutboxCommitsAtomically: a batch that fails in its last part, the
// trim (here on a malformed outbox key slipped in behind the DB's back),
// leaves nothing of itself: neither its put, its shipment, its cursor nor
// the trim's first deletes.
func TestOutboxCommitsAtomically(t *testing.T) {
	db := open(t, storage.Options{InMemory: true})
	var m outboxModel
	first := wire.Batch{Outbox: []wire.Shipment{ship(1, "a", 1), ship(2, "b", 2), ship(3, "c", 3)}, Cursors: map[string]uint64{"eu": 1}}
	commit(t, db, &first)
	m.commit(&first)
	// Sorts between Seq 1 and Seq 2; ScanOutbox after 1 or more never
	// reaches it.
	storage.PutRaw(t, db, append(storage.OutboxKey(1), 'x'), nil)
	err := db.Commit(&wire.Batch{
		Puts:    []wire.Entry{{Key: []byte("k"), State: write(crdt.State{}, "n1", "v", 1)}},
		Outbox:  []wire.Shipment{ship(4, "d", 4)},
		Cursors: map[string]uint64{"eu": 3},
		Trim:    3,
	})
	if err == nil || !strings.Contains(err.Error(), "malformed outbox key") {
		t.Fatalf("Commit = %v, want an error about the malformed outbox key", err)
	}
	if got := get(t, db, "k"); !got.IsZero() {
		t.Errorf("the failed batch's put reads %v, want nothing", got)
	}
	st, err := db.Outbox()
	if want := m.state(t); err != nil || st.Count != want.Count || st.Bytes != want.Bytes || st.First != want.First ||
		st.Last != want.Last || !maps.Equal(st.Cursors, want.Cursors) {
		t.Errorf("Outbox() = %+v, %v; want %+v", st, err, want)
	}
	if got := scanOutbox(t, db, 1); !sameShipments(got, m.after(1)) {
		t.Errorf("ScanOutbox(1) = Seqs %v, want %v", seqs(got), seqs(m.after(1)))
	}
}

// TestOutboxTrimsMany: a trim of 100,000 shipments, more than badger takes
// in one transaction, works (in several), and leaves the rest.
func TestOutboxTrimsMany(t *testing.T) {
	const n, keep = 100_000, 10
	opts := storage.Options{Sync: storage.SyncBatched}
	dir := t.TempDir()
	db := openDir(t, dir, opts)
	var m outboxModel
	b := wire.Batch{Outbox: make([]wire.Shipment, n+keep)}
	for i := range b.Outbox {
		b.Outbox[i] = ship(uint64(i+1), fmt.Sprint("k", i), int64(i))
	}
	commit(t, db, &b)
	m.commit(&b)
	split := db.Stats().SplitBatches
	trim := wire.Batch{Trim: n}
	commit(t, db, &trim)
	m.commit(&trim)
	if db.Stats().SplitBatches == split {
		t.Errorf("the trim of %d shipments took one transaction: the test no longer tests a split trim", n)
	}
	checkOutbox(t, db, &m)
	db = reopen(t, db, dir, opts)
	checkOutbox(t, db, &m)
	if st, _ := db.Outbox(); st.Count != keep || st.First != n+1 || st.Last != n+keep {
		t.Errorf("after the trim, Outbox() = %+v, want %d shipments from %d", st, keep, n+1)
	}
}

// TestOutboxUndecodable: a stored shipment that does not decode is an
// error naming its Seq, never a panic, for ScanOutbox; the shipments
// before it are passed, and a trim deletes it without decoding it. A
// cursor of the wrong size makes Open fail, naming the region.
func TestOutboxUndecodable(t *testing.T) {
	good, err := wire.EncodeState(write(crdt.State{}, "n1", "v", 1))
	if err != nil {
		t.Fatal(err)
	}
	header := func(version byte, keyLen uint32) []byte {
		return append([]byte{version, 0, 0, 0, 0, 0, 0, 0, 1}, byte(keyLen>>24), byte(keyLen>>16), byte(keyLen>>8), byte(keyLen))
	}
	tests := []struct {
		name    string
		value   []byte
		want    string
		malform bool // the error wraps wire.ErrMalformed
	}{
		{"empty", nil, "shorter than", false},
		{"short header", []byte{1, 0, 0}, "shorter than", false},
		{"unknown version", append(header(2, 1), append([]byte("k"), good...)...), "unknown encoding version 2", false},
		{"key longer than the value", append(header(1, 1000), good...), "key length 1000", false},
		{"key length overflowing", append(header(1, math.MaxUint32), good...), "key length 4294967295", false},
		{"no state", append(header(1, 1), 'k'), "key 6b", true},
		{"state truncated", append(header(1, 1), append([]byte("k"), good[:len(good)-1]...)...), "key 6b", true},
		{"state followed by junk", append(header(1, 1), append(append([]byte("k"), good...), 0)...), "key 6b", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db := openDir(t, dir, storage.Options{})
			commit(t, db, &wire.Batch{Outbox: []wire.Shipment{ship(1, "a", 1), ship(3, "c", 3)}})
			storage.PutRaw(t, db, storage.OutboxKey(2), tc.value)
			db = reopen(t, db, dir, storage.Options{})
			var got []uint64
			err := db.ScanOutbox(0, func(s wire.Shipment) bool { got = append(got, s.Seq); return true })
			if err == nil || !strings.HasPrefix(err.Error(), "storage: decoding outbox shipment 2: ") ||
				!strings.Contains(err.Error(), tc.want) {
				t.Errorf("ScanOutbox = %v, want a storage error naming shipment 2 and %q", err, tc.want)
			}
			if errors.Is(err, wire.ErrMalformed) != tc.malform {
				t.Errorf("ScanOutbox = %v: wraps wire.ErrMalformed = %v, want %v", err, !tc.malform, tc.malform)
			}
			if !slices.Equal(got, []uint64{1}) {
				t.Errorf("ScanOutbox passed %v before the error, want [1]", got)
			}
			commit(t, db, &wire.Batch{Trim: 2})
			if got := seqs(scanOutbox(t, db, 0)); !slices.Equal(got, []uint64{3}) {
				t.Errorf("after the trim, ScanOutbox passes %v, want [3]", got)
			}
			if st, err := db.Outbox(); err != nil || st.Count != 1 || st.First != 3 || st.Last != 3 {
				t.Errorf("after the trim, Outbox() = %+v, %v; want shipment 3 alone", st, err)
			}
		})
	}
	t.Run("cursor of 3 bytes", func(t *testing.T) {
		dir := t.TempDir()
		db := openDir(t, dir, storage.Options{})
		storage.PutRaw(t, db, storage.CursorKey("eu"), []byte{0, 0, 1})
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db, err := storage.Open(dir, storage.Options{})
		if err == nil {
			_ = db.Close()
		}
		if err == nil || !strings.Contains(err.Error(), `cursor of region "eu" has 3 bytes`) {
			t.Errorf("Open = %v, want an error naming the cursor of region eu", err)
		}
	})
}
