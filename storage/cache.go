package storage

import (
	"sync"

	"github.com/meridiankv/meridian/crdt"
)

// stateCache holds the decoded states of the keys read or written last, so
// that a read-merge-write of a key its caller has just read (what a
// replica does for every write) does not search badger's memtables and
// decode the value a second time. It is bounded by entries, evicting the
// oldest first, and never serves a state older than the last commit of its
// key: commits update it, and a read that raced with a commit does not
// fill it (the generation check).
type stateCache struct {
	mu   sync.Mutex
	max  int
	m    map[string]cached
	ring []string // insertion order, for eviction
	next int
	gen  uint64 // bumped by every commit
}

type cached struct {
	s    crdt.State // owned by the cache: hand out clones
	hash uint64     // wire.StateHash of the stored encoding, 0 when absent
}

func newStateCache(max int) *stateCache {
	if max <= 0 {
		return nil
	}
	return &stateCache{max: max, m: make(map[string]cached, max), ring: make([]string, max)}
}

// get returns a copy of the cached state of key.
func (c *stateCache) get(key []byte) (crdt.State, uint64, bool) {
	if c == nil {
		return crdt.State{}, 0, false
	}
	c.mu.Lock()
	e, ok := c.m[string(key)]
	c.mu.Unlock()
	if !ok {
		return crdt.State{}, 0, false
	}
	return e.s.Clone(), e.hash, true
}

// generation returns the current generation, to pass to fill.
func (c *stateCache) generation() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// fill caches what a read found, unless a commit happened since gen.
func (c *stateCache) fill(key []byte, s crdt.State, hash, gen uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.put(string(key), cached{s: s.Clone(), hash: hash})
	}
}

// committed records what a commit wrote: new states, and keys to forget.
func (c *stateCache) committed(set map[string]cached, forget [][]byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, k := range forget {
		delete(c.m, string(k))
	}
	for k, e := range set {
		c.put(k, e)
	}
}

// put stores e under key; c.mu is held.
func (c *stateCache) put(key string, e cached) {
	if _, ok := c.m[key]; !ok {
		if old := c.ring[c.next]; old != "" {
			delete(c.m, old)
		}
		c.ring[c.next] = key
		c.next = (c.next + 1) % c.max
	}
	c.m[key] = e
}
