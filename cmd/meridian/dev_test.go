package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meridiankv/meridian/region/devcluster"
)

// writeManifest writes a cluster.json of fake nodes (no process behind
// them), regions r1 .. r<regions> of two nodes on 127.0.<140+r>.<i>, and
// returns its directory.
func writeManifest(t *testing.T, regions int) string {
	t.Helper()
	dir := t.TempDir()
	var m struct {
		Nodes []devcluster.Node `json:"nodes"`
	}
	for r := 1; r <= regions; r++ {
		for i := 1; i <= 2; i++ {
			ip := fmt.Sprintf("127.0.%d.%d", 140+r, i)
			m.Nodes = append(m.Nodes, devcluster.Node{ID: fmt.Sprintf("r%dn%d", r, i), Region: fmt.Sprintf("r%d", r),
				IP: ip, RESP: ip + ":6379", HTTP: ip + ":8080"})
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cluster.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDevArguments checks what meridian dev and its partition and heal
// subcommands say about bad arguments, and their help. None of these steps
// starts a node or changes iptables: each fails before.
func TestDevArguments(t *testing.T) {
	three, one, empty := writeManifest(t, 3), writeManifest(t, 1), t.TempDir()
	steps := []struct {
		name string
		step
	}{
		{"bad --wan-delay", step{args: []string{"dev", "--wan-delay", "soon"},
			err: []string{`invalid value "soon" for flag -wan-delay`, "meridian help dev"}}},
		{"negative --wan-delay", step{args: []string{"dev", "--regions", "3", "--wan-delay", "-5ms", "--meridiand", "/nonexistent"},
			err: []string{"WAN delay -5ms", "must not be negative"}}},
		{"negative --wan-jitter", step{args: []string{"dev", "--wan-jitter", "-1s", "--meridiand", "/nonexistent"},
			err: []string{"jitter -1s", "must not be negative"}}},
		{"no region", step{args: []string{"dev", "--regions", "0", "--meridiand", "/nonexistent"},
			err: []string{"meridiand binary"}}}, // 0 means the default, 1
		{"negative regions", step{args: []string{"dev", "--regions", "-2", "--meridiand", "/nonexistent"},
			err: []string{"-2 regions: use 1 or more"}}},
		{"a stray argument", step{args: []string{"dev", "--nodes", "2", "partition", "r2"},
			err: []string{`unexpected argument "partition"`, "after --", "meridian dev partition REGION"}}},
		{"partition without a region", step{args: []string{"dev", "partition", "--dir", three},
			err: []string{"name one region to cut off, got 0 arguments", "usage: meridian dev partition REGION [--dir DIR]"}}},
		{"partition of two regions", step{args: []string{"dev", "partition", "r1", "r2", "--dir", three},
			err: []string{"got 2 arguments"}}},
		{"partition with a bad flag", step{args: []string{"dev", "partition", "r1", "--nodes", "3"},
			err: []string{"flag provided but not defined: -nodes", "usage: meridian dev partition"}}},
		{"partition without a cluster", step{args: []string{"dev", "partition", "r2", "--dir", empty},
			err: []string{"reading the cluster's nodes", "cluster.json", "is " + empty + " the --dir of a cluster that meridian dev started?"}}},
		{"partition of an unknown region", step{args: []string{"dev", "partition", "--dir", three, "eu"},
			err: []string{`no such region "eu"`, "the cluster's regions are r1, r2, r3"}}},
		{"partition of the only region", step{args: []string{"dev", "partition", "r1", "--dir", one},
			err: []string{"r1 is the cluster's only region", "--regions"}}},
		{"heal with an argument", step{args: []string{"dev", "heal", "r2"},
			err: []string{`takes no argument, got ["r2"]`, "usage: meridian dev heal"}}},
		{"heal with a bad flag", step{args: []string{"dev", "heal", "--force"},
			err: []string{"flag provided but not defined: -force"}}},
		{"dev -h", step{args: []string{"dev", "-h"},
			stdout: []string{"meridian dev [--nodes N] [--regions R] [--wan-delay D] [--wan-jitter J]", "-wan-delay D", "-wan-jitter J",
				"meridian dev partition REGION [--dir DIR]", "meridian dev heal", "meridian-dev-partition", "redis-cli -h 127.0.2.1 -p 6379"}}},
		{"help dev", step{args: []string{"help", "dev"}, stdout: []string{"meridian dev partition REGION", "-wan-delay D"}}},
		{"help dev partition", step{args: []string{"help", "dev", "partition"},
			stdout: []string{"meridian dev partition REGION [--dir DIR]", "both ways", "sudo"}}},
		{"dev heal -h", step{args: []string{"dev", "heal", "-h"}, stdout: []string{"meridian dev heal", "meridian-dev-partition"}}},
		{"help lists them", step{args: []string{"-h"}, stdout: []string{"dev partition REGION", "dev heal"}}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			stdout, stderr, err := invoke(s.args)
			check(t, s.step, s.args, stdout, stderr, err)
		})
	}
}

func TestDevPrintCluster(t *testing.T) {
	nodes := func(regions int) []devcluster.Node {
		b, err := os.ReadFile(filepath.Join(writeManifest(t, regions), "cluster.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m struct{ Nodes []devcluster.Node }
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m.Nodes
	}
	tests := []struct {
		name      string
		regions   int
		want, not []string
	}{
		{"three regions", 3, []string{
			"REGION r1: redis-cli -h 127.0.141.1 -p 6379, or meridian --addr http://127.0.141.1:8080 cluster",
			"REGION r2: redis-cli -h 127.0.142.1 -p 6379",
			"REGION r3: redis-cli -h 127.0.143.1 -p 6379",
			"redis-cli -h 127.0.141.1 -p 6379 SET greeting hello",
			"redis-cli -h 127.0.142.1 -p 6379 GET greeting   # region r2",
			"sudo meridian dev partition r2 --dir /d",
			"sudo meridian dev heal",
			"/d/cluster.json",
		}, nil},
		{"one region", 1, []string{
			"REGION r1: redis-cli -h 127.0.141.1 -p 6379",
			"redis-cli -h 127.0.141.2 -p 6379 GET greeting\n",
		}, []string{"partition", "REGION r2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			printCluster(&out, "/d", "meridian", nodes(tt.regions))
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output does not contain %q:\n%s", w, out.String())
				}
			}
			for _, w := range tt.not {
				if strings.Contains(out.String(), w) {
					t.Errorf("output contains %q:\n%s", w, out.String())
				}
			}
			// Each region's nodes come under its heading.
			if tt.regions == 3 {
				if i, j := strings.Index(out.String(), "r2n2"), strings.Index(out.String(), "REGION r3"); i < 0 || i > j {
					t.Errorf("r2n2 is not listed under region r2:\n%s", out.String())
				}
			}
		})
	}
}
