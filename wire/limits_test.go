package wire_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

func TestDefaultLimitsFitLargeValues(t *testing.T) {
	var reg crdt.State
	reg.Put("n1", bytes.Repeat([]byte{0xab}, 1<<20), at(0, 0), nil)
	var set crdt.State
	elems := make([]string, 100_000)
	for i := range elems {
		elems[i] = fmt.Sprintf("element-%06d", i)
	}
	must(set.Add("n1", at(0, 0), elems[:50_000]...))
	must(set.Add("n2", at(1, 0), elems[50_000:]...))
	for name, s := range map[string]crdt.State{"1 MiB register value": reg, "100,000-element set": set} {
		b, err := wire.EncodeState(s)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := wire.DecodeState(b)
		if err != nil || !got.Equal(s) {
			t.Fatalf("%s (%d bytes): decoded equal %v, error %v", name, len(b), got.Equal(s), err)
		}
		t.Logf("%s: %d bytes", name, len(b))
	}
}

func TestNewCodecValidatesLimits(t *testing.T) {
	_, err := wire.NewCodec(wire.Limits{MaxMessageSize: 10, MaxNestedLevels: 4, MaxNodes: -1})
	for _, field := range []string{"MaxMessageSize = 10", "MaxNestedLevels = 4", "MaxNodes = -1"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("NewCodec error %v does not report %s", err, field)
		}
	}
	c, err := wire.NewCodec(wire.Limits{MaxNodes: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := wire.DefaultLimits()
	want.MaxNodes = 2
	if c.Limits() != want {
		t.Fatalf("zero fields not filled with defaults: %+v", c.Limits())
	}
	if err := wire.DefaultLimits().Validate(); err != nil {
		t.Fatalf("the defaults are invalid: %v", err)
	}
}

// TestEncoderKeepsTheDecodersLimits: a Codec refuses to write what it would
// refuse to read.
func TestEncoderKeepsTheDecodersLimits(t *testing.T) {
	small, err := wire.NewCodec(wire.Limits{MaxMessageSize: 100, MaxArrayElements: 16, MaxNodes: 2, MaxNodeIDLen: 8})
	if err != nil {
		t.Fatal(err)
	}
	var threeNodes, longID, bigValue, manyMembers crdt.State
	for _, n := range []crdt.NodeID{"a", "b", "c"} {
		threeNodes.Merge(must(threeNodes.Incr(n, 1, at(0, 0))))
	}
	longID.Put("a-long-node-id", []byte("v"), at(0, 0), nil)
	bigValue.Put("a", make([]byte, 100), at(0, 0), nil)
	for i := range 17 {
		must(manyMembers.Add("a", at(0, 0), fmt.Sprint(i)))
	}
	tests := []struct {
		name  string
		s     crdt.State
		limit string
	}{
		{"three nodes", threeNodes, "MaxNodes"},
		{"long node id", longID, "MaxNodeIDLen"},
		{"101-byte item", bigValue, "MaxMessageSize"},
		{"17 members", manyMembers, "MaxArrayElements"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("prefix")
			out, err := small.AppendState(dst, tt.s)
			var tl *wire.TooLargeError
			if !errors.As(err, &tl) || tl.Name != tt.limit || !errors.Is(err, wire.ErrTooLarge) {
				t.Fatalf("want a *TooLargeError for %s, got %v", tt.limit, err)
			}
			if string(out) != "prefix" {
				t.Fatalf("AppendState changed dst on error: %q", out)
			}
			// The default codec writes it, and the small one refuses to read it.
			b, err := wire.EncodeState(tt.s)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := small.DecodeState(b); !errors.Is(err, wire.ErrTooLarge) {
				t.Fatalf("small codec decoded a state over its limits: %v", err)
			}
		})
	}
}

func TestEncodeRefusesInvalidDots(t *testing.T) {
	var s crdt.State
	s.Put("", []byte("written by a replica without an id"), at(0, 0), nil)
	if _, err := wire.EncodeState(s); !errors.Is(err, crdt.ErrInvalid) || !strings.HasPrefix(err.Error(), "wire: ") {
		t.Fatalf("want an error matching crdt.ErrInvalid, got %v", err)
	}
}

func TestOversizedInputIsRefusedFirst(t *testing.T) {
	c, _ := wire.NewCodec(wire.Limits{MaxMessageSize: 64})
	input := make([]byte, 65) // not even an envelope: the size is checked first
	for name, decode := range map[string]func([]byte) error{
		"state":     func(b []byte) error { _, err := c.DecodeState(b); return err },
		"context":   func(b []byte) error { _, err := c.DecodeContext(b); return err },
		"peek":      func(b []byte) error { _, _, err := c.Peek(b); return err },
		"unmarshal": func(b []byte) error { var v ping; return c.Unmarshal(b, wire.TagTestPing, &v) },
	} {
		var tl *wire.TooLargeError
		if err := decode(input); !errors.As(err, &tl) || tl.Size != 65 || tl.Limit != 64 || tl.Name != "MaxMessageSize" {
			t.Errorf("%s: want a *TooLargeError{65, 64}, got %v", name, err)
		}
	}
}

// TestHugeHeadersFailFast: a tiny input whose header claims 2^31 elements
// is refused quickly and without allocating for them.
func TestHugeHeadersFailFast(t *testing.T) {
	inputs := map[string][]byte{
		"members":                       fill(state(twoNodes, vector32, none, none, hole, none), 0x9a, 0x80, 0, 0, 0),
		"nodes":                         fill(item(1, 1, []any{hole}), 0x9a, 0x80, 0, 0, 0),
		"value":                         fill(state(twoNodes, vector32, none, []any{[]any{dot(0, 3), ts(1), hole}}, none, none), 0x5a, 0x80, 0, 0, 0),
		"context":                       fill(item(2, 1, []any{twoNodes, vector32, hole}), 0x9b, 0x80, 0, 0, 0, 0, 0, 0, 0),
		"resets":                        fill(state2(twoNodes, vector32, none, none, none, none, hole), 0x9a, 0x80, 0, 0, 0),
		"resets within the array limit": fill(state2(twoNodes, vector32, none, none, none, none, hole), 0x9a, 0x00, 0x0f, 0xff, 0xff),
	}
	for name, input := range inputs {
		decode := func() { _, _ = wire.DecodeState(input) }
		if strings.HasPrefix(name, "context") {
			decode = func() { _, _ = wire.DecodeContext(input) }
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		allocs := testing.AllocsPerRun(100, decode)
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		perRun := (after.TotalAlloc - before.TotalAlloc) / 101
		if allocs > 20 || perRun > 4096 || elapsed > time.Second {
			t.Errorf("%s: %v allocations, %d bytes, %v per 101 runs: the header was trusted", name, allocs, perRun, elapsed)
		}
		t.Logf("%s: %d bytes in, %v allocations, %d bytes allocated per run", name, len(input), allocs, perRun)
	}
}

// TestTruncatedInputIsRefused cuts every golden file at every length.
func TestTruncatedInputIsRefused(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.cbor"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for n := range len(data) {
			_, serr := wire.DecodeState(data[:n])
			_, cerr := wire.DecodeContext(data[:n])
			for _, err := range []error{serr, cerr} {
				if err == nil {
					t.Fatalf("%s cut to %d of %d bytes decoded", f, n, len(data))
				}
				checkSentinel(t, err)
			}
		}
	}
}
