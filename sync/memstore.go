package sync

import (
	"bytes"
	"cmp"
	"slices"
	"strings"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// MemStore is a Store in memory, for tests and simulations. It models a
// disk: a crash of its Node (throw the Node away, keep the MemStore) keeps
// everything committed, as a kill -9 keeps what reached the operating
// system; PowerLoss keeps only what was synced, as pebble's crashable
// in-memory file system does. By default every commit is synced; with
// Batched set, commits are only written and Sync makes them durable (the
// storage package's SyncBatched). It is not safe for concurrent use.
type MemStore struct {
	keys  map[string]crdt.State
	hints map[hintKey]crdt.State
	order []hashedKey // keys sorted by (hash, key), rebuilt when dirty
	dirty bool
	// journal holds what each change written since the last Sync
	// overwrote, oldest first: PowerLoss undoes them newest first.
	journal []undo
	// Batched makes commits written but not synced until Sync.
	Batched bool
	// FailCommits makes Commit fail while it is set, to test disk errors.
	FailCommits error
	// FailGets makes Get fail while it is set, to test read errors.
	FailGets error
	epochs   Epochs
	outbox   memOutbox
	acc      map[string]wire.Acceptor
	// UnsyncedAcceptors plants a bug for the tests of the checkers: a
	// batch of acceptor records is not synced, so a PowerLoss can undo a
	// promise or an acceptance that was answered.
	UnsyncedAcceptors bool
}

// GetAcceptor returns the acceptor record of key.
func (m *MemStore) GetAcceptor(key []byte) (wire.Acceptor, error) {
	if m.FailGets != nil {
		return wire.Acceptor{}, m.FailGets
	}
	return m.acc[string(key)], nil
}

// ScanAcceptors calls fn for the acceptor records of keys whose hash is in
// [lo, hi], in (hash, key) order.
func (m *MemStore) ScanAcceptors(lo, hi uint64, fn func(key []byte, a wire.Acceptor) bool) error {
	keys := make([]hashedKey, 0, len(m.acc))
	for k := range m.acc {
		if h := wire.KeyHash([]byte(k)); h >= lo && h <= hi {
			keys = append(keys, hashedKey{hash: h, key: k})
		}
	}
	slices.SortFunc(keys, func(a, b hashedKey) int {
		if c := cmp.Compare(a.hash, b.hash); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	for _, k := range keys {
		if !fn([]byte(k.key), m.acc[k.key]) {
			return nil
		}
	}
	return nil
}

// commitAcceptors writes b's acceptor records, and syncs everything
// committed, as the disk store does, unless UnsyncedAcceptors.
func (m *MemStore) commitAcceptors(b *wire.Batch) {
	if len(b.Acceptors) == 0 {
		return
	}
	if m.acc == nil {
		m.acc = map[string]wire.Acceptor{}
	}
	for _, e := range b.Acceptors {
		k := e.Key
		prev, had := m.acc[string(k)]
		if m.Batched {
			m.journal = append(m.journal, undo{restore: func() {
				if had {
					m.acc[string(k)] = prev
				} else {
					delete(m.acc, string(k))
				}
			}})
		}
		m.acc[string(k)] = e.Record
	}
	if !m.UnsyncedAcceptors {
		m.Sync()
	}
}

// Epochs returns the epochs record.
func (m *MemStore) Epochs() (Epochs, error) { return m.epochs, nil }

// SaveEpochs records e and syncs everything committed, as a disk store's
// fsync does.
func (m *MemStore) SaveEpochs(e Epochs) error {
	if m.FailCommits != nil {
		return m.FailCommits
	}
	m.Sync()
	m.epochs = e
	return nil
}

// undo is what one unsynced change overwrote.
type undo struct {
	restore func() // when set, undoes the change by itself (the outbox's)
	hint    bool
	key     string  // when !hint
	hk      hintKey // when hint
	prev    crdt.State
	had     bool
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{keys: map[string]crdt.State{}, hints: map[hintKey]crdt.State{}}
}

var _ Store = (*MemStore)(nil)

// Get returns the state of key, or FailGets.
func (m *MemStore) Get(key []byte) (crdt.State, error) {
	if m.FailGets != nil {
		return crdt.State{}, m.FailGets
	}
	return m.keys[string(key)].Clone(), nil
}

// Sync makes everything committed so far durable.
func (m *MemStore) Sync() { m.journal = m.journal[:0] }

// PowerLoss drops every change committed since the last Sync, as a machine
// that loses power loses what the disk had not synced. Without Batched,
// nothing is lost.
func (m *MemStore) PowerLoss() {
	for i := len(m.journal) - 1; i >= 0; i-- {
		u := m.journal[i]
		switch {
		case u.restore != nil:
			u.restore()
		case u.hint && u.had:
			m.hints[u.hk] = u.prev
		case u.hint:
			delete(m.hints, u.hk)
		case u.had:
			m.keys[u.key] = u.prev
		default:
			delete(m.keys, u.key)
		}
	}
	m.journal = m.journal[:0]
	m.dirty = true
}

// Unsynced returns the number of changes PowerLoss would drop.
func (m *MemStore) Unsynced() int { return len(m.journal) }

func (m *MemStore) remember(key string) {
	if m.Batched {
		prev, had := m.keys[key]
		m.journal = append(m.journal, undo{key: key, prev: prev, had: had})
	}
}

func (m *MemStore) rememberHint(hk hintKey) {
	if m.Batched {
		prev, had := m.hints[hk]
		m.journal = append(m.journal, undo{hint: true, hk: hk, prev: prev, had: had})
	}
}

// Commit applies b.
func (m *MemStore) Commit(b *wire.Batch) error {
	if m.FailCommits != nil {
		return m.FailCommits
	}
	for i := range b.Puts {
		e := &b.Puts[i]
		old, ok := m.keys[string(e.Key)]
		merged := crdt.Merge(old, e.State)
		m.remember(string(e.Key))
		m.keys[string(e.Key)] = merged
		m.dirty = m.dirty || !ok
		if ok {
			e.Before = stateHash(old)
		}
		e.After = stateHash(merged)
	}
	for _, k := range b.Deletes {
		m.remember(string(k))
		delete(m.keys, string(k))
		m.dirty = true
	}
	for _, h := range b.Hints {
		hk := hintKey{target: h.Target, key: string(h.Key)}
		m.rememberHint(hk)
		m.hints[hk] = crdt.Merge(m.hints[hk], h.State)
	}
	for _, h := range b.HintDeletes {
		hk := hintKey{target: h.Target, key: string(h.Key)}
		m.rememberHint(hk)
		delete(m.hints, hk)
	}
	m.commitOutbox(b)
	m.commitAcceptors(b)
	return nil
}

// Scan calls fn for the keys whose hash is in [lo, hi], in (hash, key) order.
func (m *MemStore) Scan(lo, hi uint64, fn func(key []byte, s crdt.State, hash uint64) bool) error {
	if m.dirty {
		m.order = m.order[:0]
		for k := range m.keys {
			m.order = append(m.order, hashedKey{wire.KeyHash([]byte(k)), k})
		}
		slices.SortFunc(m.order, compareHashed)
		m.dirty = false
	}
	i, _ := slices.BinarySearchFunc(m.order, hashedKey{hash: lo}, compareHashed)
	var ks []string
	for ; i < len(m.order) && m.order[i].hash <= hi; i++ {
		ks = append(ks, m.order[i].key)
	}
	for _, k := range ks { // fn may commit: iterate over a copy
		if s, ok := m.keys[k]; ok && !fn([]byte(k), s.Clone(), stateHash(s)) {
			break
		}
	}
	return nil
}

// stateHash is what a disk store reports: the hash of the encoding.
func stateHash(s crdt.State) uint64 {
	enc, err := wire.EncodeState(s)
	if err != nil {
		return 1 // never equal to a real one, so anti-entropy repairs it
	}
	return wire.StateHash(enc)
}

type hashedKey struct {
	hash uint64
	key  string
}

func compareHashed(a, b hashedKey) int {
	if c := cmp.Compare(a.hash, b.hash); c != 0 {
		return c
	}
	return strings.Compare(a.key, b.key)
}

// ScanHints calls fn for the hints held for target.
func (m *MemStore) ScanHints(target crdt.NodeID, fn func(key []byte, s crdt.State) bool) error {
	var ks [][]byte
	for hk := range m.hints {
		if hk.target == target {
			ks = append(ks, []byte(hk.key))
		}
	}
	sortByHash(ks)
	for _, k := range ks {
		if !fn(k, m.hints[hintKey{target: target, key: string(k)}].Clone()) {
			break
		}
	}
	return nil
}

// HintTargets returns the hint backlog per target; Bytes counts keys and
// values roughly (a MemStore does not encode).
func (m *MemStore) HintTargets() ([]wire.HintBacklog, error) {
	per := map[crdt.NodeID]*wire.HintBacklog{}
	for hk := range m.hints {
		b := per[hk.target]
		if b == nil {
			b = &wire.HintBacklog{Target: hk.target}
			per[hk.target] = b
		}
		b.Count++
		b.Bytes += hintSize([]byte(hk.key), m.hints[hk])
	}
	out := make([]wire.HintBacklog, 0, len(per))
	for _, b := range per {
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b wire.HintBacklog) int { return cmp.Compare(a.Target, b.Target) })
	return out, nil
}

// Len returns the number of keys held.
func (m *MemStore) Len() int { return len(m.keys) }

// Keys returns every key held, in (hash, key) order.
func (m *MemStore) Keys() [][]byte {
	ks := make([][]byte, 0, len(m.keys))
	for k := range m.keys {
		ks = append(ks, []byte(k))
	}
	sortByHash(ks)
	return ks
}

func sortByHash(ks [][]byte) {
	slices.SortFunc(ks, func(a, b []byte) int {
		if c := cmp.Compare(wire.KeyHash(a), wire.KeyHash(b)); c != 0 {
			return c
		}
		return bytes.Compare(a, b)
	})
}
