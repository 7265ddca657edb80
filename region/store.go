package region

import (
	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/storage"
	kvsync "github.com/meridiankv/meridian/sync"
)

// diskStore adapts storage.DB to the Store the replication logic reads:
// storage cannot name sync's types (the dependency ladder), so the batch is
// copied field by field.
type diskStore struct{ db *storage.DB }

var _ kvsync.Store = diskStore{}

func (s diskStore) Get(key []byte) (crdt.State, error) { return s.db.Get(key) }

func (s diskStore) Scan(lo, hi uint64, fn func(key []byte, st crdt.State, hash uint64) bool) error {
	return s.db.Scan(lo, hi, fn)
}

func (s diskStore) ScanHints(target crdt.NodeID, fn func(key []byte, st crdt.State) bool) error {
	return s.db.ScanHints(target, fn)
}

func (s diskStore) HintTargets() ([]kvsync.HintBacklog, error) {
	bs, err := s.db.HintTargets()
	out := make([]kvsync.HintBacklog, len(bs))
	for i, b := range bs {
		out[i] = kvsync.HintBacklog{Target: b.Target, Count: b.Count, Bytes: b.Bytes}
	}
	return out, err
}

func (s diskStore) Commit(b *kvsync.Batch) error {
	sb := storage.Batch{Deletes: b.Deletes}
	sb.Puts = make([]storage.Entry, len(b.Puts))
	for i, e := range b.Puts {
		sb.Puts[i] = storage.Entry{Key: e.Key, State: e.State}
	}
	sb.Hints = make([]storage.Hint, len(b.Hints))
	for i, h := range b.Hints {
		sb.Hints[i] = storage.Hint{Target: h.Target, Key: h.Key, State: h.State}
	}
	sb.HintDeletes = make([]storage.HintKey, len(b.HintDeletes))
	for i, h := range b.HintDeletes {
		sb.HintDeletes[i] = storage.HintKey{Target: h.Target, Key: h.Key}
	}
	if err := s.db.Commit(&sb); err != nil {
		return err
	}
	for i, e := range sb.Puts {
		b.Puts[i].Before, b.Puts[i].After = e.Before, e.After
	}
	return nil
}
