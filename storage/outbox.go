package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"github.com/meridiankv/meridian/wire"
)

// The outbox: the shipments this node owes the other regions (wire.Batch's
// Outbox, Cursors and Trim), one badger key per shipment under prefixOutbox
// in Seq order, and one per region's cursor under prefixCursor.

// shipmentVersion is the first byte of every stored shipment: the version
// of the encoding below.
const shipmentVersion byte = 1

// shipmentHeader is the length of a stored shipment's fixed part:
// version (1) | At (8, big-endian, two's complement) | len(Key) (4,
// big-endian). Key and wire.EncodeState(State) follow.
const shipmentHeader = 1 + 8 + 4

// shipmentOverhead is what a shipment counts towards OutboxState.Bytes
// besides its key and encoded state, as package sync's MemStore counts it.
const shipmentOverhead = 16

// trimChunk is how many shipments a trim reads before deleting them: the
// keys of one chunk are held in memory at a time.
const trimChunk = 10_000

// outboxTally is what Outbox reports but the cursors, kept in memory.
type outboxTally struct {
	count       int
	bytes       int64
	first, last uint64
	cursors     map[string]uint64 // never nil
}

// clone returns t with a cursors map of its own.
func (t outboxTally) clone() outboxTally {
	t.cursors = maps.Clone(t.cursors)
	if t.cursors == nil {
		t.cursors = map[string]uint64{}
	}
	return t
}

// add counts a shipment of seq whose stored value has n bytes.
func (t *outboxTally) add(seq uint64, n int) {
	if t.count == 0 {
		t.first, t.last = seq, seq
	}
	t.first, t.last = min(t.first, seq), max(t.last, seq)
	t.count++
	t.bytes += shipmentSize(n)
}

// outboxKey returns the badger key of the shipment of seq.
func outboxKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixOutbox}, seq)
}

// splitOutbox returns the Seq of a badger outbox key.
func splitOutbox(k []byte) (uint64, error) {
	if len(k) != 1+8 || k[0] != prefixOutbox {
		return 0, fmt.Errorf("storage: malformed outbox key %x", k)
	}
	return binary.BigEndian.Uint64(k[1:]), nil
}

// cursorKey returns the badger key of region's cursor.
func cursorKey(region string) []byte { return append([]byte{prefixCursor}, region...) }

// shipmentSize is what a shipment stored in n bytes counts towards
// OutboxState.Bytes: its key and encoded state, plus shipmentOverhead. A
// value too short to hold a header counts as an empty one, so that Open and
// Commit count it alike.
func shipmentSize(n int) int64 { return int64(max(n-shipmentHeader, 0)) + shipmentOverhead }

// encodeShipment returns the stored value of s: see shipmentHeader.
func encodeShipment(s wire.Shipment) ([]byte, error) {
	if len(s.Key) > math.MaxUint32 {
		return nil, fmt.Errorf("storage: outbox shipment %d: key of %d bytes is too long", s.Seq, len(s.Key))
	}
	v := make([]byte, shipmentHeader, shipmentHeader+len(s.Key)+64)
	v[0] = shipmentVersion
	binary.BigEndian.PutUint64(v[1:], uint64(s.At))
	binary.BigEndian.PutUint32(v[9:], uint32(len(s.Key)))
	v = append(v, s.Key...)
	v, err := wire.AppendState(v, s.State)
	if err != nil {
		return nil, fmt.Errorf("storage: encoding outbox shipment %d, key %x: %w", s.Seq, s.Key, err)
	}
	return v, nil
}

// decodeShipment decodes the stored value v of the shipment of seq. The
// shipment's Key is a copy: v may be badger's.
func decodeShipment(seq uint64, v []byte) (wire.Shipment, error) {
	bad := func(format string, args ...any) (wire.Shipment, error) {
		return wire.Shipment{}, fmt.Errorf("storage: decoding outbox shipment %d: "+format, append([]any{seq}, args...)...)
	}
	if len(v) < shipmentHeader {
		return bad("%d bytes, shorter than the %d-byte header", len(v), shipmentHeader)
	}
	if v[0] != shipmentVersion {
		return bad("unknown encoding version %d", v[0])
	}
	n := binary.BigEndian.Uint32(v[9:])
	if uint64(n) > uint64(len(v)-shipmentHeader) {
		return bad("key length %d exceeds the %d bytes left", n, len(v)-shipmentHeader)
	}
	key := v[shipmentHeader : shipmentHeader+int(n)]
	st, err := wire.DecodeState(v[shipmentHeader+int(n):])
	if err != nil {
		return bad("key %x: %w", key, err)
	}
	return wire.Shipment{Seq: seq, Key: slices.Clone(key), State: st, At: int64(binary.BigEndian.Uint64(v[1:]))}, nil
}

