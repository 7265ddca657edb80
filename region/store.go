package region

import (
	"encoding/binary"
	"fmt"

	"github.com/meridiankv/meridian/storage"
	kvsync "github.com/meridiankv/meridian/sync"
)

// diskStore is the Store the replication logic reads: storage.DB, which
// speaks the same vocabulary (wire.Batch, wire.Hint, ...), plus the record
// of actor epochs, kept in a meta value.
type diskStore struct{ *storage.DB }

var _ kvsync.Store = diskStore{}

// epochsMeta is the storage meta value holding kvsync.Epochs: Reserved and
// Clean, 8 bytes each, big-endian.
const epochsMeta = "epochs"

func (s diskStore) Epochs() (kvsync.Epochs, error) {
	b, err := s.GetMeta(epochsMeta)
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
	return s.PutMetaSync(epochsMeta, b[:])
}
