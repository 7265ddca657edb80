package wire_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/meridiankv/meridian/wire"
)

// Frame version 3: version 2 with the condition and options of a write to
// a strong key in the operation (keys 8 to 12), and the consensus kinds.

// prepareBlob is a MsgPrepare's body, [17, 1, {1: {1: 5, 2: 'eu-1'}}]: an
// EncodePaxos of a prepare of ballot 5.eu-1, written out so that the frame's
// golden file does not follow the paxos format.
var prepareBlob = []byte("\x83\x11\x01\xa1\x01\xa2\x01\x05\x02\x44eu-1")

// frameV3Fixture is a frame of version 3: a forwarded write with every
// field of opV3, another with some, a consensus message, and states with
// and without resets, all version-2 bodies.
func frameV3Fixture() []wire.Message {
	return []wire.Message{
		{Type: wire.MsgForward, From: "eu-3", To: "eu-1", ID: 19, Op: &wire.Op{Kind: wire.OpPut, Key: []byte("s"),
			Value: []byte("new"), Level: 4, Cond: wire.CondIfEq, Expect: []byte("old\x00"), TTL: 1500,
			ReqID: []byte("req-1"), Version: 1 << 40}},
		{Type: wire.MsgForward, From: "eu-3", To: "eu-1", ID: 20, Op: &wire.Op{Kind: wire.OpDelete, Key: []byte("s"),
			Cond: wire.CondVersion, Version: 7}},
		{Type: wire.MsgPrepare, From: "eu-1", To: "eu-2", ID: 21, Key: []byte("s"), Blob: prepareBlob},
		{Type: wire.MsgWrite, From: "eu-1", To: "eu-2", ID: 22, Key: []byte("c"), State: counterFixture()},
		{Type: wire.MsgForwardReply, From: "eu-1", To: "eu-3", ID: 23, State: resetRegisterFixture(), Changed: 1},
	}
}

// TestFrameV3Fixture guards the fixture: it holds an operation with every
// field of opV3, and its blob is the paxos item it says.
func TestFrameV3Fixture(t *testing.T) {
	op := frameV3Fixture()[0].Op
	if op.Cond == wire.CondNone || len(op.Expect) == 0 || op.TTL == 0 || len(op.ReqID) == 0 || op.Version == 0 {
		t.Errorf("the first operation lacks a field of opV3: %+v", op)
	}
	p, err := wire.DecodePaxos(prepareBlob)
	if want := (wire.Paxos{Ballot: wire.Ballot{N: 5, By: "eu-1"}}); err != nil || !paxosEqual(p, want) {
		t.Errorf("the blob decodes to %+v, %v; want %+v", p, err, want)
	}
	if b, _ := wire.EncodePaxos(p); string(b) != string(prepareBlob) {
		t.Errorf("EncodePaxos writes %x, the fixture holds %x", b, prepareBlob)
	}
}

// TestFrameV3RoundTrip sends each field of opV3 alone, all of them, and
// their extremes through EncodeFrame and DecodeFrame: each makes a frame
// of version 3 that decodes to what was encoded.
func TestFrameV3RoundTrip(t *testing.T) {
	put := func(op wire.Op) *wire.Op { op.Kind, op.Key = wire.OpPut, []byte("k"); return &op }
	tests := []struct {
		name string
		op   *wire.Op
	}{
		{"cond", put(wire.Op{Cond: wire.CondNX})},
		{"last cond", put(wire.Op{Cond: wire.LastCond})},
		{"expect", put(wire.Op{Cond: wire.CondIfNe, Expect: []byte{0, 0xff}})},
		{"expect alone", put(wire.Op{Expect: []byte("x")})},
		{"ttl", put(wire.Op{TTL: 1})},
		{"negative ttl", put(wire.Op{TTL: math.MinInt64})},
		{"largest ttl", put(wire.Op{TTL: math.MaxInt64})},
		{"request id", put(wire.Op{ReqID: []byte("r")})},
		{"version", put(wire.Op{Cond: wire.CondVersion, Version: math.MaxUint64})},
		{"every field, with a context", func() *wire.Op {
			ctx := contextFixture()
			return put(wire.Op{Value: []byte("v"), Context: &ctx, Level: 3, Cond: wire.CondXX,
				Expect: []byte("e"), TTL: 60_000, ReqID: []byte("id"), Version: 9})
		}()},
		{"a counter", &wire.Op{Kind: wire.OpIncr, Key: []byte("c"), By: -4, ReqID: []byte("incr-1")}},
		{"a set", &wire.Op{Kind: wire.OpAdd, Key: []byte("s"), Elems: [][]byte{[]byte("a")}, ReqID: []byte("sadd-1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := []wire.Message{
				{Type: wire.MsgForward, From: "eu-3", To: "eu-1", ID: 1, Op: tt.op},
				{Type: wire.MsgWrite, Key: []byte("c"), State: counterFixture()},
			}
			b, err := wire.EncodeFrame(msgs)
			if err != nil {
				t.Fatal(err)
			}
			if _, v, err := wire.Peek(b); v != 3 || err != nil {
				t.Fatalf("version %d (%v), want 3", v, err)
			}
			got, err := wire.DecodeFrame(b)
			if err != nil || !messagesEqual(got, msgs) {
				t.Fatalf("decode(encode(%+v)) = %+v, %v", *tt.op, got[0].Op, err)
			}
		})
	}
}