// ScanOutbox calls fn for each shipment with a Seq above after, in Seq
// order, until fn returns false or a stored shipment fails to decode (an
// error naming its Seq), on a consistent snapshot. The shipments passed to
// fn are the caller's to keep. fn may call the DB's other methods but Close.
func (db *DB) ScanOutbox(after uint64, fn func(wire.Shipment) bool) error {
	if !db.enter() {
		return ErrClosed
	}
	defer db.exit()
	if after == math.MaxUint64 {
		return nil
	}
	return db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixOutbox}})
		defer it.Close()
		for it.Seek(outboxKey(after + 1)); it.Valid(); it.Next() {
			item := it.Item()
			seq, err := splitOutbox(item.Key())
			if err != nil {
				return err
			}
			var s wire.Shipment
			err = item.Value(func(v []byte) error {
				s, err = decodeShipment(seq, v)
				return err
			})
			if err != nil {
				return err
			}
			if !fn(s) {
				return nil
			}
		}
		return nil
	})
}

// Outbox returns what the outbox holds and the regions' cursors. The
// figures are kept in memory (counted by Open with one scan of the outbox,
// then updated by each commit), so it reads no disk. Bytes counts, for each
// shipment, its key, its wire.EncodeState encoding and 16. The Cursors map
// is the caller's, empty when no cursor was stored.
func (db *DB) Outbox() (wire.OutboxState, error) {
	if !db.enter() {
		return wire.OutboxState{}, ErrClosed
	}
	defer db.exit()
	db.outboxMu.Lock()
	t := db.outbox.clone()
	db.outboxMu.Unlock()
	return wire.OutboxState{Count: t.count, Bytes: t.bytes, First: t.first, Last: t.last, Cursors: t.cursors}, nil
}

// outboxSnapshot returns the tally, for a commit to change.
func (db *DB) outboxSnapshot() outboxTally {
	db.outboxMu.Lock()
	defer db.outboxMu.Unlock()
	return db.outbox.clone()
}

// setOutbox replaces the tally with t, which the DB keeps.
func (db *DB) setOutbox(t outboxTally) {
	db.outboxMu.Lock()
	defer db.outboxMu.Unlock()
	db.outbox = t
}

// loadOutbox counts the shipments on disk and reads the cursors. Like the
// hints, it reads the values' lengths, not their contents.
func (db *DB) loadOutbox() error {
	t := outboxTally{cursors: map[string]uint64{}}
	err := db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixOutbox}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			seq, err := splitOutbox(it.Item().Key())
			if err != nil {
				return err
			}
			n, err := valueLen(it.Item())
			if err != nil {
				return fmt.Errorf("storage: reading outbox shipment %d: %w", seq, err)
			}
			t.add(seq, n)
		}
		return loadCursors(txn, t.cursors)
	})
	if err != nil {
		return fmt.Errorf("storage: opening: counting the outbox: %w", err)
	}
	db.outbox = t
	return nil
}

// loadCursors reads every stored cursor into into.
func loadCursors(txn *badger.Txn, into map[string]uint64) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixCursor}})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		region := string(it.Item().Key()[1:])
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("storage: reading the cursor of region %q: %w", region, err)
		}
		if len(v) != 8 {
			return fmt.Errorf("storage: the cursor of region %q has %d bytes, want 8", region, len(v))
		}
		into[region] = binary.BigEndian.Uint64(v)
	}
	return nil
}

