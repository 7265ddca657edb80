package storage

import (
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// SyncMode says when a commit is forced to stable storage. See the package
// documentation for what each mode promises on a process crash and on a
// power loss.
type SyncMode uint8

// The sync modes. The zero value is SyncAlways, the safest.
const (
	// SyncAlways fsyncs (msyncs) every commit before Commit returns
	// (badger's SyncWrites). An acknowledged write survives a power loss.
	SyncAlways SyncMode = iota
	// SyncBatched returns from Commit once the write is in the operating
	// system's page cache; a background goroutine fsyncs every
	// SyncInterval. An acknowledged write survives a process crash, but a
	// power loss can lose the writes of the last interval.
	SyncBatched
)

// String returns "always" or "batched".
func (m SyncMode) String() string {
	switch m {
	case SyncAlways:
		return "always"
	case SyncBatched:
		return "batched"
	}
	return fmt.Sprintf("syncmode(%d)", uint8(m))
}

// Logger receives the errors and warnings of the storage engine and of the
// DB's background goroutine. Badger's informational and debug messages are
// dropped. A *log.Logger satisfies it; so does LoggerFunc(t.Logf). It must be
// safe for concurrent use.
type Logger interface {
	Printf(format string, args ...any)
}

// LoggerFunc adapts a function to the Logger interface.
type LoggerFunc func(format string, args ...any)

// Printf calls f(format, args...).
func (f LoggerFunc) Printf(format string, args ...any) { f(format, args...) }

// Options configures a DB. The zero value of every field means its default
// (see DefaultOptions), so Options{} is a valid configuration.
type Options struct {
	// InMemory keeps everything in memory (badger's in-memory mode) and
	// ignores the dir argument of Open: for tests. Nothing survives Close;
	// Sync has no effect. Zero: on disk.
	InMemory bool

	// Sync says when commits reach stable storage. Zero: SyncAlways.
	Sync SyncMode

	// SyncInterval is how often, under SyncBatched, the background
	// goroutine fsyncs: the longest time an acknowledged write can wait
	// before a power loss can no longer lose it. Ignored under SyncAlways.
	// Zero: 10ms.
	SyncInterval time.Duration

	// BlockCacheBytes bounds badger's cache of decompressed data blocks, in
	// bytes. Zero: 64 MiB.
	BlockCacheBytes int64

	// IndexCacheBytes bounds badger's cache of table indexes and bloom
	// filters, in bytes, so that their memory stays bounded as the data
	// grows (badger's own default keeps them all in memory). Zero: 32 MiB.
	IndexCacheBytes int64

	// MemTableBytes is the size of one badger memtable, in bytes: the
	// unit of write buffering before a flush to a table on disk. It also
	// bounds one transaction to about 15% of it; a larger batch is
	// committed in several transactions (see Commit). Values of 15% of it
	// or more, and in any case of 1 MiB or more, go to badger's value log
	// instead of the LSM tree (see ValueLogGCInterval). At most three exist
	// at once (one being written, two being flushed). At least 1 MiB, at
	// most 1 GiB. Zero: 32 MiB.
	MemTableBytes int64

	// ValueLogGCInterval is how often a background goroutine runs badger's
	// value-log garbage collection, which reclaims the space of
	// overwritten or deleted values large enough to live in the value log
	// (see MemTableBytes; smaller values live in the LSM tree and
	// compaction reclaims them). Zero: 10 minutes.
	// Negative: never.
	ValueLogGCInterval time.Duration

	// StateCacheEntries bounds the cache of decoded states of the keys read
	// or written last, which spares a read-merge-write a second search of
	// badger's memtables (see cache.go). It is small on purpose: what it
	// saves is the second read of a key the coordinator has just read, and
	// every cached state is pointers the garbage collector scans (65,536
	// entries cost 14% more CPU per write than 4,096). Zero: 4,096.
	// Negative: no cache.
	StateCacheEntries int

	// KeyFilterBytes is the size of the Bloom filter of stored keys that
	// lets a read of a key never stored skip badger (see filter.go). It is
	// fixed: past about one key per 10 bits (8 MiB: 6.7 million keys) it
	// skips fewer reads, never a needed one. Zero: 8 MiB. Negative: none.
	KeyFilterBytes int64

	// Logger receives errors and warnings. Zero: the standard library's
	// default logger (log.Printf), which writes to standard error.
	Logger Logger
}

// The defaults of DefaultOptions.
const (
	defaultSyncInterval       = 10 * time.Millisecond
	defaultBlockCacheBytes    = 64 << 20
	defaultIndexCacheBytes    = 32 << 20
	defaultMemTableBytes      = 32 << 20
	defaultValueLogGCInterval = 10 * time.Minute
	defaultStateCacheEntries  = 1 << 12
	defaultKeyFilterBytes     = 8 << 20
	minMemTableBytes          = 1 << 20
	maxMemTableBytes          = 1 << 30
	valueLogGCDiscardRatio    = 0.5
	maxValueThreshold         = 1 << 20
)

// DefaultOptions returns the options Open uses for zero fields: on disk,
// SyncAlways, a 10ms SyncInterval, 64 MiB block cache, 32 MiB index
// cache, 32 MiB memtables (at most 3), a 1 GiB hint budget, value-log GC every 10
// minutes, a 4,096-entry state cache, an 8 MiB key filter, logging to
// log.Printf.
func DefaultOptions() Options {
	return Options{
		Sync:               SyncAlways,
		SyncInterval:       defaultSyncInterval,
		BlockCacheBytes:    defaultBlockCacheBytes,
		IndexCacheBytes:    defaultIndexCacheBytes,
		MemTableBytes:      defaultMemTableBytes,
		ValueLogGCInterval: defaultValueLogGCInterval,
		StateCacheEntries:  defaultStateCacheEntries,
		KeyFilterBytes:     defaultKeyFilterBytes,
		Logger:             LoggerFunc(log.Printf),
	}
}

// withDefaults returns o with every zero field replaced by its default.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.SyncInterval == 0 {
		o.SyncInterval = d.SyncInterval
	}
	if o.BlockCacheBytes == 0 {
		o.BlockCacheBytes = d.BlockCacheBytes
	}
	if o.IndexCacheBytes == 0 {
		o.IndexCacheBytes = d.IndexCacheBytes
	}
	if o.MemTableBytes == 0 {
		o.MemTableBytes = d.MemTableBytes
	}
	if o.ValueLogGCInterval == 0 {
		o.ValueLogGCInterval = d.ValueLogGCInterval
	}
	if o.StateCacheEntries == 0 {
		o.StateCacheEntries = d.StateCacheEntries
	}
	if o.KeyFilterBytes == 0 {
		o.KeyFilterBytes = d.KeyFilterBytes
	}
	if o.Logger == nil {
		o.Logger = d.Logger
	}
	return o
}

