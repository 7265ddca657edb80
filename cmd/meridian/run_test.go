package main

import (
	"bytes"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/meridiankv/meridian/region/httpapi"
	kvsync "github.com/meridiankv/meridian/sync"
)

// step is one invocation of meridian and what it must print.
type step struct {
	args    []string
	prepare func(f *fakeBackend) // runs before the invocation
	stdout  []string             // substrings of stdout, or regexps when they start with "re:"
	stderr  []string             // substrings of stderr
	err     []string             // substrings of the error; none for success
}

func TestRun(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"put, get, inspect siblings", []step{
			{args: []string{"put", "k", "v1"}, stdout: []string{"OK\n"}},
			{args: []string{"get", "k"}, stdout: []string{"v1\n"}},
			{args: []string{"get", "pair"}, prepare: func(f *fakeBackend) { f.conflict("pair", "from-a", "from-b") },
				stdout: []string{"from-b\n"}, stderr: []string{`"pair" holds 2 concurrent values`, "meridian inspect pair"}},
			{args: []string{"inspect", "pair"}, prepare: func(f *fakeBackend) { f.SetCut("c", true) }, stdout: []string{
				"type       register, 2 concurrent values",
				"causality  {a:1 b:1}",
				`re:\*\s+"from-b"\s+b:1\s+b\s+local\s+2025-01-02T03:04:06Z`, // the put of k took 03:04:05
				`re:\n\s+"from-a"\s+a:1\s+a\s+local\s+2025-01-02T03:04:06Z`,
				"winner: b:1 (timestamps tie: highest node id wins)",
				`re:a\s+no\s+register "from-a" \[a:1\]\s+\{a:1\}`,
				`re:b\s+no\s+register "from-b" \[b:1\]\s+\{b:1\}`,
				`re:c\s+-\s+no answer: ALL not reached`,
			}},
			{args: []string{"inspect", "--json", "pair"}, stdout: []string{`"reason": "timestamps tie: highest node id wins"`, `"dot": "a:1"`}},
		}},
		{"read-modify-write with the context", []step{
			{args: []string{"get", "--context-only", "k"}, prepare: func(f *fakeBackend) { f.conflict("k", "x", "y") },
				stdout: []string{"re:^[A-Za-z0-9_-]+\n$"}},
			{args: []string{"put", "k", "z", "--context", "FROM-PREVIOUS"}, stdout: []string{"OK"}},
			{args: []string{"get", "k"}, stdout: []string{"z\n"}},
		}},
		{"blind write leaves the unseen sibling", []step{
			{args: []string{"put", "k", "z"}, prepare: func(f *fakeBackend) { f.conflict("k", "x", "y") }, stdout: []string{"OK"}},
			{args: []string{"get", "k"}, stdout: []string{"z\n"}, stderr: []string{"2 concurrent values"}},
		}},
		{"counters and sets", []step{
			{args: []string{"incr", "n"}, stdout: []string{"1\n"}},
			{args: []string{"incr", "n", "-5"}, stdout: []string{"-4\n"}},
			{args: []string{"get", "--consistency", "one", "n"}, stdout: []string{"-4\n"}},
			{args: []string{"inspect", "n"}, stdout: []string{"SHARES (count -4)", `re:a\s+a:2\s+\+1\s+-5`}},
			{args: []string{"del", "n"}, stdout: []string{"deleted\n"}},
			{args: []string{"incr", "n", "3"}, stdout: []string{"3\n"}},
			{args: []string{"inspect", "n"}, stdout: []string{"SHARES (count 3)", `re:a\s+a:3\s+\+4\s+-5`, "RESETS", `re:\n\s+a\s+\+1\s+-5\n`}},
			{args: []string{"sadd", "s", "red", "green"}, stdout: []string{"added 2\n"}},
			{args: []string{"srem", "s", "red", "blue"}, stdout: []string{"removed 1\n"}},
			{args: []string{"smembers", "s"}, stdout: []string{"green\n"}},
			{args: []string{"del", "s"}, stdout: []string{"deleted\n"}},
			{args: []string{"del", "s"}, stdout: []string{"nothing to delete"}},
			{args: []string{"put", "--", "neg", "-value"}, stdout: []string{"OK"}},
			{args: []string{"get", "neg"}, stdout: []string{"-value\n"}},
		}},
		{"cluster and nodes", []step{
			{args: []string{"cluster"}, stdout: []string{"region eu, 3 replicas of each key, as node a sees it",
				`re:a \(self\)\s+alive\s+eu\s+33\.3%\s+0\s+127\.0\.0\.1:8080`, `re:c\s+dead\s+eu\s+33\.3%\s+12`}},
			{args: []string{"node", "leave"}, stdout: []string{"handed its data off and left"}},
			{args: []string{"node", "remove", "c"}, stdout: []string{"removed node c"}},
			{args: []string{"node", "remove", "zz"}, prepare: func(f *fakeBackend) { f.adminErr = httpapi.ErrUnknownNode },
				err: []string{"no such node", "not_found, HTTP 404"}},
			{args: []string{"node", "remove", "c"}, prepare: func(f *fakeBackend) { f.adminErr = errMinority },
				err: []string{"only 1 of 3 members are reachable from here", "--force", "rejected, HTTP 409"}},
		}},
		{"errors say what to do", []step{
			{args: []string{"incr", "k"}, prepare: func(f *fakeBackend) { f.conflict("k", "x", "y") },
				err: []string{"wrong_type, HTTP 409", "use the commands of the key's type"}},
			{args: []string{"get", "--consistency", "most", "k"}, err: []string{`unknown consistency level "most"`, "EACH_QUORUM"}},
			{args: []string{"get", "missing"}, err: []string{`key "missing" holds nothing`}},
			{args: []string{"get"}, err: []string{"get: missing arguments", "usage: meridian get KEY"}},
			{args: []string{"put", "k", "v", "w"}, err: []string{"too many arguments (3)", "usage: meridian put KEY VALUE"}},
			{args: []string{"incr", "n", "two"}, err: []string{"BY must be a whole number"}},
			{args: []string{"frob"}, err: []string{`unknown command "frob"`, "meridian help"}},
			{args: []string{"node"}, err: []string{"meridian node leave", "meridian node remove ID"}},
			{args: []string{"get", "--bogus", "k"}, err: []string{"flag provided but not defined: -bogus", "meridian help get"}},
			{args: []string{"put", "k", "v", "--context", "%%%"}, err: []string{"bad X-Meridian-Context header", "bad_request"}},
			{args: []string{"--addr", "http://127.0.0.1:1", "get", "k"}, err: []string{"cannot reach a node at http://127.0.0.1:1", "MERIDIAN_ADDR"}},
			{args: []string{"dev", "--nodes", "0", "--meridiand", "/nonexistent"}, err: []string{"meridiand binary"}},
			{args: []string{"gossip-key", "extra"}, err: []string{"gossip-key takes no argument", "meridian help gossip-key"}},
			{args: []string{"gossip-key"}, stdout: []string{"re:^[A-Za-z0-9+/]{43}=\n$"}},
			{args: []string{"gossip-key", "-h"}, stdout: []string{"add the new key as a second line"}},
		}},
		{"help", []step{
			{args: []string{"-h"}, stdout: []string{"Commands:", "inspect KEY", "node remove ID", "MERIDIAN_ADDR", "Examples:", "--context"}},
			{args: []string{"help"}, stdout: []string{"Commands:"}},
			{args: []string{"help", "put"}, stdout: []string{"meridian put [flags] KEY VALUE", "--context CTX", "Examples:"}},
			{args: []string{"help", "node", "remove"}, stdout: []string{"meridian node remove [flags] ID", "--force", "minority side of a"}},
			{args: []string{"inspect", "-h"}, stdout: []string{"meridian inspect [flags] KEY", "--json"}},
			{args: []string{}, err: []string{"no command given"}, stderr: []string{"Commands:"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, url := serve(t)
			var lastContext string
			for _, s := range tt.steps {
				if s.prepare != nil {
					s.prepare(f)
				}
				args := s.args
				if len(args) > 0 && args[0] != "-h" && args[0] != "help" && args[0] != "--addr" && args[0] != "dev" {
					args = append([]string{"--addr", url}, args...)
				}
				for i, a := range args {
					if a == "FROM-PREVIOUS" {
						args[i] = lastContext
					}
				}
				stdout, stderr, err := invoke(args)
				lastContext = strings.TrimSpace(stdout)
				check(t, s, args, stdout, stderr, err)
			}
		})
	}
}

