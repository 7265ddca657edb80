package storage_test

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/storage"
	"github.com/meridiankv/meridian/wire"
)

func TestScan(t *testing.T) {
	db := open(t, storage.Options{InMemory: true})
	ks := keys(2000)
	var b wire.Batch
	for _, k := range ks {
		b.Puts = append(b.Puts, wire.Entry{Key: []byte(k), State: write(crdt.State{}, "n1", k, 1)})
	}
	commit(t, db, &b)
	sorted := byHash(ks)
	h := func(i int) uint64 { return wire.KeyHash([]byte(sorted[i])) }
	tests := []struct {
		name   string
		lo, hi uint64
		want   []string
	}{
		{"whole space", 0, math.MaxUint64, sorted},
		{"bounds inclusive", h(10), h(20), sorted[10:21]},
		{"one point", h(7), h(7), sorted[7:8]},
		{"lo just past a key", h(10) + 1, h(20), sorted[11:21]},
		{"hi just before a key", h(10), h(20) - 1, sorted[10:20]},
		{"first key from zero", 0, h(0), sorted[:1]},
		{"last key to the top", h(len(sorted) - 1), math.MaxUint64, sorted[len(sorted)-1:]},
		{"between two keys", h(3) + 1, h(4) - 1, nil},
		{"empty range", h(20), h(10), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := scanAll(t, db, tc.lo, tc.hi); !slices.Equal(got, tc.want) {
				t.Errorf("Scan(%d, %d) = %d keys %.40q, want %d keys %.40q", tc.lo, tc.hi, len(got), got, len(tc.want), tc.want)
			}
		})
	}
	t.Run("states and kept keys", func(t *testing.T) {
		var kept [][]byte
		err := db.Scan(0, math.MaxUint64, func(key []byte, s crdt.State, _ uint64) bool {
			if value(s) != string(key) {
				t.Errorf("key %s holds %q", key, value(s))
			}
			kept = append(kept, key)
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, k := range kept {
			if string(k) != sorted[i] {
				t.Fatalf("kept key %d = %q, want %q: Scan reused its memory", i, k, sorted[i])
			}
		}
	})
	t.Run("early stop", func(t *testing.T) {
		var got []string
		err := db.Scan(0, math.MaxUint64, func(key []byte, _ crdt.State, _ uint64) bool {
			got = append(got, string(key))
			return len(got) < 5
		})
		if err != nil || !slices.Equal(got, sorted[:5]) {
			t.Errorf("Scan stopping after 5 = %q, %v; want %q", got, err, sorted[:5])
		}
	})
}

func TestMeta(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir, storage.Options{})
	if v, err := db.GetMeta("incarnation"); v != nil || err != nil {
		t.Errorf("GetMeta of an absent name = %q, %v; want nil, nil", v, err)
	}
	for _, step := range []struct{ name, value string }{
		{"incarnation", "1"}, {"incarnation", "2"}, {"hlc", "12345"}, {"empty", ""},
	} {
		if err := db.PutMeta(step.name, []byte(step.value)); err != nil {
			t.Fatalf("PutMeta(%q): %v", step.name, err)
		}
	}
	if err := db.PutMeta("", []byte("x")); err == nil {
		t.Error("PutMeta with an empty name: no error")
	}
	for _, when := range []string{"before reopen", "after reopen"} {
		for name, want := range map[string]string{"incarnation": "2", "hlc": "12345", "empty": ""} {
			got, err := db.GetMeta(name)
			if err != nil || got == nil || !bytes.Equal(got, []byte(want)) {
				t.Errorf("%s: GetMeta(%q) = %q, %v; want %q", when, name, got, err, want)
			}
		}
		if got := scanAll(t, db, 0, math.MaxUint64); len(got) != 0 {
			t.Errorf("%s: meta values show up in Scan: %q", when, got)
		}
		db = reopen(t, db, dir, storage.Options{})
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	for _, mode := range []storage.SyncMode{storage.SyncAlways, storage.SyncBatched} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			opts := storage.Options{Sync: mode}
			db := openDir(t, dir, opts)
			ks := keys(500)
			var b wire.Batch
			for _, k := range ks {
				b.Puts = append(b.Puts, wire.Entry{Key: []byte(k), State: write(crdt.State{}, "n1", k, 1)})
			}
			b.Deletes = [][]byte{[]byte(ks[0])}
			b.Hints = []wire.Hint{{Target: "n2", Key: []byte(ks[1]), State: write(crdt.State{}, "n1", "h", 1)}}
			commit(t, db, &b)
			if err := db.PutMeta("m", []byte("v")); err != nil {
				t.Fatal(err)
			}
			db = reopen(t, db, dir, opts)
			if got, want := scanAll(t, db, 0, math.MaxUint64), byHash(ks[1:]); !slices.Equal(got, want) {
				t.Errorf("after reopen Scan finds %d keys, want %d", len(got), len(want))
			}
			if hs, _ := hintsOf(t, db, "n2"); value(hs[ks[1]]) != "h" || len(hs) != 1 {
				t.Errorf("after reopen hints for n2 = %v", hs)
			}
			if v, _ := db.GetMeta("m"); string(v) != "v" {
				t.Errorf("after reopen meta m = %q", v)
			}
		})
	}
}

func TestInMemory(t *testing.T) {
	db := open(t, storage.Options{InMemory: true, Sync: storage.SyncBatched})
	commit(t, db, puts(wire.Entry{Key: []byte("k"), State: write(crdt.State{}, "n1", "v", 1)}))
	if v := value(get(t, db, "k")); v != "v" {
		t.Errorf("Get = %q, want v", v)
	}
	if st := db.Stats(); st.LSMBytes+st.ValueLogBytes+st.WALBytes+int64(st.Syncs) != 0 {
		t.Errorf("in-memory Stats report disk use or syncs: %+v", st)
	}
	if _, err := storage.Open("", storage.Options{}); err == nil {
		t.Error("Open with no directory and not InMemory: no error")
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts storage.Options
		want []string // substrings of the error; none: valid
	}{
		{"zero", storage.Options{}, nil},
		{"defaults", storage.DefaultOptions(), nil},
		{"batched", storage.Options{Sync: storage.SyncBatched, SyncInterval: 1}, nil},
		{"unknown mode", storage.Options{Sync: 7}, []string{"Sync mode 7"}},
		{"negative interval", storage.Options{SyncInterval: -1}, []string{"SyncInterval"}},
		{"tiny memtable", storage.Options{MemTableBytes: 1000}, []string{"MemTableBytes"}},
		{"every problem at once", storage.Options{
			Sync: 9, SyncInterval: -1, BlockCacheBytes: -1, IndexCacheBytes: -1, MemTableBytes: 2 << 30,
		}, []string{"Sync mode", "SyncInterval", "BlockCacheBytes", "IndexCacheBytes", "MemTableBytes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			if (err != nil) != (len(tc.want) > 0) {
				t.Fatalf("Validate() = %v, want errors mentioning %q", err, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v: does not mention %q", err, w)
				}
			}
			if err != nil {
				if _, openErr := storage.Open("", tc.opts); openErr == nil {
					t.Error("Open accepted options Validate rejects")
				}
			}
		})
	}
}
