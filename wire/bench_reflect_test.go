package wire_test

import (
	"testing"

	"github.com/meridiankv/meridian/wire"
)

// BenchmarkReflective runs BenchmarkFrame's and BenchmarkOneSibling's
// cases through the reflective codec the hand-written one replaced
// (reflect_test.go), for comparison:
//
//	go test ./wire -run XXX -bench 'Frame|OneSibling|Reflective' -benchmem
func BenchmarkReflective(b *testing.B) {
	c, _ := wire.NewCodec(wire.Limits{})
	msgs, s := writeBatch(), writeDelta(1)
	frame, _ := c.ReflectEncodeFrame(msgs)
	state, _ := c.ReflectAppendState(nil, s)
	cases := []struct {
		name string
		size int
		run  func() error
	}{
		{"frame-encode", len(frame), func() error { _, err := c.ReflectEncodeFrame(msgs); return err }},
		{"frame-decode", len(frame), func() error { _, err := c.ReflectDecodeFrame(frame); return err }},
		{"one-sibling-encode", len(state), func() error { _, err := c.ReflectAppendState(nil, s); return err }},
		{"one-sibling-decode", len(state), func() error { _, err := c.ReflectDecodeState(state); return err }},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(tc.size))
			b.ReportAllocs()
			for b.Loop() {
				if err := tc.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
