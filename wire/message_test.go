package wire_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// ping is the body of TagTestPing, the message type the tests register to
// exercise the generic plumbing: a map with integer keys, as message
// structs may be.
type ping struct {
	From string `cbor:"1,keyasint"`
	Seq  uint64 `cbor:"2,keyasint"`
	Keys []byte `cbor:"3,keyasint"`
}

func TestMessageRoundTrip(t *testing.T) {
	in := ping{From: "eu-1", Seq: 42, Keys: []byte{0, 1, 2}}
	b, err := wire.Marshal(wire.TagTestPing, in)
	if err != nil {
		t.Fatal(err)
	}
	if tag, version, err := wire.Peek(b); tag != wire.TagTestPing || version != 2 || err != nil {
		t.Fatalf("Peek = %v, %d, %v; want the tag at its current version 2", tag, version, err)
	}
	var out ping
	if err := wire.Unmarshal(b, wire.TagTestPing, &out); err != nil || out.From != in.From || out.Seq != in.Seq || string(out.Keys) != string(in.Keys) {
		t.Fatalf("Unmarshal = %+v, %v; want %+v", out, err, in)
	}
}

func TestMessageErrors(t *testing.T) {
	state, _ := wire.EncodeState(crdt.State{})
	pingAt := func(version uint64, body any) []byte { return item(uint64(wire.TagTestPing), version, body) }
	tests := []struct {
		name  string
		tag   wire.Tag
		input []byte
		want  error // nil: an error matching no sentinel, a misuse
		msg   string
	}{
		{"old version", wire.TagTestPing, pingAt(1, map[int]any{1: bs("a")}), wire.ErrUnsupportedVersion, "test-ping format version 1 is not supported: this build reads versions [2]"},
		{"newer version", wire.TagTestPing, pingAt(3, map[int]any{}), wire.ErrUnsupportedVersion, "newer build"},
		{"a state", wire.TagTestPing, state, wire.ErrWrongTag, "got a state (tag 1) where a test-ping (tag 255) was expected"},
		{"duplicate key", wire.TagTestPing, fill(pingAt(2, hole), 0xa2, 0x02, 0x01, 0x02, 0x02), wire.ErrMalformed, "duplicate map key"},
		{"unknown field", wire.TagTestPing, pingAt(2, map[int]any{9: 1}), wire.ErrMalformed, "unknown field"},
		{"wrong type", wire.TagTestPing, pingAt(2, map[int]any{2: "x"}), wire.ErrMalformed, "cannot unmarshal"},
		{"unregistered message tag", 18, item(18, 1, map[int]any{}), wire.ErrUnknownTag, "unknown message tag 18"},
		{"state tag", wire.TagState, state, nil, "a state (tag 1) is not a message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p ping
			err := wire.Unmarshal(tt.input, tt.tag, &p)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Unmarshal error %v, want one saying %q", err, tt.msg)
			}
			if tt.want != nil {
				checkSentinel(t, err)
				if !errors.Is(err, tt.want) {
					t.Fatalf("error %v does not match %v", err, tt.want)
				}
			}
		})
	}
	if _, err := wire.Marshal(wire.TagContext, ping{}); err == nil || !strings.Contains(err.Error(), "not a message") {
		t.Errorf("Marshal of a value tag: %v", err)
	}
	if _, err := wire.Marshal(200, ping{}); !errors.Is(err, wire.ErrUnknownTag) {
		t.Errorf("Marshal of an unregistered tag: %v", err)
	}
	type withState struct {
		Key   []byte
		Reply *struct{ States []crdt.State }
	}
	if _, err := wire.Marshal(wire.TagTestPing, withState{}); err == nil || !strings.Contains(err.Error(), "cannot hold a crdt value (wire_test.withState.Reply.States)") {
		t.Errorf("Marshal of a body holding a crdt.State: %v", err)
	}
	if err := wire.Unmarshal(pingAt(2, map[int]any{}), wire.TagTestPing, &struct{ C crdt.Context }{}); err == nil || !strings.Contains(err.Error(), "cannot hold a crdt value") {
		t.Errorf("Unmarshal into a body holding a crdt.Context: %v", err)
	}
	if _, err := wire.Marshal(wire.TagTestPing, make(chan int)); err == nil || !strings.HasPrefix(err.Error(), "wire: encoding a test-ping") {
		t.Errorf("Marshal of an unencodable body: %v", err)
	}
	if err := wire.Unmarshal(pingAt(2, map[int]any{}), wire.TagTestPing, ping{}); err == nil || !strings.Contains(err.Error(), "Unmarshal of a test-ping") {
		t.Errorf("Unmarshal into a non-pointer: %v", err)
	}
}

func TestPeek(t *testing.T) {
	ctx, _ := wire.EncodeContext(contextFixture())
	s, _ := wire.EncodeState(registerFixture())
	tests := []struct {
		name    string
		input   []byte
		tag     wire.Tag
		version uint16
		want    error
	}{
		{"state", s, wire.TagState, 1, nil},
		{"context", ctx, wire.TagContext, 1, nil},
		{"old ping", item(uint64(wire.TagTestPing), 1, none), wire.TagTestPing, 1, nil},
		{"body not checked", item(1, 1, "not a state"), wire.TagState, 1, nil},
		{"unknown tag", item(5, 1, none), 0, 0, wire.ErrUnknownTag},
		{"unsupported version", item(2, 9, none), 0, 0, wire.ErrUnsupportedVersion},
		{"garbage", []byte("hello"), 0, 0, wire.ErrMalformed},
	}
	for _, tt := range tests {
		tag, version, err := wire.Peek(tt.input)
		if tag != tt.tag || version != tt.version || !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
			t.Errorf("%s: Peek = %v, %d, %v; want %v, %d, %v", tt.name, tag, version, err, tt.tag, tt.version, tt.want)
		}
	}
}
