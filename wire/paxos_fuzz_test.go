package wire_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/meridiankv/meridian/wire"
)

// The limits and fuzz targets of the consensus decoders.

// TestConsensusItemsAreLimited: the generic decoding under the consensus
// decoders enforces a Codec's limits before it allocates, whatever the
// struct; the exported decoders, the default limits.
func TestConsensusItemsAreLimited(t *testing.T) {
	tight, err := wire.NewCodec(wire.Limits{MaxMessageSize: 64, MaxNestedLevels: 5, MaxArrayElements: 16, MaxMapPairs: 16})
	if err != nil {
		t.Fatal(err)
	}
	type m = map[int]any
	members := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = []byte{byte(i)}
		}
		return out
	}
	pairs := m{}
	for k := 1; k <= 17; k++ {
		pairs[k] = 0
	}
	deep := m{4: m{7: []any{m{1: []any{1}}}}} // paxos, value, requests, request, id: 5 levels in the body
	million := fill(item(uint64(wire.TagStrong), 1, m{1: 3, 4: hole}), append([]byte{0x9a, 0, 0x10, 0, 1}, bytes.Repeat([]byte{0x40}, 1<<20+1)...)...)
	tests := []struct {
		name         string
		tag          wire.Tag
		input        []byte
		tightErr     error // under tight; nil: decoded
		defaultError error // under the default limits, by the exported decoder
	}{
		{"a fitting value", wire.TagStrong, item(uint64(wire.TagStrong), 1, m{1: 1, 2: bs("v")}), nil, nil},
		{"the refusal fixture", wire.TagPaxos, must2(wire.EncodePaxos(paxosRefusedFixture())), nil, nil},
		{"a fitting nesting", wire.TagPaxos, item(uint64(wire.TagPaxos), 1, m{4: m{7: []any{m{1: bs("r")}}}}), nil, nil},
		{"a value over MaxMessageSize", wire.TagStrong, item(uint64(wire.TagStrong), 1, m{1: 1, 2: bytes.Repeat([]byte("v"), 100)}), wire.ErrTooLarge, nil},
		{"17 members", wire.TagStrong, item(uint64(wire.TagStrong), 1, m{1: 3, 4: members(17)}), wire.ErrTooLarge, nil},
		{"a map of 17 pairs", wire.TagAcceptor, item(uint64(wire.TagAcceptor), 1, pairs), wire.ErrTooLarge, wire.ErrMalformed},
		{"nesting of 6 levels", wire.TagPaxos, item(uint64(wire.TagPaxos), 1, deep), wire.ErrTooLarge, nil},
		{"2^20+1 members", wire.TagStrong, million, wire.ErrTooLarge, wire.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			switch tt.tag {
			case wire.TagStrong:
				body = new(wire.Strong)
			case wire.TagAcceptor:
				body = new(wire.Acceptor)
			default:
				body = new(wire.Paxos)
			}
			err := tight.DecodeValue(tt.input, tt.tag, body)
			if !errors.Is(err, tt.tightErr) || (err == nil) != (tt.tightErr == nil) {
				t.Fatalf("under tight limits: %v, want %v", err, tt.tightErr)
			}
			var tl *wire.TooLargeError
			if tt.name == "a value over MaxMessageSize" && (!errors.As(err, &tl) || tl.Name != "MaxMessageSize") {
				t.Errorf("%v: want a *TooLargeError for MaxMessageSize", err)
			}
			_, err = decoders[tt.tag](tt.input)
			if !errors.Is(err, tt.defaultError) || (err == nil) != (tt.defaultError == nil) {
				t.Fatalf("under the default limits: %v, want %v", err, tt.defaultError)
			}
		})
	}
}

// addConsensusSeeds adds addSeeds' seeds, the fixtures of each item and
// the inputs of TestConsensusDecodersRefuse.
func addConsensusSeeds(f *testing.F) {
	addSeeds(f)
	for _, c := range consensusCases() {
		f.Add(c.input)
	}
}

// fuzzRoundTrip checks that what decode takes from data survives encoding:
// decode(encode(v)) equals v, and encoding that writes the same bytes.
func fuzzRoundTrip[T any](t *testing.T, data []byte, decode func([]byte) (T, error), enc func(T) ([]byte, error), equal func(a, b T) bool) {
	t.Helper()
	v, err := decode(data)
	if err != nil {
		checkSentinel(t, err)
		return
	}
	b, err := enc(v)
	if err != nil {
		t.Fatalf("encoding the decoded %+v: %v", v, err)
	}
	got, err := decode(b)
	if err != nil || !equal(got, v) {
		t.Fatalf("decode(encode(%+v)) = %+v, %v", v, got, err)
	}
	if again, err := enc(got); err != nil || !bytes.Equal(again, b) {
		t.Fatalf("re-encoding changed the bytes:\n%x\n%x (%v)", b, again, err)
	}
}

func FuzzDecodeStrong(f *testing.F) {
	addConsensusSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoundTrip(t, data, wire.DecodeStrong, wire.EncodeStrong, func(a, b wire.Strong) bool { return a.Equal(&b) })
	})
}

func FuzzDecodeAcceptor(f *testing.F) {
	addConsensusSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoundTrip(t, data, wire.DecodeAcceptor, wire.EncodeAcceptor, acceptorsEqual)
	})
}

func FuzzDecodePaxos(f *testing.F) {
	addConsensusSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoundTrip(t, data, wire.DecodePaxos, wire.EncodePaxos, paxosEqual)
	})
}
