package wire_test

import (
	"bytes"
	"testing"

	"github.com/meridiankv/meridian/wire"
)

// TestDecodedValuesOwnTheirMemory: storage decodes values it may not keep
// (badger's Item.Value), and transports reuse their buffers, so nothing a
// decoder returns may share memory with its input.
func TestDecodedValuesOwnTheirMemory(t *testing.T) {
	scribble := func(b []byte) {
		for i := range b {
			b[i] = 0xff
		}
	}
	for _, g := range goldens() {
		t.Run(g.file, func(t *testing.T) {
			data, err := encode(g.value)
			if err != nil {
				t.Fatal(err)
			}
			input := bytes.Clone(data)
			got, ok, err := decodeEqual(input, g.value)
			if !ok {
				t.Fatalf("decoding: %v, %v", got, err)
			}
			scribble(input)
			again, err := encode(got)
			if err != nil || !bytes.Equal(again, data) {
				t.Fatalf("the decoded value changed with its input: re-encoded to %x, %v; want %x", again, err, data)
			}
		})
	}
}

// TestHugeFrameHeadersFailFast: a tiny frame whose headers claim a million
// messages, or indexes, is refused without allocating for them.
func TestHugeFrameHeadersFailFast(t *testing.T) {
	inputs := map[string][]byte{
		"messages": fill(item(uint64(wire.TagFrame), 1, hole), 0x9a, 0x00, 0x10, 0, 0, 0xa0),
		"indexes":  fill(item(uint64(wire.TagFrame), 1, []any{map[int]any{1: 7, 13: hole}}), 0x9a, 0x00, 0x10, 0, 0, 0x01),
		"pairs":    fill(item(uint64(wire.TagFrame), 1, []any{hole}), 0xba, 0x00, 0x01, 0, 0, 0x01, 0x01),
	}
	for name, input := range inputs {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := wire.DecodeFrame(input); err == nil {
				t.Fatalf("%s: decoded", name)
			}
		})
		if allocs > 10 {
			t.Errorf("%s: %v allocations: the header was trusted", name, allocs)
		}
	}
}
