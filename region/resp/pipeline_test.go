package resp_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// randomCommands returns n commands over a few keys, so that a pipeline of
// them mixes independent and conflicting requests, some of them refused
// for following a MULTI.
func randomCommands(seed uint64, n int) [][]any {
	rng := rand.New(rand.NewPCG(seed, 0))
	key := func(prefix string) string { return fmt.Sprintf("%s%d", prefix, rng.IntN(3)) }
	gens := []func() []any{
		func() []any { return []any{"SET", key("k"), fmt.Sprint(rng.IntN(100))} },
		func() []any { return []any{"GET", key("k")} },
		func() []any { return []any{"GET", key("c")} },
		func() []any { return []any{"INCRBY", key("c"), fmt.Sprint(rng.IntN(10) - 5)} },
		func() []any { return []any{"DEL", key("k"), key("c")} },
		func() []any { return []any{"MGET", key("k"), key("c"), key("k")} },
		func() []any { return []any{"MSET", key("k"), "x", key("k"), "y"} },
		func() []any { return []any{"EXISTS", key("k"), key("s")} },
		func() []any { return []any{"SADD", key("s"), fmt.Sprint(rng.IntN(5))} },
		func() []any { return []any{"SREM", key("s"), fmt.Sprint(rng.IntN(5))} },
		func() []any { return []any{"SCARD", key("s")} },
		func() []any { return []any{"SMEMBERS", key("s")} },
		func() []any { return []any{"TYPE", key("k")} },
		func() []any { return []any{"INCR", key("k")} }, // WRONGTYPE on a register
		func() []any { return []any{"PING"} },
		func() []any { return []any{"CONSISTENCY", []string{"ONE", "QUORUM", "ALL"}[rng.IntN(3)]} },
		func() []any { return []any{"MULTI"} }, // refuses what follows up to EXEC or DISCARD
		func() []any { return []any{"EXEC"} },
		func() []any { return []any{"DISCARD"} },
	}
	cmds := make([][]any, n)
	for i := range cmds {
		cmds[i] = gens[rng.IntN(len(gens))]()
	}
	return cmds
}

type reply struct {
	val any
	err string
}

func replyOf(cmd *redis.Cmd) reply {
	v, err := cmd.Result()
	if err != nil {
		return reply{err: err.Error()}
	}
	return reply{val: v}
}

// TestPipelineMatchesSequential: a pipeline answers exactly what the same
// commands sent one at a time answer, in order, and sends the Backend the
// same levels.
func TestPipelineMatchesSequential(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			cmds := randomCommands(seed, 300)
			ctx := t.Context()
			aloneFake, pipedFake := newFake(), newFake()
			alone := dial(t, start(t, testConfig(), aloneFake), redis.Options{})
			var want []reply
			for _, c := range cmds {
				want = append(want, replyOf(alone.Do(ctx, c...)))
			}
			piped := dial(t, start(t, testConfig(), pipedFake), redis.Options{})
			pipe := piped.Pipeline()
			var got []*redis.Cmd
			for _, c := range cmds {
				got = append(got, pipe.Do(ctx, c...))
			}
			_, _ = pipe.Exec(ctx) // errors are checked one by one
			for i := range cmds {
				if g := replyOf(got[i]); !reflect.DeepEqual(g, want[i]) {
					t.Fatalf("seed %d, command %d %q: pipelined %+v; one at a time %+v", seed, i, cmds[i], g, want[i])
				}
			}
			if a, p := opSummary(aloneFake.received()), opSummary(pipedFake.received()); !slices.Equal(a, p) {
				t.Errorf("seed %d: the backend received other ops or levels from the pipeline:\n%v\nthan one at a time:\n%v", seed, p, a)
			}
		})
	}
}

// opSummary describes ops, sorted, since a pipeline issues some
// concurrently.
func opSummary(ops []wire.Op) []string {
	var out []string
	for _, op := range ops {
		out = append(out, fmt.Sprintf("%s kind=%d level=%d", op.Key, op.Kind, op.Level))
	}
	slices.Sort(out)
	return out
}

