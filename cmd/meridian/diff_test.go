package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/meridiankv/meridian/region/httpapi"
)

// diffNode is a fake node of region r1 that answers /v1/cluster with the
// given members (r2 known) and /v1/diff?region=r2 with d.
func diffNode(t *testing.T, self string, members func() []httpapi.Member, d httpapi.Diff, status int) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/cluster", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(httpapi.Cluster{Self: "a", Region: "r1", Replicas: 3, Members: members(),
			Regions: []httpapi.Region{{Name: "r2", Link: httpapi.LinkUp}}})
	})
	mux.HandleFunc("GET /v1/diff", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("region") != "r2" {
			t.Errorf("diff asked for region %q", r.URL.Query().Get("region"))
		}
		if status != http.StatusOK {
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "region r2 is cut off from this one", "code": "unavailable", "applied": "no"})
			return
		}
		_ = json.NewEncoder(w).Encode(d)
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// TestDiff: meridian diff asks every node of region A and unions what they
// list, with a summary line; --json gives the lists; a node that cannot
// compare makes the comparison incomplete and the command fail.
func TestDiff(t *testing.T) {
	var addrs []string
	members := func() []httpapi.Member {
		var out []httpapi.Member
		for i, a := range addrs {
			out = append(out, httpapi.Member{ID: []httpapi.Member{{ID: "a"}, {ID: "b"}, {ID: "c"}}[i].ID, Region: "r1", HTTPAddr: a})
		}
		return out
	}
	a := diffNode(t, "a", members, httpapi.Diff{Node: "a", Region: "r1", Other: "r2", OnlyHere: []string{"k1"}, Differ: []string{"k3"}}, 200)
	b := diffNode(t, "b", members, httpapi.Diff{Node: "b", Region: "r1", Other: "r2", OnlyThere: []string{"k2"}}, 200)
	addrs = []string{strings.TrimPrefix(a.URL, "http://"), strings.TrimPrefix(b.URL, "http://")}

	out, _, err := invoke([]string{"--addr", a.URL, "diff", "r1", "r2"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"only in r1\t\"k1\"", "only in r2\t\"k2\"", "differ\t\"k3\"",
		"r1 vs r2: 3 keys differ (1 only in r1, 1 only in r2, 1 in both with different states); 2 nodes of r1 compared"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, _, err = invoke([]string{"--addr", a.URL, "diff", "--json", "r1", "r2"})
	var res struct {
		OnlyA  []string `json:"only_in_a"`
		OnlyB  []string `json:"only_in_b"`
		Differ []string `json:"differ"`
	}
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || len(res.OnlyA) != 1 || len(res.OnlyB) != 1 || len(res.Differ) != 1 {
		t.Fatalf("--json: %v %+v\n%s", err, res, out)
	}

	c := diffNode(t, "c", members, httpapi.Diff{}, http.StatusServiceUnavailable)
	addrs = append(addrs, strings.TrimPrefix(c.URL, "http://"))
	_, stderr, err := invoke([]string{"--addr", a.URL, "diff", "r1", "r2"})
	if err == nil || !strings.Contains(err.Error(), "incomplete") || !strings.Contains(stderr, "cut off") {
		t.Fatalf("a node that cannot compare: %v\n%s", err, stderr)
	}
	for _, bad := range [][]string{{"diff", "r1"}, {"diff", "r1", "r1"}, {"diff", "r1", "r9"}, {"diff", "zz", "r2"}} {
		if _, _, err := invoke(append([]string{"--addr", a.URL}, bad...)); err == nil {
			t.Errorf("meridian %v: no error", bad)
		}
	}
}
