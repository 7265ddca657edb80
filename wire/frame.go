package wire

import (
	"fmt"

	"github.com/meridiankv/meridian/crdt"
)

// Version 1 of the frame format: an array of messages, each a CBOR map with
// small integer keys whose empty fields are left out, so that a message
// carries only what its type uses and a later version can add fields.

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

type keyDigest1 struct {
	_    struct{} `cbor:",toarray"`
	Key  []byte
	Hash uint64
}

// EncodeFrame encodes msgs as one TagFrame item under the default limits.
func EncodeFrame(msgs []Message) ([]byte, error) { return defaultCodec.EncodeFrame(msgs) }

// DecodeFrame decodes a TagFrame item under the default limits.
func DecodeFrame(data []byte) ([]Message, error) { return defaultCodec.DecodeFrame(data) }

// EncodeFrame encodes msgs as one TagFrame item. It fails with an error
// matching ErrTooLarge when the frame exceeds MaxMessageSize or a state in
// it exceeds c's limits.
func (c *Codec) EncodeFrame(msgs []Message) ([]byte, error) {
	body := make([]messageV1, len(msgs))
	for i, m := range msgs {
		w, err := messageToV1(m, c.limits)
		if err != nil {
			return nil, fmt.Errorf("wire: encoding message %d (type %d): %w", i, m.Type, err)
		}
		body[i] = w
	}
	return c.appendItem(nil, TagFrame, body)
}

func messageToV1(m Message, l Limits) (messageV1, error) {
	w := messageV1{Type: m.Type, From: string(m.From), To: string(m.To), ID: m.ID, Key: m.Key,
		Target: string(m.Target), Changed: m.Changed, Code: m.Code, Err: m.Err, Level: m.Level,
		Indexes: m.Indexes, Hashes: m.Hashes, Epoch: m.Epoch}
	if !m.State.IsZero() {
		s, err := stateToV1(m.State, l)
		if err != nil {
			return w, err
		}
		w.State = &s
	}
	for _, k := range m.Keys {
		w.Keys = append(w.Keys, keyDigest1{Key: k.Key, Hash: k.Hash})
	}
	if m.Op != nil {
		op := opV1{Kind: m.Op.Kind, Key: m.Op.Key, Value: m.Op.Value, Elems: m.Op.Elems, By: m.Op.By, Level: m.Op.Level}
		if m.Op.Context != nil {
			ctx, _, err := contextToV1(*m.Op.Context, l)
			if err != nil {
				return w, err
			}
			op.Context = &ctx
		}
		w.Op = &op
	}
	return w, nil
}

// DecodeFrame decodes a TagFrame item. It never panics: input that is not a
// valid frame within c's limits gets an error matching one of the package's
// sentinels. The size is checked before anything is decoded, and the CBOR
// decoder's array, map and nesting limits before it allocates.
func (c *Codec) DecodeFrame(data []byte) ([]Message, error) {
	version, body, err := c.open(data, TagFrame)
	if err != nil {
		return nil, err
	}
	if version != 1 {
		return nil, &VersionError{Tag: TagFrame, Version: version, Supported: registry[TagFrame].versions}
	}
	var ws []messageV1
	if err := c.dec.Unmarshal(body, &ws); err != nil {
		return nil, decodeError("frame", c.limits, err)
	}
	out := make([]Message, len(ws))
	for i, w := range ws {
		m, err := messageFromV1(w, c.limits)
		if err != nil {
			return nil, fmt.Errorf("%w (message %d)", err, i)
		}
		out[i] = m
	}
	return out, nil
}

func messageFromV1(w messageV1, l Limits) (Message, error) {
	if w.Type < MsgWrite || w.Type > MsgKeysReply {
		return Message{}, malformed("frame", "unknown message type %d", w.Type)
	}
	if w.Code > CodeInternal {
		return Message{}, malformed("frame", "unknown error code %d", w.Code)
	}
	for _, id := range []string{w.From, w.To, w.Target} {
		if len(id) > l.MaxNodeIDLen {
			return Message{}, &TooLargeError{Name: "MaxNodeIDLen", Size: len(id), Limit: l.MaxNodeIDLen}
		}
	}
	m := Message{Type: w.Type, From: crdt.NodeID(w.From), To: crdt.NodeID(w.To), ID: w.ID, Key: w.Key,
		Target: crdt.NodeID(w.Target), Changed: w.Changed, Code: w.Code, Err: w.Err, Level: w.Level,
		Indexes: w.Indexes, Hashes: w.Hashes, Epoch: w.Epoch}
	if w.State != nil {
		if err := checkNodes(w.State.Nodes, l); err != nil {
			return Message{}, err
		}
		s, err := stateFromV1(*w.State)
		if err != nil {
			return Message{}, err
		}
		m.State = s
	}
	for _, k := range w.Keys {
		m.Keys = append(m.Keys, KeyDigest{Key: k.Key, Hash: k.Hash})
	}
	if w.Op != nil {
		if w.Op.Kind < OpGet || w.Op.Kind > OpInspect {
			return Message{}, malformed("frame", "unknown operation %d", w.Op.Kind)
		}
		op := &Op{Kind: w.Op.Kind, Key: w.Op.Key, Value: w.Op.Value, Elems: w.Op.Elems, By: w.Op.By, Level: w.Op.Level}
		if w.Op.Context != nil {
			if err := checkNodes(w.Op.Context.Nodes, l); err != nil {
				return Message{}, err
			}
			ctx, err := contextFromV1("operation context", w.Op.Context.Nodes, w.Op.Context.Vector, w.Op.Context.Cloud)
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
