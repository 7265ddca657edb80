package storage_test

import (
	"slices"
	"testing"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/storage"
	"github.com/meridiankv/meridian/wire"
)

// hintsOf returns the hints ScanHints finds for target, by key, and the
// keys in the order visited.
func hintsOf(t *testing.T, db *storage.DB, target crdt.NodeID) (map[string]crdt.State, []string) {
	t.Helper()
	got := make(map[string]crdt.State)
	var order []string
	err := db.ScanHints(target, func(key []byte, s crdt.State) bool {
		got[string(key)] = s
		order = append(order, string(key))
		return true
	})
	if err != nil {
		t.Fatalf("ScanHints(%q): %v", target, err)
	}
	return got, order
}

// backlog recomputes HintTargets from ScanHints and wire.EncodeState.
func backlog(t *testing.T, db *storage.DB, targets ...crdt.NodeID) []wire.HintBacklog {
	t.Helper()
	var out []wire.HintBacklog
	for _, target := range targets {
		hs, _ := hintsOf(t, db, target)
		b := wire.HintBacklog{Target: target, Count: len(hs)}
		for k, s := range hs {
			enc, err := wire.EncodeState(s)
			if err != nil {
				t.Fatal(err)
			}
			b.Bytes += int64(len(k) + len(enc))
		}
		if b.Count > 0 {
			out = append(out, b)
		}
	}
	return out
}

func TestHints(t *testing.T) {
	x := write(crdt.State{}, "n1", "x", 2)
	y := write(crdt.State{}, "n2", "y", 1) // concurrent with x
	x2 := write(x, "n1", "x2", 3)
	targets := []crdt.NodeID{"a", "b"}
	tests := []struct {
		name    string
		batches []wire.Batch
		want    map[crdt.NodeID]map[string]crdt.State
	}{
		{"hints merge per key", []wire.Batch{
			{Hints: []wire.Hint{{Target: "a", Key: []byte("k"), State: x}}},
			{Hints: []wire.Hint{{Target: "a", Key: []byte("k"), State: y}, {Target: "a", Key: []byte("k"), State: x2}}},
		}, map[crdt.NodeID]map[string]crdt.State{"a": {"k": crdt.Merge(x2, y)}}},
		{"targets are separate", []wire.Batch{
			{Hints: []wire.Hint{{Target: "a", Key: []byte("k"), State: x}, {Target: "b", Key: []byte("k"), State: y}}},
		}, map[crdt.NodeID]map[string]crdt.State{"a": {"k": x}, "b": {"k": y}}},
		{"delete removes one hint", []wire.Batch{
			{Hints: []wire.Hint{{Target: "a", Key: []byte("k"), State: x}, {Target: "a", Key: []byte("j"), State: y}}},
			{HintDeletes: []wire.HintKey{{Target: "a", Key: []byte("k")}, {Target: "b", Key: []byte("k")}}},
		}, map[crdt.NodeID]map[string]crdt.State{"a": {"j": y}}},
		{"hint then delete in one batch ends deleted", []wire.Batch{
			{Hints: []wire.Hint{{Target: "b", Key: []byte("k"), State: x}}, HintDeletes: []wire.HintKey{{Target: "b", Key: []byte("k")}}},
		}, nil},
		{"hints do not touch data", []wire.Batch{
			{Hints: []wire.Hint{{Target: "a", Key: []byte("k"), State: x}}, Deletes: [][]byte{[]byte("k")}},
		}, map[crdt.NodeID]map[string]crdt.State{"a": {"k": x}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db := openDir(t, dir, storage.Options{})
			for i := range tc.batches {
				commit(t, db, &tc.batches[i])
			}
			check := func(when string) {
				for _, target := range targets {
					got, _ := hintsOf(t, db, target)
					if len(got) != len(tc.want[target]) {
						t.Errorf("%s: hints for %s = %v, want %v", when, target, got, tc.want[target])
					}
					for k, s := range tc.want[target] {
						if !got[k].Equal(s) {
							t.Errorf("%s: hint for %s/%s = %v, want %v", when, target, k, got[k], s)
						}
					}
				}
				gotBacklog, err := db.HintTargets()
				if err != nil {
					t.Fatal(err)
				}
				want := backlog(t, db, targets...)
				if !slices.Equal(gotBacklog, want) {
					t.Errorf("%s: HintTargets = %v, want %v", when, gotBacklog, want)
				}
				var total int64
				for _, b := range want {
					total += b.Bytes
				}
				if got := db.HintBytes(); got != total {
					t.Errorf("%s: HintBytes = %d, want %d", when, got, total)
				}
			}
			check("before reopen")
			db = reopen(t, db, dir, storage.Options{})
			check("after reopen")
		})
	}
}

func TestScanHintsOrderAndStop(t *testing.T) {
	db := open(t, storage.Options{InMemory: true})
	ks := keys(200)
	var b wire.Batch
	for _, k := range ks {
		b.Hints = append(b.Hints, wire.Hint{Target: "a", Key: []byte(k), State: write(crdt.State{}, "n1", k, 1)})
		b.Hints = append(b.Hints, wire.Hint{Target: "ab", Key: []byte(k), State: write(crdt.State{}, "n1", k, 1)})
	}
	commit(t, db, &b)
	got, order := hintsOf(t, db, "a")
	if want := byHash(ks); !slices.Equal(order, want) {
		t.Errorf("ScanHints order differs from (hash, key) order:\ngot  %q\nwant %q", order[:5], want[:5])
	}
	for k, s := range got {
		if value(s) != k {
			t.Errorf("hint %s holds %q", k, value(s))
		}
	}
	n := 0
	if err := db.ScanHints("a", func([]byte, crdt.State) bool { n++; return n < 3 }); err != nil || n != 3 {
		t.Errorf("ScanHints stopping after 3: %d calls, %v", n, err)
	}
	if err := db.ScanHints("", func([]byte, crdt.State) bool { return true }); err == nil {
		t.Error("ScanHints with an empty target: no error")
	}
}

// TestHintBytesCountsEveryHint: Commit stores every hint it is given (the
// budget is sync's rule) and HintBytes follows what is held.
func TestHintBytesCountsEveryHint(t *testing.T) {
	db := open(t, storage.Options{InMemory: true})
	small := write(crdt.State{}, "n1", "v", 1)
	big := write(crdt.State{}, "n1", string(make([]byte, 200)), 1)
	commit(t, db, &wire.Batch{
		Puts:  []wire.Entry{{Key: []byte("p"), State: small}},
		Hints: []wire.Hint{{Target: "a", Key: []byte("s"), State: small}, {Target: "a", Key: []byte("b"), State: big}},
	})
	if get(t, db, "p").IsZero() || db.HintBytes() < 200 {
		t.Fatalf("HintBytes = %d after a batch with a 200-byte hint", db.HintBytes())
	}
	commit(t, db, &wire.Batch{HintDeletes: []wire.HintKey{{Target: "a", Key: []byte("s")}, {Target: "a", Key: []byte("b")}}})
	if db.HintBytes() != 0 {
		t.Errorf("HintBytes = %d after delivering every hint", db.HintBytes())
	}
}
