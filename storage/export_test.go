package storage

import (
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// SetLayoutVersion writes version v into the closed data directory dir, as
// a build of another layout would have.
func SetLayoutVersion(t *testing.T, dir string, v byte) {
	t.Helper()
	bdb, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	if err := bdb.Update(func(txn *badger.Txn) error { return txn.Set([]byte{prefixFormat}, []byte{v}) }); err != nil {
		t.Fatal(err)
	}
}
