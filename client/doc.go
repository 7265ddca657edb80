// Package client is the Go client of Meridian's HTTP API: reads and writes
// of registers, sets and counters, the causal context that makes
// read-modify-write safe, the inspection of concurrent values, and cluster
// administration. It uses the standard library only.
//
// It does not pick a node, retry, or balance load: it talks to the one node
// at its base URL, and any node serves any key (RetryOf makes a retry of a
// write to a strong key safe). It does not interpret causal
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
// # Strong keys
//
// Keys the cluster declares strong (meridiand --strong) hold one value
// decided by consensus, with a version (Value.Strong, Value.Version,
// Value.Expires). Their writes take a condition, NX, XX, IfEq, IfNe or
// IfVersion (one at a time; ErrConditionFailed, with Error.Current, when
// it does not hold), and a Put takes WithTTL; DelIf releases a lock only
// if it is still yours (Example_lock). Their levels are LocalSerial and
// Serial, which a call need not name: a strong key uses its own.
//
// Every Incr, SAdd, SRem, Delete and conditional Put carries a request id
// (the HTTP header Idempotency-Key), made by the client unless given with
// WithRequestID. A strong key remembers the ids of its latest 16 writes
// with their answers, so a retry that reuses the id is answered as the
// first try was and applied at most once in all; RetryOf(err) reuses the
// id of the write that returned err:
//
//	n, err := c.Incr(ctx, "acct:42", 5)
//	if errors.Is(err, client.ErrUnknownOutcome) {
//		n, err = c.Incr(ctx, "acct:42", 5, client.RetryOf(err)) // applied once in all
//	}
//
// The client does not retry on its own. An eventual key keeps no ids: a
// retried Incr there may be applied twice. A strong key forgets an id once
// 16 later writes reached it; a retry after that is applied again.
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
//	Put             PUT    /v1/kv/{key}          (If-Match, If-None-Match, ?ifeq=, ?ifne=, ?px=)
//	Delete, DelIf   DELETE /v1/kv/{key}
//	Incr            POST   /v1/counter/{key}?by=N
//	SAdd, SRem      POST   /v1/set/{key}/add, /v1/set/{key}/remove
//	Inspect         GET    /v1/inspect/{key}
//	Cluster         GET    /v1/cluster
//	Leave           POST   /v1/node/leave
//	Remove          POST   /v1/nodes/{id}/remove
package client
