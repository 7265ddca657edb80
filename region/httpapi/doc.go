// Package httpapi is Meridian's HTTP/JSON endpoint: it turns requests into
// wire.Op values for a Backend (the region's node) and renders the CRDT
// states it answers with as JSON, so that concurrent writes, their origin
// and the reason one of them wins are visible to any HTTP client.
//
// It does not replicate, store or coordinate anything, and it knows nothing
// of membership beyond the Cluster snapshot the Backend reports. The Go
// client for this API is package client; the command line tool is
// cmd/meridian.
//
// # Usage
//
//	srv, err := httpapi.Listen(cfg, backend) // cfg from httpapi.DefaultConfig()
//	if err != nil {
//		return err
//	}
//	defer srv.Close()
//
// NewHandler returns the same routes as an http.Handler to mount elsewhere.
//
// # Routes
//
//	GET    /v1/kv/{key}               read: 200, or 404 when the key holds nothing
//	PUT    /v1/kv/{key}               write the body as a register value
//	DELETE /v1/kv/{key}               delete whatever the key holds
//	POST   /v1/counter/{key}?by=N     add N (default 1, may be negative): {"key","value"}
//	POST   /v1/set/{key}/add          body ["a","b"]: {"key","added": n}
//	POST   /v1/set/{key}/remove       body ["a"]: {"key","removed": n}
//	GET    /v1/inspect/{key}          every sibling, dot, HLC time, winner and why, per-replica states
//	GET    /v1/cluster                this region's members and the other regions (below)
//	POST   /v1/node/leave             this node hands its data off and leaves
//	POST   /v1/nodes/{id}/remove      remove a dead node for good; ?force=true even from a minority
//	GET    /healthz                   200 "ok"
//	GET    /metrics                   Config.Metrics, when set
//
// Every key route takes ?consistency=LEVEL (ONE, QUORUM, ALL, LOCAL_ONE,
// LOCAL_QUORUM, EACH_QUORUM, and for strong keys LOCAL_SERIAL and SERIAL;
// case-insensitive; default the node's, or a strong key's serial level). A
// key is one path segment: percent-encode a "/" in it as %2F.
//
// A read answers
//
//	{"key": "k", "type": "register"|"set"|"counter"|"none",
//	 "value": "...",       register: the winning value
//	 "encoding": "base64", present when value or members are not valid UTF-8
//	 "members": ["a"],     set, sorted
//	 "count": 3,           counter
//	 "siblings": 2,        register: how many concurrent values it holds
//	 "context": "..."}     the causal context, also in X-Meridian-Context
//
// and a PUT answers the same shape for the state it left at the node that
// coordinated it. A DELETE answers {"key", "deleted": bool, "context"}.
//
// # Strong keys
//
// Keys the cluster declares strong (kvsync.Declaration) hold one value
// decided by consensus and a version that counts its changes. Their
// answers have no context; instead
//
//	"strong": true,
//	"version": 7,          also the ETag header, "7"
//	"expires": "...Z"      a value written with ?px=: when it lapses (RFC 3339)
//
// and a register there holds one value ("siblings": 1). A DELETE answers
// {"key", "deleted", "strong", "version"}, and an increment and a set
// change answer their "version" too. A write to a strong key may carry:
//
//	If-Match: "7"          apply only at version 7 (the ETag a read returned)
//	If-Match: *            apply only if the key holds something (SET XX)
//	If-None-Match: *       apply only if it holds nothing (SET NX)
//	?ifeq=V, ?ifne=V       apply only if it holds (does not hold) the string V
//	?px=MS                 PUT: the value lapses after MS milliseconds
//	Idempotency-Key: ID    at most 64 bytes: the key remembers its latest 16
//	                       ids with their answers, and answers a retry of one
//	                       as it did, without applying it again
//
// One condition at a time. The node refuses a condition on the counter and
// set routes, and ?px= on any route but PUT. A condition that does not hold answers 412 with code
// "condition_failed", the key's "version", its "current" value and its
// ETag. A write answered from the request-id memory has no value to show:
// a PUT then answers {"key", "strong": true, "replayed": true}, an
// increment its value of then, without "version". Conditions, ?px= and the
// serial levels on an eventual key answer 400 "rejected", with a message
// naming --strong; eventual keys ignore Idempotency-Key.
//
// GET /v1/cluster answers the Cluster the Backend reports: this region's
// members, then every other region the node knows (an empty list in a
// cluster of one region), as this node sees them:
//
//	{"self": "a", "region": "eu", "replicas": 3,
//	 "members": [{"id": "a", "region": "eu", "state": "alive",
//	              "gossip_addr", "peer_addr", "resp_addr", "http_addr": "host:port",
//	              "ownership": 0.33, "hints_pending": 0}],
//	 "regions": [{"name": "us",
//	              "link": "up"|"down",   whether a node of it answered lately
//	              "heard_ago_ms": 120,   since one last answered; null for never
//	              "nodes": [{"id": "d", "status": "active", "health": "alive",
//	                         "resp_addr", "http_addr", "peer_addr": "host:port"}],
//	              "replication": {"lag_ms": 45, "pending": 0, "pending_bytes": 0,
//	                              "shipped": 1234, "shipped_bytes": 56789,
//	                              "resent": 0, "dropped": 0}}]}
//
// Members and each region's nodes are sorted by id, regions by name. A
// region's nodes carry their roster status (joining, active, leaving, left,
// removed) and their health as their own region's failure detector reports
// it (alive, suspect, dead). "replication" is this node's shipping to the
// region: the age of the oldest write it owes the region, how many writes
// and bytes it owes, how many the region took since this node started, the
// batches it sent again, and the writes it gave up on when the backlog
// outgrew its bound (anti-entropy repairs those).
//
// # Causal contexts
//
// The context is an opaque token (base64url, no padding, of
// wire.EncodeContext). A PUT or DELETE that sends back, in the
// X-Meridian-Context header, the context its writer read supersedes exactly
// what was read: siblings that were read collapse into the new value, and a
// write the reader had not seen survives as a sibling. A write without the
// header is a blind write: it supersedes whatever the coordinating replica
// has seen.
//
// # Errors
//
// Every error is JSON:
//
//	{"error": "text", "code": "...", "applied": "no"|"maybe"}
//
//	code             status  meaning
//	bad_request      400     malformed parameter, header or body (405 for a wrong method)
//	not_found        404     no such route or node
//	rejected         400     the node refused the request; 413 for a body over Config.MaxValueSize,
//	                         409 for a leave or remove the cluster's state forbids
//	condition_failed 412     a strong key's condition did not hold: nothing was applied
//	wrong_type       409     the key holds another kind of value
//	overflow         409     the counter would leave the int64 range
//	unavailable      503     too few replicas reachable: nothing was tried
//	timeout          504     a read did not get enough answers in time
//	unknown_outcome  504     a write did not get enough answers in time: it may have been applied
//	internal         500     anything else
//
// "applied" is "maybe" only when a write may have taken effect on some
// replica; it will then spread. The text of an error from the Backend is
// passed on intact.
package httpapi
