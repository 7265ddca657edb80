package wire_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// sentinels are the errors every decoding error must match exactly one of.
var sentinels = []error{wire.ErrMalformed, wire.ErrTooLarge, wire.ErrUnknownTag, wire.ErrUnsupportedVersion, wire.ErrWrongTag}

// checkSentinel fails unless err matches exactly one sentinel and speaks
// as the package does.
func checkSentinel(t testing.TB, err error) {
	t.Helper()
	n := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error %q matches %d of the package's sentinels, want exactly 1", err, n)
	}
	if !strings.HasPrefix(err.Error(), "wire: ") {
		t.Fatalf("error %q lacks the wire: prefix", err)
	}
}

// item encodes [tag, version, body] with plain CBOR: []byte values become
// byte strings, strings text strings, []any arrays.
func item(tag, version uint64, body any) []byte {
	b, err := cbor.Marshal([]any{tag, version, body})
	if err != nil {
		panic(err)
	}
	return b
}

func bs(s string) []byte { return []byte(s) }

// dot and ts build the arrays of a dot and a timestamp.
func dot(node, counter int) []any { return []any{node, counter} }
func ts(wall int64) []any         { return []any{wall, 0} }

// state builds a state item from its six lists.
func state(nodes, vector, cloud, regs, members, shares any) []byte {
	return item(1, 1, []any{nodes, vector, cloud, regs, members, shares})
}

// state2 builds a version-2 state item from its seven lists.
func state2(nodes, vector, cloud, regs, members, shares, resets any) []byte {
	return item(1, 2, []any{nodes, vector, cloud, regs, members, shares, resets})
}

var (
	twoNodes = []any{bs("a"), bs("b")}
	vector32 = []any{dot(0, 3), dot(1, 2)} // a:1..3, b:1..2
	none     = []any{}
	reg      = []any{dot(0, 3), ts(100), bs("v")}
	member   = []any{bs("x"), dot(1, 2), ts(100)}
)

// nest returns n arrays nested in each other.
func nest(n int) any {
	var v any = none
	for range n - 1 {
		v = []any{v}
	}
	return v
}

// hole marks where fill splices hand-written CBOR, which need not be well
// formed, into an item built with cbor.Marshal.
var hole = bs("\xfe\xedHOLE")

// fill replaces the encoding of hole in b with raw.
func fill(b []byte, raw ...byte) []byte {
	enc, _ := cbor.Marshal(hole)
	if !bytes.Contains(b, enc) {
		panic("fill: no hole")
	}
	return bytes.Replace(b, enc, raw, 1)
}

