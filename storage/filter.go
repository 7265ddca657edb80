package storage

import (
	"errors"
	"fmt"
	"math/bits"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
)

// keyFilter is a Bloom filter over the hashes (wire.KeyHash) of the data
// keys the DB may hold, so that reading a key it has never held, which a
// write of a new key does on every replica, costs a few memory accesses
// instead of a search of each of badger's memtables and a bloom-filter probe
// per table level.
//
// Its size is fixed at Open (Options.KeyFilterBytes): it does not grow with
// the keys. It answers "absent" only for a key never added, so it never
// hides a stored key; as keys pass about one per 10 bits its false
// positives rise (1% at 10 bits per key, 36% at 2.7) and it saves fewer
// reads, never causing a wrong one. Deleted keys stay in it, harmlessly.
//
// Open fills it from the stored keys in the background; until that ends,
// it answers "maybe" for every key. Commit adds every key it writes first,
// so a key committed while the filter is being filled is not missed: the
// fill reads a snapshot taken after it started, and every commit after
// that adds its own keys.
type keyFilter struct {
	words []atomic.Uint64 // a power of two of them
	mask  uint64          // bits - 1
	ready atomic.Bool
	stop  chan struct{} // closed by Close: stop filling
	done  chan struct{} // closed when the fill returned
}

// filterProbes is the number of bits a key sets: 4 keeps false positives
// near 1% at 10 bits per key and degrades gently past it.
const filterProbes = 4

// newKeyFilter returns a filter of about size bytes (rounded down to a
// power of two, at least 8), or nil when size <= 0.
func newKeyFilter(size int64) *keyFilter {
	if size <= 0 {
		return nil
	}
	words := uint64(1) << (63 - bits.LeadingZeros64(uint64(max(size/8, 1))))
	return &keyFilter{words: make([]atomic.Uint64, words), mask: words*64 - 1}
}

// probe returns the i-th bit of hash h (double hashing, Kirsch and
// Mitzenmacher 2006): the hash's halves, the step odd so that the probes of
// one key differ.
func (f *keyFilter) probe(h uint64, i uint64) uint64 {
	step := (h>>32 | h<<32) | 1
	return (h + i*step) & f.mask
}

// add records the key of hash h.
func (f *keyFilter) add(h uint64) {
	if f == nil {
		return
	}
	for i := range uint64(filterProbes) {
		b := f.probe(h, i)
		if w := &f.words[b/64]; w.Load()&(1<<(b%64)) == 0 {
			w.Or(1 << (b % 64))
		}
	}
}

// mayHold reports whether the key of hash h may be stored: false only when
// the filter is filled and the key was never added.
func (f *keyFilter) mayHold(h uint64) bool {
	if f == nil || !f.ready.Load() {
		return true
	}
	for i := range uint64(filterProbes) {
		b := f.probe(h, i)
		if f.words[b/64].Load()&(1<<(b%64)) == 0 {
			return false
		}
	}
	return true
}

// startFill adds the stored data keys in a goroutine that marks the filter
// ready when it is done, and stops early (leaving it not ready) at Close.
func (db *DB) startFill() {
	f := db.filter
	if f == nil {
		return
	}
	f.stop, f.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(f.done)
		err := db.fill(f)
		switch {
		case err == nil:
			f.ready.Store(true)
		case !errors.Is(err, errStopped):
			db.opts.Logger.Printf("storage: filling the key filter failed, so every read goes to badger: %v", err)
		}
	}()
}

var errStopped = errors.New("stopped")

// fill adds every stored data key to f, reading keys only.
func (db *DB) fill(f *keyFilter) error {
	return db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixData}})
		defer it.Close()
		n := 0
		for it.Rewind(); it.Valid(); it.Next() {
			if n++; n%4096 == 0 {
				select {
				case <-f.stop:
					return errStopped
				default:
				}
			}
			h, _, err := splitData(it.Item().Key())
			if err != nil {
				return fmt.Errorf("storage: key filter: %w", err)
			}
			f.add(h)
		}
		return nil
	})
}

// stopFill stops the fill, if one runs, and waits for it.
func (db *DB) stopFill() {
	if db.filter == nil || db.filter.stop == nil {
		return
	}
	close(db.filter.stop)
	<-db.filter.done
}

// FilterReady reports whether the key filter is filled, so that reads of
// keys never stored skip badger (see Options.KeyFilterBytes). Tests wait
// for it.
func (db *DB) FilterReady() bool { return db.filter != nil && db.filter.ready.Load() }
