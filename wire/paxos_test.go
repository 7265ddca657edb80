package wire_test

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/meridiankv/meridian/wire"
)

// The consensus items (paxos.go): Strong, Acceptor and Paxos, encoded by
// the generic codec under tags of their own.

// strongStringFixture: a string with an expiry, a version and two
// remembered requests, one whose condition failed.
func strongStringFixture() wire.Strong {
	return wire.Strong{Kind: wire.StrongString, Bytes: []byte("value\x00\xff"), Expires: t0 + int64(time.Minute),
		Version: 12, Done: []wire.Done{{ID: []byte("req-1"), At: t0, Result: 1}, {ID: []byte("req-2"), At: t0 + 5, Failed: true}}}
}

// strongCounterFixture: a negative counter and the INCR that made it.
func strongCounterFixture() wire.Strong {
	return wire.Strong{Kind: wire.StrongCounter, Int: -1 << 40, Version: 3,
		Done: []wire.Done{{ID: []byte("incr-1"), At: t0, Result: -1 << 40}}}
}

// strongSetFixture: a set holding the empty member and a binary one.
func strongSetFixture() wire.Strong {
	return wire.Strong{Kind: wire.StrongSet, Members: [][]byte{{}, []byte("a"), []byte("b"), {0xff}}, Version: 1}
}

// acceptorFixture: an acceptor that promised a higher ballot than the one
// it accepted last, of another region's proposer.
func acceptorFixture() wire.Acceptor {
	return wire.Acceptor{Promised: wire.Ballot{N: 9, By: "eu-2"}, Accepted: wire.Ballot{N: 8, By: "us/n1"}, Value: strongStringFixture()}
}

// paxosAcceptFixture: a MsgAccept with the next round's promise.
func paxosAcceptFixture() wire.Paxos {
	v := strongSetFixture()
	return wire.Paxos{Ballot: wire.Ballot{N: 8, By: "eu-1"}, Next: wire.Ballot{N: 9, By: "eu-1"}, Value: &v,
		Config: 0xfeedface_cafef00d, Decl: 42}
}

// paxosPromiseFixture: a MsgPromise with what the acceptor accepted last.
func paxosPromiseFixture() wire.Paxos {
	v := strongCounterFixture()
	return wire.Paxos{Ballot: wire.Ballot{N: 9, By: "eu-1"}, Accepted: wire.Ballot{N: 8, By: "us/n1"}, Value: &v,
		Config: 0xfeedface_cafef00d, Decl: 42}
}

// paxosRefusedFixture: a refusal naming the higher ballot promised.
func paxosRefusedFixture() wire.Paxos {
	return wire.Paxos{Ballot: wire.Ballot{N: math.MaxUint64, By: "eu-3"}, Refused: wire.RefusedBallot, Config: 1, Decl: 2}
}

func acceptorsEqual(a, b wire.Acceptor) bool {
	return a.Promised == b.Promised && a.Accepted == b.Accepted && a.Value.Equal(&b.Value)
}

// paxosEqual tells a nil Value from an empty one.
func paxosEqual(a, b wire.Paxos) bool {
	return a.Ballot == b.Ballot && a.Next == b.Next && a.Accepted == b.Accepted && (a.Value == nil) == (b.Value == nil) &&
		(a.Value == nil || a.Value.Equal(b.Value)) && a.Config == b.Config && a.Decl == b.Decl && a.Refused == b.Refused
}

