package wire_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// The fuzz targets run their seeds under go test; go test -fuzz explores
// from them. Inputs they find are kept under testdata/fuzz/<target>/.

// addSeeds adds the golden files, a few valid items and edge cases.
func addSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.cbor"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, seed := range []uint64{1, 2, 3} {
		h := newHistory(seed, 3, 30)
		b, _ := wire.EncodeState(h.states[0])
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0x83, 0x01, 0x01})
	f.Add(item(1, 1, nest(20)))
	f.Add(fill(state(twoNodes, vector32, none, none, hole, none), 0x9a, 0x80, 0, 0, 0))
	f.Add(state(twoNodes, vector32, []any{dot(0, 9)}, []any{reg}, []any{member}, []any{share(1, 1)}))
	f.Add(item(uint64(wire.TagTestPing), 2, map[int]any{1: bs("a"), 2: 3}))
	f.Add(state2(twoNodes, vector32, none, none, none, []any{share(1, 1)}, []any{[]any{0, 4, 0}, []any{1, 0, 9}}))
	f.Add(state2(twoNodes, vector32, none, none, none, none, []any{[]any{1, 1, 1}, []any{0, 1, 1}}))
	f.Add(fill(state2(twoNodes, vector32, none, none, none, none, hole), 0x9a, 0x80, 0, 0, 0))
	// Counts that the entries back with a byte each, then refused: the
	// decoders must allocate by what they read (TestDecodersAllocateByWhatTheyRead).
	f.Add(rawItem(uint64(wire.TagFrame), 1, arrayOf(4096, 0xa0)))
	f.Add(rawItem(uint64(wire.TagFrame), 2, append([]byte{0x99, 0x10, 0x00, 0xa1, 0x01, 0x07}, bytes.Repeat([]byte{0xa0}, 4095)...)))
	f.Add(fill(state(twoNodes, vector32, none, hole, none, none), arrayOf(4096, 0xf6)...))
	f.Add(fill(state2(twoNodes, vector32, none, none, none, none, hole), arrayOf(4096, 0xf6)...))
}

func FuzzDecodeState(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := wire.DecodeState(data)
		if err != nil {
			checkSentinel(t, err)
			return
		}
		checkRoundTrip(t, s)
	})
}

func FuzzDecodeContext(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, err := wire.DecodeContext(data)
		if err != nil {
			checkSentinel(t, err)
			return
		}
		b, err := wire.EncodeContext(ctx)
		if err != nil {
			t.Fatalf("encoding the decoded %v: %v", ctx, err)
		}
		got, err := wire.DecodeContext(b)
		if err != nil || !got.Equal(ctx) {
			t.Fatalf("decode(encode(%v)) = %v, %v", ctx, got, err)
		}
		if again, _ := wire.EncodeContext(got); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding changed the bytes:\n%x\n%x", b, again)
		}
	})
}

// FuzzPeek checks that Peek and the decoders agree: what Peek refuses every
// decoder refuses, and a decoder accepts only items of its own tag.
func FuzzPeek(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		tag, version, perr := wire.Peek(data)
		_, serr := wire.DecodeState(data)
		_, cerr := wire.DecodeContext(data)
		var p ping
		merr := wire.Unmarshal(data, wire.TagTestPing, &p)
		_, ferr := wire.DecodeFrame(data)
		errs := map[wire.Tag]error{wire.TagState: serr, wire.TagContext: cerr, wire.TagTestPing: merr, wire.TagFrame: ferr}
		for tag, decode := range decoders {
			_, errs[tag] = decode(data)
		}
		if perr != nil {
			checkSentinel(t, perr)
			if tag != 0 || version != 0 {
				t.Fatalf("Peek failed with %v but returned %v, %d", perr, tag, version)
			}
			for decoder, err := range errs {
				if err == nil {
					t.Fatalf("Peek refused the input (%v) but the %v decoder accepted it", perr, decoder)
				}
			}
			return
		}
		for decoder, err := range errs {
			if err != nil {
				checkSentinel(t, err)
			}
			if decoder != tag && !errors.Is(err, wire.ErrWrongTag) {
				t.Fatalf("Peek says %v, but the %v decoder returned %v, not ErrWrongTag", tag, decoder, err)
			}
		}
	})
}

// TestFuzzSeedsDecode makes sure the seeds reach past the envelope: the
// valid ones decode.
func TestFuzzSeedsDecode(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "state-*.cbor"))
	for _, file := range files {
		data, _ := os.ReadFile(file)
		if _, err := wire.DecodeState(data); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
	full := state(twoNodes, vector32, []any{dot(0, 9)}, []any{reg}, []any{member}, []any{share(1, 1)})
	if s, err := wire.DecodeState(full); err != nil || s.Kind() == crdt.KindNone {
		t.Errorf("the seed with every list filled: %v, %v", s, err)
	}
}

// The differential fuzz targets: for any input, the hand-written decoders
// and the reflective ones they replaced (reflect_test.go) accept and refuse
// alike, with the same sentinel, and return equal values; the values they
// return re-encode to the same bytes with both encoders. They run under the
// default limits and under small ones (diffCodecs).

// addDiffSeeds adds the seeds of addSeeds, the frame fixture and the edge
// cases of TestDecodersAgreeOnEdgeCases.
func addDiffSeeds(f *testing.F) {
	addSeeds(f)
	good, _ := wire.EncodeFrame(frameFixture())
	f.Add(good)
	good2, _ := wire.EncodeFrame(frameV2Fixture())
	f.Add(good2)
	good3, _ := wire.EncodeFrame(frameV3Fixture())
	f.Add(good3)
	batch, _ := wire.EncodeFrame(writeBatch())
	f.Add(batch)
	for _, c := range edgeCases() {
		f.Add(c.input)
	}
}

func FuzzDecodeStateMatchesReflective(f *testing.F) {
	addDiffSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range diffCodecs {
			if s, err := checkStateDecoders(t, c.Codec, data); err == nil {
				checkStateEncoders(t, c.Codec, s)
			}
		}
	})
}

func FuzzDecodeContextMatchesReflective(f *testing.F) {
	addDiffSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range diffCodecs {
			ctx, err := checkContextDecoders(t, c.Codec, data)
			if err != nil {
				continue
			}
			got, err := c.AppendContext(nil, ctx)
			want, werr := c.ReflectAppendContext(nil, ctx)
			if d := sameError(err, werr); d != "" || !bytes.Equal(got, want) {
				t.Fatalf("%s: encoding %v: %x, %v; the reflective encoder %x, %v", c.name, ctx, got, err, want, werr)
			}
		}
	})
}

func FuzzDecodeFrameMatchesReflective(f *testing.F) {
	addDiffSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range diffCodecs {
			msgs, err := checkFrameDecoders(t, c.Codec, data)
			if err != nil {
				continue
			}
			got, err := c.EncodeFrame(msgs)
			want, werr := c.ReflectEncodeFrame(msgs)
			if d := sameError(err, werr); d != "" || !bytes.Equal(got, want) {
				t.Fatalf("%s: encoding the decoded frame: %x, %v; the reflective encoder %x, %v", c.name, got, err, want, werr)
			}
		}
	})
}
