package storage

import (
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"github.com/meridiankv/meridian/crdt"
)

// Scan calls fn for each key whose hash h = wire.KeyHash(key) satisfies
// lo <= h <= hi (both bounds inclusive), in (hash, key) order, until fn
// returns false or a stored value fails to decode. It reads a consistent
// snapshot: commits made while it runs are not seen. The key passed to fn
// is the caller's to keep, and hash is the wire.StateHash of the stored
// encoding. fn may call the DB's other methods but Close. An empty range
// (lo > hi) calls fn never.
func (db *DB) Scan(lo, hi uint64, fn func(key []byte, s crdt.State, hash uint64) bool) error {
	if !db.enter() {
		return ErrClosed
	}
	defer db.exit()
	if lo > hi {
		return nil
	}
	return db.bdb.View(func(txn *badger.Txn) error {
		// Values below badger's value threshold sit in the LSM tree next
		// to their keys, so prefetching would only copy them.
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixData}})
		defer it.Close()
		for it.Seek(dataSeek(lo)); it.Valid(); it.Next() {
			item := it.Item()
			h, key, err := splitData(item.Key())
			if err != nil {
				return err
			}
			if h > hi {
				return nil
			}
			key = slices.Clone(key)
			s, _, hash, err := decodeItemHash(item, "key", key)
			if err != nil {
				return err
			}
			if !fn(key, s, hash) {
				return nil
			}
		}
		return nil
	})
}

// ScanHints calls fn for each hint held for target, in (KeyHash(key), key)
// order, until fn returns false, on a consistent snapshot. The key passed to
// fn is the caller's to keep. fn may call the DB's other methods but Close.
func (db *DB) ScanHints(target crdt.NodeID, fn func(key []byte, s crdt.State) bool) error {
	if !db.enter() {
		return ErrClosed
	}
	defer db.exit()
	prefix, err := hintPrefix(target)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("hint for %q, key", target)
	return db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			_, key, err := splitHint(item.Key())
			if err != nil {
				return err
			}
			key = slices.Clone(key)
			s, _, err := decodeItem(item, what, key)
			if err != nil {
				return err
			}
			if !fn(key, s) {
				return nil
			}
		}
		return nil
	})
}
