package storage

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// Commit applies b and returns once it is as durable as the sync mode
// promises: under SyncAlways, fsynced; under SyncBatched, handed to the
// operating system (see the package documentation).
//
// Every put is a read-merge-write: the stored state is read, merged with the
// given one (crdt.Merge) and written back, unless the merge left it
// unchanged. Committing a state twice, or an older one, is harmless. Hints
// merge the same way under (target, key). Puts are applied before deletes,
// hints before hint deletes, each in slice order; a key put and deleted in
// one batch ends deleted. Deleting what is absent is not an error.
//
// Acceptor records (b.Acceptors) are written after the outbox, each over
// the key's record, and a batch holding any is synced before Commit
// returns, whatever the sync mode.
//
// The outbox part is applied after the hints, as package sync's MemStore applies it:
// each shipment of b.Outbox stored under its Seq (replacing one stored
// under the same Seq), then the cursors of b.Cursors, then the trim of
// every shipment with a Seq up to b.Trim (a shipment appended and trimmed
// in one batch ends deleted).
//
// A batch is applied in one badger transaction, atomically. A batch too big
// for one (about 15% of MemTableBytes, or badger's entry-count limit) is
// applied in several consecutive transactions, each atomic; if one of them
// fails, the ones before it stay applied, and the error says so. Since
// every change is idempotent, committing the whole batch again is the
// remedy.
//
// Commit applies every hint it is given: the hint budget is the caller's
// rule (package sync keeps it, so that a hint over budget is dropped, never
// the batch). After a background sync failed, Commit returns that failure.
func (db *DB) Commit(b *wire.Batch) error {
	if !db.enter() {
		return ErrClosed
	}
	defer db.exit()
	if b == nil || b.IsEmpty() {
		return nil
	}
	if err := db.checkSync(); err != nil {
		return err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	hs, err := db.prepareHints(b.Hints)
	if err != nil {
		return err
	}
	hds, err := hintKeys(b.HintDeletes)
	if err != nil {
		return err
	}
	ships, err := prepareOutbox(b.Outbox)
	if err != nil {
		return err
	}
	c := &committer{db: db, txn: db.bdb.NewTransaction(true), cached: map[string]cached{}}
	defer func() { c.txn.Discard() }()
	err = c.apply(b, hs, hds, ships)
	if err == nil {
		err = c.commitTxn(false)
	}
	if err != nil {
		c.forget = append(c.forget, keysOf(b)...) // what is stored is unknown now
		clear(c.cached)
	}
	db.cache.committed(c.cached, c.forget)
	if err != nil && c.txns > 0 {
		return fmt.Errorf("storage: batch split into transactions, of which the first %d stay applied: %w", c.txns, err)
	}
	if err != nil {
		return err
	}
	if c.txns > 1 {
		db.counters.splitBatches.Add(1)
	}
	return db.syncAcceptors(b)
}

// committer applies one batch in one or more badger transactions.
type committer struct {
	db     *DB
	txn    *badger.Txn
	cached map[string]cached // states this batch wrote, for the cache
	forget [][]byte          // keys this batch deleted
	txns   int               // transactions committed so far

	// Changes of the current transaction, published once it commits.
	writes int
	n      txnCounts
	delta  map[crdt.NodeID]wire.HintBacklog

	// ob is the outbox's tally as of the current transaction, nil until
	// the batch touches the outbox; obChanged says the transaction
	// changed it.
	ob        *outboxTally
	obChanged bool
}

type txnCounts struct {
	keysWritten, putsUnchanged, keysDeleted, hintsWritten, hintsDeleted uint64
}

func (c *committer) apply(b *wire.Batch, hs []preparedHint, hds [][]byte, ships [][]byte) error {
	for i := range b.Puts {
		if err := c.put(&b.Puts[i]); err != nil {
			return err
		}
	}
	for _, key := range b.Deletes {
		bk := dataKey(key)
		if err := c.write(func(txn *badger.Txn) error { return txn.Delete(bk) }); err != nil {
			return fmt.Errorf("storage: deleting key %x: %w", key, err)
		}
		delete(c.cached, string(key))
		c.forget = append(c.forget, key)
		c.n.keysDeleted++
	}
	for i, h := range b.Hints {
		if err := c.hint(h, hs[i]); err != nil {
			return err
		}
	}
	for i, hk := range b.HintDeletes {
		if err := c.deleteHint(hk, hds[i]); err != nil {
			return err
		}
	}
	if err := c.outbox(b, ships); err != nil {
		return err
	}
	return c.acceptors(b)
}

// put merges e into the stored state of e.Key and records the hashes of
// the encodings before and after.
func (c *committer) put(e *wire.Entry) error {
	bk := dataKey(e.Key)
	stored, before, err := c.read(bk, e.Key)
	if err != nil {
		return err
	}
	e.Before, e.After = before, before
	merged := crdt.Merge(stored, e.State)
	if merged.Equal(stored) {
		c.n.putsUnchanged++
		return nil
	}
	v, err := wire.EncodeState(merged)
	if err != nil {
		return fmt.Errorf("storage: encoding key %x: %w", e.Key, err)
	}
	c.db.filter.add(dataKeyHash(bk)) // before the commit: see keyFilter
	if err := c.write(func(txn *badger.Txn) error { return txn.Set(bk, v) }); err != nil {
		return fmt.Errorf("storage: writing key %x: %w", e.Key, err)
	}
	e.After = wire.StateHash(v)
	c.cached[string(e.Key)] = cached{s: merged, hash: e.After}
	c.n.keysWritten++
	return nil
}

// read returns the stored state of key and the hash of its encoding: what
// this batch wrote, else the cache (which holds only committed states, and
// commits are serialized), else badger.
func (c *committer) read(bk, key []byte) (crdt.State, uint64, error) {
	if e, ok := c.cached[string(key)]; ok {
		return e.s.Clone(), e.hash, nil
	}
	if s, h, ok := c.db.cache.get(key); ok {
		return s, h, nil
	}
	if !c.db.filter.mayHold(dataKeyHash(bk)) {
		c.db.counters.filterSkips.Add(1)
		return crdt.State{}, 0, nil
	}
	s, _, h, err := readStateHash(c.txn, bk, "key", key)
	return s, h, err
}

// keysOf lists the keys b puts or deletes.
func keysOf(b *wire.Batch) [][]byte {
	out := make([][]byte, 0, len(b.Puts)+len(b.Deletes))
	for _, e := range b.Puts {
		out = append(out, e.Key)
	}
	return append(out, b.Deletes...)
}

// hint merges h into the stored hint for (h.Target, h.Key). p holds its
// badger key and encoding, written as is when no hint is stored yet.
func (c *committer) hint(h wire.Hint, p preparedHint) error {
	what := fmt.Sprintf("hint for %q, key", h.Target)
	stored, oldLen, found, err := readState(c.txn, p.key, what, h.Key)
	if err != nil {
		return err
	}
	v := p.encoded
	if found {
		merged := crdt.Merge(stored, h.State)
		if merged.Equal(stored) {
			return nil
		}
		if v, err = wire.EncodeState(merged); err != nil {
			return fmt.Errorf("storage: encoding %s %x: %w", what, h.Key, err)
		}
	} else if h.State.IsZero() {
		return nil
	}
	if err := c.write(func(txn *badger.Txn) error { return txn.Set(p.key, v) }); err != nil {
		return fmt.Errorf("storage: writing %s %x: %w", what, h.Key, err)
	}
	d := hintSize(h.Key, len(v))
	if found {
		d -= hintSize(h.Key, oldLen)
	} else {
		c.addDelta(h.Target, 1, 0)
	}
	c.addDelta(h.Target, 0, d)
	c.n.hintsWritten++
	return nil
}

// deleteHint removes the hint for hk, if there is one.
func (c *committer) deleteHint(hk wire.HintKey, bk []byte) error {
	item, err := c.txn.Get(bk)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("storage: reading hint for %q, key %x: %w", hk.Target, hk.Key, err)
	}
	n, err := valueLen(item)
	if err != nil {
		return fmt.Errorf("storage: reading hint for %q, key %x: %w", hk.Target, hk.Key, err)
	}
	size := hintSize(hk.Key, n)
	if err := c.write(func(txn *badger.Txn) error { return txn.Delete(bk) }); err != nil {
		return fmt.Errorf("storage: deleting hint for %q, key %x: %w", hk.Target, hk.Key, err)
	}
	c.addDelta(hk.Target, -1, -size)
	c.n.hintsDeleted++
	return nil
}

