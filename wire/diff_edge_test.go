package wire_test

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/meridiankv/meridian/wire"
)

// TestDecodersAgreeOnEdgeCases feeds both decoders inputs our encoder never
// writes but the reflective decoder has its way with: null for any field,
// simple values taken for integers, arrays of small integers taken for byte
// strings, text strings, integers written longer than needed, and the
// precedence of its errors. The hand-written decoder must do the same;
// want records what that is (nil: accepted), under the default limits.
func TestDecodersAgreeOnEdgeCases(t *testing.T) {
	for _, tt := range edgeCases() {
		t.Run(tt.kind+"/"+tt.name, func(t *testing.T) {
			for _, c := range diffCodecs {
				var err error
				switch tt.kind {
				case "state":
					_, err = checkStateDecoders(t, c.Codec, tt.input)
				case "context":
					_, err = checkContextDecoders(t, c.Codec, tt.input)
				default:
					_, err = checkFrameDecoders(t, c.Codec, tt.input)
				}
				if c.name == "default" && (!errors.Is(err, tt.want) || (tt.want == nil) != (err == nil)) {
					t.Fatalf("got %v, want %v", err, tt.want)
				}
			}
		})
	}
}

// edgeCase is an input of TestDecodersAgreeOnEdgeCases, also a seed of
// the differential fuzz targets.
type edgeCase struct {
	kind  string // state, context or frame
	name  string
	input []byte
	want  error // under the default limits; nil: accepted
}

