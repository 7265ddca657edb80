package storage

import (
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"github.com/meridiankv/meridian/wire"
)

// The records of strong keys' acceptors (wire.Batch.Acceptors): one badger
// key per strong key under prefixAcceptor, ordered like the data, so that a
// hash range of them is one badger range. A batch that writes any is
// synced before Commit returns, whatever the sync mode: consensus is safe
// only if an acceptor never forgets a promise or an acceptance it answered.

// acceptorKey returns the badger key of key's acceptor record.
func acceptorKey(key []byte) []byte { return hashedKey(prefixAcceptor, key) }

// acceptors writes each record of b.Acceptors over the key's record.
func (c *committer) acceptors(b *wire.Batch) error {
	for _, e := range b.Acceptors {
		v, err := wire.EncodeAcceptor(e.Record)
		if err != nil {
			return fmt.Errorf("storage: encoding the acceptor record of key %x: %w", e.Key, err)
		}
		bk := acceptorKey(e.Key)
		if err := c.write(func(txn *badger.Txn) error { return txn.Set(bk, v) }); err != nil {
			return fmt.Errorf("storage: writing the acceptor record of key %x: %w", e.Key, err)
		}
	}
	return nil
}

// syncAcceptors syncs what a batch holding acceptor records committed,
// when the sync mode did not already.
func (db *DB) syncAcceptors(b *wire.Batch) error {
	if len(b.Acceptors) == 0 || db.opts.InMemory || db.opts.Sync == SyncAlways {
		return nil
	}
	if err := db.syncLog(); err != nil {
		return fmt.Errorf("storage: syncing acceptor records (their promises are not durable, so they must not be answered): %w", err)
	}
	db.counters.syncs.Add(1)
	return nil
}

// GetAcceptor returns this node's acceptor record of key: the zero record
// when it has none.
func (db *DB) GetAcceptor(key []byte) (wire.Acceptor, error) {
	if !db.enter() {
		return wire.Acceptor{}, ErrClosed
	}
	defer db.exit()
	var a wire.Acceptor
	err := db.bdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get(acceptorKey(key))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			a, err = wire.DecodeAcceptor(v)
			return err
		})
	})
	if err != nil {
		return wire.Acceptor{}, fmt.Errorf("storage: reading the acceptor record of key %x: %w", key, err)
	}
	return a, nil
}

// ScanAcceptors calls fn for each acceptor record of a key whose hash h
// satisfies lo <= h <= hi, in (hash, key) order, until fn returns false, on
// a consistent snapshot. The key passed to fn is the caller's to keep.
func (db *DB) ScanAcceptors(lo, hi uint64, fn func(key []byte, a wire.Acceptor) bool) error {
	if !db.enter() {
		return ErrClosed
	}
	defer db.exit()
	if lo > hi {
		return nil
	}
	return db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixAcceptor}})
		defer it.Close()
		for it.Seek(hashedSeek(prefixAcceptor, lo)); it.Valid(); it.Next() {
			h, k, err := splitHashed(prefixAcceptor, it.Item().Key(), "acceptor record")
			if err != nil {
				return err
			}
			if h > hi {
				return nil
			}
			key := slices.Clone(k)
			var a wire.Acceptor
			err = it.Item().Value(func(v []byte) error {
				var err error
				a, err = wire.DecodeAcceptor(v)
				return err
			})
			if err != nil {
				return fmt.Errorf("storage: reading the acceptor record of key %x: %w", key, err)
			}
			if !fn(key, a) {
				return nil
			}
		}
		return nil
	})
}
