package wire

import (
	"fmt"
	"sync"
)

// The frame body written straight from the Messages: the bytes encMode
// writes for []messageV1, []messageV2 or []messageV3, without building
// them. A message is a map whose keys, the small integers 1 to 18, are
// single bytes, so that the deterministic order of its keys is their
// numeric order, and so is an operation (keys 1 to 12); a field whose Go
// value is empty (omitempty) is left out.

// appendFrameBody appends the body of a frame of msgs at version 1, 2 or
// 3: their states are bodies of version 1, 2 and 2 (frameStateVersion).
// The caller chose the version with frameVersion, so that an operation of
// a frame below version 3 has none of opV3's fields to write.
func (l Limits) appendFrameBody(dst []byte, msgs []Message, version uint16) ([]byte, error) {
	if err := l.checkMessages(len(msgs)); err != nil {
		return dst, err
	}
	dst = appendHead(dst, majorArray, uint64(len(msgs)))
	for i := range msgs {
		var err error
		if dst, err = l.appendMessage(dst, &msgs[i], version); err != nil {
			return dst, fmt.Errorf("wire: encoding message %d (type %d): %w", i, msgs[i].Type, err)
		}
	}
	return dst, nil
}

// appendMessage appends m as a messageV1, messageV2 or messageV3.
func (l Limits) appendMessage(dst []byte, m *Message, version uint16) ([]byte, error) {
	present := [...]bool{
		m.Type != 0, m.From != "", m.To != "", m.ID != 0, len(m.Key) > 0, !m.State.IsZero(),
		m.Target != "", m.Op != nil, m.Changed != 0, m.Code != 0, m.Err != "", m.Level != 0,
		len(m.Indexes) > 0, len(m.Hashes) > 0, len(m.Keys) > 0, m.Epoch != 0,
		m.Region != "", len(m.Blob) > 0,
	}
	dst = appendHead(dst, majorMap, uint64(count(present[:])))
	var err error
	for i, ok := range present {
		if !ok {
			continue
		}
		dst = append(dst, byte(i+1)) // the key
		switch i + 1 {
		case 1:
			dst = appendUint64(dst, uint64(m.Type))
		case 2:
			dst = appendString(dst, string(m.From))
		case 3:
			dst = appendString(dst, string(m.To))
		case 4:
			dst = appendUint64(dst, m.ID)
		case 5:
			dst = appendBytes(dst, m.Key)
		case 6:
			if dst, err = l.appendStateBody(dst, m.State, frameStateVersion(version)); err != nil {
				return dst, err
			}
		case 7:
			dst = appendString(dst, string(m.Target))
		case 8:
			if dst, err = l.appendOp(dst, m.Op); err != nil {
				return dst, err
			}
		case 9:
			dst = appendInt64(dst, m.Changed)
		case 10:
			dst = appendUint64(dst, uint64(m.Code))
		case 11:
			dst = appendString(dst, m.Err)
		case 12:
			dst = appendUint64(dst, uint64(m.Level))
		case 13:
			dst = appendHead(dst, majorArray, uint64(len(m.Indexes)))
			for _, v := range m.Indexes {
				dst = appendUint64(dst, uint64(v))
			}
		case 14:
			dst = appendHead(dst, majorArray, uint64(len(m.Hashes)))
			for _, v := range m.Hashes {
				dst = appendUint64(dst, v)
			}
		case 15:
			dst = appendHead(dst, majorArray, uint64(len(m.Keys)))
			for _, k := range m.Keys {
				dst = appendUint64(appendBytes(append(dst, majorArray<<5|2), k.Key), k.Hash)
			}
		case 16:
			dst = appendUint64(dst, m.Epoch)
		case 17:
			dst = appendString(dst, m.Region)
		case 18:
			dst = appendBytes(dst, m.Blob)
		}
	}
	return dst, nil
}

// appendOp appends op as an opV1, or an opV3 when it has opV3's fields
// (keys 8 to 12), which only a frame of version 3 holds.
func (l Limits) appendOp(dst []byte, op *Op) ([]byte, error) {
	present := [...]bool{
		op.Kind != 0, len(op.Key) > 0, len(op.Value) > 0, len(op.Elems) > 0, op.By != 0, op.Context != nil, op.Level != 0,
		op.Cond != 0, len(op.Expect) > 0, op.TTL != 0, len(op.ReqID) > 0, op.Version != 0,
	}
	dst = appendHead(dst, majorMap, uint64(count(present[:])))
	var err error
	for i, ok := range present {
		if !ok {
			continue
		}
		dst = append(dst, byte(i+1))
		switch i + 1 {
		case 1:
			dst = appendUint64(dst, uint64(op.Kind))
		case 2:
			dst = appendBytes(dst, op.Key)
		case 3:
			dst = appendBytes(dst, op.Value)
		case 4:
			dst = appendHead(dst, majorArray, uint64(len(op.Elems)))
			for _, e := range op.Elems {
				dst = appendBytes(dst, e)
			}
		case 5:
			dst = appendInt64(dst, op.By)
		case 6:
			if dst, err = l.appendContextBody(dst, *op.Context); err != nil {
				return dst, err
			}
		case 7:
			dst = appendUint64(dst, uint64(op.Level))
		case 8:
			dst = appendUint64(dst, uint64(op.Cond))
		case 9:
			dst = appendBytes(dst, op.Expect)
		case 10:
			dst = appendInt64(dst, op.TTL)
		case 11:
			dst = appendBytes(dst, op.ReqID)
		case 12:
			dst = appendUint64(dst, op.Version)
		}
	}
	return dst, nil
}

// count returns the number of true values in bs.
func count(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// frameBuffers keeps the buffers frames are encoded in, so that encoding
// one allocates only its result.
var frameBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBuffer is the capacity beyond which a buffer is dropped rather
// than kept for the next frame.
const maxPooledBuffer = 1 << 20
