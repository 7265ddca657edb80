package wire

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRegistry checks the registry's rules: tags in their ranges, versions
// from 1 ascending, names unique, and a golden file for every tag and
// version, so that no format ships untested.
func TestRegistry(t *testing.T) {
	names := map[string]Tag{}
	for tag, f := range registry {
		if strings.HasPrefix(f.name, "test-") {
			continue
		}
		if tag == 0 || tag > MaxMessageTag {
			t.Errorf("tag %d (%s) is outside the assigned ranges 1..%d", tag, f.name, MaxMessageTag)
		}
		if other, dup := names[f.name]; dup {
			t.Errorf("tags %d and %d share the name %q", tag, other, f.name)
		}
		names[f.name] = tag
		if len(f.versions) == 0 || f.versions[0] == 0 || !slices.IsSorted(f.versions) || len(slices.Compact(slices.Clone(f.versions))) != len(f.versions) {
			t.Errorf("%s: versions %v must be unique, ascending and start at 1 or more", f.name, f.versions)
		}
		for _, v := range f.versions {
			pattern := filepath.Join("testdata", fmt.Sprintf("%s-v%d*.cbor", f.name, v))
			if files, _ := filepath.Glob(pattern); len(files) == 0 {
				t.Errorf("%s version %d has no golden file %s: add a fixture to goldens() in fixtures_test.go and run go test ./wire -run TestGoldenFiles -update", f.name, v, pattern)
			}
		}
	}
}

func TestTagRanges(t *testing.T) {
	tests := []struct {
		tag     Tag
		message bool
		name    string
	}{
		{0, false, "tag 0"},
		{TagState, false, "state"},
		{TagContext, false, "context"},
		{TagStrong, false, "strong"},
		{TagAcceptor, false, "acceptor"},
		{5, false, "tag 5"},
		{15, false, "tag 15"},
		{MinMessageTag, true, "frame"},
		{TagPaxos, true, "paxos"},
		{18, true, "tag 18"},
		{MaxMessageTag, true, "test-ping"},
		{256, false, "tag 256"},
	}
	for _, tt := range tests {
		if got := tt.tag.IsMessage(); got != tt.message {
			t.Errorf("Tag(%d).IsMessage() = %v, want %v", tt.tag, got, tt.message)
		}
		if got := tt.tag.String(); got != tt.name {
			t.Errorf("Tag(%d).String() = %q, want %q", tt.tag, got, tt.name)
		}
	}
}
