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

// LayoutVersion returns the layout version stored in the closed data
// directory dir.
func LayoutVersion(t *testing.T, dir string) []byte {
	t.Helper()
	bdb, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	var v []byte
	err = bdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte{prefixFormat})
		if err == nil {
			v, err = item.ValueCopy(nil)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// OutboxKey and CursorKey are the badger keys of a shipment and of a
// region's cursor.
var (
	OutboxKey = outboxKey
	CursorKey = cursorKey
)

// PutRaw stores v under the badger key k behind the DB's back: neither the
// outbox tally, the hint backlog nor the key filter learn of it (reopen the
// DB to count it).
func PutRaw(t testing.TB, db *DB, k, v []byte) {
	t.Helper()
	if err := db.bdb.Update(func(txn *badger.Txn) error { return txn.Set(k, v) }); err != nil {
		t.Fatal(err)
	}
}
