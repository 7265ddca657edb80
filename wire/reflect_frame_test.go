package wire

import (
	"fmt"

	"github.com/meridiankv/meridian/crdt"
)

// The frames of the reflective codec (reflect_test.go): the conversions
// between Messages and the format structs messageV1, messageV2 and
// messageV3, and their fxamacker/cbor encoding and decoding. The
// conversions go through messageV3, which holds what every version does;
// a frame's version is chosen from that struct, as the hand-written encoder
// chooses it from the Messages.

// reflectEncodeFrame is EncodeFrame through messageV1; messageV2 when a
// state in msgs holds resets; messageV3 when an operation in msgs has
// opV3's fields.
func (c *Codec) reflectEncodeFrame(msgs []Message) ([]byte, error) {
	if err := c.limits.checkMessages(len(msgs)); err != nil {
		return nil, err
	}
	body := make([]messageV3, len(msgs))
	version := uint16(1)
	for i, m := range msgs {
		w, err := messageToV3(m, c.limits)
		if err != nil {
			return nil, fmt.Errorf("wire: encoding message %d (type %d): %w", i, m.Type, err)
		}
		if w.State != nil && len(w.State.Resets) > 0 {
			version = max(version, 2)
		}
		if w.Op != nil && w.Op.hasV3Fields() {
			version = 3
		}
		body[i] = w
	}
	if version == 3 {
		return c.appendItem(nil, TagFrame, 3, body)
	}
	v2 := make([]messageV2, len(body))
	for i, w := range body {
		v2[i] = w.v2()
	}
	if version == 2 {
		return c.appendItem(nil, TagFrame, 2, v2)
	}
	v1 := make([]messageV1, len(body))
	for i, w := range v2 {
		v1[i] = w.v1()
	}
	return c.appendItem(nil, TagFrame, 1, v1)
}

// hasV3Fields reports whether o holds a field opV1 has not: one that
// omitempty writes.
func (o *opV3) hasV3Fields() bool {
	return o.Cond != 0 || len(o.Expect) > 0 || o.TTL != 0 || len(o.ReqID) > 0 || o.Version != 0
}

// reflectDecodeFrame is DecodeFrame through messageV1, messageV2 or
// messageV3.
func (c *Codec) reflectDecodeFrame(data []byte) ([]Message, error) {
	version, body, err := c.open(data, TagFrame)
	if err != nil {
		return nil, err
	}
	if version >= 1 && version <= 3 {
		if err := checkFrameHead(body, c.limits); err != nil {
			return nil, err
		}
	}
	var ws []messageV3
	switch version {
	case 1:
		var w1 []messageV1
		err = c.dec.Unmarshal(body, &w1)
		if w1 != nil {
			ws = make([]messageV3, len(w1))
		}
		for i, w := range w1 {
			ws[i] = w.v2().v3()
		}
	case 2:
		var w2 []messageV2
		err = c.dec.Unmarshal(body, &w2)
		if w2 != nil {
			ws = make([]messageV3, len(w2))
		}
		for i, w := range w2 {
			ws[i] = w.v3()
		}
	case 3:
		err = c.dec.Unmarshal(body, &ws)
	default:
		return nil, &VersionError{Tag: TagFrame, Version: version, Supported: registry[TagFrame].versions}
	}
	if err != nil {
		return nil, decodeError("frame", c.limits, err)
	}
	out := make([]Message, len(ws))
	for i, w := range ws {
		m, err := messageFromV3(w, c.limits)
		if err != nil {
			return nil, fmt.Errorf("%w (message %d)", err, i)
		}
		out[i] = m
	}
	return out, nil
}

// v2 returns w with a version-2 state body, without resets.
func (w messageV1) v2() messageV2 {
	out := messageV2{Type: w.Type, From: w.From, To: w.To, ID: w.ID, Key: w.Key, Target: w.Target, Op: w.Op,
		Changed: w.Changed, Code: w.Code, Err: w.Err, Level: w.Level, Indexes: w.Indexes, Hashes: w.Hashes,
		Keys: w.Keys, Epoch: w.Epoch, Region: w.Region, Blob: w.Blob}
	if w.State != nil {
		s := w.State.v2()
		out.State = &s
	}
	return out
}

// v1 returns w with a version-1 state body, dropping its resets.
func (w messageV2) v1() messageV1 {
	out := messageV1{Type: w.Type, From: w.From, To: w.To, ID: w.ID, Key: w.Key, Target: w.Target, Op: w.Op,
		Changed: w.Changed, Code: w.Code, Err: w.Err, Level: w.Level, Indexes: w.Indexes, Hashes: w.Hashes,
		Keys: w.Keys, Epoch: w.Epoch, Region: w.Region, Blob: w.Blob}
	if w.State != nil {
		s := w.State.v1()
		out.State = &s
	}
	return out
}

// v3 returns w with a version-3 operation, without opV3's fields.
func (w messageV2) v3() messageV3 {
	out := messageV3{Type: w.Type, From: w.From, To: w.To, ID: w.ID, Key: w.Key, State: w.State, Target: w.Target,
		Changed: w.Changed, Code: w.Code, Err: w.Err, Level: w.Level, Indexes: w.Indexes, Hashes: w.Hashes,
		Keys: w.Keys, Epoch: w.Epoch, Region: w.Region, Blob: w.Blob}
	if o := w.Op; o != nil {
		out.Op = &opV3{Kind: o.Kind, Key: o.Key, Value: o.Value, Elems: o.Elems, By: o.By, Context: o.Context, Level: o.Level}
	}
	return out
}

