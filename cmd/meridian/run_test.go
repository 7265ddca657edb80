package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

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

// TestStrongKeys runs the commands on the fake's strong keys (lock: and
// acct:): conditions, expiry, versions, request ids.
func TestStrongKeys(t *testing.T) {
	unknown := &kvsync.TimeoutError{Level: kvsync.LocalSerial, Got: 1, Need: 2, Timeout: time.Second, Write: true}
	steps := []step{
		{args: []string{"put", "--nx", "--px", "30000", "lock:a", "w1"}, stdout: []string{"OK\n"},
			stderr: []string{"strong key, version 1, expires 2025-01-02T03:04:35Z"}},
		{args: []string{"put", "lock:a", "w2", "--nx"},
			err: []string{`not written: the condition (--nx) did not hold: "lock:a" holds "w1" (version 1, expires 2025-01-02T03:04:35Z`}},
		{args: []string{"get", "lock:a", "--consistency", "LOCAL_SERIAL"}, stdout: []string{"w1\n"}, stderr: []string{"strong key, version 1"}},
		{args: []string{"get", "--json", "lock:a"}, stdout: []string{`"strong": true`, `"version": 1`, `"expires": "2025-01-02T03:04:35Z"`}},
		{args: []string{"get", "--consistency", "SERIAL", "lock:a"}, err: []string{"its operations use LOCAL_SERIAL, not SERIAL"}},
		{args: []string{"get", "--context-only", "lock:a"}, err: []string{`key "lock:a" is strong: it has no causal context`, "--if-version 1"}},
		{args: []string{"put", "--if-version", "1", "lock:a", "w2"}, stdout: []string{"OK\n"}, stderr: []string{"strong key, version 2\n"}},
		{args: []string{"put", "--if-version", "1", "lock:a", "w3"}, err: []string{`(--if-version) did not hold: "lock:a" holds "w2" (version 2)`}},
		{args: []string{"put", "--xx", "lock:b", "v"}, err: []string{`(--xx) did not hold: "lock:b" holds nothing (version 0)`}},
		{args: []string{"put", "--if-ne", "w2", "lock:a", "w3"}, err: []string{"(--if-ne) did not hold"}},
		{args: []string{"del", "--if-eq", "w1", "lock:a"}, err: []string{`not deleted: the condition (--if-eq) did not hold: "lock:a" holds "w2" (version 2)`}},
		{args: []string{"del", "lock:a", "--if-eq", "w2"}, stdout: []string{"deleted\n"}},
		{args: []string{"get", "lock:a"}, err: []string{`key "lock:a" holds nothing: it was never written, was deleted or lapsed (strong key, version 3)`}},
		{args: []string{"incr", "acct:n", "5"}, stdout: []string{"5\n"}},
		{args: []string{"incr", "acct:n", "-7"}, stdout: []string{"-2\n"}},
		{args: []string{"get", "acct:n"}, stdout: []string{"-2\n"}, stderr: []string{"strong key, version 2"}},
		{args: []string{"sadd", "acct:s", "b", "a"}, stdout: []string{"added 2\n"}},
		{args: []string{"srem", "acct:s", "b"}, stdout: []string{"removed 1\n"}},
		{args: []string{"smembers", "acct:s"}, stdout: []string{"a\n"}},
		{args: []string{"put", "--nx", "lock:c", "v"}, prepare: func(f *fakeBackend) { f.setLost(unknown) },
			err: []string{"unknown_outcome", "retry the same command with --request-id ", "at most once"}},
		{args: []string{"incr", "acct:r", "5", "--request-id", "fixed"},
			err: []string{"the write may have been applied", "--request-id fixed"}},
		{args: []string{"incr", "acct:r", "5", "--request-id", "fixed"}, prepare: func(f *fakeBackend) { f.setLost(nil) }, stdout: []string{"5\n"}},
		{args: []string{"get", "acct:r"}, stdout: []string{"5\n"}, stderr: []string{"version 1"}}, // applied once
		{args: []string{"incr", "acct:r", "5", "--request-id", "other"}, stdout: []string{"10\n"}},
		{args: []string{"put", "--nx", "k", "v"},
			err: []string{`key "k" is eventual: conditions (NX) apply to strong keys only (declare its prefix strong with --strong)`, "rejected, HTTP 400"}},
		{args: []string{"put", "--px", "100", "k", "v"}, err: []string{"expiry (PX) applies to strong keys only"}},
		{args: []string{"put", "--nx", "--xx", "lock:b", "v"}, err: []string{"put: --nx and --xx given together: give one condition"}},
		{args: []string{"del", "--if-eq", "a", "--if-version", "3", "lock:b"}, err: []string{"del: --if-eq and --if-version given together"}},
		{args: []string{"put", "--px", "0", "lock:b", "v"}, err: []string{"invalid value", "positive whole number of milliseconds"}},
		{args: []string{"put", "--if-version", "x", "lock:b", "v"}, err: []string{"invalid value", "want a version"}},
		{args: []string{"del", "--nx", "lock:b"}, err: []string{"flag provided but not defined: -nx"}},
		{args: []string{"incr", "acct:r", "--request-id", strings.Repeat("x", 65)}, err: []string{"Idempotency-Key of 65 bytes: the limit is 64"}},
		{args: []string{"inspect", "acct:r"}, err: []string{"is strong: it has no siblings to inspect"}},
	}
	f, url := serve(t)
	for _, s := range steps {
		if s.prepare != nil {
			s.prepare(f)
		}
		args := append([]string{"--addr", url}, s.args...)
		stdout, stderr, err := invoke(args)
		check(t, s, args, stdout, stderr, err)
	}
}

