package storage

import (
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// newTicker returns a channel that delivers a tick every d and a function
// that stops it. Tests replace it to drive the background goroutine by hand.
var newTicker = func(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// maxRewritesPerRound bounds the value-log files one GC round rewrites, so
// that Close never waits long for a round to end.
const maxRewritesPerRound = 8

// needsBackgroundSync reports whether commits leave an fsync to the
// background goroutine.
func (db *DB) needsBackgroundSync() bool {
	return db.opts.Sync == SyncBatched && !db.opts.InMemory
}

// startBackground starts the goroutine that fsyncs under SyncBatched and
// runs value-log GC, when either is needed. It runs until Close.
func (db *DB) startBackground() {
	gc := db.opts.ValueLogGCInterval > 0 && !db.opts.InMemory
	if !db.needsBackgroundSync() && !gc {
		return
	}
	var syncTick, gcTick <-chan time.Time
	var stops []func()
	if db.needsBackgroundSync() {
		c, stop := newTicker(db.opts.SyncInterval)
		syncTick, stops = c, append(stops, stop)
	}
	if gc {
		c, stop := newTicker(db.opts.ValueLogGCInterval)
		gcTick, stops = c, append(stops, stop)
	}
	db.stopBg, db.bgStopped = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(db.bgStopped)
		defer func() {
			for _, stop := range stops {
				stop()
			}
		}()
		for {
			select {
			case <-db.stopBg:
				return
			case <-syncTick:
				db.backgroundSync()
			case <-gcTick:
				db.collectValueLog()
			}
		}
	}()
}

// stopBackground stops the background goroutine, if any, and waits for it.
func (db *DB) stopBackground() {
	if db.stopBg == nil {
		return
	}
	close(db.stopBg)
	<-db.bgStopped
}

// backgroundSync fsyncs badger's active write-ahead log and value log if a
// commit happened since the last sync. A failure is logged and made sticky:
// every later write returns it (see checkSync).
func (db *DB) backgroundSync() {
	if !db.dirty.Swap(false) {
		return
	}
	if err := db.syncLog(); err != nil {
		err = fmt.Errorf("storage: background sync failed, refusing further writes: %w", err)
		db.counters.syncFails.Add(1)
		db.syncErr.CompareAndSwap(nil, &err)
		db.opts.Logger.Printf("%v", err)
		return
	}
	db.counters.syncs.Add(1)
}

// collectValueLog runs one round of badger's value-log GC: it rewrites
// value-log files while badger finds one at least half garbage, up to
// maxRewritesPerRound, and stops early when Close begins.
func (db *DB) collectValueLog() {
	for range maxRewritesPerRound {
		select {
		case <-db.stopBg:
			return
		default:
		}
		err := db.bdb.RunValueLogGC(valueLogGCDiscardRatio)
		if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
			return
		}
		if err != nil {
			db.opts.Logger.Printf("storage: value-log GC: %v", err)
			return
		}
		db.counters.valueLogRewrites.Add(1)
	}
}
