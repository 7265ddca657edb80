package wire_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
	"pgregory.net/rapid"
)

// The differential tests: the hand-written codec against the reflective one
// it replaced (reflect_test.go), which encodes and decodes the format structs
// with fxamacker/cbor. Both must write the same bytes and fail with the same
// errors for every value, and accept, refuse (with the same sentinel) and
// return the same for every input: random values here, random bytes in the
// fuzz targets (fuzz_test.go).

// diffCodecs are the codecs the differential tests run: the default one and
// one whose limits random values and inputs reach.
var diffCodecs = func() []namedCodec {
	small, err := wire.NewCodec(wire.Limits{MaxMessageSize: 1024, MaxNestedLevels: 5, MaxArrayElements: 16,
		MaxMapPairs: 16, MaxNodes: 3, MaxNodeIDLen: 12, MaxFrameMessages: 4})
	if err != nil {
		panic(err)
	}
	def, _ := wire.NewCodec(wire.Limits{})
	return []namedCodec{{"default", def}, {"small", small}}
}()

type namedCodec struct {
	name string
	*wire.Codec
}

// tb is what the checks below need of a *testing.T, *testing.F's or a
// *rapid.T.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

// checkOneSentinel is checkSentinel for a tb.
func checkOneSentinel(t tb, err error) {
	t.Helper()
	n := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 || !strings.HasPrefix(err.Error(), "wire: ") {
		t.Fatalf("error %q matches %d of the package's sentinels, want exactly 1, and a wire: prefix", err, n)
	}
}

// sameError reports how a and b differ, or "" when they are both nil or
// match the same sentinels, with equal details when they carry a
// *TooLargeError.
func sameError(a, b error) string {
	if (a == nil) != (b == nil) {
		return fmt.Sprintf("one failed and not the other: %v / %v", a, b)
	}
	for _, s := range append(slices.Clone(sentinels), crdt.ErrInvalid) {
		if errors.Is(a, s) != errors.Is(b, s) {
			return fmt.Sprintf("errors differ on %v: %v / %v", s, a, b)
		}
	}
	var ta, tb *wire.TooLargeError
	if errors.As(a, &ta) != errors.As(b, &tb) || ta != nil && *ta != *tb {
		return fmt.Sprintf("different *TooLargeErrors: %v / %v", a, b)
	}
	return ""
}

// sameState reports whether a and b are equal down to the nil-ness of their
// register values.
func sameState(a, b crdt.State) bool {
	return a.Equal(b) && slices.EqualFunc(a.Siblings(), b.Siblings(), func(x, y crdt.Sibling) bool {
		return x.Dot == y.Dot && (x.Value == nil) == (y.Value == nil)
	})
}

// same reports whether two slices are equal, telling nil from empty.
func same[T comparable](a, b []T) bool { return (a == nil) == (b == nil) && slices.Equal(a, b) }

func sameBytes(a, b [][]byte) bool {
	return (a == nil) == (b == nil) && slices.EqualFunc(a, b, func(x, y []byte) bool { return same(x, y) })
}

// sameMessages reports how a and b differ, telling nil slices from empty
// ones, or "".
func sameMessages(a, b []wire.Message) string {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return fmt.Sprintf("%d messages (nil %v) / %d (nil %v)", len(a), a == nil, len(b), b == nil)
	}
	for i := range a {
		x, y := a[i], b[i]
		ok := x.Type == y.Type && x.From == y.From && x.To == y.To && x.ID == y.ID && same(x.Key, y.Key) &&
			sameState(x.State, y.State) && x.Target == y.Target && x.Changed == y.Changed && x.Code == y.Code &&
			x.Err == y.Err && x.Level == y.Level && same(x.Indexes, y.Indexes) && same(x.Hashes, y.Hashes) &&
			x.Epoch == y.Epoch && x.Region == y.Region && same(x.Blob, y.Blob) && (x.Keys == nil) == (y.Keys == nil) &&
			slices.EqualFunc(x.Keys, y.Keys, func(p, q wire.KeyDigest) bool { return same(p.Key, q.Key) && p.Hash == q.Hash })
		if !ok {
			return fmt.Sprintf("message %d: %+v / %+v", i, x, y)
		}
		if (x.Op == nil) != (y.Op == nil) {
			return fmt.Sprintf("message %d: op %v / %v", i, x.Op, y.Op)
		}
		if p, q := x.Op, y.Op; p != nil {
			ok := p.Kind == q.Kind && same(p.Key, q.Key) && same(p.Value, q.Value) && sameBytes(p.Elems, q.Elems) &&
				p.By == q.By && p.Level == q.Level && (p.Context == nil) == (q.Context == nil) &&
				(p.Context == nil || p.Context.Equal(*q.Context)) && p.Cond == q.Cond && same(p.Expect, q.Expect) &&
				p.TTL == q.TTL && same(p.ReqID, q.ReqID) && p.Version == q.Version
			if !ok {
				return fmt.Sprintf("message %d: op %+v / %+v", i, *p, *q)
			}
		}
	}
	return ""
}

