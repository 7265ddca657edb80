package resp_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/region/resp"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// BenchmarkGoRedis measures GET and SET through go-redis against the fake
// backend: one client issuing commands one at a time, 16 clients at once,
// and one client pipelining 16 commands (redis-benchmark -P 16). Allocations
// include go-redis's and the fake backend's.
func BenchmarkGoRedis(b *testing.B) {
	value := make([]byte, 100)
	cmds := map[string]func(ctx context.Context, rdb redis.Cmdable, i int) error{
		"GET": func(ctx context.Context, rdb redis.Cmdable, i int) error {
			return ignoreNil(rdb.Get(ctx, fmt.Sprintf("key:%d", i%1000)).Err())
		},
		"SET": func(ctx context.Context, rdb redis.Cmdable, i int) error {
			return rdb.Set(ctx, fmt.Sprintf("key:%d", i%1000), value, 0).Err()
		},
	}
	for _, name := range []string{"GET", "SET"} {
		cmd := cmds[name]
		b.Run(name+"/sequential", func(b *testing.B) {
			rdb := dial(b, start(b, testConfig(), newFake()), redis.Options{})
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := cmd(b.Context(), rdb, i); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
		b.Run(name+"/parallel-16", func(b *testing.B) {
			rdb := dial(b, start(b, testConfig(), newFake()), redis.Options{PoolSize: 16})
			b.SetParallelism(16)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for i := 0; pb.Next(); i++ {
					if err := cmd(context.Background(), rdb, i); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
		b.Run(name+"/pipeline-16", func(b *testing.B) {
			benchPipeline(b, testConfig(), newFake(), cmd)
		})
		b.Run(name+"/pipeline-16-one-at-a-time", func(b *testing.B) {
			cfg := testConfig()
			cfg.MaxPipeline = 1
			benchPipeline(b, cfg, newFake(), cmd)
		})
	}
}

// BenchmarkSlowBackend pipelines 16 GETs of distinct keys to a backend that
// takes 200µs per op, as a quorum round trip would: with MaxPipeline 1 they
// run one after another, with the default they are issued concurrently.
func BenchmarkSlowBackend(b *testing.B) {
	get := func(ctx context.Context, rdb redis.Cmdable, i int) error {
		return ignoreNil(rdb.Get(ctx, fmt.Sprintf("key:%d", i)).Err())
	}
	for _, depth := range []int{1, 64} {
		b.Run(fmt.Sprintf("MaxPipeline=%d", depth), func(b *testing.B) {
			fake := newFake()
			fake.hook = func(ctx context.Context, op wire.Op) (kvsync.Response, bool) {
				time.Sleep(200 * time.Microsecond)
				return kvsync.Response{}, false
			}
			cfg := testConfig()
			cfg.MaxPipeline = depth
			benchPipeline(b, cfg, fake, get)
		})
	}
}

// benchPipeline sends cmd 16 times per pipeline; an op is one command.
func benchPipeline(b *testing.B, cfg resp.Config, fake *fakeBackend, cmd func(context.Context, redis.Cmdable, int) error) {
	rdb := dial(b, start(b, cfg, fake), redis.Options{})
	const depth = 16
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		pipe := rdb.Pipeline()
		for range depth {
			_ = cmd(b.Context(), pipe, i)
			i++
		}
		if _, err := pipe.Exec(b.Context()); ignoreNil(err) != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(depth*b.N)/b.Elapsed().Seconds(), "ops/s")
}

func ignoreNil(err error) error {
	if err == redis.Nil {
		return nil
	}
	return err
}

// BenchmarkServer measures the server alone: a raw connection pipelines 16
// pre-encoded GETs to a backend answering a constant state, so that the
// allocations counted are the server's own. An op is one command. With
// MaxPipeline=1 the GETs run one after another, with the default they run
// concurrently (one goroutine each).
func BenchmarkServer(b *testing.B) {
	var st crdt.State
	st.Put(fakeNode, []byte("v"), crdt.Timestamp{Wall: 1}, nil)
	constant := &fakeBackend{hook: func(context.Context, wire.Op) (kvsync.Response, bool) {
		return kvsync.Response{State: st}, true
	}}
	const depth = 16
	req := []byte(strings.Repeat("*2\r\n$3\r\nGET\r\n$5\r\nkey:1\r\n", depth))
	reply := strings.Repeat("$1\r\nv\r\n", depth)
	for _, pipeline := range []int{1, 64} {
		b.Run(fmt.Sprintf("MaxPipeline=%d", pipeline), func(b *testing.B) {
			cfg := testConfig()
			cfg.MaxPipeline = pipeline
			var d net.Dialer
			nc, err := d.DialContext(b.Context(), "tcp", start(b, cfg, constant).Addr())
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			buf := make([]byte, len(reply))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := nc.Write(req); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(nc, buf); err != nil || string(buf) != reply {
					b.Fatalf("read %q, %v", buf, err)
				}
			}
			b.ReportMetric(float64(depth*b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}
