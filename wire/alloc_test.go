package wire_test

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/meridiankv/meridian/wire"
)

// rawItem returns an item of tag and version whose body is raw, a
// hand-written CBOR body.
func rawItem(tag, version uint64, raw []byte) []byte {
	return fill(item(tag, version, hole), raw...)
}

// arrayOf returns the CBOR array of n copies of elem, written by hand.
func arrayOf(n int, elem ...byte) []byte {
	head := []byte{0x9a, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	return append(head, bytes.Repeat(elem, n)...)
}

// allocated returns the bytes decode allocates, the least of a few runs.
func allocated(decode func()) uint64 {
	best := ^uint64(0)
	for range 2 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		decode()
		runtime.ReadMemStats(&after)
		best = min(best, after.TotalAlloc-before.TotalAlloc)
	}
	return best
}

// TestDecodersAllocateByWhatTheyRead: a header declaring 65,536
// entries, each a byte of input that the decoder refuses when it reads it,
// costs little more than the entries read; input that decodes costs at
// most the ratio the package documentation states (# Limits). Before the
// decoders grew their slices as they read, the first case allocated 264
// bytes per byte of input: 17 MB for this 64 KiB frame.
func TestDecodersAllocateByWhatTheyRead(t *testing.T) {
	const n = 1 << 16
	many, err := wire.NewCodec(wire.Limits{MaxFrameMessages: n}) // so that the frames' growth is what is tested
	if err != nil {
		t.Fatal(err)
	}
	frame := func(raw []byte) []byte { return rawItem(uint64(wire.TagFrame), 1, raw) }
	tiny := frame(arrayOf(1<<14, 0xa1, 0x01, 0x07)) // {1: 7}: the smallest valid message
	digests := frame(append([]byte{0x81, 0xa2, 0x01, 0x0a, 0x0f}, arrayOf(n, 0xf6)...))
	elems := frame(append([]byte{0x81, 0xa2, 0x01, 0x05, 0x08, 0xa2, 0x01, 0x05, 0x04}, arrayOf(n, 0x40)...))
	oneThenEmpty := frame(append([]byte{0x9a, 0, n >> 16, 0, 0, 0xa1, 0x01, 0x07}, bytes.Repeat([]byte{0xa0}, n-1)...))
	sibs, members := dense(1 << 14)
	cloud, cloudCtx := denseCloud()
	ops := rawItem(uint64(wire.TagFrame), 3, arrayOf(1<<14, 0xa2, 0x01, 0x05, 0x08, 0xa1, 0x01, 0x01)) // {1: 5, 8: {1: 1}}
	strong := func(key int, raw []byte) []byte {
		return fill(item(uint64(wire.TagStrong), 1, map[int]any{1: 3, key: hole}), raw...)
	}
	tests := []struct {
		name  string
		input []byte
		ok    bool
		max   uint64 // bytes allocated at most
	}{
		{"frame of 65,536 empty messages", frame(arrayOf(n, 0xa0)), false, 32 << 10},
		{"frame of 65,536 null messages", frame(arrayOf(n, 0xf6)), false, 32 << 10},
		{"frame of a valid message, then 65,536 empty ones", oneThenEmpty, false, 32 << 10},
		{"state of 65,536 null registers", fill(state(twoNodes, vector32, none, hole, none, none), arrayOf(n, 0xf6)...), false, 32 << 10},
		{"state of 65,536 null members", fill(state(twoNodes, vector32, none, none, hole, none), arrayOf(n, 0xf6)...), false, 32 << 10},
		{"state of 65,536 null shares", fill(state(twoNodes, vector32, none, none, none, hole), arrayOf(n, 0xf6)...), false, 32 << 10},
		{"state of 65,536 null resets", fill(state2(twoNodes, vector32, none, none, none, none, hole), arrayOf(n, 0xf6)...), false, 32 << 10},
		{"state of a cloud of 65,536 null dots", fill(state(twoNodes, vector32, hole, none, none, none), arrayOf(n, 0xf6)...), false, 32 << 10},
		{"state of a vector of 65,536 null dots", fill(state(twoNodes, hole, none, none, none, none), arrayOf(n, 0xf6)...), false, 32 << 10},
		{"context of a cloud of 65,536 null dots", fill(item(2, 1, []any{twoNodes, vector32, hole}), arrayOf(n, 0xf6)...), false, 32 << 10},
		// A Message is some 300 bytes, three bytes of input at least, in a
		// slice up to twice the size read: the bound follows the struct.
		{"frame of 16,384 of the smallest messages", tiny, true, uint64(len(tiny)) * 215},
		{"frame of 65,536 null key digests", digests, true, uint64(len(digests)) * 33},
		{"frame of 65,536 empty set elements", elems, true, uint64(len(elems)) * 25},
		{"state of a cloud of 2,668 dots", cloud, true, uint64(len(cloud)) * 64},
		{"context of a cloud of 2,668 dots", cloudCtx, true, uint64(len(cloudCtx)) * 64},
		{"state of 16,384 registers", sibs, true, uint64(len(sibs)) * 64},
		{"state of 16,384 members", members, true, uint64(len(members)) * 64},
		{"frame of 16,384 of the smallest forwarded operations", ops, true, uint64(len(ops)) * 120},
		// The consensus items are decoded by fxamacker/cbor, which checks
		// the whole input is well formed, then allocates a list at its
		// count, which that input backs with a byte per entry at least: a
		// 48-byte Done, a 24-byte member.
		{"strong of 65,536 null requests", strong(7, arrayOf(n, 0xf6)), false, uint64(n) * 49},
		{"strong of 65,536 empty members", strong(4, arrayOf(n, 0x40)), false, uint64(n) * 25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			decode := func() { _, err = many.DecodeState(tt.input) }
			switch tag, _, _ := wire.Peek(tt.input); tag {
			case wire.TagFrame:
				decode = func() { _, err = many.DecodeFrame(tt.input) }
			case wire.TagContext:
				decode = func() { _, err = many.DecodeContext(tt.input) }
			case wire.TagStrong:
				decode = func() { _, err = wire.DecodeStrong(tt.input) }
			}
			got := allocated(decode)
			if (err == nil) != tt.ok {
				t.Fatalf("decoded: %v, want ok %v", err, tt.ok)
			}
			t.Logf("%d bytes in, %d bytes allocated (%.1f per byte)", len(tt.input), got, float64(got)/float64(len(tt.input)))
			if got > tt.max {
				t.Errorf("%d bytes allocated for %d bytes of input, want at most %d", got, len(tt.input), tt.max)
			}
		})
	}
}

