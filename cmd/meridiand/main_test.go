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
		{[]string{"--replicas", "0"}, "--replicas"},
		{[]string{"--max-key-size", "0"}, "--max-key-size"},
		{[]string{"--read-retry-after", "0s"}, "--read-retry-after"},
		{[]string{"stray"}, `unexpected argument "stray"`},
		{[]string{"--region", "eu/west"}, "--region"},
		{[]string{"--region", ""}, "--region"},
		{[]string{"--wan-join", "nowhere"}, "--wan-join"},
		{[]string{"--wan-delay", "-1s"}, "--wan-delay"},
		{[]string{"--wan-jitter", "2h"}, "--wan-jitter"},
		{[]string{"--max-outbox-bytes", "-1"}, "--max-outbox-bytes"},
		{[]string{"--region-anti-entropy-interval", "-1s"}, "--region-anti-entropy-interval"},
		{[]string{"--id", "a/b"}, "--id"},
		{[]string{"--strong", "lock:=sometimes"}, "--strong"},
		{[]string{"--strong", "a,ab"}, "overlap"},
		{[]string{"--strong", "=global"}, "empty"},
		{[]string{"--read-consistency", "SERIAL"}, "strong keys use their serial level"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, _, err := parseFlags(append(append([]string{}, base...), tt.args...), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseFlags(%v) = %v, want an error naming %s", tt.args, err, tt.want)
			}
		})
	}
	if _, _, err := parseFlags(base, io.Discard); err != nil {
		t.Fatalf("the defaults are refused: %v", err)
	}
	cfg, _, err := parseFlags(append(append([]string{}, base...), "--strong", "lock:=local:eu, acct:=global"), io.Discard)
	if err != nil || cfg.Strong.String() != "acct:=global,lock:=local:eu" {
		t.Fatalf("--strong: %v, %v", cfg.Strong, err)
	}
}
