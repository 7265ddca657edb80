package wire

// Version 1 of the frame format: an array of messages, each a CBOR map with
// small integer keys whose empty fields are left out, so that a message
// carries only what its type uses and a later version can add fields.
// Version 2 is the same with version-2 state bodies, which carry counter
// resets. Version 3 is version 2 with five more fields in the operation
// (keys 8 to 12 of opV3: the condition and options of a write to a strong
// key); its states are version-2 bodies.
//
// The structs below define them, as encMode writes them and Codec.dec reads
// them; like the state's, the codec writes and reads their CBOR image by
// hand (frame_enc.go, frame_dec.go), and the tests check it against the
// reflective encoding and decoding of these structs (reflect_frame_test.go).

type messageV1 struct {
	Type    MsgType      `cbor:"1,keyasint,omitempty"`
	From    string       `cbor:"2,keyasint,omitempty"`
	To      string       `cbor:"3,keyasint,omitempty"`
	ID      uint64       `cbor:"4,keyasint,omitempty"`
	Key     []byte       `cbor:"5,keyasint,omitempty"`
	State   *stateV1     `cbor:"6,keyasint,omitempty"`
	Target  string       `cbor:"7,keyasint,omitempty"`
	Op      *opV1        `cbor:"8,keyasint,omitempty"`
	Changed int64        `cbor:"9,keyasint,omitempty"`
	Code    ErrCode      `cbor:"10,keyasint,omitempty"`
	Err     string       `cbor:"11,keyasint,omitempty"`
	Level   uint8        `cbor:"12,keyasint,omitempty"`
	Indexes []uint32     `cbor:"13,keyasint,omitempty"`
	Hashes  []uint64     `cbor:"14,keyasint,omitempty"`
	Keys    []keyDigest1 `cbor:"15,keyasint,omitempty"`
	Epoch   uint64       `cbor:"16,keyasint,omitempty"`
	Region  string       `cbor:"17,keyasint,omitempty"`
	Blob    []byte       `cbor:"18,keyasint,omitempty"`
}

// messageV2 is messageV1 with a version-2 state body.
type messageV2 struct {
	Type    MsgType      `cbor:"1,keyasint,omitempty"`
	From    string       `cbor:"2,keyasint,omitempty"`
	To      string       `cbor:"3,keyasint,omitempty"`
	ID      uint64       `cbor:"4,keyasint,omitempty"`
	Key     []byte       `cbor:"5,keyasint,omitempty"`
	State   *stateV2     `cbor:"6,keyasint,omitempty"`
	Target  string       `cbor:"7,keyasint,omitempty"`
	Op      *opV1        `cbor:"8,keyasint,omitempty"`
	Changed int64        `cbor:"9,keyasint,omitempty"`
	Code    ErrCode      `cbor:"10,keyasint,omitempty"`
	Err     string       `cbor:"11,keyasint,omitempty"`
	Level   uint8        `cbor:"12,keyasint,omitempty"`
	Indexes []uint32     `cbor:"13,keyasint,omitempty"`
	Hashes  []uint64     `cbor:"14,keyasint,omitempty"`
	Keys    []keyDigest1 `cbor:"15,keyasint,omitempty"`
	Epoch   uint64       `cbor:"16,keyasint,omitempty"`
	Region  string       `cbor:"17,keyasint,omitempty"`
	Blob    []byte       `cbor:"18,keyasint,omitempty"`
}

type opV1 struct {
	Kind    OpKind     `cbor:"1,keyasint,omitempty"`
	Key     []byte     `cbor:"2,keyasint,omitempty"`
	Value   []byte     `cbor:"3,keyasint,omitempty"`
	Elems   [][]byte   `cbor:"4,keyasint,omitempty"`
	By      int64      `cbor:"5,keyasint,omitempty"`
	Context *contextV1 `cbor:"6,keyasint,omitempty"`
	Level   uint8      `cbor:"7,keyasint,omitempty"`
}

// messageV3 is messageV2 with a version-3 operation.
type messageV3 struct {
	Type    MsgType      `cbor:"1,keyasint,omitempty"`
	From    string       `cbor:"2,keyasint,omitempty"`
	To      string       `cbor:"3,keyasint,omitempty"`
	ID      uint64       `cbor:"4,keyasint,omitempty"`
	Key     []byte       `cbor:"5,keyasint,omitempty"`
	State   *stateV2     `cbor:"6,keyasint,omitempty"`
	Target  string       `cbor:"7,keyasint,omitempty"`
	Op      *opV3        `cbor:"8,keyasint,omitempty"`
	Changed int64        `cbor:"9,keyasint,omitempty"`
	Code    ErrCode      `cbor:"10,keyasint,omitempty"`
	Err     string       `cbor:"11,keyasint,omitempty"`
	Level   uint8        `cbor:"12,keyasint,omitempty"`
	Indexes []uint32     `cbor:"13,keyasint,omitempty"`
	Hashes  []uint64     `cbor:"14,keyasint,omitempty"`
	Keys    []keyDigest1 `cbor:"15,keyasint,omitempty"`
	Epoch   uint64       `cbor:"16,keyasint,omitempty"`
	Region  string       `cbor:"17,keyasint,omitempty"`
	Blob    []byte       `cbor:"18,keyasint,omitempty"`
}