func edgeCases() []edgeCase {
	sv := func(v byte) cbor.SimpleValue { return cbor.SimpleValue(v) }
	undefined := sv(23)
	long := bs(string(bytes.Repeat([]byte("n"), 300)))
	withShares := func(shares ...any) []byte { return state(twoNodes, vector32, none, none, none, shares) }
	shareWith := func(inc any) []any { return []any{dot(0, 3), ts(1), inc, 0} }
	withReg := func(r ...any) []byte { return state(twoNodes, vector32, none, []any{r}, none, none) }
	withResets := func(resets ...any) []byte {
		return state2(twoNodes, vector32, none, none, none, none, append([]any{}, resets...))
	}
	reset := func(node, inc, dec int) []any { return []any{node, inc, dec} }
	frame2 := func(msgs ...any) []byte { return item(uint64(wire.TagFrame), 2, msgs) }
	frame3 := func(msgs ...any) []byte { return item(uint64(wire.TagFrame), 3, msgs) }
	goodState2 := []any{twoNodes, vector32, none, []any{reg}, none, none, []any{reset(1, 4, 4)}}
	frame := func(msgs ...any) []byte { return item(uint64(wire.TagFrame), 1, msgs) }
	cut := func(b []byte, n int) []byte { return b[:len(b)-n] }
	type m = map[int]any
	goodState := []any{twoNodes, vector32, none, []any{reg}, none, none}

	cases := []edgeCase{
		{name: "dot with a null node index", input: state(twoNodes, []any{[]any{nil, 3}, dot(1, 2)}, none, none, none, none), want: nil},
		{name: "dot with an undefined node index", input: state(twoNodes, []any{[]any{undefined, 3}, dot(1, 2)}, none, none, none, none), want: nil},
		{name: "null time", input: withReg(dot(0, 3), nil, bs("v")), want: nil},
		{name: "null value", input: withReg(dot(0, 3), ts(1), nil), want: nil},
		{name: "value as an array of small integers", input: withReg(dot(0, 3), ts(1), []any{1, 2, 255, nil, sv(7)}), want: nil},
		{name: "value as an array holding 256", input: withReg(dot(0, 3), ts(1), []any{1, 256}), want: wire.ErrMalformed},
		{name: "value as an array holding a string", input: withReg(dot(0, 3), ts(1), []any{bs("a")}), want: wire.ErrMalformed},
		{name: "value as a text string", input: withReg(dot(0, 3), ts(1), "v"), want: wire.ErrMalformed},
		{name: "value as an integer", input: withReg(dot(0, 3), ts(1), 7), want: wire.ErrMalformed},
		{name: "wall at the int64 minimum", input: withReg(dot(0, 3), ts(math.MinInt64), bs("v")), want: nil},
		{name: "wall beyond int64", input: withReg(dot(0, 3), []any{uint64(1 << 63), 0}, bs("v")), want: wire.ErrMalformed},
		{name: "wall below int64", input: fill(withReg(dot(0, 3), []any{hole, 0}, bs("v")), 0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0), want: wire.ErrMalformed},
		{name: "negative logical", input: withReg(dot(0, 3), []any{1, -1}, bs("v")), want: wire.ErrMalformed},
		{name: "timestamp with three elements", input: withReg(dot(0, 3), []any{1, 0, 0}, bs("v")), want: wire.ErrMalformed},
		{name: "timestamp as a map", input: withReg(dot(0, 3), m{0: 1, 1: 0}, bs("v")), want: wire.ErrMalformed},
		{name: "element as a text string", input: state(twoNodes, vector32, none, none, []any{[]any{"x", dot(1, 2), ts(1)}}, none), want: nil},
		{name: "element of invalid UTF-8", input: fill(state(twoNodes, vector32, none, none, []any{[]any{hole, dot(1, 2), ts(1)}}, none), 0x61, 0xff), want: wire.ErrMalformed},
		{name: "element as an array", input: state(twoNodes, vector32, none, none, []any{[]any{[]any{1}, dot(1, 2), ts(1)}}, none), want: wire.ErrMalformed},
		{name: "simple value 16 as a count", input: withShares(shareWith(sv(16))), want: nil},
		{name: "simple value 255 as a count", input: withShares(shareWith(sv(255))), want: nil},
		{name: "simple value as a counter", input: withShares([]any{[]any{0, sv(3)}, ts(1), 1, 0}), want: nil},
		{name: "false as a count", input: withShares(shareWith(false)), want: wire.ErrMalformed},
		{name: "true as a count", input: withShares(shareWith(true)), want: wire.ErrMalformed},
		{name: "float as a count", input: withShares(shareWith(1.0)), want: wire.ErrMalformed},
		{name: "NaN as a count", input: fill(withShares(shareWith(hole)), 0xf9, 0x7e, 0x00), want: wire.ErrMalformed},
		{name: "undefined as a count", input: withShares(shareWith(undefined)), want: nil},
		{name: "count written in 9 bytes", input: fill(withShares(shareWith(hole)), 0x1b, 0, 0, 0, 0, 0, 0, 0, 5), want: nil},
		{name: "simple value in two bytes below 32", input: fill(withShares(shareWith(hole)), 0xf8, 0x10), want: wire.ErrMalformed},
		{name: "reserved additional information", input: fill(withShares(shareWith(hole)), 0x1c), want: wire.ErrMalformed},
		{name: "lone break", input: fill(withShares(shareWith(hole)), 0xff), want: wire.ErrMalformed},
		{name: "indefinite integer", input: fill(withShares(shareWith(hole)), 0x1f), want: wire.ErrMalformed},
		{name: "indefinite byte string", input: fill(withReg(dot(0, 3), ts(1), hole), 0x5f, 0x41, 0x61, 0xff), want: wire.ErrMalformed},
		{name: "tag around a count", input: fill(withShares(shareWith(hole)), 0xc0, 0x01), want: wire.ErrMalformed},
		{name: "null lists", input: state(twoNodes, vector32, nil, nil, nil, undefined), want: nil},
		{name: "null register entry", input: state(twoNodes, vector32, none, []any{nil}, none, none), want: wire.ErrMalformed},
		{name: "null vector entry", input: state(twoNodes, []any{dot(0, 3), nil}, none, none, none, none), want: wire.ErrMalformed},
		{name: "map for a list", input: state(twoNodes, vector32, m{}, none, none, none), want: wire.ErrMalformed},
		{name: "byte string for a list", input: state(twoNodes, vector32, bs("ab"), none, none, none), want: wire.ErrMalformed},
		{name: "array of 2^62 elements", input: fill(withShares(hole), 0x9b, 0x40, 0, 0, 0, 0, 0, 0, 0), want: wire.ErrTooLarge},
		{name: "array of 2^63 elements", input: fill(withShares(hole), 0x9b, 0x80, 0, 0, 0, 0, 0, 0, 0), want: wire.ErrMalformed},
		{name: "byte string of 2^63 bytes", input: fill(withReg(dot(0, 3), ts(1), hole), 0x5b, 0x80, 0, 0, 0, 0, 0, 0, 0), want: wire.ErrMalformed},
		{name: "map of 2^31 pairs", input: fill(withShares(hole), 0xba, 0x80, 0, 0, 0), want: wire.ErrTooLarge},
		{name: "a type mismatch, then deep nesting", input: withShares("text", nest(20)), want: wire.ErrTooLarge},
		{name: "deep nesting, then a type mismatch", input: withShares(nest(20), "text"), want: wire.ErrTooLarge},
		{name: "a type mismatch, then truncated", input: cut(withShares("text", bs("0123456789")), 3), want: wire.ErrMalformed},
		{name: "a semantic error, then a type mismatch", input: state(twoNodes, []any{dot(1, 2), dot(0, 3)}, none, none, none, []any{"x"}), want: wire.ErrMalformed},
		{name: "a state as a map", input: item(1, 1, []any{twoNodes, m{1: 1}}), want: wire.ErrMalformed},
		{name: "v2: resets", input: withResets(reset(0, 3, 1), reset(1, 0, 7)), want: nil},
		{name: "v2: no resets", input: withResets(), want: nil},
		{name: "v2: null resets", input: state2(twoNodes, vector32, none, none, none, none, nil), want: nil},
		{name: "v2: reset counts as simple values and null", input: withResets([]any{sv(1), sv(16), nil}), want: nil},
		{name: "v2: a null reset entry, zero", input: withResets(nil), want: wire.ErrMalformed},
		{name: "v2: a zero reset", input: withResets(reset(0, 0, 0)), want: wire.ErrMalformed},
		{name: "v2: reset node index out of range", input: withResets(reset(2, 1, 0)), want: wire.ErrMalformed},
		{name: "v2: resets unsorted", input: withResets(reset(1, 1, 0), reset(0, 1, 0)), want: wire.ErrMalformed},
		{name: "v2: a node reset twice", input: withResets(reset(0, 1, 0), reset(0, 2, 0)), want: wire.ErrMalformed},
		{name: "v2: more resets than nodes", input: withResets(reset(0, 1, 0), reset(1, 1, 0), reset(1, 2, 0)), want: wire.ErrMalformed},
		{name: "v2: a reset of two elements", input: withResets([]any{0, 1}), want: wire.ErrMalformed},
		{name: "v2: a reset count beyond uint64", input: fill(withResets([]any{0, hole, 0}), 0x3b, 0, 0, 0, 0, 0, 0, 0, 1), want: wire.ErrMalformed},
		{name: "v2: resets as a map", input: state2(twoNodes, vector32, none, none, none, none, m{}), want: wire.ErrMalformed},
		{name: "v2: six lists", input: item(1, 2, []any{twoNodes, vector32, none, none, none, none}), want: wire.ErrMalformed},
		{name: "v1: seven lists", input: item(1, 1, []any{twoNodes, vector32, none, none, none, none, none}), want: wire.ErrMalformed},
		{name: "v2: a share below its reset", input: state2(twoNodes, vector32, none, none, none, []any{shareWith(3)}, []any{reset(0, 9, 0)}), want: nil},
		{name: "v2: a bad share, then bad resets", input: state2(twoNodes, vector32, none, none, none, []any{[]any{dot(0, 7), ts(1), 1, 0}}, []any{reset(1, 1, 0), reset(0, 1, 0)}), want: wire.ErrMalformed},
		{name: "v2: an array of 2^62 resets", input: fill(withResets(hole), 0x9b, 0x40, 0, 0, 0, 0, 0, 0, 0), want: wire.ErrTooLarge},
	}
	contexts := []edgeCase{
		{name: "null cloud", input: item(2, 1, []any{twoNodes, vector32, nil}), want: nil},
		{name: "cloud dot of simple values", input: item(2, 1, []any{twoNodes, vector32, []any{[]any{sv(1), sv(9)}}}), want: nil},
		{name: "cloud dot of three elements", input: item(2, 1, []any{twoNodes, vector32, []any{[]any{1, 9, 0}}}), want: wire.ErrMalformed},
		{name: "trailing bytes", input: append(item(2, 1, []any{twoNodes, vector32, none}), 0xf6), want: wire.ErrMalformed},
	}
	frames := []edgeCase{
		{name: "null body", input: item(uint64(wire.TagFrame), 1, nil), want: nil},
		{name: "map body", input: item(uint64(wire.TagFrame), 1, m{}), want: wire.ErrMalformed},
		{name: "null message", input: frame(nil), want: wire.ErrMalformed},
		{name: "message as an array", input: frame([]any{1}), want: wire.ErrMalformed},
		{name: "type as a simple value", input: frame(m{1: sv(2)}), want: nil},
		{name: "type 256", input: frame(m{1: 256}), want: wire.ErrMalformed},
		{name: "unknown key 17", input: frame(m{1: 1, 17: 1}), want: wire.ErrMalformed},
		{name: "key 0", input: frame(m{0: 1, 1: 1}), want: wire.ErrMalformed},
		{name: "negative key", input: frame(m{-1: 1, 1: 1}), want: wire.ErrMalformed},
		{name: "text key", input: frame(map[string]any{"1": 1}), want: wire.ErrMalformed},
		{name: "byte string key", input: frame(map[cbor.ByteString]any{"1": 1}), want: wire.ErrMalformed},
		{name: "duplicate key, the second written long", input: fill(frame(hole), 0xa2, 0x01, 0x01, 0x18, 0x01, 0x02), want: wire.ErrMalformed},
		{name: "key written long", input: fill(frame(hole), 0xa1, 0x18, 0x01, 0x02), want: nil},
		{name: "null state", input: frame(m{1: 1, 6: nil}), want: nil},
		{name: "null operation", input: frame(m{1: 5, 8: nil}), want: nil},
		{name: "null operation context", input: frame(m{1: 5, 8: m{1: 2, 6: undefined}}), want: nil},
		{name: "empty operation", input: frame(m{1: 5, 8: m{}}), want: wire.ErrMalformed},
		{name: "operation with an unknown key", input: frame(m{1: 5, 8: m{1: 2, 8: 1}}), want: wire.ErrMalformed},
		{name: "operation elements with null and arrays", input: frame(m{1: 5, 8: m{1: 5, 4: []any{nil, []any{1}, bs("")}}}), want: nil},
		{name: "operation elements null", input: frame(m{1: 5, 8: m{1: 5, 4: nil}}), want: nil},
		{name: "empty indexes", input: frame(m{1: 7, 13: none}), want: nil},
		{name: "null indexes", input: frame(m{1: 7, 13: nil}), want: nil},
		{name: "index beyond uint32", input: frame(m{1: 7, 13: []any{uint64(1 << 32)}}), want: wire.ErrMalformed},
		{name: "keys with a null entry", input: frame(m{1: 10, 15: []any{nil, []any{bs(""), 1}}}), want: nil},
		{name: "empty keys", input: frame(m{1: 10, 15: none}), want: nil},
		{name: "key as an array of small integers", input: frame(m{1: 1, 5: []any{1, 2}}), want: nil},
		{name: "empty key", input: frame(m{1: 1, 5: bs("")}), want: nil},
		{name: "from as a text string", input: frame(m{1: 1, 2: "eu-1"}), want: nil},
		{name: "error of invalid UTF-8", input: fill(frame(m{1: 2, 11: hole}), 0x61, 0xff), want: wire.ErrMalformed},
		{name: "changed at the int64 minimum", input: frame(m{1: 6, 9: int64(math.MinInt64)}), want: nil},
		{name: "changed below int64", input: fill(frame(m{1: 6, 9: hole}), 0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), want: wire.ErrMalformed},
		{name: "a long From, then a type mismatch", input: frame(m{1: 1, 2: long}, m{1: "x"}), want: wire.ErrMalformed},
		{name: "a long From, then an unknown type", input: frame(m{1: 1, 2: long}, m{1: 99}), want: wire.ErrTooLarge},
		{name: "an unknown type, then a long From", input: frame(m{1: 99}, m{1: 1, 2: long}), want: wire.ErrMalformed},
		{name: "a long Target after the state", input: frame(m{1: 1, 6: goodState, 7: long}), want: wire.ErrTooLarge},
		{name: "a state of text node IDs", input: frame(m{1: 1, 6: []any{[]any{"a", "b"}, vector32, none, none, none, none}}), want: nil},
		{name: "a state with a long node ID", input: frame(m{1: 1, 6: []any{[]any{long}, []any{dot(0, 1)}, none, none, none, none}}), want: wire.ErrTooLarge},
		{name: "a state with a long node ID, unsorted", input: frame(m{1: 1, 6: []any{[]any{bs("b"), bs("a"), long}, none, none, none, none, none}}), want: wire.ErrTooLarge},
		{name: "a state with a long node ID, then a type mismatch", input: frame(m{1: 1, 6: []any{[]any{long}, []any{dot(0, 1)}, none, none, none, none}}, m{1: -1}), want: wire.ErrMalformed},
		{name: "a state with an empty node ID", input: frame(m{1: 1, 6: []any{[]any{nil}, []any{dot(0, 1)}, none, none, none, none}}), want: wire.ErrMalformed},
		{name: "a state of five lists", input: frame(m{1: 1, 6: []any{none, none, none, none, none}}), want: wire.ErrMalformed},
		{name: "a null state body element", input: frame(m{1: 1, 6: []any{nil, nil, nil, nil, nil, nil}}), want: nil},
		{name: "an operation context with a long node ID", input: frame(m{1: 5, 8: m{1: 2, 6: []any{[]any{long}, []any{dot(0, 1)}, none}}}), want: wire.ErrTooLarge},
		{name: "an operation context with a long node ID after a bad state", input: frame(m{1: 5, 6: []any{twoNodes, none, none, none, none, none}, 8: m{1: 2, 6: []any{[]any{long}, []any{dot(0, 1)}, none}}}), want: wire.ErrMalformed},
		{name: "trailing bytes", input: append(frame(m{1: 1}), 0x00), want: wire.ErrMalformed},
		{name: "v2: a state with resets", input: frame2(m{1: 1, 6: goodState2}), want: nil},
		{name: "v2: a state without", input: frame2(m{1: 1, 6: append(goodState[:6:6], none)}), want: nil},
		{name: "v2: a version-1 state", input: frame2(m{1: 1, 6: goodState}), want: wire.ErrMalformed},
		{name: "v1: a version-2 state", input: frame(m{1: 1, 6: goodState2}), want: wire.ErrMalformed},
		{name: "v2: a state with bad resets after a long Target", input: frame2(m{1: 1, 6: []any{twoNodes, vector32, none, none, none, none, []any{reset(5, 1, 1)}}, 7: long}), want: wire.ErrTooLarge},
		{name: "v2: null body", input: item(uint64(wire.TagFrame), 2, nil), want: nil},
		{name: "v1: a consensus kind", input: frame(m{1: 22, 5: bs("k"), 18: bs("blob")}), want: nil},
		{name: "v1: type 25", input: frame(m{1: 25}), want: wire.ErrMalformed},
		{name: "v2: key 12 of an operation", input: frame2(m{1: 5, 8: m{1: 2, 12: 1}}), want: wire.ErrMalformed},
		{name: "v3: every field of opV3", input: frame3(m{1: 5, 8: m{1: 2, 8: 3, 9: bs("e"), 10: -1, 11: bs("r"), 12: 7}}), want: nil},
		{name: "v3: null and undefined fields of opV3", input: frame3(m{1: 5, 8: m{1: 2, 8: nil, 9: nil, 10: undefined, 11: nil, 12: nil}}), want: nil},
		{name: "v3: fields of opV3 as simple values", input: frame3(m{1: 5, 8: m{1: 2, 8: sv(3), 10: sv(16), 12: sv(255)}}), want: nil},
		{name: "v3: expect as an array of small integers", input: frame3(m{1: 5, 8: m{1: 2, 9: []any{1, sv(2)}, 11: []any{}}}), want: nil},
		{name: "v3: an empty expect and request id", input: frame3(m{1: 5, 8: m{1: 2, 9: bs(""), 11: bs("")}}), want: nil},
		{name: "v3: ttl at the int64 minimum", input: frame3(m{1: 5, 8: m{1: 2, 10: int64(math.MinInt64)}}), want: nil},
		{name: "v3: an unknown condition", input: frame3(m{1: 5, 8: m{1: 2, 8: 6}}), want: wire.ErrMalformed},
		{name: "v3: condition 256", input: frame3(m{1: 5, 8: m{1: 2, 8: 256}}), want: wire.ErrMalformed},
		{name: "v3: a version beyond uint64", input: fill(frame3(m{1: 5, 8: m{1: 2, 12: hole}}), 0x3b, 0, 0, 0, 0, 0, 0, 0, 1), want: wire.ErrMalformed},
		{name: "v3: key 13 of an operation", input: frame3(m{1: 5, 8: m{1: 2, 13: 1}}), want: wire.ErrMalformed},
		{name: "v3: a long From, then an unknown condition", input: frame3(m{1: 5, 2: long, 8: m{1: 2, 8: 6}}), want: wire.ErrTooLarge},
		{name: "v3: an unknown condition, a context with a long node ID", input: frame3(m{1: 5, 8: m{1: 2, 8: 6, 6: []any{[]any{long}, []any{dot(0, 1)}, none}}}), want: wire.ErrMalformed},
		{name: "v3: an unknown operation, an unknown condition", input: frame3(m{1: 5, 8: m{1: 9, 8: 6}}), want: wire.ErrMalformed},
		{name: "v3: a state with resets", input: frame3(m{1: 1, 6: goodState2}), want: nil},
		{name: "v3: a version-1 state", input: frame3(m{1: 1, 6: goodState}), want: wire.ErrMalformed},
		{name: "v3: null body", input: item(uint64(wire.TagFrame), 3, nil), want: nil},
	}
	for i := range cases {
		cases[i].kind = "state"
	}
	for i := range contexts {
		contexts[i].kind = "context"
	}
	for i := range frames {
		frames[i].kind = "frame"
	}
	return append(append(cases, contexts...), frames...)
}
