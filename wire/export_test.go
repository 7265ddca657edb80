package wire

import "github.com/meridiankv/meridian/crdt"

// TagTestPing is a message tag registered for the tests of the generic
// message plumbing only: the test binary's registry has it, a build's does
// not. It has two versions so that Unmarshal's refusal of a non-current one
// can be tested.
const TagTestPing Tag = MaxMessageTag

func init() {
	registry[TagTestPing] = format{name: "test-ping", versions: []uint16{1, 2}}
}

// The reflective codec (reflect_test.go), exported for the differential
// tests and fuzz targets of package wire_test.

// ReflectAppendState is AppendState as the reflective codec does it.
func (c *Codec) ReflectAppendState(dst []byte, s crdt.State) ([]byte, error) {
	return c.reflectAppendState(dst, s)
}

// ReflectDecodeState is DecodeState as the reflective codec does it.
func (c *Codec) ReflectDecodeState(data []byte) (crdt.State, error) {
	return c.reflectDecodeState(data)
}

// ReflectAppendContext is AppendContext as the reflective codec does it.
func (c *Codec) ReflectAppendContext(dst []byte, ctx crdt.Context) ([]byte, error) {
	return c.reflectAppendContext(dst, ctx)
}

// ReflectDecodeContext is DecodeContext as the reflective codec does it.
func (c *Codec) ReflectDecodeContext(data []byte) (crdt.Context, error) {
	return c.reflectDecodeContext(data)
}

// ReflectEncodeFrame is EncodeFrame as the reflective codec does it.
func (c *Codec) ReflectEncodeFrame(msgs []Message) ([]byte, error) { return c.reflectEncodeFrame(msgs) }

// ReflectDecodeFrame is DecodeFrame as the reflective codec does it.
func (c *Codec) ReflectDecodeFrame(data []byte) ([]Message, error) { return c.reflectDecodeFrame(data) }

// DecodeValue is the decoding of the consensus items (paxos.go) under c's
// limits: DecodeStrong, DecodeAcceptor and DecodePaxos run it under the
// default limits, then check the value. body points to the item's struct.
func (c *Codec) DecodeValue(data []byte, tag Tag, body any) error {
	return c.decodeValue(data, tag, body)
}
