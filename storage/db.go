package storage

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// ErrClosed is returned by every method of a DB that was closed, and by a
// second Close. Use errors.Is(err, ErrClosed).
var ErrClosed = errors.New("storage: closed")

// ErrLayoutVersion is what Open returns, wrapped, for a data directory
// written with a layout this build does not read: a newer one, or an
// unknown one. Directories of the previous layouts are upgraded, not
// refused. Use errors.Is.
var ErrLayoutVersion = errors.New("storage: unknown layout version")

// DB is a replica's durable store of key states, hints, the outbox and meta
// values. It is safe for concurrent use; commits (Commit, PutMeta) are
// serialized, reads run in parallel with them and with each other, each on
// a consistent snapshot.
type DB struct {
	bdb  *badger.DB
	opts Options // with defaults applied
	dir  string  // "" in memory

	life     sync.Mutex // guards closed; see enter
	closed   bool
	inflight sync.WaitGroup // calls in progress; Close waits for them

	mu sync.Mutex // serializes writers: Commit, PutMeta

	hintMu    sync.Mutex // guards hints and hintTotal
	hints     map[crdt.NodeID]wire.HintBacklog
	hintTotal int64

	outboxMu sync.Mutex  // guards outbox
	outbox   outboxTally // counted by Open, then kept by Commit

	syncLog   func() error          // badger's DB.Sync; tests replace it
	syncErr   atomic.Pointer[error] // first failed background sync: sticky
	dirty     atomic.Bool           // a commit since the last background sync
	stopBg    chan struct{}         // closed by Close to stop the background goroutine
	bgStopped chan struct{}         // closed when the background goroutine returned
	counters  counters
	cache     *stateCache // nil when Options.StateCacheEntries < 0
	filter    *keyFilter  // nil when Options.KeyFilterBytes < 0
}

// counters are the cumulative figures of Stats.
type counters struct {
	commits, splitBatches      atomic.Uint64
	keysWritten, putsUnchanged atomic.Uint64
	keysDeleted                atomic.Uint64
	hintsWritten, hintsDeleted atomic.Uint64
	syncs, valueLogRewrites    atomic.Uint64
	syncFails                  atomic.Uint64
	filterSkips                atomic.Uint64
}

// Open opens or creates the database in dir (ignored when opts.InMemory),
// applying the defaults of DefaultOptions to the zero fields of opts. It
// upgrades a directory of an older layout (see ErrLayoutVersion), reads
// every hint and outbox key once to count the hint backlog and the outbox,
// and starts a background goroutine when SyncBatched or value-log GC needs
// one. Only one process may open dir at a time (badger holds a lock file).
func Open(dir string, opts Options) (*DB, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if !opts.InMemory && dir == "" {
		return nil, errors.New("storage: opening: empty directory and not InMemory")
	}
	if opts.InMemory {
		dir = ""
	}
	bdb, err := badger.Open(opts.badgerOptions(dir))
	if err != nil {
		return nil, fmt.Errorf("storage: opening %q: %w", dir, err)
	}
	db := &DB{bdb: bdb, opts: opts, dir: dir, syncLog: bdb.Sync, hints: make(map[crdt.NodeID]wire.HintBacklog),
		cache: newStateCache(opts.StateCacheEntries), filter: newKeyFilter(opts.KeyFilterBytes)}
	if err := db.checkFormat(); err != nil {
		return nil, errors.Join(err, db.bdb.Close())
	}
	if err := db.loadHintBacklog(); err != nil {
		return nil, errors.Join(err, db.bdb.Close())
	}
	if err := db.loadOutbox(); err != nil {
		return nil, errors.Join(err, db.bdb.Close())
	}
	db.startBackground()
	db.startFill()
	return db, nil
}

