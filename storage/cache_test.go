package storage_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/storage"
	"github.com/meridiankv/meridian/wire"
)

func TestCommitReportsHashesOfTheStoredEncodings(t *testing.T) {
	db := open(t, storage.Options{InMemory: true})
	var s crdt.State
	s.Put("a", []byte("one"), crdt.Timestamp{Wall: 1}, nil)
	b := puts(wire.Entry{Key: []byte("k"), State: s})
	if err := db.Commit(b); err != nil {
		t.Fatal(err)
	}
	enc, _ := wire.EncodeState(s)
	if b.Puts[0].Before != 0 || b.Puts[0].After != wire.StateHash(enc) {
		t.Fatalf("first put: before %x after %x, want 0 and %x", b.Puts[0].Before, b.Puts[0].After, wire.StateHash(enc))
	}
	s.Put("a", []byte("two"), crdt.Timestamp{Wall: 2}, nil)
	b2 := puts(wire.Entry{Key: []byte("k"), State: s})
	if err := db.Commit(b2); err != nil {
		t.Fatal(err)
	}
	enc2, _ := wire.EncodeState(s)
	if b2.Puts[0].Before != b.Puts[0].After || b2.Puts[0].After != wire.StateHash(enc2) {
		t.Fatalf("second put: before %x after %x", b2.Puts[0].Before, b2.Puts[0].After)
	}
	again := puts(wire.Entry{Key: []byte("k"), State: s})
	if err := db.Commit(again); err != nil || again.Puts[0].Before != again.Puts[0].After {
		t.Fatalf("an unchanged put must report equal hashes: %+v, %v", again.Puts[0], err)
	}
}

// TestReadsNeverSeeAStateOlderThanTheLastCommit races readers with a
// writer: once a commit returned, no read may return an older state, cache
// or no cache.
func TestReadsNeverSeeAStateOlderThanTheLastCommit(t *testing.T) {
	for _, entries := range []int{-1, 16} {
		t.Run(fmt.Sprintf("cache=%d", entries), func(t *testing.T) {
			db := open(t, storage.Options{InMemory: true, StateCacheEntries: entries})
			var mu sync.Mutex
			committed := map[string]int64{}
			var wg sync.WaitGroup
			for r := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 500 {
						key := fmt.Sprintf("k%d", (i+r)%32)
						mu.Lock()
						floor := committed[key]
						mu.Unlock()
						s, err := db.Get([]byte(key))
						if err != nil {
							t.Error(err)
							return
						}
						if v, _ := s.Value(); v < floor {
							t.Errorf("read %s = %d after a commit of %d returned", key, v, floor)
							return
						}
					}
				}()
			}
			var states [32]crdt.State
			for i := range 2000 {
				k := i % 32
				if _, err := states[k].Incr("w", 1, crdt.Timestamp{Wall: int64(i)}); err != nil {
					t.Fatal(err)
				}
				key := fmt.Sprintf("k%d", k)
				if err := db.Commit(puts(wire.Entry{Key: []byte(key), State: states[k]})); err != nil {
					t.Fatal(err)
				}
				v, _ := states[k].Value()
				mu.Lock()
				committed[key] = v
				mu.Unlock()
			}
			wg.Wait()
			for k := range 32 {
				s, _ := db.Get([]byte(fmt.Sprintf("k%d", k)))
				if !s.Equal(states[k]) {
					t.Fatalf("k%d: got %v, want %v", k, s, states[k])
				}
			}
		})
	}
}
