package membership

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// TestDecodeRosterV1 decodes a roster written before Member.Incarnation
// existed, as the nodes of a region stored and gossiped it. If this fails
// you broke the format: nodes of the older version, and their stored
// rosters, must still decode.
func TestDecodeRosterV1(t *testing.T) {
	b, err := os.ReadFile("testdata/roster-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := DecodeRoster(bytes.TrimSpace(b))
	if err != nil {
		t.Fatal(err)
	}
	want := Roster{
		"n1": {ID: "n1", Region: "eu", Peer: "10.0.0.1:7000", Gossip: "10.0.0.1:7946", RESP: "10.0.0.1:6379", HTTP: "10.0.0.1:8080", VNodes: 256, Status: Active, Version: 3},
		"n2": {ID: "n2", Region: "eu", Peer: "10.0.0.2:7000", Gossip: "10.0.0.2:7946", RESP: "10.0.0.2:6379", HTTP: "10.0.0.2:8080", VNodes: 256, Status: Removed, Version: 9},
	}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("decoded %+v\nwant %+v", r, want)
	}
	if got := string(EncodeRoster(r)); got != string(bytes.TrimSpace(b)) {
		t.Errorf("an entry without an incarnation encodes as\n%s\nnot as it was written:\n%s", got, b)
	}
}

func TestDecodeRosterRefuses(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"not JSON", `{`, "decoding roster"},
		{"no id", `[{"status":1,"version":1}]`, "invalid"},
		{"no status", `[{"id":"a","version":1}]`, "invalid"},
		{"unknown status", `[{"id":"a","status":7,"version":1}]`, "invalid"},
		{"too large", "[" + strings.Repeat(" ", MaxRosterBytes) + "]", "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeRoster([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDecodeRosterKeepsTheNewerOfAnIDListedTwice(t *testing.T) {
	r, err := DecodeRoster([]byte(`[{"id":"a","status":2,"version":5},{"id":"a","status":1,"version":4}]`))
	if err != nil || r["a"].Version != 5 {
		t.Fatalf("%+v, %v", r, err)
	}
}

func genMember(ids []string) *rapid.Generator[Member] {
	return rapid.Custom(func(t *rapid.T) Member {
		return Member{
			ID:          rapid.SampledFrom(ids).Draw(t, "id"),
			Peer:        rapid.SampledFrom([]string{"", "a:1", "b:1"}).Draw(t, "peer"),
			Status:      Status(rapid.IntRange(int(Joining), int(Removed)).Draw(t, "status")),
			Incarnation: rapid.SampledFrom([]string{"", "i1", "i2"}).Draw(t, "incarnation"),
			Version:     rapid.Uint64Range(1, 4).Draw(t, "version"),
		}
	})
}

func genRoster() *rapid.Generator[Roster] {
	return rapid.Custom(func(t *rapid.T) Roster {
		r := Roster{}
		for _, m := range rapid.SliceOfN(genMember([]string{"a", "b", "c"}), 0, 6).Draw(t, "members") {
			r.Merge(Roster{m.ID: m})
		}
		return r
	})
}

// TestRosterMergeLaws: merge is commutative, associative and idempotent, so
// gossip converges whatever the order rosters arrive in.
func TestRosterMergeLaws(t *testing.T) {
	merged := func(rs ...Roster) Roster {
		out := Roster{}
		for _, r := range rs {
			out.Merge(r)
		}
		return out
	}
	rapid.Check(t, func(t *rapid.T) {
		a, b, c := genRoster().Draw(t, "a"), genRoster().Draw(t, "b"), genRoster().Draw(t, "c")
		if !reflect.DeepEqual(merged(a, b), merged(b, a)) {
			t.Fatalf("not commutative")
		}
		if !reflect.DeepEqual(merged(merged(a, b), c), merged(a, merged(b, c))) {
			t.Fatalf("not associative")
		}
		if !reflect.DeepEqual(merged(a, a), merged(a)) {
			t.Fatalf("not idempotent")
		}
	})
}

func FuzzDecodeRoster(f *testing.F) {
	if b, err := os.ReadFile("testdata/roster-v1.json"); err == nil {
		f.Add(b)
	}
	f.Add(EncodeRoster(Roster{"a": {ID: "a", Status: Joining, Incarnation: "i", Version: 1}}))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRoster(b)
		if err != nil {
			return
		}
		again, err := DecodeRoster(EncodeRoster(r))
		if err != nil {
			t.Fatalf("a decoded roster does not decode again: %v", err)
		}
		if !reflect.DeepEqual(r, again) {
			t.Fatalf("round trip changed the roster:\n%+v\n%+v", r, again)
		}
	})
}
