package storage

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// HintTargets returns the nodes this DB holds hints for, sorted, with the
// number and bytes of the hints for each. The figures are kept in memory:
// counted by Open with one scan of the hints, then updated by each commit.
func (db *DB) HintTargets() ([]wire.HintBacklog, error) {
	if !db.enter() {
		return nil, ErrClosed
	}
	defer db.exit()
	db.hintMu.Lock()
	out := make([]wire.HintBacklog, 0, len(db.hints))
	for _, b := range db.hints {
		out = append(out, b)
	}
	db.hintMu.Unlock()
	slices.SortFunc(out, func(a, b wire.HintBacklog) int { return cmp.Compare(a.Target, b.Target) })
	return out, nil
}

// HintBytes returns the bytes of all hints held: the figure a hint budget
// bounds. The budget is the caller's rule (package sync keeps it): Commit
// stores every hint it is given.
func (db *DB) HintBytes() int64 {
	db.hintMu.Lock()
	defer db.hintMu.Unlock()
	return db.hintTotal
}

// preparedHint is a hint's badger key and the encoding of its state.
type preparedHint struct {
	key, encoded []byte
}

// prepareHints computes the badger key and encoding of every hint.
func (db *DB) prepareHints(hints []wire.Hint) ([]preparedHint, error) {
	if len(hints) == 0 {
		return nil, nil
	}
	out := make([]preparedHint, len(hints))
	for i, h := range hints {
		k, err := hintKey(h.Target, h.Key)
		if err != nil {
			return nil, err
		}
		v, err := wire.EncodeState(h.State)
		if err != nil {
			return nil, fmt.Errorf("storage: encoding hint for %q, key %x: %w", h.Target, h.Key, err)
		}
		out[i] = preparedHint{key: k, encoded: v}
	}
	return out, nil
}

// hintKeys returns the badger keys of hks.
func hintKeys(hks []wire.HintKey) ([][]byte, error) {
	out := make([][]byte, len(hks))
	for i, hk := range hks {
		k, err := hintKey(hk.Target, hk.Key)
		if err != nil {
			return nil, err
		}
		out[i] = k
	}
	return out, nil
}

// applyHintDelta adds the backlog changes of a committed transaction.
func (db *DB) applyHintDelta(delta map[crdt.NodeID]wire.HintBacklog) {
	db.hintMu.Lock()
	defer db.hintMu.Unlock()
	for t, d := range delta {
		b := db.hints[t]
		b.Target = t
		b.Count += d.Count
		b.Bytes += d.Bytes
		db.hintTotal += d.Bytes
		if b.Count <= 0 {
			delete(db.hints, t)
		} else {
			db.hints[t] = b
		}
	}
}

// loadHintBacklog counts the hints on disk. Small values sit next to their
// keys in the LSM tree, so reading their lengths costs no more than reading
// the keys.
func (db *DB) loadHintBacklog() error {
	return db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixHint}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			target, key, err := splitHint(item.Key())
			if err != nil {
				return fmt.Errorf("storage: opening: counting hints: %w", err)
			}
			n, err := valueLen(item)
			if err != nil {
				return fmt.Errorf("storage: opening: counting hints: reading hint for %q, key %x: %w", target, key, err)
			}
			b := db.hints[target]
			b.Target = target
			b.Count++
			b.Bytes += hintSize(key, n)
			db.hintTotal += hintSize(key, n)
			db.hints[target] = b
		}
		return nil
	})
}

// valueLen returns the exact length of item's value. badger's
// Item.ValueSize is an estimate for values in the value log and zero for a
// transaction's own pending writes.
func valueLen(item *badger.Item) (int, error) {
	var n int
	err := item.Value(func(v []byte) error { n = len(v); return nil })
	return n, err
}
