package storage_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/storage"
	"github.com/meridiankv/meridian/wire"
)

// benchValue is a typical small register value.
var benchValue = string(make([]byte, 100))

// benchEntries returns n puts of distinct keys, prefix0, prefix1, ...
func benchEntries(prefix string, n int) []wire.Entry {
	out := make([]wire.Entry, n)
	for i := range out {
		out[i] = wire.Entry{Key: fmt.Appendf(nil, "%s%d", prefix, i), State: write(crdt.State{}, "n1", benchValue, 1)}
	}
	return out
}

// reportWrites reports the puts per second the benchmark sustained.
func reportWrites(b *testing.B, perOp int) {
	b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "writes/s")
}

func BenchmarkCommit(b *testing.B) {
	for _, mode := range []storage.SyncMode{storage.SyncAlways, storage.SyncBatched} {
		for _, size := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/puts=%d", mode, size), func(b *testing.B) {
				db := open(b, storage.Options{Sync: mode})
				s := write(crdt.State{}, "n1", benchValue, 1)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					// Every put is of a new key, so that each one is
					// written, not skipped as unchanged.
					batch := make([]wire.Entry, size)
					for j := range batch {
						batch[j] = wire.Entry{Key: fmt.Appendf(nil, "k%d", i), State: s}
						i++
					}
					if err := db.Commit(&wire.Batch{Puts: batch}); err != nil {
						b.Fatal(err)
					}
				}
				reportWrites(b, size)
			})
		}
	}
}

// loaded returns an in-memory DB holding n keys k0, k1, ...
func loaded(b *testing.B, n int) *storage.DB {
	db := open(b, storage.Options{InMemory: true})
	entries := benchEntries("k", n)
	for i := 0; i < n; i += 1000 {
		commit(b, db, &wire.Batch{Puts: entries[i:min(i+1000, n)]})
	}
	return db
}

func BenchmarkGet(b *testing.B) {
	const n = 10_000
	db := loaded(b, n)
	ks := make([][]byte, n)
	for i := range ks {
		ks[i] = fmt.Appendf(nil, "k%d", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s, err := db.Get(ks[i%n])
		if err != nil || s.IsZero() {
			b.Fatalf("Get(%s) = %v, %v", ks[i%n], s, err)
		}
		i++
	}
}

func BenchmarkScan10k(b *testing.B) {
	const n = 10_000
	db := loaded(b, n)
	b.ReportAllocs()
	for b.Loop() {
		seen := 0
		if err := db.Scan(0, math.MaxUint64, func([]byte, crdt.State, uint64) bool { seen++; return true }); err != nil || seen != n {
			b.Fatalf("Scan saw %d keys, %v", seen, err)
		}
	}
}