// checkFormat writes the layout version into a new database, upgrades one
// of an older layout this build reads (see formatVersion), and refuses a
// database written with any other layout. An upgraded directory is synced
// at once, whatever the sync mode, and no longer opens with a build of the
// older layout.
func (db *DB) checkFormat() error {
	upgraded := false
	err := db.bdb.Update(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte{prefixFormat})
		if errors.Is(err, badger.ErrKeyNotFound) {
			return txn.Set([]byte{prefixFormat}, []byte{formatVersion})
		}
		if err != nil {
			return fmt.Errorf("storage: reading the layout version: %w", err)
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("storage: reading the layout version: %w", err)
		}
		if len(v) != 1 || v[0] < oldestFormatVersion || v[0] > formatVersion {
			return fmt.Errorf("%w: layout version %x in %q, this build reads versions %d to %d: run the build that wrote it, or start the node on an empty data directory so that it joins again and pulls its ranges from the others",
				ErrLayoutVersion, v, db.dir, oldestFormatVersion, formatVersion)
		}
		if v[0] == formatVersion {
			return nil
		}
		upgraded = true
		return txn.Set([]byte{prefixFormat}, []byte{formatVersion})
	})
	if err != nil || !upgraded || db.opts.InMemory {
		return err
	}
	if err := db.syncLog(); err != nil {
		return fmt.Errorf("storage: syncing the upgraded layout version: %w", err)
	}
	return nil
}

// Close stops the background goroutine, fsyncs what a SyncBatched DB has not
// yet synced, and closes badger, stopping its goroutines. It waits for calls
// in progress to return; calls made after it began return ErrClosed. A second
// Close returns ErrClosed.
func (db *DB) Close() error {
	db.life.Lock()
	if db.closed {
		db.life.Unlock()
		return ErrClosed
	}
	db.closed = true
	db.life.Unlock()
	db.inflight.Wait()
	db.stopFill()
	db.stopBackground()
	var errs []error
	if db.needsBackgroundSync() {
		if err := db.syncLog(); err != nil {
			errs = append(errs, fmt.Errorf("storage: closing: final sync: %w", err))
		}
	}
	if err := db.bdb.Close(); err != nil {
		errs = append(errs, fmt.Errorf("storage: closing badger: %w", err))
	}
	return errors.Join(errs...)
}

// enter registers a call in progress, or returns false once Close began.
// Every exported method but Close, Stats and the hint counters brackets its
// work with enter and exit, so that Close never pulls badger from under it.
func (db *DB) enter() bool {
	db.life.Lock()
	defer db.life.Unlock()
	if db.closed {
		return false
	}
	db.inflight.Add(1)
	return true
}

func (db *DB) exit() { db.inflight.Done() }

// Get returns the state stored for key, or the zero State when there is
// none. A stored value that does not decode is an error naming the key.
func (db *DB) Get(key []byte) (crdt.State, error) {
	if !db.enter() {
		return crdt.State{}, ErrClosed
	}
	defer db.exit()
	if s, _, ok := db.cache.get(key); ok {
		return s, nil
	}
	if !db.filter.mayHold(wire.KeyHash(key)) {
		db.counters.filterSkips.Add(1)
		return crdt.State{}, nil
	}
	gen := db.cache.generation()
	var s crdt.State
	var hash uint64
	err := db.bdb.View(func(txn *badger.Txn) error {
		var err error
		s, _, hash, err = readStateHash(txn, dataKey(key), "key", key)
		return err
	})
	if err == nil {
		db.cache.fill(key, s, hash, gen)
	}
	return s, err
}

// readState reads and decodes the state under the badger key bk, returning
// the state, the length of its encoding and true, or the zero State, 0 and
// false when it is absent. what and key name it in errors.
func readState(txn *badger.Txn, bk []byte, what string, key []byte) (crdt.State, int, bool, error) {
	item, err := txn.Get(bk)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return crdt.State{}, 0, false, nil
	}
	if err != nil {
		return crdt.State{}, 0, false, fmt.Errorf("storage: reading %s %x: %w", what, key, err)
	}
	s, n, err := decodeItem(item, what, key)
	return s, n, err == nil, err
}

