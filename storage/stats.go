package storage

import (
	"io/fs"
	"os"
	"path/filepath"
)

// Stats is a snapshot of a DB's counters and sizes. Counters are cumulative
// since Open.
type Stats struct {
	// Commits counts badger transactions committed by Commit and PutMeta:
	// one per batch, more for a batch split by badger's transaction limit.
	Commits uint64
	// SplitBatches counts batches committed in more than one transaction.
	SplitBatches uint64
	// KeysWritten counts puts that changed a key's stored state.
	KeysWritten uint64
	// PutsUnchanged counts puts whose merge left the stored state as it
	// was, so nothing was written.
	PutsUnchanged uint64
	// KeysDeleted counts deletes applied, whether or not the key existed.
	KeysDeleted uint64
	// HintsWritten and HintsDeleted count hint writes that changed a
	// stored hint, and hint deletes of hints that existed.
	HintsWritten, HintsDeleted uint64
	// Syncs counts fsyncs: one per committed transaction under SyncAlways,
	// one per background sync under SyncBatched. Zero in memory.
	Syncs uint64
	// SyncFailures counts failed background syncs (at most one matters:
	// the first makes the DB refuse writes).
	SyncFailures uint64
	// ValueLogRewrites counts value-log files rewritten by value-log GC.
	ValueLogRewrites uint64
	// FilterSkips counts reads of keys the key filter knew were never
	// stored, answered without badger.
	FilterSkips uint64

	// LSMBytes, ValueLogBytes and WALBytes are the disk space, in bytes,
	// allocated to badger's tables (.sst), value logs (.vlog) and memtable
	// write-ahead logs (.mem), measured now. Badger preallocates the
	// active logs sparsely; allocated blocks are counted, not apparent
	// sizes. Zero in memory.
	LSMBytes, ValueLogBytes, WALBytes int64

	// HintTargets, Hints and HintBytes total the hint backlog (see
	// HintTargets).
	HintTargets int
	Hints       int
	HintBytes   int64
}

// Stats returns the DB's counters and sizes. It reads the directory listing
// to measure disk use. It works after Close, reporting the final counters.
func (db *DB) Stats() Stats {
	c := &db.counters
	s := Stats{
		Commits:          c.commits.Load(),
		SplitBatches:     c.splitBatches.Load(),
		KeysWritten:      c.keysWritten.Load(),
		PutsUnchanged:    c.putsUnchanged.Load(),
		KeysDeleted:      c.keysDeleted.Load(),
		HintsWritten:     c.hintsWritten.Load(),
		HintsDeleted:     c.hintsDeleted.Load(),
		Syncs:            c.syncs.Load(),
		SyncFailures:     c.syncFails.Load(),
		FilterSkips:      c.filterSkips.Load(),
		ValueLogRewrites: c.valueLogRewrites.Load(),
	}
	s.LSMBytes, s.ValueLogBytes, s.WALBytes = diskUsage(db.dir)
	db.hintMu.Lock()
	s.HintTargets, s.HintBytes = len(db.hints), db.hintTotal
	for _, b := range db.hints {
		s.Hints += b.Count
	}
	db.hintMu.Unlock()
	return s
}

// diskUsage returns the bytes allocated to badger's .sst, .vlog and .mem
// files in dir, or zeros for "" (in memory) and on a listing error: the
// figures are for monitoring, not decisions.
func diskUsage(dir string) (lsm, vlog, wal int64) {
	if dir == "" {
		return 0, 0, 0
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, 0
	}
	for _, e := range entries {
		var sum *int64
		switch filepath.Ext(e.Name()) {
		case ".sst":
			sum = &lsm
		case ".vlog":
			sum = &vlog
		case ".mem":
			sum = &wal
		default:
			continue
		}
		if fi, err := e.Info(); err == nil {
			*sum += allocated(fi)
		}
	}
	return lsm, vlog, wal
}

// allocatedFallback is the apparent size, for systems whose FileInfo does
// not report allocated blocks.
func allocatedFallback(fi fs.FileInfo) int64 { return fi.Size() }
