package wire

import (
	"fmt"
	"math"

	"github.com/meridiankv/meridian/crdt"
)

// The frame body read straight into Messages: validate checks the body
// against frameShapes[version], the CBOR image of []messageV1,
// []messageV2 or []messageV3, then readMessage builds each message with
// the checks of messageFrom, in its order. As
// validate has seen the whole body by then, a check that fails can return
// at once: the reflective decoder too decodes every message before it
// checks the first.

var (
	opFields = []*shape{ // opV1
		uint8Shape,         // 1 Kind
		bytesShape,         // 2 Key
		bytesShape,         // 3 Value
		listOf(bytesShape), // 4 Elems
		int64Shape,         // 5 By
		contextShape,       // 6 Context
		uint8Shape,         // 7 Level
	}
	opShape   = keyedOf(opFields...)
	opShapeV3 = keyedOf(append(opFields[:len(opFields):len(opFields)],
		uint8Shape,  // 8 Cond
		bytesShape,  // 9 Expect
		int64Shape,  // 10 TTL
		bytesShape,  // 11 ReqID
		uint64Shape, // 12 Version
	)...)
	// frameShapes is the shape of a frame body by version: a list of
	// messageV1, messageV2 or messageV3. A version below 3 refuses an
	// operation's keys 8 to 12 as unknown fields.
	frameShapes = map[uint16]*shape{
		1: listOf(messageShape(stateShape, opShape)),
		2: listOf(messageShape(stateShapeV2, opShape)),
		3: listOf(messageShape(stateShapeV2, opShapeV3)),
	}
)

// messageShape returns the shape of a message whose state and operation
// have the given shapes: messageV1, messageV2 or messageV3.
func messageShape(state, op *shape) *shape {
	return keyedOf(
		uint8Shape,                               // 1 Type
		stringShape,                              // 2 From
		stringShape,                              // 3 To
		uint64Shape,                              // 4 ID
		bytesShape,                               // 5 Key
		state,                                    // 6 State
		stringShape,                              // 7 Target
		op,                                       // 8 Op
		int64Shape,                               // 9 Changed
		uint8Shape,                               // 10 Code
		stringShape,                              // 11 Err
		uint8Shape,                               // 12 Level
		listOf(uint32Shape),                      // 13 Indexes
		listOf(uint64Shape),                      // 14 Hashes
		listOf(tupleOf(bytesShape, uint64Shape)), // 15 Keys (keyDigest1)
		uint64Shape,                              // 16 Epoch
		stringShape,                              // 17 Region
		bytesShape,                               // 18 Blob
	)
}

// decodeFrameBody decodes a frame body of the given version, 1, 2 or 3.
func (c *Codec) decodeFrameBody(body []byte, version uint16) ([]Message, error) {
	if err := checkFrameHead(body, c.limits); err != nil {
		return nil, err
	}
	if err := c.limits.validate("frame", body, frameShapes[version]); err != nil {
		return nil, err
	}
	r := reader{data: body}
	n, _, err := r.array()
	if err != nil {
		return nil, malformed("frame", "%v", err)
	}
	// The slice grows as messages are read, so that a count the messages
	// do not back (a million of them, each an empty map refused for its
	// type) costs nothing: it holds at most twice the messages read, or
	// firstGrowth.
	out := make([]Message, 0, min(n, firstGrowth))
	var names stringCache
	for i := range n {
		out = grow(out, n)
		out = out[:i+1]
		if err := c.readMessage(&r, &out[i], &names, version); err != nil {
			return nil, fmt.Errorf("%w (message %d)", err, i)
		}
	}
	return out, nil
}

// checkFrameHead checks the number of messages of a frame body against
// MaxFrameMessages before anything else is read: a body that is no array
// is left for validate to refuse.
func checkFrameHead(body []byte, l Limits) error {
	if major, n, _, err := readHead(body); err == nil && major == majorArray {
		return l.checkMessages(clampInt(n))
	}
	return nil
}