// readStateHash is readState that also returns the wire.StateHash of the
// stored encoding, 0 when absent.
func readStateHash(txn *badger.Txn, bk []byte, what string, key []byte) (crdt.State, bool, uint64, error) {
	item, err := txn.Get(bk)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return crdt.State{}, false, 0, nil
	}
	if err != nil {
		return crdt.State{}, false, 0, fmt.Errorf("storage: reading %s %x: %w", what, key, err)
	}
	s, _, h, err := decodeItemHash(item, what, key)
	return s, err == nil, h, err
}

// decodeItem decodes the state held by item.
func decodeItem(item *badger.Item, what string, key []byte) (crdt.State, int, error) {
	s, n, _, err := decodeItemHash(item, what, key)
	return s, n, err
}

// decodeItemHash decodes the state held by item and hashes its encoding.
func decodeItemHash(item *badger.Item, what string, key []byte) (crdt.State, int, uint64, error) {
	var s crdt.State
	var n int
	var h uint64
	err := item.Value(func(v []byte) error {
		var err error
		n, h = len(v), wire.StateHash(v)
		s, err = wire.DecodeState(v)
		return err
	})
	if err != nil {
		return crdt.State{}, 0, 0, fmt.Errorf("storage: decoding %s %x: %w", what, key, err)
	}
	return s, n, h, nil
}

// GetMeta returns the meta value stored under name, or nil when there is
// none (a value stored empty is returned as a non-nil empty slice). The
// slice is the caller's.
func (db *DB) GetMeta(name string) ([]byte, error) {
	if !db.enter() {
		return nil, ErrClosed
	}
	defer db.exit()
	k, err := metaKey(name)
	if err != nil {
		return nil, err
	}
	var v []byte
	err = db.bdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get(k)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err == nil {
			v, err = item.ValueCopy([]byte{})
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("storage: reading meta %q: %w", name, err)
	}
	return v, nil
}

// PutMeta stores v under name, replacing any previous value, as durably as
// a Commit. Meta values are small named values such as the node's
// incarnation id or a clock high-water mark; they are not CRDTs and are
// replaced, not merged.
func (db *DB) PutMeta(name string, v []byte) error {
	if !db.enter() {
		return ErrClosed
	}
	defer db.exit()
	k, err := metaKey(name)
	if err != nil {
		return err
	}
	if err := db.checkSync(); err != nil {
		return err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if err := db.bdb.Update(func(txn *badger.Txn) error { return txn.Set(k, v) }); err != nil {
		return fmt.Errorf("storage: writing meta %q: %w", name, err)
	}
	db.committed()
	return nil
}

// committed records one badger transaction that reached the OS: under
// SyncAlways it was also fsynced, under SyncBatched the background
// goroutine will.
func (db *DB) committed() {
	db.counters.commits.Add(1)
	switch {
	case db.opts.InMemory:
	case db.opts.Sync == SyncAlways:
		db.counters.syncs.Add(1)
	default:
		db.dirty.Store(true)
	}
}

// checkSync returns the error of a failed background sync: after one, the
// DB refuses writes, because it can no longer say which acknowledged writes
// are on stable storage.
func (db *DB) checkSync() error {
	if p := db.syncErr.Load(); p != nil {
		return *p
	}
	return nil
}

// PutMetaSync is PutMeta followed by an fsync of everything committed so
// far, whatever the sync mode: once it returns nil, the meta value and every
// commit before it survive a power loss. Replication uses it for the record
// its dots are minted under, which must never be lost.
func (db *DB) PutMetaSync(name string, v []byte) error {
	if err := db.PutMeta(name, v); err != nil {
		return err
	}
	if !db.enter() {
		return ErrClosed
	}
	defer db.exit()
	if db.opts.InMemory || db.opts.Sync == SyncAlways {
		return nil
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if err := db.syncLog(); err != nil {
		return fmt.Errorf("storage: syncing meta %q: %w", name, err)
	}
	db.counters.syncs.Add(1)
	return nil
}