func invoke(args []string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	err := run(args, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func check(t *testing.T, s step, args []string, stdout, stderr string, err error) {
	t.Helper()
	if (err != nil) != (len(s.err) > 0) {
		t.Fatalf("meridian %s: error %v, want errors mentioning %q\nstdout:\n%s", strings.Join(args, " "), err, s.err, stdout)
	}
	for _, w := range s.err {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("meridian %s: error %q does not mention %q", strings.Join(args, " "), err, w)
		}
	}
	for _, w := range s.stdout {
		if re, ok := strings.CutPrefix(w, "re:"); ok {
			if !regexp.MustCompile(re).MatchString(stdout) {
				t.Errorf("meridian %s: stdout does not match %s:\n%s", strings.Join(args, " "), re, stdout)
			}
		} else if !strings.Contains(stdout, w) {
			t.Errorf("meridian %s: stdout does not contain %q:\n%s", strings.Join(args, " "), w, stdout)
		}
	}
	for _, w := range s.stderr {
		if !strings.Contains(stderr, w) {
			t.Errorf("meridian %s: stderr does not contain %q:\n%s", strings.Join(args, " "), w, stderr)
		}
	}
}

func TestAddrFromEnvironment(t *testing.T) {
	_, url := serve(t)
	t.Setenv("MERIDIAN_ADDR", strings.TrimPrefix(url, "http://"))
	stdout, _, err := invoke([]string{"put", "k", "v"})
	if err != nil || stdout != "OK\n" {
		t.Fatalf("put with MERIDIAN_ADDR = %q, %v", stdout, err)
	}
	t.Setenv("MERIDIAN_ADDR", "http://127.0.0.1:1")
	_, _, err = invoke([]string{"--addr", url, "get", "k"})
	if err != nil {
		t.Errorf("--addr must win over MERIDIAN_ADDR: %v", err)
	}
}

// errMinority is what a node on the minority side of a partition answers a
// remove with (membership.MinorityError, wrapped by region).
var errMinority = &kvsync.RejectedError{Reason: "membership: only 1 of 3 members are reachable from here; a minority must not remove members: heal the partition, or force it with --force if the others are gone for good"}

func TestNodeRemoveForce(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		forced bool
	}{
		{"without", []string{"node", "remove", "c"}, false},
		{"--force before the id", []string{"node", "remove", "--force", "c"}, true},
		{"--force after the id", []string{"node", "remove", "c", "--force"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, url := serve(t)
			stdout, _, err := invoke(append([]string{"--addr", url}, tt.args...))
			if err != nil || !strings.Contains(stdout, "removed node c") {
				t.Fatalf("stdout %q, error %v", stdout, err)
			}
			if !reflect.DeepEqual(f.forced, []bool{tt.forced}) {
				t.Errorf("the node was asked to remove with force %v, want [%v]", f.forced, tt.forced)
			}
		})
	}
}
