package linear

import (
	"testing"
	"time"

	"github.com/meridiankv/meridian/wire"
)

func str(s string) wire.Strong { return wire.Strong{Kind: wire.StrongString, Bytes: []byte(s)} }

// TestCheck: histories the model must take and refuse.
func TestCheck(t *testing.T) {
	k := []byte("k")
	set := func(c int, call, ret int64, v string) Op {
		return Op{Client: c, Call: call, Return: ret, Op: wire.Op{Kind: wire.OpPut, Key: k, Value: []byte(v)}, Value: str(v)}
	}
	get := func(c int, call, ret int64, v string) Op {
		o := Op{Client: c, Call: call, Return: ret, Op: wire.Op{Kind: wire.OpGet, Key: k}}
		if v != "" {
			o.Value = str(v)
		}
		return o
	}
	incr := func(c int, call, ret int64, by, result int64) Op {
		return Op{Client: c, Call: call, Return: ret, Op: wire.Op{Kind: wire.OpIncr, Key: k, By: by},
			Value: wire.Strong{Kind: wire.StrongCounter, Int: result}, Result: result}
	}
	unknown := func(o Op) Op { o.Unknown, o.Value = true, wire.Strong{}; return o }
	for _, tc := range []struct {
		name string
		h    []Op
		ok   bool
	}{
		{"sequential", []Op{set(0, 1, 2, "a"), get(1, 3, 4, "a")}, true},
		{"stale read", []Op{set(0, 1, 2, "a"), set(0, 3, 4, "b"), get(1, 5, 6, "a")}, false},
		{"concurrent read sees either", []Op{set(0, 1, 2, "a"), set(0, 3, 6, "b"), get(1, 4, 5, "a")}, true},
		{"read of a value never written", []Op{get(1, 1, 2, "z")}, false},
		{"unknown write seen", []Op{unknown(set(0, 1, 2, "a")), get(1, 3, 4, "a")}, true},
		{"unknown write not seen", []Op{unknown(set(0, 1, 2, "a")), get(1, 3, 4, "")}, true},
		{"unknown write seen then gone", []Op{unknown(set(0, 1, 2, "a")), get(1, 3, 4, "a"), get(1, 5, 6, "")}, false},
		{"increments add up", []Op{incr(0, 1, 4, 2, 2), incr(1, 2, 5, 3, 5)}, true},
		{"an increment applied twice", []Op{incr(0, 1, 2, 2, 2), incr(1, 3, 4, 3, 7)}, false},
		{"nx fails on a set key", []Op{set(0, 1, 2, "a"), {Client: 1, Call: 3, Return: 4, Op: wire.Op{Kind: wire.OpPut, Key: k, Value: []byte("b"), Cond: wire.CondNX}, Failed: true}}, true},
		{"nx succeeds on a set key", []Op{set(0, 1, 2, "a"), {Client: 1, Call: 3, Return: 4, Op: wire.Op{Kind: wire.OpPut, Key: k, Value: []byte("b"), Cond: wire.CondNX}, Value: str("b")}}, false},
	} {
		if got := Check(tc.h, time.Second); got.Ok != tc.ok {
			t.Errorf("%s: linearizable %v, want %v", tc.name, got.Ok, tc.ok)
		}
	}
}