func TestStrongHelp(t *testing.T) {
	for _, s := range []step{
		{args: []string{"help", "put"}, stdout: []string{"--nx", "--xx", "--if-eq V", "--if-ne V", "--if-version N", "--px MS", "--request-id ID", "put --nx --px 30000 lock:report"}},
		{args: []string{"help", "del"}, stdout: []string{"--if-eq V", "--if-version N", "del --if-eq worker-1 lock:report"}},
		{args: []string{"help", "incr"}, stdout: []string{"--request-id ID", "at most once"}},
		{args: []string{"-h"}, stdout: []string{"LOCAL_SERIAL or SERIAL", "meridian put --nx --px 30000 lock:report worker-1"}},
		{args: []string{"dev", "-h"}, stdout: []string{"--strong DECL", "lock:=local:r1"}},
		{args: []string{"dev", "--strong", "lock:", "--meridiand", "/nonexistent"},
			err: []string{`prefix "lock:" is local to region "local", which the cluster does not have (its regions are r1 to r1)`, "lock:=local:r1"}},
		{args: []string{"dev", "--strong", "acct:=global", "--regions", "2", "--meridiand", "/nonexistent"},
			err: []string{`the global prefix "acct:" needs 3 regions, and the cluster has 2`}},
		{args: []string{"dev", "--strong", "a=b", "--meridiand", "/nonexistent"}, err: []string{`--strong "a=b"`, "neither local"}},
		{args: []string{"dev", "--strong", "lock:=local:r2", "--regions", "2", "--meridiand", "/nonexistent"}, err: []string{"meridiand binary"}}, // accepted
	} {
		stdout, stderr, err := invoke(s.args)
		check(t, s, s.args, stdout, stderr, err)
	}
}

// TestTimeoutNamesTheRequestID: a write the node did not answer in time
// may have been applied; the error names its request id for a retry.
func TestTimeoutNamesTheRequestID(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(srv.Close)
	_, _, err := invoke([]string{"--addr", srv.URL, "--timeout", "50ms", "incr", "acct:n", "--request-id", "r-42"})
	if err == nil || !strings.Contains(err.Error(), "did not answer in time, and the write may have been applied") ||
		!strings.Contains(err.Error(), "--request-id r-42") {
		t.Errorf("incr against a node that does not answer: %v; want the request id to retry with", err)
	}
}