// grow returns s, a list of n entries being read, with room for one more:
// when it is full, in a new slice of twice its capacity, at least
// firstGrowth, at most n. So the slice holds at most twice what was read
// (or firstGrowth entries), and the slices it went through as much again; a
// list of up to firstGrowth entries is allocated once, at its size.
func grow[T any](s []T, n int) []T {
	if len(s) < cap(s) {
		return s
	}
	out := make([]T, len(s), min(max(2*cap(s), firstGrowth), n))
	copy(out, s)
	return out
}

// firstGrowth is the capacity a list being read starts from, when its
// header declares at least that many entries.
const firstGrowth = 64

// readMessage reads one message of a frame of the given version into m,
// then makes the checks of messageFrom in its order: the state and operation are read where they
// are found, among the other fields, but an error of theirs is returned in
// its turn, after the checks of those fields.
func (c *Codec) readMessage(r *reader, m *Message, names *stringCache, version uint16) error {
	n, _, err := r.mapHead() // null is the zero message, refused below for its type
	var from, to, target, errText, region []byte
	var stateErr, opErr error
	for i := 0; i < n && err == nil; i++ {
		var key, v uint64
		if key, err = r.uint(18); err != nil {
			break
		}
		switch key {
		case 1:
			v, err = r.uint(math.MaxUint8)
			m.Type = MsgType(v)
		case 2:
			from, err = r.str()
		case 3:
			to, err = r.str()
		case 4:
			m.ID, err = r.uint(math.MaxUint64)
		case 5:
			m.Key, err = r.ownBytes()
		case 6:
			if at := r.off; !r.skipNull() {
				if m.State, stateErr = readState(r, &c.limits, names, frameStateVersion(version)); stateErr != nil {
					err = r.skipFrom(at)
				}
			}
		case 7:
			target, err = r.str()
		case 8:
			if at := r.off; !r.skipNull() {
				if m.Op, opErr = c.readOp(r, names, version); opErr != nil {
					err = r.skipFrom(at)
				}
			}
		case 9:
			m.Changed, err = r.int()
		case 10:
			v, err = r.uint(math.MaxUint8)
			m.Code = ErrCode(v)
		case 11:
			errText, err = r.str()
		case 12:
			v, err = r.uint(math.MaxUint8)
			m.Level = uint8(v)
		case 13:
			m.Indexes, err = readUint32s(r)
		case 14:
			m.Hashes, err = readUint64s(r)
		case 15:
			m.Keys, err = readKeyDigests(r)
		case 16:
			m.Epoch, err = r.uint(math.MaxUint64)
		case 17:
			region, err = r.str()
		case 18:
			m.Blob, err = r.ownBytes()
		default:
			err = errShape
		}
	}
	if err != nil {
		return malformed("frame", "%v", err)
	}

	if m.Type < MsgWrite || m.Type > lastMsgType {
		return malformed("frame", "unknown message type %d", m.Type)
	}
	if m.Code > LastCode {
		return malformed("frame", "unknown error code %d", m.Code)
	}
	for _, id := range [][]byte{from, to, target, region} {
		if len(id) > c.limits.MaxNodeIDLen {
			return &TooLargeError{Name: "MaxNodeIDLen", Size: len(id), Limit: c.limits.MaxNodeIDLen}
		}
	}
	m.From, m.To, m.Target = crdt.NodeID(names.get(from)), crdt.NodeID(names.get(to)), crdt.NodeID(names.get(target))
	m.Err = names.get(errText)
	m.Region = names.get(region)
	if stateErr != nil {
		return stateErr
	}
	return opErr
}

