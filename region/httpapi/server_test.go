package httpapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/region/httpapi"
	kvsync "github.com/meridiankv/meridian/sync"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *httpapi.Config)
		want []string // substrings of the error; none for a valid config
	}{
		{"default", func(*httpapi.Config) {}, nil},
		{"zero means defaults", func(c *httpapi.Config) { *c = httpapi.Config{} }, nil},
		{"every problem at once", func(c *httpapi.Config) {
			c.Addr, c.MaxValueSize, c.ReadTimeout = "8080", -1, -time.Second
		}, []string{"Config.Addr", "Config.MaxValueSize", "Config.ReadTimeout"}},
		{"request timeout must leave time to answer", func(c *httpapi.Config) {
			c.RequestTimeout, c.WriteTimeout = time.Minute, time.Second
		}, []string{"RequestTimeout (1m0s) must be shorter than Config.WriteTimeout (1s)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := httpapi.DefaultConfig()
			tt.edit(&c)
			err := c.Validate()
			if (err != nil) != (len(tt.want) > 0) {
				t.Fatalf("Validate() = %v, want errors mentioning %v", err, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

// TestListenClose: a Server serves on a real port, and Close ends every
// goroutine, including a request still waiting on the Backend.
func TestListenClose(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFake()
	cfg := httpapi.Config{Addr: "127.0.0.1:0", Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "meridian_up 1\n")
	})}
	srv, err := httpapi.Listen(cfg, f)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + srv.Addr()
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	for path, want := range map[string]string{"/healthz": "ok", "/metrics": "meridian_up 1\n"} {
		resp, err := hc.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != want {
			t.Errorf("GET %s = %d %q, want 200 %q", path, resp.StatusCode, body, want)
		}
	}

	f.mu.Lock()
	f.block, f.entered = true, make(chan struct{}, 1)
	f.mu.Unlock()
	done := make(chan error, 1)
	go func() {
		resp, err := hc.Get(base + "/v1/kv/k")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-f.entered // the request is waiting on the backend
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	<-done
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestMetricsAbsent(t *testing.T) {
	w := do(t, newHandler(t, newFake(), httpapi.Config{}), request{method: "GET", path: "/metrics"})
	if w.Code != 404 {
		t.Errorf("GET /metrics without Config.Metrics = %d, want 404", w.Code)
	}
}

func TestCluster(t *testing.T) {
	w := do(t, newHandler(t, newFake(), httpapi.Config{}), request{method: "GET", path: "/v1/cluster"})
	body := decode(t, w)
	checkFields(t, body, map[string]any{"self": "a", "region": "eu", "replicas": 3.0})
	members, _ := body["members"].([]any)
	var ids []string
	for _, m := range members {
		mm := m.(map[string]any)
		ids = append(ids, mm["id"].(string))
		checkFields(t, mm, map[string]any{"state": "alive", "http_addr": "127.0.0.1:8080", "gossip_addr": "",
			"peer_addr": "", "resp_addr": "", "hints_pending": 0.0, "region": "eu", "ownership": "*"})
	}
	if !reflect.DeepEqual(ids, []string{"a", "b", "c"}) {
		t.Errorf("members %v, want a, b, c sorted", ids)
	}
}

// withRegions gives f two other regions, out of order: us, whose link is
// down and which was never heard from, and ap, up and shipping.
func withRegions(f *fakeBackend) {
	heard := int64(120)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clusterOf.Regions = []httpapi.Region{
		{Name: "us", Link: httpapi.LinkDown, Nodes: nil,
			Replication: httpapi.Replication{LagMS: 12_000, Pending: 40, PendingBytes: 4096, Dropped: 3}},
		{Name: "ap", Link: httpapi.LinkUp, HeardAgoMS: &heard,
			Nodes: []httpapi.RegionNode{
				{ID: "f", Status: "active", Health: "suspect", RESPAddr: "10.0.2.6:6379", HTTPAddr: "10.0.2.6:8080", PeerAddr: "10.0.2.6:7946"},
				{ID: "d", Status: "active", Health: "alive", RESPAddr: "10.0.2.4:6379", HTTPAddr: "10.0.2.4:8080", PeerAddr: "10.0.2.4:7946"},
			},
			Replication: httpapi.Replication{LagMS: 45, Shipped: 1234, ShippedBytes: 56789, Resent: 2}},
	}
}

func TestClusterRegions(t *testing.T) {
	f := newFake()
	withRegions(f)
	body := decode(t, do(t, newHandler(t, f, httpapi.Config{}), request{method: "GET", path: "/v1/cluster"}))
	checkFields(t, body, map[string]any{"self": "a", "region": "eu", "replicas": 3.0})
	if members, _ := body["members"].([]any); len(members) != 3 {
		t.Errorf("members %v, want the 3 of eu as before", body["members"])
	}
	regions, _ := body["regions"].([]any)
	if len(regions) != 2 {
		t.Fatalf("regions = %#v, want ap and us", body["regions"])
	}
	tests := []struct {
		name   string
		region map[string]any
		want   map[string]any
		repl   map[string]any
		nodes  []map[string]any
	}{
		{
			name:   "up",
			region: regions[0].(map[string]any),
			want:   map[string]any{"name": "ap", "link": "up", "heard_ago_ms": 120.0},
			repl: map[string]any{"lag_ms": 45.0, "pending": 0.0, "pending_bytes": 0.0, "shipped": 1234.0,
				"shipped_bytes": 56789.0, "resent": 2.0, "dropped": 0.0},
			nodes: []map[string]any{ // sorted by id
				{"id": "d", "status": "active", "health": "alive", "resp_addr": "10.0.2.4:6379", "http_addr": "10.0.2.4:8080", "peer_addr": "10.0.2.4:7946"},
				{"id": "f", "status": "active", "health": "suspect", "resp_addr": "10.0.2.6:6379", "http_addr": "10.0.2.6:8080", "peer_addr": "10.0.2.6:7946"},
			},
		},
		{
			name:   "down, never heard from",
			region: regions[1].(map[string]any),
			want:   map[string]any{"name": "us", "link": "down", "heard_ago_ms": nil, "nodes": []any{}},
			repl: map[string]any{"lag_ms": 12000.0, "pending": 40.0, "pending_bytes": 4096.0, "shipped": 0.0,
				"shipped_bytes": 0.0, "resent": 0.0, "dropped": 3.0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFields(t, tt.region, tt.want)
			repl, _ := tt.region["replication"].(map[string]any)
			checkFields(t, repl, tt.repl)
			if len(repl) != len(tt.repl) {
				t.Errorf("replication = %v, want exactly the fields %v", repl, tt.repl)
			}
			nodes, _ := tt.region["nodes"].([]any)
			if len(nodes) != len(tt.nodes) {
				t.Fatalf("nodes = %v, want %d", nodes, len(tt.nodes))
			}
			for i, n := range nodes {
				checkFields(t, n.(map[string]any), tt.nodes[i])
			}
		})
	}
	if got := f.Cluster().Regions[0].Name; got != "us" {
		t.Errorf("the backend's regions were reordered in place: first is %q, want us", got)
	}
}

func TestClusterOneRegion(t *testing.T) {
	body := decode(t, do(t, newHandler(t, newFake(), httpapi.Config{}), request{method: "GET", path: "/v1/cluster"}))
	checkFields(t, body, map[string]any{"regions": []any{}})
}

func TestAdmin(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		req    request
		status int
		want   map[string]any
		forced []bool // the force each Remove was called with
	}{
		{"leave", nil, request{method: "POST", path: "/v1/node/leave"}, 200, map[string]any{"node": "a", "status": "left"}, nil},
		{"remove", nil, request{method: "POST", path: "/v1/nodes/c/remove"}, 200, map[string]any{"node": "c", "status": "removed"}, []bool{false}},
		{"remove forced", nil, request{method: "POST", path: "/v1/nodes/c/remove?force=true"}, 200, map[string]any{"node": "c", "status": "removed"}, []bool{true}},
		{"remove force=false", nil, request{method: "POST", path: "/v1/nodes/c/remove?force=false"}, 200, map[string]any{"status": "removed"}, []bool{false}},
		{"remove bad force", nil, request{method: "POST", path: "/v1/nodes/c/remove?force=yes"}, 400, map[string]any{"code": "bad_request", "applied": "no"}, nil},
		{"remove by a minority", &kvsync.RejectedError{Reason: "only 1 of 3 members are reachable from here"},
			request{method: "POST", path: "/v1/nodes/c/remove"}, 409, map[string]any{"code": "rejected", "applied": "no"}, []bool{false}},
		{"remove unknown", errors.Join(errors.New("region: no member zz"), httpapi.ErrUnknownNode),
			request{method: "POST", path: "/v1/nodes/zz/remove"}, 404, map[string]any{"code": "not_found", "applied": "no"}, []bool{false}},
		{"remove live node", &kvsync.RejectedError{Reason: "node c is alive: stop it first, or ask it to leave"},
			request{method: "POST", path: "/v1/nodes/c/remove"}, 409, map[string]any{"code": "rejected", "applied": "no"}, []bool{false}},
		{"leave without quorum", &kvsync.UnavailableError{Level: kvsync.Quorum, Alive: 1, Need: 2, Write: true},
			request{method: "POST", path: "/v1/node/leave"}, 503, map[string]any{"code": "unavailable"}, nil},
		{"leave cut short", context.DeadlineExceeded, request{method: "POST", path: "/v1/node/leave"}, 504,
			map[string]any{"code": "unknown_outcome", "applied": "maybe"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.adminErr = tt.err
			w := do(t, newHandler(t, f, httpapi.Config{}), tt.req)
			if w.Code != tt.status {
				t.Errorf("status = %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			checkFields(t, decode(t, w), tt.want)
			if tt.err == nil && tt.status == 200 && strings.HasPrefix(tt.name, "remove") && !reflect.DeepEqual(f.removed, []crdt.NodeID{"c"}) {
				t.Errorf("removed %v, want [c]", f.removed)
			}
			if !reflect.DeepEqual(f.forced, tt.forced) {
				t.Errorf("Remove called with force %v, want %v", f.forced, tt.forced)
			}
		})
	}
}

// TestDiffEndpoint: GET /v1/diff?region=NAME answers the node's comparison
// with its lists; a region cut off is 503; no region is 400.
func TestDiffEndpoint(t *testing.T) {
	h := newHandler(t, newFake(), httpapi.Config{})
	body := decode(t, do(t, h, request{method: "GET", path: "/v1/diff?region=us"}))
	checkFields(t, body, map[string]any{"node": "a", "region": "eu", "other": "us"})
	for field, want := range map[string]string{"only_here": "k1", "only_there": "k2", "differ": "k3", "peers": "us/x"} {
		if l, _ := body[field].([]any); len(l) != 1 || l[0] != want {
			t.Errorf("%s = %v, want [%s]", field, body[field], want)
		}
	}
	if w := do(t, h, request{method: "GET", path: "/v1/diff?region=cut"}); w.Code != 503 || !strings.Contains(w.Body.String(), "region cut is cut off") {
		t.Errorf("a region cut off: %d %s", w.Code, w.Body)
	}
	if w := do(t, h, request{method: "GET", path: "/v1/diff"}); w.Code != 400 || !strings.Contains(w.Body.String(), "region") {
		t.Errorf("no region: %d %s", w.Code, w.Body)
	}
}
