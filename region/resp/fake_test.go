package resp_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/region/httpapi/httpapitest"
	"github.com/meridiankv/meridian/region/resp"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeBackend is a single replica in memory: a map of states under a mutex,
// changed with the crdt mutators the real node uses.
type fakeBackend struct {
	// hook, if set, sees every op first, outside the lock; if it returns
	// true its response is the answer.
	hook func(ctx context.Context, op wire.Op) (kvsync.Response, bool)

	mu    sync.Mutex
	keys  map[string]crdt.State
	clock *crdt.Clock
	now   int64
	ops   []wire.Op        // every op answered, in order
	fail  map[string]error // key -> the error every op on it gets
	info  []resp.InfoSection

	strong *httpapitest.StrongKeys // the strong keys; nil for none
}

var _ resp.Backend = (*fakeBackend)(nil)

func newFake() *fakeBackend {
	return &fakeBackend{keys: map[string]crdt.State{}, clock: crdt.NewClock(0), fail: map[string]error{}}
}

const fakeNode crdt.NodeID = "n1"

func (f *fakeBackend) Do(ctx context.Context, op wire.Op) kvsync.Response {
	if f.hook != nil {
		if r, ok := f.hook(ctx, op); ok {
			return r
		}
	}
	return f.apply(op)
}

// newStrongFake returns a fake whose keys decl declares (as
// kvsync.ParseDeclaration reads it) are strong.
func newStrongFake(t testing.TB, decl string) *fakeBackend {
	t.Helper()
	d, err := kvsync.ParseDeclaration(decl)
	if err != nil {
		t.Fatal(err)
	}
	f := newFake()
	f.strong = httpapitest.NewStrongKeys(d)
	return f
}

// apply answers op from the map, or from the strong keys.
func (f *fakeBackend) apply(op wire.Op) kvsync.Response {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, op)
	if err := f.fail[string(op.Key)]; err != nil {
		return kvsync.Response{Err: err}
	}
	if f.strong != nil {
		if r, ok := f.strong.Do(op); ok {
			return r
		}
	}
	st := f.keys[string(op.Key)].Clone()
	f.now++
	ts := f.clock.Now(f.now)
	var changed int64
	var err error
	if op.Kind != wire.OpGet {
		_, changed, err = kvsync.Apply(&st, fakeNode, &op, ts)
	}
	if err != nil {
		return kvsync.Response{Err: err}
	}
	f.keys[string(op.Key)] = st
	return kvsync.Response{State: st.Clone(), Changed: changed}
}

func (f *fakeBackend) Info() []resp.InfoSection {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.info
}

// received returns a copy of the ops answered so far.
func (f *fakeBackend) received() []wire.Op {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ops)
}

// testConfig returns the default configuration on a free loopback port.
func testConfig() resp.Config {
	cfg := resp.DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	return cfg
}

// start runs a server over b until the test ends.
func start(t testing.TB, cfg resp.Config, b resp.Backend) *resp.Server {
	t.Helper()
	srv, err := resp.Listen(cfg, b)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return srv
}

// dial returns a go-redis client of srv closed when the test ends. One
// connection, so that connection state (names, levels) carries from one
// command to the next.
func dial(t testing.TB, srv *resp.Server, opt redis.Options) *redis.Client {
	t.Helper()
	opt.Addr = srv.Addr()
	if opt.PoolSize == 0 {
		opt.PoolSize = 1
	}
	rdb := redis.NewClient(&opt)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}