// The generators of random values. They reach every branch of the
// encoders: invalid dots (an empty node ID), node IDs and lists over the
// small codec's limits, extreme integers, nil and empty slices.

var nodeIDs = []crdt.NodeID{"a", "b", "n1", "r1n1.abcd1234", "\x00\xff", "a-node-id-longer-than-twelve"}

var genTimestamp = rapid.Custom(func(t *rapid.T) crdt.Timestamp {
	if rapid.Bool().Draw(t, "coarse") {
		return crdt.Timestamp{Wall: rapid.Int64Range(-1, 2).Draw(t, "wall"), Logical: uint32(rapid.IntRange(0, 1).Draw(t, "logical"))}
	}
	return crdt.Timestamp{Wall: rapid.Int64().Draw(t, "wall"), Logical: rapid.Uint32().Draw(t, "logical")}
})

var genBytes = rapid.Custom(func(t *rapid.T) []byte {
	switch rapid.IntRange(0, 5).Draw(t, "bytesKind") {
	case 0:
		return nil
	case 1:
		return []byte{}
	case 2:
		return bytes.Repeat([]byte{0xab}, rapid.IntRange(20, 300).Draw(t, "long"))
	}
	return rapid.SliceOfN(rapid.Byte(), 1, 8).Draw(t, "bytes")
})

var genElement = rapid.SampledFrom([]string{"", "a", "b", "\x00\xff", "ééé", "an element of some length"})

// genState returns a state of genHistoryState, and at times the same with
// reset baselines of random totals, some above its shares' (which the
// mutators never make), for some of the nodes of its context.
var genState = rapid.Custom(func(t *rapid.T) crdt.State {
	s := genHistoryState.Draw(t, "state")
	nodes := s.Context().Nodes()
	if len(nodes) == 0 || rapid.IntRange(0, 3).Draw(t, "resets") != 0 {
		return s
	}
	p := crdt.Parts{Context: s.Context(), Siblings: s.Siblings(), Members: s.MemberDots(), Shares: s.Shares()}
	genTotal := rapid.SampledFrom([]uint64{0, 1, 7, 300, 1 << 40, math.MaxUint64})
	for _, n := range nodes {
		if r := (crdt.Reset{Node: n, Inc: genTotal.Draw(t, "inc"), Dec: genTotal.Draw(t, "dec")}); r.Inc|r.Dec != 0 && rapid.Bool().Draw(t, "reset") {
			p.Resets = append(p.Resets, r)
		}
	}
	withResets, err := crdt.Assemble(p)
	if err != nil { // an entry with an invalid dot (an empty node ID)
		return s
	}
	return withResets
})

