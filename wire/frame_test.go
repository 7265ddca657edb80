package wire_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// frameFixture is a frame with one message of each shape the replication
// logic sends.
func frameFixture() []wire.Message {
	ctx := contextFixture()
	return []wire.Message{
		{Type: wire.MsgWrite, From: "eu-1", To: "eu-2", ID: 7, Key: []byte("k"), State: registerFixture()},
		{Type: wire.MsgWrite, From: "eu-1", To: "eu-3", ID: 7, Key: []byte("k"), State: setFixture(), Target: "eu-2"},
		{Type: wire.MsgWriteAck, From: "eu-2", To: "eu-1", ID: 7, Code: wire.CodeRejected, Err: "rejected: hint budget full"},
		{Type: wire.MsgReadReply, From: "eu-2", To: "eu-1", ID: 8, Key: []byte("k"), State: tombstoneFixture()},
		{Type: wire.MsgForward, From: "eu-3", To: "eu-1", ID: 9, Op: &wire.Op{Kind: wire.OpPut, Key: []byte("k"),
			Value: []byte("v"), Context: &ctx, Level: 2}},
		{Type: wire.MsgForward, From: "eu-3", To: "eu-1", ID: 10, Op: &wire.Op{Kind: wire.OpAdd, Key: []byte("s"),
			Elems: [][]byte{[]byte("a"), {0xff}}}},
		{Type: wire.MsgForwardReply, From: "eu-1", To: "eu-3", ID: 10, State: counterFixture(), Changed: 2},
		{Type: wire.MsgTreeRequest, From: "eu-1", To: "eu-2", ID: 11, Level: 1, Indexes: []uint32{0, 5}, Epoch: 1 << 40},
		{Type: wire.MsgTreeReply, From: "eu-2", To: "eu-1", ID: 11, Level: 1, Indexes: []uint32{0, 5}, Hashes: []uint64{1, 1 << 63}},
		{Type: wire.MsgKeysRequest, From: "eu-1", To: "eu-2", ID: 11, Indexes: []uint32{3},
			Keys: []wire.KeyDigest{{Key: []byte("a"), Hash: 42}, {Key: []byte("b")}}},
	}
}

// frameV2Fixture is a frame whose states hold resets, and one that holds
// none: the frame is version 2, all its states version-2 bodies.
func frameV2Fixture() []wire.Message {
	return []wire.Message{
		{Type: wire.MsgWrite, From: "eu-1", To: "eu-2", ID: 12, Key: []byte("c"), State: resetCounterFixture()},
		{Type: wire.MsgReadReply, From: "eu-2", To: "eu-1", ID: 13, Key: []byte("c"), State: resetTombstoneFixture()},
		{Type: wire.MsgWriteAck, From: "eu-2", To: "eu-1", ID: 14, State: counterFixture()},
		{Type: wire.MsgTreeRequest, From: "eu-1", To: "eu-2", ID: 15, Level: 1, Indexes: []uint32{2}},
	}
}

func messagesEqual(a, b []wire.Message) bool {
	return slices.EqualFunc(a, b, func(x, y wire.Message) bool {
		return x.Type == y.Type && x.From == y.From && x.To == y.To && x.ID == y.ID && bytes.Equal(x.Key, y.Key) &&
			x.State.Equal(y.State) && x.Target == y.Target && opsEqual(x.Op, y.Op) && x.Changed == y.Changed &&
			x.Code == y.Code && x.Err == y.Err && x.Level == y.Level && slices.Equal(x.Indexes, y.Indexes) &&
			slices.Equal(x.Hashes, y.Hashes) && x.Epoch == y.Epoch && x.Region == y.Region && bytes.Equal(x.Blob, y.Blob) && slices.EqualFunc(x.Keys, y.Keys, func(p, q wire.KeyDigest) bool {
			return bytes.Equal(p.Key, q.Key) && p.Hash == q.Hash
		})
	})
}

func opsEqual(a, b *wire.Op) bool {
	if a == nil || b == nil {
		return a == b
	}
	ctxEqual := (a.Context == nil) == (b.Context == nil) && (a.Context == nil || a.Context.Equal(*b.Context))
	return a.Kind == b.Kind && bytes.Equal(a.Key, b.Key) && bytes.Equal(a.Value, b.Value) &&
		slices.EqualFunc(a.Elems, b.Elems, bytes.Equal) && a.By == b.By && a.Level == b.Level && ctxEqual &&
		a.Cond == b.Cond && bytes.Equal(a.Expect, b.Expect) && a.TTL == b.TTL && bytes.Equal(a.ReqID, b.ReqID) &&
		a.Version == b.Version
}