// opV3 is opV1 with the condition and options of a write to a strong key.
type opV3 struct {
	Kind    OpKind     `cbor:"1,keyasint,omitempty"`
	Key     []byte     `cbor:"2,keyasint,omitempty"`
	Value   []byte     `cbor:"3,keyasint,omitempty"`
	Elems   [][]byte   `cbor:"4,keyasint,omitempty"`
	By      int64      `cbor:"5,keyasint,omitempty"`
	Context *contextV1 `cbor:"6,keyasint,omitempty"`
	Level   uint8      `cbor:"7,keyasint,omitempty"`
	Cond    Cond       `cbor:"8,keyasint,omitempty"`
	Expect  []byte     `cbor:"9,keyasint,omitempty"`
	TTL     int64      `cbor:"10,keyasint,omitempty"`
	ReqID   []byte     `cbor:"11,keyasint,omitempty"`
	Version uint64     `cbor:"12,keyasint,omitempty"`
}

type keyDigest1 struct {
	_    struct{} `cbor:",toarray"`
	Key  []byte
	Hash uint64
}

// EncodeFrame encodes msgs as one TagFrame item under the default limits.
func EncodeFrame(msgs []Message) ([]byte, error) { return defaultCodec.EncodeFrame(msgs) }

// DecodeFrame decodes a TagFrame item under the default limits.
func DecodeFrame(data []byte) ([]Message, error) { return defaultCodec.DecodeFrame(data) }

// EncodeFrame encodes msgs as one TagFrame item, at the oldest version that
// can represent them: version 3 when an operation in them has a condition
// or option of a strong key (Cond, Expect, TTL, ReqID or Version not
// empty), else version 2 when a state in them holds counter resets, else
// version 1; every state of a frame of version 2 or 3 is a version-2 body.
// So a frame an older version can hold keeps its bytes, and stays readable
// by builds that know only that version. It fails with an error matching
// ErrTooLarge when the frame exceeds MaxMessageSize or a state in it
// exceeds c's limits. The frame is built in a pooled buffer and copied
// out, so that encoding allocates the result once.
func (c *Codec) EncodeFrame(msgs []Message) ([]byte, error) {
	buf := frameBuffers.Get().(*[]byte)
	v := frameVersion(msgs)
	out, err := c.limits.appendFrameBody(c.appendHead((*buf)[:0], TagFrame, v), msgs, v)
	if err == nil {
		err = c.limits.checkSize(len(out))
	}
	var frame []byte
	if err == nil {
		frame = append([]byte(nil), out...)
	}
	if cap(out) <= maxPooledBuffer {
		*buf = out[:0]
		frameBuffers.Put(buf)
	}
	return frame, err
}

// frameVersion returns the oldest frame format that can represent msgs.
func frameVersion(msgs []Message) uint16 {
	v := uint16(1)
	for i := range msgs {
		if op := msgs[i].Op; op != nil && op.strong() {
			return 3
		}
		if v == 1 && stateVersion(msgs[i].State) > 1 {
			v = 2
		}
	}
	return v
}

// strong reports whether op has a field only frame version 3 holds: the
// condition or an option of a write to a strong key.
func (op *Op) strong() bool {
	return op.Cond != CondNone || len(op.Expect) > 0 || op.TTL != 0 || len(op.ReqID) > 0 || op.Version != 0
}

// frameStateVersion returns the version of the state bodies in a frame of
// the given version: version 3 changed the operation, not the states.
func frameStateVersion(frame uint16) uint16 { return min(frame, 2) }

// DecodeFrame decodes a TagFrame item written by any version this build
// reads. It never panics: input that is not a valid frame within c's limits
// gets an error matching one of the package's sentinels. The size is
// checked before anything is decoded, and the array, map and nesting limits
// before anything is allocated.
func (c *Codec) DecodeFrame(data []byte) ([]Message, error) {
	version, body, err := c.open(data, TagFrame)
	if err != nil {
		return nil, err
	}
	switch version {
	case 1, 2, 3:
		return c.decodeFrameBody(body, version)
	}
	return nil, &VersionError{Tag: TagFrame, Version: version, Supported: registry[TagFrame].versions}
}