// readOp reads a forwarded operation of a frame of the given version, as
// messageFromV3 converts an opV1 or opV3: keys 8 to 12 only in version 3.
func (c *Codec) readOp(r *reader, names *stringCache, version uint16) (*Op, error) {
	n, _, err := r.mapHead()
	op := &Op{}
	var ctxErr error
	last := uint64(7) // the last key of opV1
	if version >= 3 {
		last = 12 // of opV3
	}
	for i := 0; i < n && err == nil; i++ {
		var key, v uint64
		if key, err = r.uint(last); err != nil {
			break
		}
		switch key {
		case 1:
			v, err = r.uint(math.MaxUint8)
			op.Kind = OpKind(v)
		case 2:
			op.Key, err = r.ownBytes()
		case 3:
			op.Value, err = r.ownBytes()
		case 4:
			op.Elems, err = readByteSlices(r)
		case 5:
			op.By, err = r.int()
		case 6:
			if at := r.off; !r.skipNull() {
				var ctx crdt.Context
				if ctx, ctxErr = readContext(r, "operation context", &c.limits, names); ctxErr != nil {
					err = r.skipFrom(at)
				}
				op.Context = &ctx
			}
		case 7:
			v, err = r.uint(math.MaxUint8)
			op.Level = uint8(v)
		case 8:
			v, err = r.uint(math.MaxUint8)
			op.Cond = Cond(v)
		case 9:
			op.Expect, err = r.ownBytes()
		case 10:
			op.TTL, err = r.int()
		case 11:
			op.ReqID, err = r.ownBytes()
		case 12:
			op.Version, err = r.uint(math.MaxUint64)
		default:
			err = errShape
		}
	}
	if err != nil {
		return nil, malformed("frame", "operation: %v", err)
	}
	if op.Kind < OpGet || op.Kind > OpInspect {
		return nil, malformed("frame", "unknown operation %d", op.Kind)
	}
	if op.Cond > LastCond {
		return nil, malformed("frame", "unknown condition %d", op.Cond)
	}
	if ctxErr != nil {
		return nil, ctxErr
	}
	return op, nil
}

// skipNull moves past the next item if it is null, a nil pointer in the
// reflective decoder, and reports whether it was.
func (r *reader) skipNull() bool {
	if r.isNull() {
		r.off++
		return true
	}
	return false
}

// skipFrom moves to the end of the item that starts at off, from wherever
// within it a read that failed left the reader.
func (r *reader) skipFrom(off int) error {
	r.off = off
	return r.skip()
}

// readUint32s reads a list of uint32: a new slice, nil for null.
func readUint32s(r *reader) ([]uint32, error) {
	n, null, err := r.array()
	if err != nil || null {
		return nil, err
	}
	out := make([]uint32, n)
	for i := range out {
		v, err := r.uint(math.MaxUint32)
		if err != nil {
			return nil, err
		}
		out[i] = uint32(v)
	}
	return out, nil
}

// readUint64s reads a list of uint64: a new slice, nil for null.
func readUint64s(r *reader) ([]uint64, error) {
	n, null, err := r.array()
	if err != nil || null {
		return nil, err
	}
	out := make([]uint64, n)
	for i := range out {
		if out[i], err = r.uint(math.MaxUint64); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readByteSlices reads a list of byte strings: a new slice, nil for null.
func readByteSlices(r *reader) ([][]byte, error) {
	n, null, err := r.array()
	if err != nil || null {
		return nil, err
	}
	out := make([][]byte, n)
	for i := range out {
		if out[i], err = r.ownBytes(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readKeyDigests reads the keys of a MsgKeysReply, [[key, hash], ...]: nil
// when there are none, as messageFromV1 appends them.
func readKeyDigests(r *reader) ([]KeyDigest, error) {
	n, _, err := r.array()
	if err != nil || n == 0 {
		return nil, err
	}
	out := make([]KeyDigest, n)
	for i := range out {
		null, err := r.tuple(2)
		if err != nil {
			return nil, err
		}
		if null {
			continue
		}
		if out[i].Key, err = r.ownBytes(); err != nil {
			return nil, err
		}
		if out[i].Hash, err = r.uint(math.MaxUint64); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// stringCache makes the strings of a frame, returning the same string for
// the same bytes when it saw them recently: the messages of a frame name
// the same few nodes over and over.
type stringCache struct {
	recent [8]string
	next   int
}

// get returns b as a string.
func (c *stringCache) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	for _, s := range c.recent {
		if s == string(b) {
			return s
		}
	}
	s := string(b)
	c.recent[c.next%len(c.recent)] = s
	c.next++
	return s
}