func TestFrameKeepsABlindWriteApartFromAnEmptyContext(t *testing.T) {
	empty := crdt.Context{}
	for _, op := range []*wire.Op{{Kind: wire.OpPut, Key: []byte("k")}, {Kind: wire.OpPut, Key: []byte("k"), Context: &empty}} {
		b, err := wire.EncodeFrame([]wire.Message{{Type: wire.MsgForward, Op: op}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := wire.DecodeFrame(b)
		if err != nil || (got[0].Op.Context == nil) != (op.Context == nil) {
			t.Fatalf("context %v came back as %v (%v)", op.Context, got[0].Op.Context, err)
		}
	}
}

func TestFrameErrors(t *testing.T) {
	good, _ := wire.EncodeFrame(frameFixture())
	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"a state", mustState(t), wire.ErrWrongTag},
		{"truncated", good[:len(good)/2], wire.ErrMalformed},
		{"unknown message type", item(uint64(wire.TagFrame), 1, []map[int]any{{1: 99}}), wire.ErrMalformed},
		{"unknown error code", item(uint64(wire.TagFrame), 1, []map[int]any{{1: 2, 10: 99}}), wire.ErrMalformed},
		{"unknown field", item(uint64(wire.TagFrame), 1, []map[int]any{{1: 1, 99: 1}}), wire.ErrMalformed},
		{"newer version", item(uint64(wire.TagFrame), 4, []any{}), wire.ErrUnsupportedVersion},
		{"node id too long", item(uint64(wire.TagFrame), 1, []map[int]any{{1: 1, 2: bs(string(make([]byte, 300)))}}), wire.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := wire.DecodeFrame(tt.input); !errors.Is(err, tt.want) {
				t.Fatalf("DecodeFrame: %v, want %v", err, tt.want)
			}
		})
	}
}

func mustState(t *testing.T) []byte {
	b, err := wire.EncodeState(registerFixture())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzDecodeFrame(f *testing.F) {
	addSeeds(f)
	good, _ := wire.EncodeFrame(frameFixture())
	f.Add(good)
	good2, _ := wire.EncodeFrame(frameV2Fixture())
	f.Add(good2)
	good3, _ := wire.EncodeFrame(frameV3Fixture())
	f.Add(good3)
	f.Fuzz(func(t *testing.T, data []byte) {
		msgs, err := wire.DecodeFrame(data)
		if err != nil {
			checkSentinel(t, err)
			return
		}
		b, err := wire.EncodeFrame(msgs)
		if err != nil {
			t.Fatalf("encoding a decoded frame: %v", err)
		}
		again, err := wire.DecodeFrame(b)
		if err != nil || !messagesEqual(again, msgs) {
			t.Fatalf("decode(encode(frame)) differs: %v", err)
		}
		if b2, _ := wire.EncodeFrame(again); !bytes.Equal(b, b2) {
			t.Fatalf("re-encoding changed the bytes")
		}
	})
}

// TestProtocol2Kinds: the kinds protocol 2 split from MsgWrite travel in a
// frame like any other, and Legacy maps each back to MsgWrite for a peer
// of protocol 1 (a hint keeps its Target).
func TestProtocol2Kinds(t *testing.T) {
	msgs := []wire.Message{
		{Type: wire.MsgHint, From: "eu-1", To: "eu-4", ID: 21, Key: []byte("k"), State: registerFixture(), Target: "eu-2"},
		{Type: wire.MsgReplay, From: "eu-4", To: "eu-2", ID: 22, Key: []byte("k"), State: registerFixture()},
		{Type: wire.MsgHandoff, From: "eu-1", To: "eu-5", ID: 23, Key: []byte("s"), State: setFixture()},
		{Type: wire.MsgRepair, From: "eu-1", To: "eu-3", Key: []byte("c"), State: counterFixture()},
	}
	b, err := wire.EncodeFrame(msgs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := wire.DecodeFrame(b)
	if err != nil || !messagesEqual(got, msgs) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, m := range msgs {
		if wire.Legacy(m.Type) != wire.MsgWrite || !wire.Carries(m.Type) {
			t.Errorf("%v: Legacy %v, Carries %v", m.Type, wire.Legacy(m.Type), wire.Carries(m.Type))
		}
	}
	for _, k := range []wire.MsgType{wire.MsgWriteAck, wire.MsgRead, wire.MsgForward, wire.MsgTreeRequest, wire.MsgKeysReply} {
		if wire.Legacy(k) != k || wire.Carries(k) {
			t.Errorf("%v: Legacy %v, Carries %v", k, wire.Legacy(k), wire.Carries(k))
		}
	}
}

// TestRegionKinds: the kinds between regions carry the sender's region, and
// a region directory as an opaque document; they are not acknowledged by
// MsgWriteAck and travel only to nodes of protocol 2 (regions need it).
func TestRegionKinds(t *testing.T) {
	msgs := []wire.Message{
		{Type: wire.MsgShip, From: "n1", To: "us/n2", Region: "eu", ID: 16, Changed: 2, Key: []byte("k"), State: counterFixture()},
		{Type: wire.MsgShipAck, From: "n2", To: "eu/n1", Region: "us", ID: 16, Changed: 2},
		{Type: wire.MsgRegion, From: "n1", To: "us/n2", Region: "eu", ID: 17, Blob: []byte(`{"regions":{}}`)},
		{Type: wire.MsgRelay, From: "n1", To: "us/n3", Region: "eu", ID: 18, Key: []byte("k"), State: registerFixture(), Level: 5},
	}
	b, err := wire.EncodeFrame(msgs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := wire.DecodeFrame(b)
	if err != nil || !messagesEqual(got, msgs) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, m := range msgs {
		if wire.Legacy(m.Type) != m.Type || wire.Carries(m.Type) {
			t.Errorf("%v: Legacy %v, Carries %v", m.Type, wire.Legacy(m.Type), wire.Carries(m.Type))
		}
	}
}