// TestConsensusItemsRoundTrip: every item survives encoding, and
// re-encoding what was decoded writes the same bytes.
func TestConsensusItemsRoundTrip(t *testing.T) {
	empty := wire.Strong{}
	deleted := wire.Strong{Version: 4, Done: []wire.Done{{ID: []byte("del-1"), At: -1, Result: 1}}}
	tests := []struct {
		name  string
		value any
	}{
		{"zero strong", wire.Strong{}},
		{"deleted strong, still versioned", deleted},
		{"string", strongStringFixture()},
		{"empty string", wire.Strong{Kind: wire.StrongString, Version: 1}},
		{"counter", strongCounterFixture()},
		{"counter at the int64 extremes", wire.Strong{Kind: wire.StrongCounter, Int: math.MinInt64, Expires: math.MaxInt64, Version: math.MaxUint64}},
		{"set", strongSetFixture()},
		{"zero acceptor", wire.Acceptor{}},
		{"acceptor", acceptorFixture()},
		{"acceptor that only promised", wire.Acceptor{Promised: wire.Ballot{N: 1}}},
		{"zero paxos", wire.Paxos{}},
		{"paxos with an empty value", wire.Paxos{Ballot: wire.Ballot{N: 1, By: "a"}, Value: &empty}},
		{"accept", paxosAcceptFixture()},
		{"promise", paxosPromiseFixture()},
		{"refused", paxosRefusedFixture()},
		{"last refusal", wire.Paxos{Refused: wire.RefusedStore}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := encode(tt.value)
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := decodeEqual(b, tt.value)
			if !ok {
				t.Fatalf("decode(encode(%+v)) = %+v, %v\n%s", tt.value, got, err, diag(b))
			}
			if again, err := encode(got); err != nil || !bytes.Equal(again, b) {
				t.Fatalf("re-encoding changed the bytes:\n%s\n%s (%v)", diag(b), diag(again), err)
			}
		})
	}
}

// decoders are the consensus decoders by tag, returning what they decoded.
var decoders = map[wire.Tag]func([]byte) (any, error){
	wire.TagStrong:   func(b []byte) (any, error) { return wire.DecodeStrong(b) },
	wire.TagAcceptor: func(b []byte) (any, error) { return wire.DecodeAcceptor(b) },
	wire.TagPaxos:    func(b []byte) (any, error) { return wire.DecodePaxos(b) },
}

// consensusCase is an input of a consensus decoder, also a fuzz seed.
type consensusCase struct {
	name  string
	tag   wire.Tag // the decoder
	input []byte
	want  error // nil: accepted
}

