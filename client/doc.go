// Package client is the Go client of Meridian's HTTP API: reads and writes
// of registers, sets and counters, the causal context that makes
// read-modify-write safe, the inspection of concurrent values, and cluster
// administration. It uses the standard library only.
//
// It does not pick a node, retry, or balance load: it talks to the one node
// at its base URL, and any node serves any key. It does not interpret causal
// contexts either: a context is an opaque string to hand back.
//
// # Usage
//
//	c := client.New("http://127.0.0.1:8080")
//	v, err := c.Get(ctx, "greeting")
//	if err != nil {
//		return err
//	}
//	// Write back with the context read: the new value supersedes every
//	// concurrent value the read saw (v.Siblings of them).
//	_, err = c.Put(ctx, "greeting", []byte("hello"), client.WithContext(v.Context))
//
// A Put without WithContext is a blind write: it supersedes what the node
// that coordinates it has seen, and a write it has not seen survives as a
// sibling. Inspect shows every sibling, where it came from and why the one
// a reader sees wins.
//
// # Errors
//
// An error the node answered is an *Error carrying the HTTP status, the
// code and whether the operation may have been applied. Test the code with
// errors.Is against the sentinels (ErrWrongType, ErrUnavailable,
// ErrUnknownOutcome, ...) and the outcome with MaybeApplied:
//
//	if errors.Is(err, client.ErrUnknownOutcome) {
//		// the write may have been applied: read before retrying
//	}
//
// Errors reaching the node (connection refused, a canceled context) are
// returned wrapped, as net/http reports them.
//
// # Methods and routes
//
//	Get, SMembers   GET    /v1/kv/{key}
//	Put             PUT    /v1/kv/{key}
//	Delete          DELETE /v1/kv/{key}
//	Incr            POST   /v1/counter/{key}?by=N
//	SAdd, SRem      POST   /v1/set/{key}/add, /v1/set/{key}/remove
//	Inspect         GET    /v1/inspect/{key}
//	Cluster         GET    /v1/cluster
//	Leave           POST   /v1/node/leave
//	Remove          POST   /v1/nodes/{id}/remove
package client
