// Package httpapitest provides Replicas, a stand-in for a region that tests
// of the HTTP endpoint and of its clients put behind a Backend, as
// net/http/httptest does for servers.
package httpapitest

import (
	"fmt"
	"sync"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// Start is the physical time of the first write, in ns: 2025-01-02T03:04:05Z.
const Start = int64(1735787045) * 1e9

// Replicas is three replicas, a, b and c, in one map, built on the real
// write semantics (kvsync.Apply). Writes are coordinated by a and spread to
// every replica not cut off; reads merge the replicas not cut off. Cutting
// a replica off and writing there makes concurrent siblings. Each write is
// one second after the one before. Its methods are safe for concurrent use.
type Replicas struct {
	mu    sync.Mutex
	nodes []crdt.NodeID
	data  map[crdt.NodeID]map[string]crdt.State
	cut   map[crdt.NodeID]bool
	wall  int64 // physical time of the next write, ns

	strong *StrongKeys // nil: every key is eventual
}

// DeclareStrong makes the keys decl declares strong (StrongKeys), and
// returns them, to move their clock. Call it before the Replicas are used.
func (r *Replicas) DeclareStrong(decl kvsync.Declaration) *StrongKeys {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.strong = NewStrongKeys(decl)
	return r.strong
}

// NewReplicas returns three empty replicas.
func NewReplicas() *Replicas {
	r := &Replicas{nodes: []crdt.NodeID{"a", "b", "c"}, data: map[crdt.NodeID]map[string]crdt.State{},
		cut: map[crdt.NodeID]bool{}, wall: Start}
	for _, n := range r.nodes {
		r.data[n] = map[string]crdt.State{}
	}
	return r
}

// Do answers op as a region would: a read merges the replicas not cut off,
// an inspection shows each replica (a cut-off one as timed out), and a
// write is coordinated by a. Strong keys (DeclareStrong) are answered by
// their StrongKeys.
func (r *Replicas) Do(op wire.Op) kvsync.Response {
	r.mu.Lock()
	strong := r.strong
	r.mu.Unlock()
	if strong != nil {
		if resp, ok := strong.Do(op); ok {
			return resp
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	key := string(op.Key)
	switch op.Kind {
	case wire.OpGet:
		return kvsync.Response{State: r.merged(key)}
	case wire.OpInspect:
		resp := kvsync.Response{State: r.merged(key)}
		for _, n := range r.nodes {
			rep := kvsync.ReplicaState{Node: n, State: r.data[n][key]}
			if r.cut[n] {
				rep = kvsync.ReplicaState{Node: n, Err: &kvsync.TimeoutError{Level: kvsync.All, Got: 2, Need: 3}}
			}
			resp.Replicas = append(resp.Replicas, rep)
		}
		return resp
	}
	return r.write("a", op, true)
}

// Write applies op at node and, when spread is set, merges the delta into
// every replica not cut off.
func (r *Replicas) Write(node crdt.NodeID, op wire.Op, spread bool) kvsync.Response {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.write(node, op, spread)
}

// Conflict makes key hold two concurrent siblings: first written through a
// while b is cut off, second written at b alone. With tie, both get the same
// timestamp, so the node id decides (b wins); else second is a second later
// and wins by time.
func (r *Replicas) Conflict(key, first, second string, tie bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cut["b"] = true
	defer func() { r.cut["b"] = false }()
	if resp := r.write("a", wire.Op{Kind: wire.OpPut, Key: []byte(key), Value: []byte(first)}, true); resp.Err != nil {
		return fmt.Errorf("httpapitest: writing %q at a: %w", first, resp.Err)
	}
	if tie {
		r.wall -= 1e9
	}
	if resp := r.write("b", wire.Op{Kind: wire.OpPut, Key: []byte(key), Value: []byte(second)}, false); resp.Err != nil {
		return fmt.Errorf("httpapitest: writing %q at b: %w", second, resp.Err)
	}
	return nil
}

// SetCut cuts replica n off (or reconnects it): writes no longer reach it
// and reads no longer ask it.
func (r *Replicas) SetCut(n crdt.NodeID, cut bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cut[n] = cut
}

func (r *Replicas) merged(key string) crdt.State {
	var m crdt.State
	for _, n := range r.nodes {
		if !r.cut[n] {
			m.Merge(r.data[n][key])
		}
	}
	return m
}

func (r *Replicas) write(node crdt.NodeID, op wire.Op, spread bool) kvsync.Response {
	key := string(op.Key)
	st := r.data[node][key].Clone()
	delta, changed, err := kvsync.Apply(&st, node, &op, crdt.Timestamp{Wall: r.wall})
	if err != nil {
		return kvsync.Response{Err: err}
	}
	r.wall += 1e9
	r.data[node][key] = st
	for _, n := range r.nodes {
		if spread && n != node && !r.cut[n] {
			s := r.data[n][key].Clone()
			s.Merge(delta)
			r.data[n][key] = s
		}
	}
	return kvsync.Response{State: st, Changed: changed}
}
