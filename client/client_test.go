package client_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/meridiankv/meridian/client"
)

// TestRequests checks what each method sends and how it reads the answer.
func TestRequests(t *testing.T) {
	tests := []struct {
		name    string
		answer  string // the node's 200 answer
		call    func(ctx context.Context, c *client.Client) (any, error)
		method  string
		target  string
		context string
		body    string
		want    any
	}{
		{
			name:   "get escapes the key and decodes base64",
			answer: `{"key":"a/b","type":"register","value":"/wA=","encoding":"base64","siblings":1,"context":"CTX"}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.Get(ctx, "a/b", client.WithConsistency(client.One))
			},
			method: "GET", target: "/v1/kv/a%2Fb?consistency=ONE",
			want: &client.Value{Key: "a/b", Type: client.TypeRegister, Value: []byte{0xff, 0}, Siblings: 1, Context: "CTX"},
		},
		{
			name:   "put sends the context",
			answer: `{"key":"k","type":"register","value":"v","siblings":1,"context":"NEW"}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.Put(ctx, "k", []byte("v"), client.WithContext("OLD"))
			},
			method: "PUT", target: "/v1/kv/k", context: "OLD", body: "v",
			want: &client.Value{Key: "k", Type: client.TypeRegister, Value: []byte("v"), Siblings: 1, Context: "NEW"},
		},
		{
			name:   "delete",
			answer: `{"key":"k","deleted":true,"context":"C"}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.Delete(ctx, "k", client.WithContext("C0"), client.WithConsistency(client.All))
			},
			method: "DELETE", target: "/v1/kv/k?consistency=ALL", context: "C0", want: true,
		},
		{
			name:   "incr",
			answer: `{"key":"n","value":-4}`,
			call:   func(ctx context.Context, c *client.Client) (any, error) { return c.Incr(ctx, "n", -5) },
			method: "POST", target: "/v1/counter/n?by=-5", want: int64(-4),
		},
		{
			name:   "sadd",
			answer: `{"key":"s","added":2}`,
			call:   func(ctx context.Context, c *client.Client) (any, error) { return c.SAdd(ctx, "s", []string{"x", "y"}) },
			method: "POST", target: "/v1/set/s/add", body: `["x","y"]`, want: int64(2),
		},
		{
			name:   "srem",
			answer: `{"key":"s","removed":1}`,
			call:   func(ctx context.Context, c *client.Client) (any, error) { return c.SRem(ctx, "s", []string{"x"}) },
			method: "POST", target: "/v1/set/s/remove", body: `["x"]`, want: int64(1),
		},
		{
			name:   "smembers",
			answer: `{"key":"s","type":"set","members":["eA==","/w=="],"encoding":"base64","siblings":0,"context":"C"}`,
			call:   func(ctx context.Context, c *client.Client) (any, error) { return c.SMembers(ctx, "s") },
			method: "GET", target: "/v1/kv/s", want: []string{"x", "\xff"},
		},
		{
			name:   "cluster",
			answer: `{"self":"a","region":"eu","replicas":3,"members":[{"id":"a","region":"eu","state":"alive","http_addr":"h:1","ownership":0.5,"hints_pending":7}]}`,
			call:   func(ctx context.Context, c *client.Client) (any, error) { return c.Cluster(ctx) },
			method: "GET", target: "/v1/cluster",
			want: &client.Cluster{Self: "a", Region: "eu", Replicas: 3, Members: []client.Member{
				{ID: "a", Region: "eu", State: "alive", HTTPAddr: "h:1", Ownership: 0.5, HintsPending: 7},
			}},
		},
		{
			name: "cluster with regions",
			answer: `{"self":"a","region":"eu","replicas":3,"members":[],"regions":[
				{"name":"ap","link":"up","heard_ago_ms":120,"nodes":[{"id":"d","status":"active","health":"alive","resp_addr":"r:1","http_addr":"h:1","peer_addr":"p:1"}],
				 "replication":{"lag_ms":45,"pending":1,"pending_bytes":100,"shipped":1234,"shipped_bytes":5678,"resent":2,"dropped":3}},
				{"name":"us","link":"down","heard_ago_ms":null,"nodes":[],"replication":{"lag_ms":0,"pending":0,"pending_bytes":0,"shipped":0,"shipped_bytes":0,"resent":0,"dropped":0}}]}`,
			call:   func(ctx context.Context, c *client.Client) (any, error) { return c.Cluster(ctx) },
			method: "GET", target: "/v1/cluster",
			want: &client.Cluster{Self: "a", Region: "eu", Replicas: 3, Members: []client.Member{}, Regions: []client.Region{
				{Name: "ap", Link: client.LinkUp, HeardAgoMS: ptr(int64(120)),
					Nodes:       []client.RegionNode{{ID: "d", Status: "active", Health: "alive", RESPAddr: "r:1", HTTPAddr: "h:1", PeerAddr: "p:1"}},
					Replication: client.Replication{LagMS: 45, Pending: 1, PendingBytes: 100, Shipped: 1234, ShippedBytes: 5678, Resent: 2, Dropped: 3}},
				{Name: "us", Link: client.LinkDown, Nodes: []client.RegionNode{}},
			}},
		},
		{
			name:   "leave",
			answer: `{"node":"a","status":"left"}`,
			call:   func(ctx context.Context, c *client.Client) (any, error) { return nil, c.Leave(ctx) },
			method: "POST", target: "/v1/node/leave",
		},
		{
			name:   "remove escapes the id",
			answer: `{"node":"n 1","status":"removed"}`,
			call:   func(ctx context.Context, c *client.Client) (any, error) { return nil, c.Remove(ctx, "n 1") },
			method: "POST", target: "/v1/nodes/n%201/remove",
		},
		{
			name:   "remove with force",
			answer: `{"node":"n1","status":"removed"}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return nil, c.Remove(ctx, "n1", client.WithForce(), client.WithConsistency(client.All))
			},
			method: "POST", target: "/v1/nodes/n1/remove?force=true",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node, srv := newFakeNode(t)
			node.setAnswer(200, tt.answer)
			got, err := tt.call(t.Context(), client.New(srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			method, target, ctx, body := node.request()
			if method != tt.method || target != tt.target || ctx != tt.context || body != tt.body {
				t.Errorf("sent %s %s context %q body %q, want %s %s context %q body %q",
					method, target, ctx, body, tt.method, tt.target, tt.context, tt.body)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		sentinel error
		want     client.Error
		maybe    bool
	}{
		{"wrong type", 409, `{"error":"crdt: key holds a register, not a counter","code":"wrong_type","applied":"no"}`,
			client.ErrWrongType, client.Error{Status: 409, Code: "wrong_type", Applied: "no", Message: "crdt: key holds a register, not a counter", RequestID: "r1"}, false},
		{"unknown outcome", 504, `{"error":"QUORUM not reached","code":"unknown_outcome","applied":"maybe"}`,
			client.ErrUnknownOutcome, client.Error{Status: 504, Code: "unknown_outcome", Applied: "maybe", Message: "QUORUM not reached", RequestID: "r1"}, true},
		{"unavailable", 503, `{"error":"QUORUM unavailable","code":"unavailable","applied":"no"}`,
			client.ErrUnavailable, client.Error{Status: 503, Code: "unavailable", Applied: "no", Message: "QUORUM unavailable", RequestID: "r1"}, false},
		{"a proxy's page on a write", 502, `<html>bad gateway</html>`,
			nil, client.Error{Status: 502, Applied: "maybe", Message: "<html>bad gateway</html>", RequestID: "r1"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node, srv := newFakeNode(t)
			node.setAnswer(tt.status, tt.body)
			_, err := client.New(srv.URL).Incr(t.Context(), "k", 1, client.WithRequestID("r1"))
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T), want a *client.Error", err, err)
			}
			if *e != tt.want || e.MaybeApplied() != tt.maybe {
				t.Errorf("error = %+v (maybe applied %v), want %+v (%v)", *e, e.MaybeApplied(), tt.want, tt.maybe)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.sentinel)
			}
			if errors.Is(err, client.ErrInternal) {
				t.Errorf("errors.Is(%v, ErrInternal) = true", err)
			}
			if !strings.Contains(err.Error(), tt.want.Message) {
				t.Errorf("Error() = %q, want the node's message in it", err)
			}
		})
	}
}