func TestDecodeStateRefuses(t *testing.T) {
	valid := state(twoNodes, vector32, none, []any{reg}, []any{member}, none)
	if _, err := wire.DecodeState(valid); err != nil {
		t.Fatalf("the base of the table does not decode: %v", err)
	}
	ctx, _ := wire.EncodeContext(crdt.NewContext([]crdt.Dot{{Node: "a", Counter: 1}}, nil))
	tests := []struct {
		name  string
		input []byte
		want  error
		msg   string // a part of the message
	}{
		{"empty input", nil, wire.ErrMalformed, "envelope"},
		{"oversized", make([]byte, 64<<20+1), wire.ErrTooLarge, "67108865 bytes exceed the limit MaxMessageSize"},
		{"not an array", []byte{0x01}, wire.ErrMalformed, "want an array [tag, version, body], got the unsigned integer 1"},
		{"two-element envelope", item2(1, 1), wire.ErrMalformed, "an array of 2 elements"},
		{"tag not an integer", item3(bs("state"), 1, none), wire.ErrMalformed, "the tag must be an unsigned integer"},
		{"tag beyond 16 bits", item(70000, 1, none), wire.ErrMalformed, "below 65536"},
		{"no body", []byte{0x83, 0x01, 0x01}, wire.ErrMalformed, "no body"},
		{"unknown tag", item(99, 1, none), wire.ErrUnknownTag, "unknown message tag 99"},
		{"tag zero", item(0, 1, none), wire.ErrUnknownTag, "unknown type tag 0"},
		{"unsupported version", item(1, 3, none), wire.ErrUnsupportedVersion, "state format version 3 is not supported: this build reads versions [1 2] (written by a newer build?)"},
		{"version zero", item(1, 0, none), wire.ErrUnsupportedVersion, "version 0"},
		{"a context", ctx, wire.ErrWrongTag, "got a context (tag 2) where a state (tag 1) was expected"},
		{"trailing bytes", append(bytes.Clone(valid), 0x00), wire.ErrMalformed, "extraneous data"},
		{"body not an array", item(1, 1, 7), wire.ErrMalformed, "want a non-empty array"},
		{"five lists", item(1, 1, []any{twoNodes, vector32, none, none, none}), wire.ErrMalformed, "different number of elements"},
		{"node table not an array", item(1, 1, []any{bs("a")}), wire.ErrMalformed, "node table must be an array"},
		{"text node id", state([]any{"a"}, []any{dot(0, 1)}, none, none, none, none), wire.ErrMalformed, "node id 0 must be a byte string, got a text string"},
		{"empty node id", state([]any{bs("")}, []any{dot(0, 1)}, none, none, none, none), wire.ErrMalformed, "node id 0 is empty"},
		{"unsorted node table", state([]any{bs("b"), bs("a")}, vector32, none, none, none, none), wire.ErrMalformed, "not sorted or not unique"},
		{"duplicate node", state([]any{bs("a"), bs("a")}, vector32, none, none, none, none), wire.ErrMalformed, "not sorted or not unique"},
		{"unused node", state(twoNodes, []any{dot(0, 1)}, none, none, none, none), wire.ErrMalformed, `entry 1 ("b") is not used`},
		{"node index out of range", state(twoNodes, []any{dot(0, 3), dot(2, 1)}, none, none, none, none), wire.ErrMalformed, "node index 2 out of range: the node table has 2 entries"},
		{"entry node index out of range", state(twoNodes, vector32, none, []any{[]any{dot(7, 1), ts(1), bs("v")}}, none, none), wire.ErrMalformed, "register entry 0: node index 7 out of range"},
		{"zero counter", state(twoNodes, []any{dot(0, 0), dot(1, 1)}, none, none, none, none), wire.ErrMalformed, "counter 0"},
		{"negative counter", state(twoNodes, []any{dot(0, -1), dot(1, 1)}, none, none, none, none), wire.ErrMalformed, "cannot unmarshal negative integer"},
		{"vector unsorted", state(twoNodes, []any{dot(1, 2), dot(0, 3)}, none, none, none, none), wire.ErrMalformed, "vector not sorted"},
		{"cloud next to the vector", state(twoNodes, vector32, []any{dot(0, 4)}, none, none, none), wire.ErrMalformed, "cloud dot a:4 is covered by, or next to, the vector"},
		{"cloud unsorted", state(twoNodes, vector32, []any{dot(0, 9), dot(0, 7)}, none, none, none), wire.ErrMalformed, "cloud not sorted"},
		{"dot not in the context", state(twoNodes, vector32, none, []any{[]any{dot(0, 4), ts(1), bs("v")}}, none, none), wire.ErrMalformed, "register dot a:4 is not in the context"},
		{"dot twice across kinds", state(twoNodes, vector32, none, []any{reg}, []any{[]any{bs("x"), dot(0, 3), ts(1)}}, none), wire.ErrMalformed, "dot a:3 appears twice"},
		{"registers unsorted", state(twoNodes, vector32, none, []any{reg, []any{dot(0, 2), ts(1), bs("w")}}, none, none), wire.ErrMalformed, "register entries not sorted"},
		{"members unsorted", state(twoNodes, vector32, none, none, []any{member, []any{bs("w"), dot(0, 1), ts(1)}}, none), wire.ErrMalformed, "set entries not sorted"},
		{"shares duplicate", state(twoNodes, vector32, none, none, none, []any{share(0, 3), share(0, 3)}), wire.ErrMalformed, "counter entries not sorted"},
		{"logical beyond 32 bits", state(twoNodes, vector32, none, []any{[]any{dot(0, 3), []any{1, 1 << 32}, bs("v")}}, none, none), wire.ErrMalformed, "overflows"},
		{"truncated byte string", fill(state(twoNodes, vector32, none, []any{[]any{dot(0, 3), ts(1), hole}}, none, none), 0x5b, 0x40, 0, 0, 0, 0, 0, 0, 0), wire.ErrMalformed, "EOF"},
		{"indefinite-length array", fill(state(twoNodes, vector32, hole, none, none, none), 0x9f, 0xff), wire.ErrMalformed, "indefinite-length"},
		{"CBOR tag", fill(state(twoNodes, vector32, none, none, none, []any{hole}), 0xc2, 0x41, 0x01), wire.ErrMalformed, "tag"},
		{"deep nesting", state(twoNodes, vector32, none, []any{nest(40)}, none, none), wire.ErrTooLarge, "nesting deeper than MaxNestedLevels = 16"},
		{"2^31 elements claimed", fill(state(twoNodes, vector32, none, none, hole, none), 0x9a, 0x80, 0, 0, 0), wire.ErrTooLarge, "an array longer than MaxArrayElements = 1048576"},
		{"2^31 node ids claimed", fill(item(1, 1, []any{hole}), 0x9a, 0x80, 0, 0, 0), wire.ErrTooLarge, "2147483648 node ids exceed the limit MaxNodes = 4096"},
		{"long node id", state([]any{bytes.Repeat(bs("n"), 256)}, []any{dot(0, 1)}, none, none, none, none), wire.ErrTooLarge, "256 bytes in a node id exceed the limit MaxNodeIDLen = 255"},
		{"node id beyond the input", fill(item(1, 1, []any{hole}), 0x81, 0x58, 0x20, 0x61), wire.ErrMalformed, "node id 0: input ends inside it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := wire.DecodeState(tt.input)
			if err == nil {
				t.Fatalf("decoded %v, want an error matching %v", s, tt.want)
			}
			checkSentinel(t, err)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %q does not match %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}

func item2(a, b any) []byte { x, _ := cbor.Marshal([]any{a, b}); return x }

func item3(a, b, c any) []byte { x, _ := cbor.Marshal([]any{a, b, c}); return x }

func share(node, counter int) []any { return []any{dot(node, counter), ts(1), 5, 2} }

func TestDecodeContextRefuses(t *testing.T) {
	s, _ := wire.EncodeState(registerFixture())
	ctx := func(body ...any) []byte { return item(2, 1, body) }
	tests := []struct {
		name  string
		input []byte
		want  error
		msg   string
	}{
		{"a state", s, wire.ErrWrongTag, "got a state (tag 1) where a context (tag 2) was expected"},
		{"version 2", item(2, 2, none), wire.ErrUnsupportedVersion, "context format version 2"},
		{"state body", ctx(twoNodes, vector32, none, none, none, none), wire.ErrMalformed, "different number of elements"},
		{"node index out of range", ctx(twoNodes, []any{dot(0, 1), dot(5, 1)}, none), wire.ErrMalformed, "node index 5 out of range"},
		{"unused node", ctx(twoNodes, []any{dot(1, 1)}, none), wire.ErrMalformed, "is not used"},
		{"cloud covered", ctx(twoNodes, vector32, []any{dot(1, 1)}), wire.ErrMalformed, "cloud dot b:1 is covered"},
		{"zero cloud counter", ctx(twoNodes, vector32, []any{dot(1, 0)}), wire.ErrMalformed, "counter 0"},
		{"deep nesting", ctx(twoNodes, vector32, []any{nest(20)}), wire.ErrTooLarge, "MaxNestedLevels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := wire.DecodeContext(tt.input)
			if err == nil {
				t.Fatalf("decoded %v, want an error matching %v", c, tt.want)
			}
			checkSentinel(t, err)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q, want one matching %v and saying %q", err, tt.want, tt.msg)
			}
		})
	}
}
