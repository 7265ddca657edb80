package storage_test

import (
	"testing"

	"github.com/meridiankv/meridian/storage"
	"github.com/meridiankv/meridian/wire"
)

// TestAcceptorRecords: a record replaces the key's record, reads back after
// a reopen, is separate from the key's data, scans by hash range, and a
// batch holding records is synced under SyncBatched too.
func TestAcceptorRecords(t *testing.T) {
	dir := t.TempDir()
	opts := storage.DefaultOptions()
	opts.Sync = storage.SyncBatched
	db, err := storage.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	rec := func(n uint64, v string) wire.Acceptor {
		b := wire.Ballot{N: n, By: "n1"}
		return wire.Acceptor{Promised: b, Accepted: b, Value: wire.Strong{Kind: wire.StrongString, Bytes: []byte(v), Version: n}}
	}
	if a, err := db.GetAcceptor([]byte("lock")); err != nil || !a.IsZero() {
		t.Fatalf("a key never written: %+v, %v", a, err)
	}
	before := db.Stats().Syncs
	for i, v := range []string{"a", "b"} {
		if err := db.Commit(&wire.Batch{Acceptors: []wire.AcceptorEntry{{Key: []byte("lock"), Record: rec(uint64(i+1), v)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := db.Stats().Syncs - before; got != 2 {
		t.Errorf("%d syncs for two batches of acceptor records under SyncBatched, want 2", got)
	}
	if s, err := db.Get([]byte("lock")); err != nil || !s.IsZero() {
		t.Errorf("the key's data: %v, %v; want none (a record is not data)", s, err)
	}
	if err := db.Commit(&wire.Batch{Acceptors: []wire.AcceptorEntry{{Key: []byte("acct"), Record: rec(7, "x")}}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDir(t, dir, opts)
	if a, err := db.GetAcceptor([]byte("lock")); err != nil || !a.Value.Equal(&wire.Strong{Kind: wire.StrongString, Bytes: []byte("b"), Version: 2}) || a.Promised.N != 2 {
		t.Fatalf("after a reopen: %+v, %v; want the second record", a, err)
	}
	var keys []string
	if err := db.ScanAcceptors(0, ^uint64(0), func(k []byte, a wire.Acceptor) bool {
		keys = append(keys, string(k))
		return true
	}); err != nil || len(keys) != 2 {
		t.Fatalf("scan: %v, %v; want both keys", keys, err)
	}
	h := wire.KeyHash([]byte("acct"))
	keys = nil
	if err := db.ScanAcceptors(h, h, func(k []byte, a wire.Acceptor) bool {
		keys = append(keys, string(k))
		return true
	}); err != nil || len(keys) != 1 || keys[0] != "acct" {
		t.Errorf("scan of acct's hash alone: %v, %v", keys, err)
	}
}
