package wire_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ (only when adding a format version)")

// encode encodes a crdt.State, a crdt.Context, a frame or a consensus
// item.
func encode(v any) ([]byte, error) {
	switch v := v.(type) {
	case crdt.State:
		return wire.EncodeState(v)
	case crdt.Context:
		return wire.EncodeContext(v)
	case []wire.Message:
		return wire.EncodeFrame(v)
	case wire.Strong:
		return wire.EncodeStrong(v)
	case wire.Acceptor:
		return wire.EncodeAcceptor(v)
	case wire.Paxos:
		return wire.EncodePaxos(v)
	}
	return nil, fmt.Errorf("no encoder for %T", v)
}

// decodeEqual decodes data as the type of want and reports whether the
// result equals want.
func decodeEqual(data []byte, want any) (any, bool, error) {
	switch want := want.(type) {
	case crdt.State:
		got, err := wire.DecodeState(data)
		return got, err == nil && got.Equal(want), err
	case crdt.Context:
		got, err := wire.DecodeContext(data)
		return got, err == nil && got.Equal(want), err
	case []wire.Message:
		got, err := wire.DecodeFrame(data)
		return got, err == nil && messagesEqual(got, want), err
	case wire.Strong:
		got, err := wire.DecodeStrong(data)
		return got, err == nil && got.Equal(&want), err
	case wire.Acceptor:
		got, err := wire.DecodeAcceptor(data)
		return got, err == nil && acceptorsEqual(got, want), err
	case wire.Paxos:
		got, err := wire.DecodePaxos(data)
		return got, err == nil && paxosEqual(got, want), err
	}
	return nil, false, fmt.Errorf("no decoder for %T", want)
}

// diagMode renders byte strings that are valid UTF-8 as text.
var diagMode, _ = cbor.DiagOptions{ByteStringText: true, MaxNestedLevels: 64}.DiagMode()

// diag renders an item in CBOR diagnostic notation for failure messages.
func diag(data []byte) string {
	s, err := diagMode.Diagnose(data)
	if err != nil {
		return fmt.Sprintf("(not CBOR: %v) %x", err, data)
	}
	return s
}

func TestGoldenFiles(t *testing.T) {
	for _, g := range goldens() {
		t.Run(g.file, func(t *testing.T) {
			got, err := encode(g.value)
			if err != nil {
				t.Fatalf("encoding %v: %v", g.value, err)
			}
			path := filepath.Join("testdata", g.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGoldenFiles -update ./wire once, for a new version only)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: the encoding of %v changed.\nIf this fails you changed the format: add a version, do not edit one.\ngot  %s\nwant %s",
					path, g.value, diag(got), diag(want))
			}
			if v, ok, err := decodeEqual(want, g.value); !ok {
				t.Errorf("%s decodes to %v (err %v), want %v", path, v, err, g.value)
			}
		})
	}
}

// TestGoldenFilesAreDiverse guards the fixtures themselves: each exercises
// what its name says, so that the golden files cover the whole format.
func TestGoldenFilesAreDiverse(t *testing.T) {
	tests := []struct {
		name string
		s    crdt.State
		ok   bool
	}{
		{"register has 2 siblings", registerFixture(), len(registerFixture().Siblings()) == 2},
		{"set has an element with 2 dots", setFixture(), len(setFixture().MemberDots()) > setFixture().Card()},
		{"set holds the empty element", setFixture(), setFixture().IsMember("")},
		{"counter has 3 shares", counterFixture(), len(counterFixture().Shares()) == 3},
		{"tombstone has a cloud and no entries", tombstoneFixture(), tombstoneFixture().IsEmpty() && len(tombstoneFixture().Context().Cloud()) == 1},
		{"mixed has a register and a set entry", mixedFixture(), len(mixedFixture().Siblings()) == 1 && mixedFixture().Card() == 1},
		{"v2 counter has live shares and resets", resetCounterFixture(), len(resetCounterFixture().Shares()) == 2 && len(resetCounterFixture().Resets()) == 2},
		{"v2 tombstone has resets and no entries", resetTombstoneFixture(), resetTombstoneFixture().IsEmpty() && len(resetTombstoneFixture().Resets()) == 3},
		{"v2 register has a sibling and a reset", resetRegisterFixture(), len(resetRegisterFixture().Siblings()) == 1 && len(resetRegisterFixture().Resets()) == 1},
	}
	for _, tt := range tests {
		if !tt.ok {
			t.Errorf("%s: false for %v", tt.name, tt.s)
		}
	}
	if v, err := counterFixture().Value(); err != nil || v != 10-3+1<<40-25 {
		t.Errorf("counter fixture value %d, %v", v, err)
	}
	if v, err := resetCounterFixture().Value(); err != nil || v != 5+1<<40 {
		t.Errorf("v2 counter fixture value %d, %v", v, err)
	}
	for _, f := range []crdt.State{registerFixture(), setFixture(), counterFixture(), tombstoneFixture(), mixedFixture()} {
		if len(f.Resets()) != 0 {
			t.Errorf("a version-1 fixture holds resets: %v", f)
		}
	}
}

// TestEncodersWriteTheOldestVersion: a state or frame without counter
// resets is written at version 1, byte for byte what a build that knows
// only version 1 writes (the golden files of version 1 check the bytes);
// one with resets at version 2.
func TestEncodersWriteTheOldestVersion(t *testing.T) {
	tests := []struct {
		name  string
		value any
		want  uint16
	}{
		{"state without resets", counterFixture(), 1},
		{"empty state", crdt.State{}, 1},
		{"state with resets", resetCounterFixture(), 2},
		{"tombstone with resets", resetTombstoneFixture(), 2},
		{"frame without resets", frameFixture(), 1},
		{"empty frame", []wire.Message(nil), 1},
		{"frame with one state with resets", append(frameFixture(), wire.Message{Type: wire.MsgWrite, State: resetRegisterFixture()}), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := encode(tt.value)
			if err != nil {
				t.Fatal(err)
			}
			if _, v, err := wire.Peek(b); err != nil || v != tt.want {
				t.Fatalf("version %d (%v), want %d", v, err, tt.want)
			}
			if _, ok, err := decodeEqual(b, tt.value); !ok {
				t.Fatalf("does not decode to what was encoded: %v", err)
			}
		})
	}
}

// TestV2FixturesAreReachable builds the version-2 fixtures, which are
// assembled from their parts, through the mutators: they are states a
// history can make.
func TestV2FixturesAreReachable(t *testing.T) {
	var x, y, z crdt.State
	y.Merge(must(x.Incr("x", 10, at(0, 0))))
	x.Merge(must(y.Incr("y", -3, at(1, 0))))
	x.Delete(nil)                            // x resets x at +10 and y at -3
	dy := must(y.Incr("y", 5, at(2, 0)))     // concurrently: y at +5 -3
	dz := must(z.Incr("z", 1<<40, at(3, 0))) // z, unaware of it all
	x.Merge(dy)
	x.Merge(dz)
	if want := resetCounterFixture(); !x.Equal(want) {
		t.Errorf("counter:\n got %v\nwant %v", x, want)
	}
	x.Delete(nil)
	if want := resetTombstoneFixture(); !x.Equal(want) {
		t.Errorf("tombstone:\n got %v\nwant %v", x, want)
	}
	var r crdt.State
	must(r.Incr("x", 10, at(0, 0)))
	r.Put("x", []byte("text"), at(1, 0), nil)
	if want := resetRegisterFixture(); !r.Equal(want) {
		t.Errorf("register:\n got %v\nwant %v", r, want)
	}
}