// genHistoryState plays a random history on 1 to 4 replicas, some of whose
// deltas are lost, so that contexts have gaps (clouds), and returns a
// replica's state or a delta; or one of newHistory, longer.
var genHistoryState = rapid.Custom(func(t *rapid.T) crdt.State {
	if rapid.IntRange(0, 2).Draw(t, "seeded") == 0 { // a longer history, seeded (history_test.go)
		seed := rapid.Uint64().Draw(t, "seed")
		h := newHistory(seed, 2+int(seed%4), 10+int(seed/4%70))
		if len(h.deltas) > 0 && rapid.Bool().Draw(t, "delta") {
			return rapid.SampledFrom(h.deltas).Draw(t, "which")
		}
		return rapid.SampledFrom(h.states).Draw(t, "which")
	}
	ids := rapid.SliceOfNDistinct(rapid.SampledFrom(nodeIDs), 1, 4, rapid.ID).Draw(t, "replicas")
	if rapid.IntRange(0, 9).Draw(t, "withEmptyID") == 0 {
		ids[0] = "" // its writes have invalid dots: encoders refuse them
	}
	states := make([]crdt.State, len(ids))
	var deltas []crdt.State
	for range rapid.IntRange(5, 40).Draw(t, "ops") {
		r := rapid.IntRange(0, len(ids)-1).Draw(t, "replica")
		s, ts := &states[r], genTimestamp.Draw(t, "ts")
		var d crdt.State
		var err error
		kind := rapid.SampledFrom([]string{"register", "set", "counter"}).Draw(t, "kind")
		switch op := rapid.IntRange(0, 9).Draw(t, "op"); {
		case op < 7 && kind == "register":
			d = s.Put(ids[r], genBytes.Draw(t, "value"), ts, nil)
		case op < 5 && kind == "set":
			d, err = s.Add(ids[r], ts, rapid.SliceOfN(genElement, 1, 3).Draw(t, "add")...)
		case op < 7 && kind == "set":
			d, err = s.Remove(rapid.SliceOfN(genElement, 1, 2).Draw(t, "remove")...)
		case op < 7:
			by := rapid.Int64Range(-1000, 1000).Draw(t, "by")
			if rapid.IntRange(0, 9).Draw(t, "extreme") == 0 {
				by = rapid.Int64().Draw(t, "by")
			}
			d, err = s.Incr(ids[r], by, ts)
		case op == 7:
			d = s.Delete(nil)
		default:
			if len(deltas) > 0 { // deliver an old delta, maybe out of order
				s.Merge(rapid.SampledFrom(deltas).Draw(t, "late"))
			}
			continue
		}
		if err != nil {
			continue
		}
		deltas = append(deltas, d)
		for o := range states {
			if o != r && rapid.IntRange(0, 2).Draw(t, "delivered") == 0 {
				states[o].Merge(d)
			}
		}
	}
	if len(deltas) > 0 && rapid.Bool().Draw(t, "delta") {
		return rapid.SampledFrom(deltas).Draw(t, "which")
	}
	return rapid.SampledFrom(states).Draw(t, "which")
})

// genContext returns a state's context or one made of random dots.
var genContext = rapid.Custom(func(t *rapid.T) crdt.Context {
	if rapid.Bool().Draw(t, "ofState") {
		return genState.Draw(t, "state").Context()
	}
	genDot := rapid.Custom(func(t *rapid.T) crdt.Dot {
		counter := rapid.SampledFrom([]uint64{1, 2, 3, 5, 24, 300, 70000, 1 << 40, math.MaxUint64}).Draw(t, "counter")
		return crdt.Dot{Node: rapid.SampledFrom(nodeIDs).Draw(t, "node"), Counter: counter}
	})
	return crdt.NewContext(rapid.SliceOfN(genDot, 0, 4).Draw(t, "vv"), rapid.SliceOfN(genDot, 0, 20).Draw(t, "cloud"))
})

var genOp = rapid.Custom(func(t *rapid.T) *wire.Op {
	op := &wire.Op{Kind: wire.OpKind(rapid.IntRange(0, 8).Draw(t, "kind")), Key: genBytes.Draw(t, "key"),
		Value: genBytes.Draw(t, "value"), Level: uint8(rapid.IntRange(0, 3).Draw(t, "level"))}
	if rapid.Bool().Draw(t, "elems") {
		op.Elems = rapid.SliceOfN(genBytes, 0, 3).Draw(t, "elems")
	}
	if rapid.Bool().Draw(t, "by") {
		op.By = rapid.Int64().Draw(t, "by")
	}
	if rapid.Bool().Draw(t, "context") {
		ctx := genContext.Draw(t, "context")
		op.Context = &ctx
	}
	if rapid.IntRange(0, 2).Draw(t, "strong") == 0 { // the fields of frame version 3, each empty or not
		op.Cond = wire.Cond(rapid.SampledFrom([]int{0, 0, 1, 3, 5, 6, 255}).Draw(t, "cond"))
		op.Expect, op.ReqID = genBytes.Draw(t, "expect"), genBytes.Draw(t, "reqID")
		op.TTL = rapid.SampledFrom([]int64{0, 0, 1, 1500, -1, math.MinInt64, math.MaxInt64}).Draw(t, "ttl")
		op.Version = rapid.SampledFrom([]uint64{0, 0, 1, 1 << 40, math.MaxUint64}).Draw(t, "version")
	}
	return op
})