func consensusCases() []consensusCase {
	type m = map[int]any
	strong := func(body any) []byte { return item(uint64(wire.TagStrong), 1, body) }
	acceptor := func(body any) []byte { return item(uint64(wire.TagAcceptor), 1, body) }
	paxos := func(body any) []byte { return item(uint64(wire.TagPaxos), 1, body) }
	unsorted := m{1: 3, 4: []any{bs("b"), bs("a")}}
	cases := []consensusCase{
		{"empty", wire.TagStrong, strong(m{}), nil},
		{"null", wire.TagStrong, strong(nil), nil},
		{"a set", wire.TagStrong, strong(m{1: 3, 4: []any{bs(""), bs("a")}}), nil},
		{"bytes as an array of small integers", wire.TagStrong, strong(m{1: 1, 2: []any{1, 2}}), nil},
		{"unsorted members", wire.TagStrong, strong(unsorted), wire.ErrMalformed},
		{"repeated members", wire.TagStrong, strong(m{1: 3, 4: []any{bs("a"), bs("a")}}), wire.ErrMalformed},
		{"the empty member twice", wire.TagStrong, strong(m{1: 3, 4: []any{bs(""), nil}}), wire.ErrMalformed},
		{"unknown kind", wire.TagStrong, strong(m{1: 4}), wire.ErrMalformed},
		{"kind 256", wire.TagStrong, strong(m{1: 256}), wire.ErrMalformed},
		{"a string with an integer", wire.TagStrong, strong(m{1: 1, 2: bs("x"), 3: 5}), wire.ErrMalformed},
		{"a counter with bytes", wire.TagStrong, strong(m{1: 2, 2: bs("x")}), wire.ErrMalformed},
		{"a set with bytes", wire.TagStrong, strong(m{1: 3, 2: bs("x")}), wire.ErrMalformed},
		{"nothing with members", wire.TagStrong, strong(m{4: []any{bs("a")}}), wire.ErrMalformed},
		{"a request without an id", wire.TagStrong, strong(m{7: []any{m{2: 1}}}), wire.ErrMalformed},
		{"a request with an empty id", wire.TagStrong, strong(m{7: []any{m{1: bs("")}}}), wire.ErrMalformed},
		{"unknown field", wire.TagStrong, strong(m{8: 1}), wire.ErrMalformed},
		{"text key", wire.TagStrong, strong(map[string]any{"1": 1}), wire.ErrMalformed},
		{"duplicate key", wire.TagStrong, fill(strong(hole), 0xa2, 0x06, 0x01, 0x06, 0x02), wire.ErrMalformed},
		{"integer beyond int64", wire.TagStrong, strong(m{1: 2, 3: uint64(math.MaxInt64) + 1}), wire.ErrMalformed},
		{"a CBOR tag", wire.TagStrong, fill(strong(m{6: hole}), 0xc0, 0x01), wire.ErrMalformed},
		{"trailing bytes", wire.TagStrong, append(strong(m{}), 0), wire.ErrMalformed},
		{"deep nesting", wire.TagStrong, strong(m{4: nest(20)}), wire.ErrTooLarge},
		{"2^62 members", wire.TagStrong, fill(strong(m{1: 3, 4: hole}), 0x9b, 0x40, 0, 0, 0, 0, 0, 0, 0), wire.ErrTooLarge},
		{"version 2", wire.TagStrong, item(uint64(wire.TagStrong), 2, m{}), wire.ErrUnsupportedVersion},
		{"an acceptor", wire.TagStrong, acceptor(m{}), wire.ErrWrongTag},

		{"empty", wire.TagAcceptor, acceptor(m{}), nil},
		{"a ballot by as text", wire.TagAcceptor, acceptor(m{1: m{1: 3, 2: "eu-1"}}), nil},
		{"a value with unsorted members", wire.TagAcceptor, acceptor(m{3: unsorted}), wire.ErrMalformed},
		{"a value of unknown kind", wire.TagAcceptor, acceptor(m{3: m{1: 9}}), wire.ErrMalformed},
		{"a value with fields of another kind", wire.TagAcceptor, acceptor(m{3: m{1: 1, 3: 1}}), wire.ErrMalformed},
		{"a ballot with an unknown field", wire.TagAcceptor, acceptor(m{1: m{3: 1}}), wire.ErrMalformed},
		{"a ballot by as an integer", wire.TagAcceptor, acceptor(m{2: m{2: 5}}), wire.ErrMalformed},
		{"unknown field", wire.TagAcceptor, acceptor(m{4: 1}), wire.ErrMalformed},
		{"a strong value", wire.TagAcceptor, strong(m{}), wire.ErrWrongTag},

		{"empty", wire.TagPaxos, paxos(m{}), nil},
		{"a null value", wire.TagPaxos, paxos(m{4: nil}), nil},
		{"an empty value", wire.TagPaxos, paxos(m{4: m{}}), nil},
		{"unknown refusal", wire.TagPaxos, paxos(m{7: 6}), wire.ErrMalformed},
		{"refusal 256", wire.TagPaxos, paxos(m{7: 256}), wire.ErrMalformed},
		{"a value with unsorted members", wire.TagPaxos, paxos(m{4: unsorted}), wire.ErrMalformed},
		{"a value of unknown kind", wire.TagPaxos, paxos(m{4: m{1: 4}}), wire.ErrMalformed},
		{"a value with fields of another kind", wire.TagPaxos, paxos(m{4: m{1: 2, 4: []any{bs("a")}}}), wire.ErrMalformed},
		{"a value with a request without an id", wire.TagPaxos, paxos(m{4: m{7: []any{nil}}}), wire.ErrMalformed},
		{"unknown field", wire.TagPaxos, paxos(m{8: 1}), wire.ErrMalformed},
		{"a negative digest", wire.TagPaxos, paxos(m{5: -1}), wire.ErrMalformed},
		{"a frame", wire.TagPaxos, item(uint64(wire.TagFrame), 1, []any{}), wire.ErrWrongTag},
		{"version 0", wire.TagPaxos, item(uint64(wire.TagPaxos), 0, m{}), wire.ErrUnsupportedVersion},
	}
	return cases
}

// TestConsensusDecodersRefuse: each decoder takes what its struct holds
// and refuses the rest, with one sentinel.
func TestConsensusDecodersRefuse(t *testing.T) {
	for _, tt := range consensusCases() {
		t.Run(tt.tag.String()+"/"+tt.name, func(t *testing.T) {
			_, err := decoders[tt.tag](tt.input)
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if err != nil {
				checkSentinel(t, err)
			}
		})
	}
}
