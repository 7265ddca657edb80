package wire_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// benchCase is a key as two replicas hold it: a has seen every write, b
// missed the last one, as an anti-entropy exchange finds them.
type benchCase struct {
	name string
	a, b crdt.State
}

// replicate applies writes, each returning a delta, to independent writer
// replicas and collects them into a and, all but the last, into b.
func replicate(name string, writes int, write func(i int) crdt.State) benchCase {
	c := benchCase{name: name}
	for i := range writes {
		d := write(i)
		c.a.Merge(d)
		if i < writes-1 {
			c.b.Merge(d)
		}
	}
	return c
}

func registerCase(name string, siblings, size int) benchCase {
	return replicate(name, siblings, func(i int) crdt.State {
		var w crdt.State // each write by another node, concurrent with the others
		return w.Put(crdt.NodeID(fmt.Sprintf("node-%d", i)), bytes.Repeat([]byte{byte(i)}, size), at(0, uint32(i)), nil)
	})
}

// setCase adds elems elements through 3 nodes, in one batch each (adding
// one at a time would cost a merge per element), then one more.
func setCase(name string, elems int) benchCase {
	writers := make([]crdt.State, 3)
	batches := make([][]string, 3)
	for i := range elems - 1 {
		batches[i%3] = append(batches[i%3], fmt.Sprintf("member-%06d", i))
	}
	return replicate(name, 4, func(i int) crdt.State {
		if i == 3 {
			return must(writers[0].Add("node-0", at(1, 0), fmt.Sprintf("member-%06d", elems-1)))
		}
		return must(writers[i].Add(crdt.NodeID(fmt.Sprintf("node-%d", i)), at(0, uint32(i)), batches[i]...))
	})
}

func counterCase(name string, shares int) benchCase {
	return replicate(name, shares, func(i int) crdt.State {
		var w crdt.State
		return must(w.Incr(crdt.NodeID(fmt.Sprintf("node-%03d", i)), int64(i), at(0, 0)))
	})
}

// benchCases builds the cases once for all benchmarks.
var benchCases = sync.OnceValue(func() []benchCase {
	return []benchCase{
		registerCase("register-small", 1, 16),
		registerCase("register-large", 3, 100<<10),
		setCase("set-10", 10),
		setCase("set-10000", 10_000),
		counterCase("counter-3", 3),
		counterCase("counter-100", 100),
	}
})

func BenchmarkEncode(b *testing.B) {
	for _, c := range benchCases() {
		b.Run(c.name, func(b *testing.B) {
			buf, _ := wire.EncodeState(c.a)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = wire.AppendState(buf[:0], c.a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range benchCases() {
		b.Run(c.name, func(b *testing.B) {
			data, err := wire.EncodeState(c.a)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := wire.DecodeState(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMerge(b *testing.B) {
	for _, c := range benchCases() {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if m := crdt.Merge(c.b, c.a); m.IsZero() {
					b.Fatal("empty merge")
				}
			}
		})
	}
}

// TestBenchCases checks the benchmark states are what their names say.
func TestBenchCases(t *testing.T) {
	for _, c := range benchCases() {
		n := len(c.a.Siblings()) + len(c.a.MemberDots()) + len(c.a.Shares())
		size := 0
		for _, s := range c.a.Siblings() {
			size += len(s.Value)
		}
		t.Logf("%s: %d entries, %d bytes of values, replicas equal: %v", c.name, n, size, c.a.Equal(c.b))
		if c.a.Equal(c.b) || !crdt.Merge(c.b, c.a).Equal(c.a) {
			t.Errorf("%s: b must miss a's last write and catch up by merging a", c.name)
		}
	}
}

// writeDelta is the delta of one write as a coordinator ships it: a
// 100-byte register value written by r1n1.abcd1234 over a context of the 3
// nodes that have written the key.
func writeDelta(seq int) crdt.State {
	var s crdt.State
	s.Put("r1n2.ef567890", []byte("old"), at(0, 0), nil)
	s.Put("r1n3.0123abcd", []byte("older"), at(1, 0), nil)
	return s.Put("r1n1.abcd1234", bytes.Repeat([]byte{byte(seq)}, 100), at(2, uint32(seq)), nil)
}

// writeBatch is a typical frame between two replicas under load: 8 writes
// and the acks of 8 earlier ones.
func writeBatch() []wire.Message {
	var msgs []wire.Message
	for i := range 8 {
		msgs = append(msgs, wire.Message{Type: wire.MsgWrite, From: "r1n1.abcd1234", To: "r1n2.ef567890",
			ID: uint64(1000 + i), Key: fmt.Appendf(nil, "user:%06d", i), State: writeDelta(i)})
	}
	for i := range 8 {
		msgs = append(msgs, wire.Message{Type: wire.MsgWriteAck, From: "r1n2.ef567890", To: "r1n1.abcd1234", ID: uint64(990 + i)})
	}
	return msgs
}

func BenchmarkFrame(b *testing.B) {
	msgs := writeBatch()
	data, err := wire.EncodeFrame(msgs)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := wire.EncodeFrame(msgs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := wire.DecodeFrame(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkOneSibling encodes and decodes the state storage writes and
// reads most: a register with one sibling (writeDelta).
func BenchmarkOneSibling(b *testing.B) {
	s := writeDelta(1)
	data, err := wire.EncodeState(s)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := wire.EncodeState(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("append", func(b *testing.B) {
		buf := make([]byte, 0, 2*len(data))
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if buf, err = wire.AppendState(buf[:0], s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := wire.DecodeState(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
