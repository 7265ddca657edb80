// Package storage keeps a replica's state on its local disk: the CRDT state
// of every key the replica holds, the hints it keeps for replicas that were
// unreachable, the outbox of writes owed to other regions, and a few named
// meta values (the node's incarnation id, a clock high-water mark). It is
// the on-disk implementation of what the sync package's Store interface
// asks for, built on badger (github.com/dgraph-io/badger/v4), whose types
// never appear in its API.
//
// Storage may import only crdt and wire of ours. What it keeps is named by
// wire's batch vocabulary (wire.Batch, wire.Entry, wire.Hint, wire.HintKey,
// wire.HintBacklog, wire.Shipment, wire.OutboxState), which sync's Store
// interface speaks too, so a *DB is a kvsync.Store but for the record of
// actor epochs, which the region package keeps in a meta value.
//
//	db, err := storage.Open(dir, storage.Options{Sync: storage.SyncBatched})
//	if err != nil {
//		return err
//	}
//	defer db.Close()
//	err = db.Commit(&wire.Batch{Puts: []wire.Entry{{Key: k, State: delta}}})
//	s, err := db.Get(k) // the merge of every state committed for k
//
// # What it is not
//
// Storage does not interpret values beyond crdt.Merge, decide what a replica
// should hold, replicate, expire keys, or index anything but the hash order
// below. It never overwrites a state: a put merges, so committing an old or
// repeated state is harmless. Values of 1 MiB or more (less with small
// memtables: see Options.MemTableBytes) work but go to badger's value log
// and are slower; Meridian's values are meant to be small.
//
// # Layout
//
// Every badger key starts with a prefix byte; integers are big-endian so
// that badger's byte order is numeric order:
//
//	data    'd' | KeyHash(key) (8) | key                          -> wire.EncodeState(state)
//	hint    'h' | len(target) (2) | target | KeyHash(key) (8) | key -> wire.EncodeState(state)
//	meta    'm' | name                                            -> the value, as given
//	outbox  'o' | Seq (8)                                         -> 1 | At (8) | len(key) (4) | key | wire.EncodeState(state)
//	cursor  'c' | region                                          -> the region's cursor (8)
//	        'f'                                                   -> layout version (1 byte)
//
// KeyHash is wire.KeyHash, the position of a key in the hash space, so Scan
// reads a range of the hash space (an anti-entropy segment) as one range of
// badger keys, in (hash, key) order, and ScanHints reads one target's hints
// as one prefix. The outbox (the writes this node owes the other regions,
// wire.Shipment) is one key per shipment in Seq order, so ScanOutbox and a
// trim read a range of it; its stored value starts with the version of its
// encoding (1), and At is two's complement.
//
// The layout version is 2. Version 1 had no outbox and cursors: Open
// upgrades a version-1 directory by rewriting the version (after which a
// version-1 build refuses it), and refuses any other version with
// ErrLayoutVersion.
//
// # Durability
//
// What follows was read from badger v4.9.6's source. Txn.Commit hands its
// writes to badger's single writer goroutine (db.go: doWrites,
// writeRequests) and waits for it. The writer copies large values (see
// Options.MemTableBytes) into the active value-log file (value.go: valueLog.write), then every
// entry into the active memtable's write-ahead log (memtable.go:
// memTable.Put, logFile.writeEntry) and skiplist. Both logs are files mapped
// with MAP_SHARED (ristretto z/mmap_linux.go), so the copy is a write into
// the kernel's page cache: when Commit returns, in either mode, the bytes
// belong to the operating system, not to the process. With SyncWrites, the
// writer also msyncs (MS_SYNC) the value log (valueLog.write) and the WAL
// (db.go: writeToLSM calls memTable.SyncWAL) before waking the committer.
//
// On a process crash (kill -9, panic, OOM kill) neither mode loses a write
// whose Commit returned: the page cache outlives the process, and badger
// replays the WALs on Open (memtable.go: openMemTables, UpdateSkipList).
// TestCrash kills a committing child process with SIGKILL and checks it.
//
// On a power loss or kernel crash:
//
//   - SyncAlways loses no acknowledged write, as far as the disk honours
//     flushes: every commit is msynced before Commit returns.
//   - SyncBatched can lose the writes acknowledged since the last background
//     sync: up to SyncInterval of them, plus the duration of one sync. A
//     background goroutine calls badger's DB.Sync every SyncInterval when
//     something was committed. One caveat found in badger's source: DB.Sync
//     (db.go) syncs only the active memtable's WAL and the active value-log
//     file. When a memtable fills, badger switches to a new one
//     (db.go: ensureRoomForWrite) without syncing the old WAL, which becomes
//     durable when that memtable is flushed to a table, msynced on creation
//     (table/table.go: CreateTable), normally milliseconds to seconds later;
//     value-log files are rotated likewise (value.go: doneWriting). Writes
//     of the last interval before such a switch stay exposed until the
//     flush, and the writes lost need not be the latest ones.
//
// Hints, meta values and the outbox are exactly as durable as puts. If a background sync
// fails, the DB cannot tell which acknowledged writes reached the disk: it
// logs the error and every later Commit and PutMeta returns it. InMemory
// keeps nothing after Close.
//
// # Background work
//
// Besides badger's own goroutines (compaction, memtable flushes), a DB runs
// at most two: under SyncBatched one syncs every SyncInterval, and unless
// ValueLogGCInterval is negative it also runs badger's value-log garbage
// collection, which reclaims the space of overwritten or deleted large
// values (smaller values live in the LSM tree and compaction reclaims them),
// rewriting a log file when half of it is garbage; the other fills the key
// filter once at Open (below). Close stops them, then badger's goroutines.
//
// # Reads that skip badger
//
// Every write is a read-merge-write, on every replica, and most writes of a
// growing data set are of keys never stored. Two bounded structures keep
// those reads off badger's memtables, whose skiplist searches dominate a
// write's cost: a Bloom filter of the stored keys' hashes (filter.go,
// Options.KeyFilterBytes, 8 MiB by default, filled from the keys at Open
// while reads go to badger), which answers "never stored" without a search,
// and a small cache of the states read or written last (cache.go,
// Options.StateCacheEntries), which serves the commit's read of a key its
// coordinator has just read. Neither grows with the number of keys.
//
// # Concurrency and errors
//
// A DB is safe for concurrent use. Commit and PutMeta are serialized with
// each other, which is what lets a batch read, merge and write without
// conflict checks; Get, Scan and ScanHints read consistent snapshots in
// parallel with them. Errors carry the "storage: " prefix, wrap their cause
// with %w and say what was being done; a stored value that fails to decode
// is an error naming its key in hex. Closed DBs return ErrClosed.
package storage
