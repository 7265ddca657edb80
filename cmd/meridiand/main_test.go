package main

import (
	"io"
	"strings"
	"testing"
)

// A bad flag value is refused before anything starts, with a message that
// names the flag.
func TestBadFlagsAreRefusedNamingTheFlag(t *testing.T) {
	base := []string{"--id", "n1", "--data", t.TempDir(), "--tls-dir", t.TempDir()}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--sync", "sometimes"}, "--sync"},
		{[]string{"--read-consistency", "MOST"}, "--read-consistency"},
		{[]string{"--write-consistency", "x"}, "--write-consistency"},
		{[]string{"--log-level", "loud"}, "--log-level"},
		{[]string{"--gc-percent", "0"}, "--gc-percent"},
		{[]string{"--gc-percent", "-5"}, "--gc-percent"},
		{[]string{"--replicas", "0"}, "--replicas"},
		{[]string{"--max-key-size", "0"}, "--max-key-size"},
		{[]string{"stray"}, `unexpected argument "stray"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, _, err := parseFlags(append(append([]string{}, base...), tt.args...), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseFlags(%v) = %v, want an error naming %s", tt.args, err, tt.want)
			}
		})
	}
	if _, o, err := parseFlags(base, io.Discard); err != nil || o.gcPercent != 200 {
		t.Fatalf("defaults: gc-percent %d, %v", o.gcPercent, err)
	}
	if _, _, err := parseFlags(append(base, "--gc-percent", "-1"), io.Discard); err != nil {
		t.Fatalf("--gc-percent -1 (collect only near the memory limit) refused: %v", err)
	}
}