// TestFrameVersionFollowsTheOperation: an operation whose fields of opV3
// are all empty, nil or not, leaves the frame at version 1 or 2, byte for
// byte what a build that knows only those versions writes; a single field
// of opV3 makes it version 3, whatever else the frame holds.
func TestFrameVersionFollowsTheOperation(t *testing.T) {
	forward := func(op wire.Op) wire.Message {
		op.Kind, op.Key = wire.OpPut, []byte("k")
		return wire.Message{Type: wire.MsgForward, Op: &op}
	}
	withResets := wire.Message{Type: wire.MsgWrite, State: resetRegisterFixture()}
	tests := []struct {
		name string
		msgs []wire.Message
		want uint16
	}{
		{"an operation of protocol 1", []wire.Message{forward(wire.Op{Value: []byte("v")})}, 1},
		{"empty, not nil, expect and request id", []wire.Message{forward(wire.Op{Expect: []byte{}, ReqID: []byte{}})}, 1},
		{"a consensus kind", []wire.Message{{Type: wire.MsgAccepted, Key: []byte("k"), Blob: []byte{1}}}, 1},
		{"a state with resets", []wire.Message{forward(wire.Op{}), withResets}, 2},
		{"a condition", []wire.Message{forward(wire.Op{Cond: wire.CondNX})}, 3},
		{"a request id after a state with resets", []wire.Message{withResets, forward(wire.Op{ReqID: []byte("r")})}, 3},
		{"a version among protocol-1 messages", append(frameFixture(), forward(wire.Op{Version: 1})), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := wire.EncodeFrame(tt.msgs)
			if err != nil {
				t.Fatal(err)
			}
			if _, v, err := wire.Peek(b); v != tt.want || err != nil {
				t.Fatalf("version %d (%v), want %d", v, err, tt.want)
			}
			if got, err := wire.DecodeFrame(b); err != nil || !messagesEqual(got, tt.msgs) {
				t.Fatalf("round trip: %v", err)
			}
		})
	}
}

// TestFrameV3FieldsNeedVersion3: keys 8 to 12 of an operation are unknown
// fields in frames of version 1 and 2, refused, and taken in version 3;
// key 13 is unknown in all three.
func TestFrameV3FieldsNeedVersion3(t *testing.T) {
	values := map[int]any{8: 1, 9: bs("e"), 10: -5, 11: bs("r"), 12: uint64(1 << 40), 13: 1}
	for key := 8; key <= 13; key++ {
		for version := uint64(1); version <= 3; version++ {
			t.Run(fmt.Sprintf("key %d in version %d", key, version), func(t *testing.T) {
				input := item(uint64(wire.TagFrame), version, []any{map[int]any{1: 5, 8: map[int]any{1: 2, key: values[key]}}})
				_, err := wire.DecodeFrame(input)
				if version == 3 && key <= 12 {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					return
				}
				if !errors.Is(err, wire.ErrMalformed) {
					t.Fatalf("DecodeFrame: %v, want ErrMalformed", err)
				}
				checkSentinel(t, err)
			})
		}
	}
}