func (c *committer) addDelta(target crdt.NodeID, count int, bytes int64) {
	if c.delta == nil {
		c.delta = make(map[crdt.NodeID]wire.HintBacklog)
	}
	d := c.delta[target]
	d.Count += count
	d.Bytes += bytes
	c.delta[target] = d
}

// write runs op, a Set or Delete, in the current transaction. When badger
// finds the transaction full, it commits it, opens the next one and runs op
// there: reads made before stay valid, because commits are serialized.
func (c *committer) write(op func(*badger.Txn) error) error {
	err := op(c.txn)
	if errors.Is(err, badger.ErrTxnTooBig) && c.writes > 0 {
		if err = c.commitTxn(true); err == nil {
			err = op(c.txn)
		}
	}
	if err == nil {
		c.writes++
	}
	return err
}

// commitTxn commits the current transaction, publishes its changes to the
// counters and, if next, opens the next one.
func (c *committer) commitTxn(next bool) error {
	if c.writes == 0 {
		c.publish(false)
		return nil
	}
	if err := c.txn.Commit(); err != nil {
		return fmt.Errorf("storage: committing batch: %w", err)
	}
	c.txns++
	c.publish(true)
	if next {
		c.txn = c.db.bdb.NewTransaction(true)
	}
	return nil
}

// publish adds the current transaction's changes to the DB's counters and
// resets them; wrote says whether the transaction reached badger.
func (c *committer) publish(wrote bool) {
	ctr := &c.db.counters
	ctr.keysWritten.Add(c.n.keysWritten)
	ctr.putsUnchanged.Add(c.n.putsUnchanged)
	ctr.keysDeleted.Add(c.n.keysDeleted)
	ctr.hintsWritten.Add(c.n.hintsWritten)
	ctr.hintsDeleted.Add(c.n.hintsDeleted)
	if wrote {
		c.db.committed()
		c.db.applyHintDelta(c.delta)
		if c.obChanged {
			c.db.setOutbox(c.ob.clone())
		}
	}
	c.n, c.delta, c.writes, c.obChanged = txnCounts{}, nil, 0, false
}