// TestFrameMessagesAreLimited: a frame of more than MaxFrameMessages
// messages is refused before any is read, and never written.
func TestFrameMessagesAreLimited(t *testing.T) {
	c, err := wire.NewCodec(wire.Limits{MaxFrameMessages: 16})
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]wire.Message, 17)
	for i := range msgs {
		msgs[i] = wire.Message{Type: wire.MsgTreeRequest, ID: uint64(i)}
	}
	var tl *wire.TooLargeError
	if _, err := c.EncodeFrame(msgs); !errors.As(err, &tl) || tl.Name != "MaxFrameMessages" || tl.Size != 17 || tl.Limit != 16 {
		t.Fatalf("encoding 17 messages: %v, want a *TooLargeError for MaxFrameMessages", err)
	}
	b, err := wire.EncodeFrame(msgs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DecodeFrame(b); !errors.As(err, &tl) || tl.Name != "MaxFrameMessages" || !errors.Is(err, wire.ErrTooLarge) {
		t.Fatalf("decoding 17 messages: %v, want a *TooLargeError for MaxFrameMessages", err)
	}
	if got, err := c.DecodeFrame(must2(c.EncodeFrame(msgs[:16]))); err != nil || len(got) != 16 {
		t.Fatalf("16 messages: %d, %v", len(got), err)
	}
	huge := rawItem(uint64(wire.TagFrame), 1, arrayOf(1<<20, 0xa1, 0x01, 0x07))
	if allocs := testing.AllocsPerRun(10, func() { _, _ = wire.DecodeFrame(huge) }); allocs > 2 {
		t.Errorf("a frame of 65,536 messages: %v allocations before it is refused", allocs)
	}
}

func must2(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// dense returns states of n small entries: n register values, n set
// elements.
func dense(n int) (sibs, members []byte) {
	var regs, elems []any
	for i := range n {
		regs = append(regs, []any{dot(0, i+1), nil, nil})
		elems = append(elems, []any{bs(fmt.Sprintf("%06d", i)), dot(0, i+1), nil})
	}
	a := []any{bs("a")}
	return state(a, []any{dot(0, n)}, none, regs, none, none),
		state(a, []any{dot(0, n)}, none, none, elems, none)
}

// denseCloud returns a state and a context whose cloud holds as many of
// the smallest dots as it can: 4 bytes each, a node index below 24 and a
// counter below 256 (the crdt maps cost most per byte there).
func denseCloud() (st, ctx []byte) {
	var nodes, vv, cloud []any
	for i := range 23 {
		nodes = append(nodes, bs(fmt.Sprintf("n%02d", i)))
		vv = append(vv, dot(i, 1))
		for c := 25; c < 256; c += 2 {
			cloud = append(cloud, dot(i, c))
		}
	}
	return state(nodes, vv, cloud, none, none, none), item(2, 1, []any{nodes, vv, cloud})
}