// TestFrameV3Refuses: what a version-3 frame may not hold.
func TestFrameV3Refuses(t *testing.T) {
	frame3 := func(op map[int]any) []byte {
		return item(uint64(wire.TagFrame), 3, []any{map[int]any{1: 5, 8: op}})
	}
	unknownCond, err := wire.EncodeFrame([]wire.Message{{Type: wire.MsgForward, Op: &wire.Op{Kind: wire.OpPut, Cond: wire.LastCond + 1}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"an unknown condition, as the encoder writes it", unknownCond, wire.ErrMalformed},
		{"condition 255", frame3(map[int]any{1: 2, 8: 255}), wire.ErrMalformed},
		{"condition 256", frame3(map[int]any{1: 2, 8: 256}), wire.ErrMalformed},
		{"negative condition", frame3(map[int]any{1: 2, 8: -1}), wire.ErrMalformed},
		{"negative version", frame3(map[int]any{1: 2, 12: -1}), wire.ErrMalformed},
		{"ttl beyond int64", frame3(map[int]any{1: 2, 10: uint64(math.MaxInt64) + 1}), wire.ErrMalformed},
		{"expect as a text string", frame3(map[int]any{1: 2, 9: "e"}), wire.ErrMalformed},
		{"request id as an integer", frame3(map[int]any{1: 2, 11: 1}), wire.ErrMalformed},
		{"an unknown operation with a condition", frame3(map[int]any{1: 9, 8: 1}), wire.ErrMalformed},
		{"a version-1 state", item(uint64(wire.TagFrame), 3, []any{map[int]any{1: 1, 6: []any{none, none, none, none, none, none}}}), wire.ErrMalformed},
		{"an unknown message type", item(uint64(wire.TagFrame), 3, []any{map[int]any{1: int(wire.MsgSettleReply) + 1}}), wire.ErrMalformed},
		{"duplicate key 8", fill(item(uint64(wire.TagFrame), 3, []any{map[int]any{1: 5, 8: hole}}), 0xa3, 0x01, 0x02, 0x08, 0x01, 0x08, 0x02), wire.ErrMalformed},
		{"a request id longer than the input", fill(frame3(map[int]any{1: 2, 11: hole}), 0x5a, 0x7f, 0xff, 0xff, 0xff), wire.ErrMalformed},
		{"expect of 2^62 elements", fill(frame3(map[int]any{1: 2, 9: hole}), 0x9b, 0x40, 0, 0, 0, 0, 0, 0, 0), wire.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := wire.DecodeFrame(tt.input)
			if !errors.Is(err, tt.want) {
				t.Fatalf("DecodeFrame: %v, want %v", err, tt.want)
			}
			checkSentinel(t, err)
		})
	}
}

// TestConsensusKinds: the kinds of protocol 3 travel in a frame of any
// version, as every kind does (a frame's version follows its fields, not
// its kinds; Protocol says which kinds a peer takes), and Legacy leaves
// them as they are.
func TestConsensusKinds(t *testing.T) {
	kinds := []wire.MsgType{wire.MsgPrepare, wire.MsgPromise, wire.MsgAccept, wire.MsgAccepted, wire.MsgSettle, wire.MsgSettleReply}
	var msgs []wire.Message
	for i, k := range kinds {
		msgs = append(msgs, wire.Message{Type: k, From: "eu-1", To: "eu-2", ID: uint64(30 + i), Key: []byte("s"), Blob: prepareBlob})
		if wire.Legacy(k) != k || wire.Carries(k) {
			t.Errorf("%v: Legacy %v, Carries %v", k, wire.Legacy(k), wire.Carries(k))
		}
	}
	if names := fmt.Sprint(kinds); names != "[prepare promise accept accepted settle settle_reply]" {
		t.Errorf("the kinds are named %s", names)
	}
	b, err := wire.EncodeFrame(msgs)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := wire.DecodeFrame(b); err != nil || !messagesEqual(got, msgs) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for version := uint64(1); version <= 3; version++ {
		for _, k := range kinds {
			input := item(uint64(wire.TagFrame), version, []any{map[int]any{1: int(k), 5: bs("s"), 18: prepareBlob}})
			if got, err := wire.DecodeFrame(input); err != nil || got[0].Type != k {
				t.Errorf("a %v in a frame of version %d: %v, %v", k, version, got, err)
			}
		}
	}
}