// prepareOutbox encodes the shipments of b, so that a shipment that does
// not encode fails the batch before anything is written.
func prepareOutbox(ships []wire.Shipment) ([][]byte, error) {
	out := make([][]byte, len(ships))
	for i, s := range ships {
		v, err := encodeShipment(s)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// outbox applies the outbox part of b, in MemStore's order: shipments
// appended, cursors set, then the trim. vs holds the shipments' encodings.
func (c *committer) outbox(b *wire.Batch, vs [][]byte) error {
	if len(b.Outbox) == 0 && len(b.Cursors) == 0 && b.Trim == 0 {
		return nil
	}
	if c.ob == nil {
		t := c.db.outboxSnapshot()
		c.ob = &t
	}
	for i, s := range b.Outbox {
		if err := c.ship(s.Seq, vs[i]); err != nil {
			return err
		}
	}
	for _, region := range slices.Sorted(maps.Keys(b.Cursors)) {
		k, v := cursorKey(region), binary.BigEndian.AppendUint64(nil, b.Cursors[region])
		if err := c.write(func(txn *badger.Txn) error { return txn.Set(k, v) }); err != nil {
			return fmt.Errorf("storage: writing the cursor of region %q: %w", region, err)
		}
		c.ob.cursors[region] = b.Cursors[region]
		c.obChanged = true
	}
	return c.trim(b.Trim)
}

// ship stores the shipment of seq, encoded as v. A Seq stored already (a
// batch committed again after a failure) is replaced, not counted twice.
func (c *committer) ship(seq uint64, v []byte) error {
	k := outboxKey(seq)
	old := -1
	if c.ob.count > 0 && seq <= c.ob.last {
		item, err := c.txn.Get(k)
		if err == nil {
			old, err = valueLen(item)
		}
		if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("storage: reading outbox shipment %d: %w", seq, err)
		}
	}
	if err := c.write(func(txn *badger.Txn) error { return txn.Set(k, v) }); err != nil {
		return fmt.Errorf("storage: writing outbox shipment %d: %w", seq, err)
	}
	if old >= 0 {
		c.ob.bytes += shipmentSize(len(v)) - shipmentSize(old)
	} else {
		c.ob.add(seq, len(v))
	}
	c.obChanged = true
	return nil
}

// trim deletes every shipment with a Seq up to upTo, a chunk at a time:
// the keys of a chunk are read from the first Seq held, then deleted. If
// badger splits the batch, the lowest Seqs go first, so a crash leaves a
// shorter trim done, which the caller repeats; the tally published with
// each transaction names the first Seq left.
func (c *committer) trim(upTo uint64) error {
	if upTo == 0 || c.ob.count == 0 || upTo < c.ob.first {
		return nil
	}
	from := c.ob.first
	for {
		chunk, next, err := c.trimChunk(from, upTo)
		if err != nil {
			return err
		}
		for i, d := range chunk {
			k := outboxKey(d.seq)
			if err := c.write(func(txn *badger.Txn) error { return txn.Delete(k) }); err != nil {
				return fmt.Errorf("storage: deleting outbox shipment %d: %w", d.seq, err)
			}
			c.ob.count--
			c.ob.bytes -= d.size
			c.ob.first = next
			if i+1 < len(chunk) {
				c.ob.first = chunk[i+1].seq
			}
			c.obChanged = true
		}
		if c.ob.count <= 0 || next == 0 {
			c.ob.count, c.ob.bytes, c.ob.first, c.ob.last = 0, 0, 0, 0
		}
		if next == 0 || next > upTo {
			return nil
		}
		from = next
	}
}

// trimmed is a shipment a trim deletes.
type trimmed struct {
	seq  uint64
	size int64
}

// trimChunk returns up to trimChunk shipments with from <= Seq <= upTo, in
// order, as the current transaction sees them, and the Seq of the shipment
// that follows them, 0 for none.
func (c *committer) trimChunk(from, upTo uint64) ([]trimmed, uint64, error) {
	it := c.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixOutbox}})
	defer it.Close()
	var out []trimmed
	for it.Seek(outboxKey(from)); it.Valid(); it.Next() {
		seq, err := splitOutbox(it.Item().Key())
		if err != nil {
			return nil, 0, err
		}
		if seq > upTo || len(out) == trimChunk {
			return out, seq, nil
		}
		n, err := valueLen(it.Item())
		if err != nil {
			return nil, 0, fmt.Errorf("storage: reading outbox shipment %d: %w", seq, err)
		}
		out = append(out, trimmed{seq: seq, size: shipmentSize(n)})
	}
	return out, 0, nil
}