// v2 returns w with a version-1 operation, dropping opV3's fields.
func (w messageV3) v2() messageV2 {
	out := messageV2{Type: w.Type, From: w.From, To: w.To, ID: w.ID, Key: w.Key, State: w.State, Target: w.Target,
		Changed: w.Changed, Code: w.Code, Err: w.Err, Level: w.Level, Indexes: w.Indexes, Hashes: w.Hashes,
		Keys: w.Keys, Epoch: w.Epoch, Region: w.Region, Blob: w.Blob}
	if o := w.Op; o != nil {
		out.Op = &opV1{Kind: o.Kind, Key: o.Key, Value: o.Value, Elems: o.Elems, By: o.By, Context: o.Context, Level: o.Level}
	}
	return out
}

func messageToV3(m Message, l Limits) (messageV3, error) {
	w := messageV3{Type: m.Type, From: string(m.From), To: string(m.To), ID: m.ID, Key: m.Key,
		Target: string(m.Target), Changed: m.Changed, Code: m.Code, Err: m.Err, Level: m.Level,
		Indexes: m.Indexes, Hashes: m.Hashes, Epoch: m.Epoch, Region: m.Region, Blob: m.Blob}
	if !m.State.IsZero() {
		s, err := stateToV2(m.State, l)
		if err != nil {
			return w, err
		}
		w.State = &s
	}
	for _, k := range m.Keys {
		w.Keys = append(w.Keys, keyDigest1{Key: k.Key, Hash: k.Hash})
	}
	if o := m.Op; o != nil {
		op := opV3{Kind: o.Kind, Key: o.Key, Value: o.Value, Elems: o.Elems, By: o.By, Level: o.Level,
			Cond: o.Cond, Expect: o.Expect, TTL: o.TTL, ReqID: o.ReqID, Version: o.Version}
		if o.Context != nil {
			ctx, _, err := contextToV1(*o.Context, l)
			if err != nil {
				return w, err
			}
			op.Context = &ctx
		}
		w.Op = &op
	}
	return w, nil
}

func messageFromV3(w messageV3, l Limits) (Message, error) {
	if w.Type < MsgWrite || w.Type > lastMsgType {
		return Message{}, malformed("frame", "unknown message type %d", w.Type)
	}
	if w.Code > LastCode {
		return Message{}, malformed("frame", "unknown error code %d", w.Code)
	}
	for _, id := range []string{w.From, w.To, w.Target, w.Region} {
		if len(id) > l.MaxNodeIDLen {
			return Message{}, &TooLargeError{Name: "MaxNodeIDLen", Size: len(id), Limit: l.MaxNodeIDLen}
		}
	}
	m := Message{Type: w.Type, From: crdt.NodeID(w.From), To: crdt.NodeID(w.To), ID: w.ID, Key: w.Key,
		Target: crdt.NodeID(w.Target), Changed: w.Changed, Code: w.Code, Err: w.Err, Level: w.Level,
		Indexes: w.Indexes, Hashes: w.Hashes, Epoch: w.Epoch, Region: w.Region, Blob: w.Blob}
	if w.State != nil {
		if err := checkNodes(w.State.Nodes, l); err != nil {
			return Message{}, err
		}
		s, err := stateFromV2(*w.State)
		if err != nil {
			return Message{}, err
		}
		m.State = s
	}
	for _, k := range w.Keys {
		m.Keys = append(m.Keys, KeyDigest{Key: k.Key, Hash: k.Hash})
	}
	if o := w.Op; o != nil {
		if o.Kind < OpGet || o.Kind > OpInspect {
			return Message{}, malformed("frame", "unknown operation %d", o.Kind)
		}
		if o.Cond > LastCond {
			return Message{}, malformed("frame", "unknown condition %d", o.Cond)
		}
		op := &Op{Kind: o.Kind, Key: o.Key, Value: o.Value, Elems: o.Elems, By: o.By, Level: o.Level,
			Cond: o.Cond, Expect: o.Expect, TTL: o.TTL, ReqID: o.ReqID, Version: o.Version}
		if o.Context != nil {
			if err := checkNodes(o.Context.Nodes, l); err != nil {
				return Message{}, err
			}
			ctx, err := contextFromV1("operation context", o.Context.Nodes, o.Context.Vector, o.Context.Cloud)
			if err != nil {
				return Message{}, err
			}
			op.Context = &ctx
		}
		m.Op = op
	}
	return m, nil
}

// checkNodes applies the node-table limits to a table decoded inside a
// frame (a state or context at the top of an item is checked before it is
// decoded; inside a frame, the frame's size bounds it until then).
func checkNodes(nodes []string, l Limits) error {
	if len(nodes) > l.MaxNodes {
		return &TooLargeError{Name: "MaxNodes", Size: len(nodes), Limit: l.MaxNodes}
	}
	for _, id := range nodes {
		if len(id) > l.MaxNodeIDLen {
			return &TooLargeError{Name: "MaxNodeIDLen", Size: len(id), Limit: l.MaxNodeIDLen}
		}
	}
	return nil
}