// genMessage returns a message of any type, valid or not, each field empty
// or not at random.
var genMessage = rapid.Custom(func(t *rapid.T) wire.Message {
	id := func(label string) crdt.NodeID {
		if rapid.Bool().Draw(t, label+"?") {
			return rapid.SampledFrom(nodeIDs).Draw(t, label)
		}
		return ""
	}
	maybe := func(label string, g *rapid.Generator[uint64]) uint64 {
		if rapid.Bool().Draw(t, label+"?") {
			return g.Draw(t, label)
		}
		return 0
	}
	m := wire.Message{
		Type: wire.MsgType(rapid.IntRange(0, 25).Draw(t, "type")), From: id("from"), To: id("to"), Target: id("target"), Region: string(id("region")), Blob: genBytes.Draw(t, "blob"),
		ID: maybe("id", rapid.Uint64()), Key: genBytes.Draw(t, "key"), Code: wire.ErrCode(rapid.IntRange(0, 8).Draw(t, "code")),
		Level: uint8(maybe("level", rapid.Uint64Range(0, 255))), Epoch: maybe("epoch", rapid.Uint64()),
	}
	if rapid.Bool().Draw(t, "changed?") {
		m.Changed = rapid.Int64().Draw(t, "changed")
	}
	if rapid.Bool().Draw(t, "err?") {
		m.Err = rapid.SampledFrom([]string{"rejected", "é", "\xff"}).Draw(t, "err")
	}
	if rapid.Bool().Draw(t, "state?") {
		m.State = genState.Draw(t, "state")
	}
	if rapid.Bool().Draw(t, "op?") {
		m.Op = genOp.Draw(t, "op")
	}
	if rapid.Bool().Draw(t, "indexes?") {
		m.Indexes = rapid.SliceOfN(rapid.Uint32(), 0, 3).Draw(t, "indexes")
	}
	if rapid.Bool().Draw(t, "hashes?") {
		m.Hashes = rapid.SliceOfN(rapid.Uint64(), 0, 3).Draw(t, "hashes")
	}
	if rapid.Bool().Draw(t, "keys?") {
		m.Keys = rapid.SliceOfN(rapid.Custom(func(t *rapid.T) wire.KeyDigest {
			return wire.KeyDigest{Key: genBytes.Draw(t, "key"), Hash: rapid.Uint64().Draw(t, "hash")}
		}), 0, 3).Draw(t, "keys")
	}
	return m
})

// valid reports whether a decoder takes m back: its type, code, operation
// kind and condition are known ones.
func valid(m wire.Message) bool {
	return m.Type >= wire.MsgWrite && m.Type <= wire.MsgSettleReply && m.Code <= wire.LastCode &&
		(m.Op == nil || m.Op.Kind >= wire.OpGet && m.Op.Kind <= wire.OpInspect && m.Op.Cond <= wire.LastCond)
}

// checkStateDecoders decodes data with both decoders of c and checks they
// agree; it returns the state and error of the hand-written one.
func checkStateDecoders(t tb, c *wire.Codec, data []byte) (crdt.State, error) {
	t.Helper()
	got, err := c.DecodeState(data)
	want, werr := c.ReflectDecodeState(data)
	if d := sameError(err, werr); d != "" {
		t.Fatalf("DecodeState(%x): %s", data, d)
	}
	if err == nil && !sameState(got, want) {
		t.Fatalf("DecodeState(%x) = %v, the reflective decoder %v", data, got, want)
	}
	if err != nil {
		checkOneSentinel(t, err)
	}
	return got, err
}

func checkContextDecoders(t tb, c *wire.Codec, data []byte) (crdt.Context, error) {
	t.Helper()
	got, err := c.DecodeContext(data)
	want, werr := c.ReflectDecodeContext(data)
	if d := sameError(err, werr); d != "" {
		t.Fatalf("DecodeContext(%x): %s", data, d)
	}
	if err == nil && !got.Equal(want) {
		t.Fatalf("DecodeContext(%x) = %v, the reflective decoder %v", data, got, want)
	}
	if err != nil {
		checkOneSentinel(t, err)
	}
	return got, err
}

func checkFrameDecoders(t tb, c *wire.Codec, data []byte) ([]wire.Message, error) {
	t.Helper()
	got, err := c.DecodeFrame(data)
	want, werr := c.ReflectDecodeFrame(data)
	if d := sameError(err, werr); d != "" {
		t.Fatalf("DecodeFrame(%x): %s", data, d)
	}
	if err == nil {
		if d := sameMessages(got, want); d != "" {
			t.Fatalf("DecodeFrame(%x) and the reflective decoder differ: %s", data, d)
		}
	} else {
		checkOneSentinel(t, err)
	}
	return got, err
}