// barrier returns a backend hook that holds every op on a key starting
// with "gate" until n of them are in flight at once, so that ops issued one
// after another fail.
func barrier(n int) func(context.Context, wire.Op) (kvsync.Response, bool) {
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	return func(ctx context.Context, op wire.Op) (kvsync.Response, bool) {
		if !strings.HasPrefix(string(op.Key), "gate") {
			return kvsync.Response{}, false
		}
		mu.Lock()
		if arrived++; arrived == n {
			close(all)
		}
		mu.Unlock()
		timer := time.NewTimer(5 * time.Second)
		defer timer.Stop()
		select {
		case <-all:
			return kvsync.Response{}, false
		case <-timer.C:
			return kvsync.Response{Err: errors.New("barrier: the ops were not issued concurrently")}, true
		}
	}
}

func TestIndependentCommandsRunConcurrently(t *testing.T) {
	tests := []struct {
		name string
		n    int // ops that must be in flight at once
		cmds [][]any
	}{
		{"pipeline", 4, [][]any{{"GET", "gate1"}, {"SET", "gate2", "v"}, {"SADD", "gate3", "m"}, {"INCR", "gate4"}}},
		{"reads of one key", 2, [][]any{{"GET", "gate"}, {"TYPE", "gate"}}},
		{"mget", 3, [][]any{{"MGET", "gate1", "gate2", "gate3"}}},
		{"mset", 2, [][]any{{"MSET", "gate1", "a", "gate2", "b"}}},
		{"del exists", 4, [][]any{{"DEL", "gate1", "gate2"}, {"EXISTS", "gate3", "gate4"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake()
			fake.hook = barrier(tt.n)
			rdb := dial(t, start(t, testConfig(), fake), redis.Options{})
			pipe := rdb.Pipeline()
			for _, c := range tt.cmds {
				pipe.Do(t.Context(), c...)
			}
			if _, err := pipe.Exec(t.Context()); err != nil && err != redis.Nil {
				t.Fatal(err)
			}
		})
	}
}

// TestConflictingCommandsRunInOrder: a write of a pipeline is never in
// flight with another op on its key.
func TestConflictingCommandsRunInOrder(t *testing.T) {
	fake := newFake()
	var mu sync.Mutex
	var reads, writes int
	overlaps := 0
	enter := func(write bool) {
		mu.Lock()
		defer mu.Unlock()
		if writes > 0 || write && reads > 0 {
			overlaps++
		}
		if write {
			writes++
		} else {
			reads++
		}
	}
	leave := func(write bool) {
		mu.Lock()
		defer mu.Unlock()
		if write {
			writes--
		} else {
			reads--
		}
	}
	fake.hook = func(ctx context.Context, op wire.Op) (kvsync.Response, bool) {
		write := op.Kind != wire.OpGet
		enter(write)
		defer leave(write)
		return fake.apply(op), true
	}
	rdb := dial(t, start(t, testConfig(), fake), redis.Options{})
	cmds := [][]any{{"SET", "k", "1"}, {"GET", "k"}, {"SET", "k", "2"}, {"MGET", "k", "k"}, {"DEL", "k"}, {"EXISTS", "k"}, {"SADD", "k", "m"}, {"SCARD", "k"}}
	want := []any{"OK", "1", "OK", []any{"2", "2"}, int64(1), int64(0), int64(1), int64(1)}
	pipe := rdb.Pipeline()
	var got []*redis.Cmd
	for _, c := range cmds {
		got = append(got, pipe.Do(t.Context(), c...))
	}
	if _, err := pipe.Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i, c := range got {
		if v, err := c.Result(); err != nil || !reflect.DeepEqual(v, want[i]) {
			t.Errorf("%q: got %#v, %v; want %#v", cmds[i], v, err, want[i])
		}
	}
	if overlaps != 0 {
		t.Errorf("%d times a write of a key was in flight with another op on it", overlaps)
	}
}
