package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridiankv/meridian/client"
)

// TestStrongRequests checks what the options of strong keys send: the
// conditions as HTTP headers or query parameters, the expiry as px, and a
// request id on the writes a retry could apply twice.
func TestStrongRequests(t *testing.T) {
	const anyID = "<made>" // a request id the client made
	tests := []struct {
		name   string
		answer string
		call   func(ctx context.Context, c *client.Client) (any, error)
		target string
		header map[string]string // "" for a header that must be absent
		want   any
	}{
		{
			name:   "get at SERIAL with its version and expiry",
			answer: `{"key":"lock:a","type":"register","value":"w1","siblings":1,"strong":true,"version":7,"expires":"2025-01-02T03:04:06.5Z"}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.Get(ctx, "lock:a", client.WithConsistency(client.Serial), client.NX())
			},
			target: "/v1/kv/lock:a?consistency=SERIAL", header: map[string]string{"If-None-Match": "", client.IdempotencyKeyHeader: ""},
			want: &client.Value{Key: "lock:a", Type: client.TypeRegister, Value: []byte("w1"), Siblings: 1, Strong: true, Version: 7,
				Expires: time.Date(2025, 1, 2, 3, 4, 6, 5e8, time.UTC)},
		},
		{
			name:   "put NX with a TTL",
			answer: `{"key":"lock:a","type":"register","value":"w1","siblings":1,"strong":true,"version":1}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.Put(ctx, "lock:a", []byte("w1"), client.NX(), client.WithTTL(1500*time.Millisecond), client.WithConsistency(client.LocalSerial))
			},
			target: "/v1/kv/lock:a?consistency=LOCAL_SERIAL&px=1500", header: map[string]string{"If-None-Match": "*", client.IdempotencyKeyHeader: anyID},
			want: &client.Value{Key: "lock:a", Type: client.TypeRegister, Value: []byte("w1"), Siblings: 1, Strong: true, Version: 1},
		},
		{
			name:   "put XX, a TTL below a millisecond rounds up",
			answer: `{"key":"lock:a","type":"register","value":"v","siblings":1,"strong":true,"version":2}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				v, err := c.Put(ctx, "lock:a", []byte("v"), client.XX(), client.WithTTL(time.Nanosecond))
				return v.Version, err
			},
			target: "/v1/kv/lock:a?px=1", header: map[string]string{"If-Match": "*"}, want: uint64(2),
		},
		{
			name:   "put if version, with a request id given",
			answer: `{"key":"k","type":"register","value":"v","siblings":1,"strong":true,"version":8}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				v, err := c.Put(ctx, "k", []byte("v"), client.IfVersion(7), client.WithRequestID("mine"))
				return v.Version, err
			},
			target: "/v1/kv/k", header: map[string]string{"If-Match": `"7"`, client.IdempotencyKeyHeader: "mine"}, want: uint64(8),
		},
		{
			name:   "put if equal, escaped",
			answer: `{"key":"k","type":"register","value":"v","siblings":1,"strong":true,"version":3}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				_, err := c.Put(ctx, "k", []byte("v"), client.IfEq([]byte("a b&c")))
				return nil, err
			},
			target: "/v1/kv/k?ifeq=a+b%26c",
		},
		{
			name:   "put if not equal",
			answer: `{"key":"k","type":"register","value":"v","siblings":1,"strong":true,"version":3}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				_, err := c.Put(ctx, "k", []byte("v"), client.IfNe([]byte("x")))
				return nil, err
			},
			target: "/v1/kv/k?ifne=x",
		},
		{
			name:   "a plain put carries no request id",
			answer: `{"key":"k","type":"register","value":"v","siblings":1,"context":"C"}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				_, err := c.Put(ctx, "k", []byte("v"))
				return nil, err
			},
			target: "/v1/kv/k", header: map[string]string{client.IdempotencyKeyHeader: ""},
		},
		{
			name:   "incr carries a request id",
			answer: `{"key":"acct:n","value":5,"version":3}`,
			call:   func(ctx context.Context, c *client.Client) (any, error) { return c.Incr(ctx, "acct:n", 5) },
			target: "/v1/counter/acct:n?by=5", header: map[string]string{client.IdempotencyKeyHeader: anyID}, want: int64(5),
		},
		{
			name:   "sadd carries a request id",
			answer: `{"key":"acct:s","added":1,"version":1}`,
			call:   func(ctx context.Context, c *client.Client) (any, error) { return c.SAdd(ctx, "acct:s", []string{"x"}) },
			target: "/v1/set/acct:s/add", header: map[string]string{client.IdempotencyKeyHeader: anyID}, want: int64(1),
		},
		{
			name:   "delete if equal",
			answer: `{"key":"lock:a","deleted":true,"strong":true,"version":4}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.Delete(ctx, "lock:a", client.IfEq([]byte("w1")))
			},
			target: "/v1/kv/lock:a?ifeq=w1", header: map[string]string{client.IdempotencyKeyHeader: anyID}, want: true,
		},
		{
			name:   "DelIf",
			answer: `{"key":"lock:a","deleted":true,"strong":true,"version":4}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.DelIf(ctx, "lock:a", []byte("w1"))
			},
			target: "/v1/kv/lock:a?ifeq=w1", want: true,
		},
		{
			name:   "a write answered from the request-id memory",
			answer: `{"key":"lock:a","strong":true,"replayed":true,"siblings":0}`,
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.Put(ctx, "lock:a", []byte("w1"), client.NX(), client.WithRequestID("r1"))
			},
			target: "/v1/kv/lock:a",
			want:   &client.Value{Key: "lock:a", Type: client.TypeNone, Strong: true, Replayed: true},
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
			if _, target, _, _ := node.request(); target != tt.target {
				t.Errorf("sent %s, want %s", target, tt.target)
			}
			for name, want := range tt.header {
				got := node.header(name)
				switch {
				case want == anyID && len(got) != 22:
					t.Errorf("header %s = %q, want a request id the client made", name, got)
				case want != anyID && got != want:
					t.Errorf("header %s = %q, want %q", name, got, want)
				}
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestTwoConditionsAreRefused(t *testing.T) {
	node, srv := newFakeNode(t)
	_, err := client.New(srv.URL).Put(t.Context(), "k", []byte("v"), client.NX(), client.IfEq([]byte("x")))
	if err == nil || !strings.Contains(err.Error(), "conditions NX and IfEq given together") {
		t.Errorf("Put with NX and IfEq: %v, want a refusal", err)
	}
	if method, _, _, _ := node.request(); method != "" {
		t.Errorf("the refused Put reached the node: %s", method)
	}
}

func TestConditionFailed(t *testing.T) {
	node, srv := newFakeNode(t)
	node.setAnswer(412, `{"error":"sync: condition not met, nothing applied: key \"lock:a\": NX","code":"condition_failed","applied":"no","version":3,
		"current":{"key":"lock:a","type":"register","value":"w1","siblings":1,"strong":true,"version":3}}`)
	c := client.New(srv.URL)
	_, err := c.Put(t.Context(), "lock:a", []byte("w2"), client.NX())
	var e *client.Error
	if !errors.Is(err, client.ErrConditionFailed) || !errors.As(err, &e) {
		t.Fatalf("Put: %v, want ErrConditionFailed", err)
	}
	want := &client.Value{Key: "lock:a", Type: client.TypeRegister, Value: []byte("w1"), Siblings: 1, Strong: true, Version: 3}
	if !reflect.DeepEqual(e.Current, want) || e.MaybeApplied() || e.Status != 412 || e.RequestID == "" {
		t.Errorf("error %+v, current %+v; want the holder w1 at version 3, not applied, 412, with its request id", e, e.Current)
	}
	if deleted, err := c.DelIf(t.Context(), "lock:a", []byte("w2")); deleted || err != nil {
		t.Errorf("DelIf of another holder's value = %v, %v; want false, nil", deleted, err)
	}
}

// TestRetryOf: a retry after an unknown outcome, or after the connection
// failed, carries the request id of the first try.
func TestRetryOf(t *testing.T) {
	t.Run("unknown outcome", func(t *testing.T) {
		node, srv := newFakeNode(t)
		node.setAnswer(504, `{"error":"LOCAL_SERIAL not reached","code":"unknown_outcome","applied":"maybe"}`)
		c := client.New(srv.URL)
		_, err := c.Incr(t.Context(), "acct:n", 5)
		first := node.header(client.IdempotencyKeyHeader)
		if !errors.Is(err, client.ErrUnknownOutcome) || first == "" || client.RequestIDOf(err) != first {
			t.Fatalf("Incr: %v with id %q (sent %q); want an unknown outcome with the id sent", err, client.RequestIDOf(err), first)
		}
		node.setAnswer(200, `{"key":"acct:n","value":5}`)
		if n, err := c.Incr(t.Context(), "acct:n", 5, client.RetryOf(err)); err != nil || n != 5 {
			t.Fatalf("retry: %d, %v", n, err)
		}
		if again := node.header(client.IdempotencyKeyHeader); again != first {
			t.Errorf("the retry carried request id %q, want the first try's %q", again, first)
		}
		if _, err := c.Incr(t.Context(), "acct:n", 5, client.RetryOf(nil)); err != nil || node.header(client.IdempotencyKeyHeader) == first {
			t.Errorf("RetryOf(nil) must leave the new write its own id: %v", err)
		}
	})
	t.Run("connection lost", func(t *testing.T) {
		var mu sync.Mutex
		var sent []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			sent = append(sent, r.Header.Get(client.IdempotencyKeyHeader))
			n := len(sent)
			mu.Unlock()
			if n == 1 {
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close() // the request arrived; its answer is lost
				return
			}
			w.Write([]byte(`{"key":"acct:n","value":5}`))
		}))
		t.Cleanup(srv.Close)
		c := client.New(srv.URL)
		_, err := c.Incr(t.Context(), "acct:n", 5)
		if err == nil || client.RequestIDOf(err) == "" {
			t.Fatalf("Incr over a lost connection: %v, id %q; want an error with the request id", err, client.RequestIDOf(err))
		}
		if _, err := c.Incr(t.Context(), "acct:n", 5, client.RetryOf(err)); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(sent) != 2 || sent[0] != sent[1] || sent[0] == "" {
			t.Errorf("request ids sent %q, want the same twice", sent)
		}
	})
}