func TestGetMissingKey(t *testing.T) {
	_, srv := newFakeNode(t)
	v, err := client.New(srv.URL).Get(t.Context(), "nope")
	if err != nil {
		t.Fatal(err)
	}
	if v.Exists() || v.Type != client.TypeNone || v.Context == "" {
		t.Errorf("Get of a missing key = %+v, want TypeNone with a context", v)
	}
}

func TestSMembersOfRegister(t *testing.T) {
	node, srv := newFakeNode(t)
	node.setAnswer(200, `{"key":"k","type":"register","value":"v","siblings":1,"context":"C"}`)
	_, err := client.New(srv.URL).SMembers(t.Context(), "k")
	if !errors.Is(err, client.ErrWrongType) {
		t.Errorf("SMembers of a register: %v, want ErrWrongType", err)
	}
}

func TestInspectDecodes(t *testing.T) {
	node, srv := newFakeNode(t)
	node.setAnswer(200, `{"key":"k","type":"register","context":"C","causality":"{a:1 b:1}",
		"siblings":[{"value":"/w==","encoding":"base64","dot":"b:1","node":"b","time":"2025-01-02T03:04:05.5Z","logical":2,"winner":true},
		            {"value":"x","dot":"a:1","node":"a","time":"2025-01-02T03:04:05Z","logical":0,"winner":false}],
		"winner":{"dot":"b:1","reason":"highest HLC timestamp"},
		"replicas":[{"node":"a","agrees":false,"state":{"type":"register","value":"x","siblings":["a:1"],"causality":"{a:1}"}},
		            {"node":"c","error":"timeout","agrees":false}]}`)
	in, err := client.New(srv.URL).Inspect(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	want := &client.Inspection{
		Key: "k", Type: client.TypeRegister, Context: "C", Causality: "{a:1 b:1}",
		Siblings: []client.Sibling{
			{Value: []byte{0xff}, Dot: "b:1", Node: "b", HLC: client.HLC{Time: time.Date(2025, 1, 2, 3, 4, 5, 5e8, time.UTC), Logical: 2}, Winner: true},
			{Value: []byte("x"), Dot: "a:1", Node: "a", HLC: client.HLC{Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}},
		},
		Winner: client.Winner{Dot: "b:1", Reason: "highest HLC timestamp"},
		Replicas: []client.Replica{
			{Node: "a", State: &client.ReplicaState{Type: client.TypeRegister, Value: []byte("x"), Siblings: []string{"a:1"}, Causality: "{a:1}"}},
			{Node: "c", Err: "timeout"},
		},
	}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("Inspect =\n%+v\nwant\n%+v", in, want)
	}
	if got := in.Siblings[0].HLC.String(); got != "2025-01-02T03:04:05.5Z+2" {
		t.Errorf("HLC.String() = %q", got)
	}
}

func TestNewAddsScheme(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8080":         "http://127.0.0.1:8080",
		"https://db.example/":    "https://db.example",
		"http://127.0.0.1:8080/": "http://127.0.0.1:8080",
	} {
		if got := client.New(in).BaseURL(); got != want {
			t.Errorf("New(%q).BaseURL() = %q, want %q", in, got, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestRegionDurations(t *testing.T) {
	tests := []struct {
		name  string
		r     client.Region
		heard time.Duration
		ok    bool
		lag   time.Duration
	}{
		{"never heard from", client.Region{Replication: client.Replication{LagMS: 12_000}}, 0, false, 12 * time.Second},
		{"heard", client.Region{HeardAgoMS: ptr(int64(120))}, 120 * time.Millisecond, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			heard, ok := tt.r.HeardAgo()
			if heard != tt.heard || ok != tt.ok || tt.r.Replication.Lag() != tt.lag {
				t.Errorf("HeardAgo() = %v, %v, Lag() = %v; want %v, %v, %v", heard, ok, tt.r.Replication.Lag(), tt.heard, tt.ok, tt.lag)
			}
		})
	}
}