// checkStateEncoders encodes s with both encoders of c, appending to a
// prefix, and checks they agree; it returns the encoding.
func checkStateEncoders(t tb, c *wire.Codec, s crdt.State) ([]byte, error) {
	t.Helper()
	prefix := []byte("prefix")
	got, err := c.AppendState(prefix[:len(prefix):len(prefix)], s)
	want, werr := c.ReflectAppendState(prefix[:len(prefix):len(prefix)], s)
	switch {
	case (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error():
		t.Fatalf("AppendState(%v): error %v, the reflective encoder %v", s, err, werr)
	case !bytes.Equal(got, want):
		t.Fatalf("AppendState(%v) =\n%x, the reflective encoder\n%x", s, got, want)
	case err != nil && !bytes.Equal(got, prefix):
		t.Fatalf("AppendState(%v) changed dst on error: %q", s, got)
	}
	return got[len(prefix):], err
}

func TestEncodeStateMatchesReflective(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := genState.Draw(t, "state")
		for _, c := range diffCodecs {
			name := c.name
			b, err := checkStateEncoders(t, c.Codec, s)
			if err != nil {
				continue
			}
			got, err := checkStateDecoders(t, c.Codec, b)
			if err != nil || !got.Equal(s) {
				t.Fatalf("%s: decode(encode(%v)) = %v, %v", name, s, got, err)
			}
		}
	})
}

// TestHistoriesMatchReflective runs the states and deltas of longer
// seeded histories (history_test.go) through both codecs.
func TestHistoriesMatchReflective(t *testing.T) {
	sizes := 0
	for seed := range uint64(300) {
		h := newHistory(seed, 2+int(seed%4), 20+int(seed%60))
		for _, s := range append(h.states, h.deltas...) {
			for _, c := range diffCodecs {
				b, err := checkStateEncoders(t, c.Codec, s)
				if err != nil {
					continue
				}
				sizes += len(b)
				if got, err := checkStateDecoders(t, c.Codec, b); err != nil || !got.Equal(s) {
					t.Fatalf("seed %d, %s: decode(encode(%v)) = %v, %v", seed, c.name, s, got, err)
				}
				ctx := s.Context()
				cb, err := c.AppendContext(nil, ctx)
				want, werr := c.ReflectAppendContext(nil, ctx)
				if d := sameError(err, werr); d != "" || !bytes.Equal(cb, want) {
					t.Fatalf("seed %d, %s: encoding %v: %x, %v; the reflective encoder %x, %v", seed, c.name, ctx, cb, err, want, werr)
				}
				if err == nil {
					checkContextDecoders(t, c.Codec, cb)
				}
			}
		}
	}
	t.Logf("%d bytes of states encoded", sizes)
}

func TestEncodeContextMatchesReflective(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ctx := genContext.Draw(t, "context")
		for _, c := range diffCodecs {
			name := c.name
			got, err := c.AppendContext(nil, ctx)
			want, werr := c.ReflectAppendContext(nil, ctx)
			if (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() || !bytes.Equal(got, want) {
				t.Fatalf("%s: AppendContext(%v) = %x, %v; the reflective encoder %x, %v", name, ctx, got, err, want, werr)
			}
			if err != nil {
				continue
			}
			back, err := checkContextDecoders(t, c.Codec, got)
			if err != nil || !back.Equal(ctx) {
				t.Fatalf("%s: decode(encode(%v)) = %v, %v", name, ctx, back, err)
			}
		}
	})
}

func TestEncodeFrameMatchesReflective(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		msgs := rapid.SliceOfN(genMessage, 0, 5).Draw(t, "messages")
		if rapid.IntRange(0, 9).Draw(t, "nil") == 0 {
			msgs = nil
		}
		for _, c := range diffCodecs {
			name := c.name
			got, err := c.EncodeFrame(msgs)
			want, werr := c.ReflectEncodeFrame(msgs)
			if (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() || !bytes.Equal(got, want) {
				t.Fatalf("%s: EncodeFrame = %x, %v; the reflective encoder %x, %v", name, got, err, want, werr)
			}
			if err != nil {
				continue
			}
			back, err := checkFrameDecoders(t, c.Codec, got)
			if name != "default" || slices.ContainsFunc(msgs, func(m wire.Message) bool { return !valid(m) }) {
				continue // the small codec refuses to read what it writes: long node IDs, deep nesting
			}
			if err != nil || !messagesEqual(back, msgs) {
				t.Fatalf("%s: decode(encode(frame)) differs: %v", name, err)
			}
		}
	})
}
