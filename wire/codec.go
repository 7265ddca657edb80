package wire

import (
	"bytes"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Codec encodes and decodes Meridian's wire format under one set of Limits.
// It holds no buffers and no mutable state: it is safe for concurrent use.
// The package-level functions use a Codec built from DefaultLimits.
//
// States, contexts and frames, the hot paths, have hand-written encoders
// and decoders (state_enc.go, state_dec.go, frame_enc.go, frame_dec.go)
// that write the bytes encMode writes for their format structs and accept
// what dec accepts, without reflection; the tests hold them to that.
// Marshal and Unmarshal use encMode and dec.
type Codec struct {
	limits Limits
	dec    cbor.DecMode
}

// encMode is the one CBOR encoder of format structs: RFC 8949 core deterministic encoding
// (shortest integers, no indefinite lengths, sorted map keys), nil slices
// and maps written as empty ones so that nil and empty values encode alike,
// and Go strings written as byte strings, since set elements are
// binary-safe and node IDs are opaque.
var encMode = newEncMode()

func newEncMode() cbor.UserBufferEncMode {
	opts := cbor.CoreDetEncOptions()
	opts.NilContainers = cbor.NilContainerAsEmpty
	opts.String = cbor.StringToByteString
	em, err := opts.UserBufferEncMode()
	if err != nil {
		panic("wire: building the CBOR encoder from fixed options: " + err.Error())
	}
	return em
}

// defaultCodec is the Codec of the package-level functions.
var defaultCodec = newDefaultCodec()

func newDefaultCodec() *Codec {
	c, err := NewCodec(DefaultLimits())
	if err != nil {
		panic("wire: the default limits are invalid: " + err.Error())
	}
	return c
}

// NewCodec returns a Codec enforcing l, its zero fields set to their
// defaults. It fails when a field is out of range (see Limits.Validate).
func NewCodec(l Limits) (*Codec, error) {
	l = l.withDefaults()
	if err := l.Validate(); err != nil {
		return nil, err
	}
	dec, err := cbor.DecOptions{
		DupMapKey:          cbor.DupMapKeyEnforcedAPF,
		IndefLength:        cbor.IndefLengthForbidden,
		TagsMd:             cbor.TagsForbidden,
		MaxNestedLevels:    l.MaxNestedLevels - 1, // the envelope is read by hand
		MaxArrayElements:   l.MaxArrayElements,
		MaxMapPairs:        l.MaxMapPairs,
		ByteStringToString: cbor.ByteStringToStringAllowed,
		ExtraReturnErrors:  cbor.ExtraDecErrorUnknownField,
		FieldNameMatching:  cbor.FieldNameMatchingCaseSensitive,
	}.DecMode()
	if err != nil {
		return nil, fmt.Errorf("wire: building the CBOR decoder: %w", err)
	}
	return &Codec{limits: l, dec: dec}, nil
}

// Limits returns the limits c enforces, defaults filled in.
func (c *Codec) Limits() Limits { return c.limits }

// Peek returns the tag and version of an item without decoding its body,
// using the default limits. See Codec.Peek.
func Peek(data []byte) (Tag, uint16, error) { return defaultCodec.Peek(data) }

// Peek returns the tag and version of an encoded item, reading only its
// envelope, so that a receiver can pick the decoder to call. It fails when
// data exceeds MaxMessageSize, the envelope is malformed, the tag is
// unknown or this build does not read that version. The body is not
// checked: the decoder does that.
func (c *Codec) Peek(data []byte) (Tag, uint16, error) {
	tag, version, _, err := c.split(data)
	if err != nil {
		return 0, 0, err
	}
	if f := registry[tag]; !f.reads(version) {
		return 0, 0, &VersionError{Tag: tag, Version: version, Supported: f.versions}
	}
	return tag, version, nil
}

// split checks data's size and envelope and returns its known tag, its
// version and its body.
func (c *Codec) split(data []byte) (Tag, uint16, []byte, error) {
	if err := c.limits.checkSize(len(data)); err != nil {
		return 0, 0, nil, err
	}
	tag, version, body, err := readEnvelope(data)
	if err != nil {
		return 0, 0, nil, err
	}
	if _, err := lookup(tag); err != nil {
		return 0, 0, nil, err
	}
	return tag, version, body, nil
}

// open is split for a decoder of tag want: it also refuses another tag and
// a version this build does not read.
func (c *Codec) open(data []byte, want Tag) (uint16, []byte, error) {
	tag, version, body, err := c.split(data)
	if err != nil {
		return 0, nil, err
	}
	if tag != want {
		return 0, nil, &WrongTagError{Want: want, Got: tag}
	}
	if f := registry[tag]; !f.reads(version) {
		return 0, nil, &VersionError{Tag: tag, Version: version, Supported: f.versions}
	}
	return version, body, nil
}

// appendItem appends to dst the envelope of tag at version around the
// encoding of body by encMode (Marshal's encoder).
func (c *Codec) appendItem(dst []byte, tag Tag, version uint16, body any) ([]byte, error) {
	start := len(dst)
	buf := bytes.NewBuffer(appendEnvelopeHead(dst, tag, version))
	if err := encMode.MarshalToBuffer(body, buf); err != nil {
		return dst[:start], fmt.Errorf("wire: encoding a %s: %w", tag, err)
	}
	out := buf.Bytes()
	if err := c.limits.checkSize(len(out) - start); err != nil {
		return dst[:start], err
	}
	return out, nil
}

// appendHead appends to dst the head of the envelope of tag at version:
// what the hand-written encoders (AppendState, AppendContext, EncodeFrame)
// append the body to.
func (c *Codec) appendHead(dst []byte, tag Tag, version uint16) []byte {
	return appendEnvelopeHead(dst, tag, version)
}

// endItem completes an item a hand-written encoder appended to dst, giving
// out, or err: it checks the item's size, and returns dst unchanged in
// length on error, as appendItem does.
func (c *Codec) endItem(dst, out []byte, err error) ([]byte, error) {
	if err == nil {
		err = c.limits.checkSize(len(out) - len(dst))
	}
	if err != nil {
		return dst, err
	}
	return out, nil
}