// Validate reports every problem with o at once, joined with errors.Join,
// or nil. Zero fields are valid: they mean the default.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("storage: invalid options: "+format, args...))
	}
	if o.Sync != SyncAlways && o.Sync != SyncBatched {
		bad("unknown Sync mode %d", uint8(o.Sync))
	}
	if o.SyncInterval < 0 {
		bad("SyncInterval %v is negative", o.SyncInterval)
	}
	if o.BlockCacheBytes < 0 {
		bad("BlockCacheBytes %d is negative", o.BlockCacheBytes)
	}
	if o.IndexCacheBytes < 0 {
		bad("IndexCacheBytes %d is negative", o.IndexCacheBytes)
	}
	if m := o.MemTableBytes; m != 0 && (m < minMemTableBytes || m > maxMemTableBytes) {
		bad("MemTableBytes %d is outside [%d, %d]", m, minMemTableBytes, maxMemTableBytes)
	}
	return errors.Join(errs...)
}

// badgerOptions translates o, with defaults applied, into badger's options.
func (o Options) badgerOptions(dir string) badger.Options {
	if o.InMemory {
		dir = ""
	}
	return badger.DefaultOptions(dir).
		WithInMemory(o.InMemory).
		WithSyncWrites(o.Sync == SyncAlways && !o.InMemory).
		WithBlockCacheSize(o.BlockCacheBytes).
		WithIndexCacheSize(o.IndexCacheBytes).
		WithMemTableSize(o.MemTableBytes).
		// At most 3 memtables (one being written, two being flushed)
		// instead of badger's 5: memory stays within 3 x MemTableBytes.
		WithNumMemtables(3).
		WithNumLevelZeroTables(3).
		WithNumCompactors(2).
		WithValueThreshold(valueThreshold(o.MemTableBytes)).
		// Commits are serialized by DB.mu, so a transaction's reads cannot
		// be invalidated by another's writes: conflict tracking is waste.
		WithDetectConflicts(false).
		// Badger's metrics are process-wide expvars shared by every DB in
		// the process; Stats counts per DB instead.
		WithMetricsEnabled(false).
		WithLogger(badgerLogger{o.Logger})
}

// valueThreshold is the size from which badger keeps a value in its value
// log instead of the LSM tree: badger's maximum, 1 MiB, unless that exceeds
// what one transaction may hold (15% of the memtable), which badger refuses.
func valueThreshold(memTableBytes int64) int64 {
	return min(maxValueThreshold, memTableBytes*15/100)
}

// badgerLogger forwards badger's errors and warnings to a Logger and drops
// the rest.
type badgerLogger struct{ l Logger }

func (b badgerLogger) Errorf(format string, args ...any) {
	b.l.Printf("storage: badger error: "+format, args...)
}

func (b badgerLogger) Warningf(format string, args ...any) {
	b.l.Printf("storage: badger warning: "+format, args...)
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}
