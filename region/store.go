package region

import (
	"encoding/binary"
	"fmt"

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

// epochsMeta is the storage meta value holding kvsync.Epochs: Reserved and
// Clean, 8 bytes each, big-endian.
const epochsMeta = "epochs"

func (s diskStore) Epochs() (kvsync.Epochs, error) {
	b, err := s.db.GetMeta(epochsMeta)
	switch {
	case err != nil:
		return kvsync.Epochs{}, err
	case b == nil:
		return kvsync.Epochs{}, nil
	case len(b) != 16:
		return kvsync.Epochs{}, fmt.Errorf("region: the stored epochs record has %d bytes, want 16: the data directory is damaged", len(b))
	}
	return kvsync.Epochs{Reserved: binary.BigEndian.Uint64(b[:8]), Clean: binary.BigEndian.Uint64(b[8:])}, nil
}

func (s diskStore) SaveEpochs(e kvsync.Epochs) error {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], e.Reserved)
	binary.BigEndian.PutUint64(b[8:], e.Clean)
	return s.db.PutMetaSync(epochsMeta, b[:])
}
