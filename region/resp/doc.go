// Package resp is Meridian's Redis-protocol endpoint: a TCP server that
// speaks RESP2, so that redis-cli, redis-benchmark and Redis client
// libraries (go-redis v9 among them) can read and write Meridian's keys
// unchanged. Each command becomes one or more wire.Op handed to a Backend,
// the node behind the endpoint, which coordinates it with the replicas.
//
//	srv, err := resp.Listen(resp.DefaultConfig(), node)
//	if err != nil {
//		return err
//	}
//	defer srv.Close()
//	log.Printf("redis protocol on %s", srv.Addr())
//
// # Commands
//
// Keys and values:
//
//	GET key                    a register's value, a counter's decimal value
//	SET key value [NX|XX|IFEQ v|IFNE v] [PX ms|EX s]
//	                           replaces the key's value, whatever its kind;
//	                           conditions and expiry on strong keys only
//	DEL key [key ...]          how many of the keys held a value
//	DELEX key [IFEQ v|IFNE v]  1 if deleted, 0 if not (Redis 8.4)
//	DELIFEQ key value          1 if the key held value and was deleted (Valkey)
//	EXISTS key [key ...]       how many of the keys hold a value
//	MGET key [key ...]         null for a missing key or a set
//	MSET key value [...]
//	INCR, DECR key             the counter's new value
//	INCRBY, DECRBY key n
//	SADD, SREM key m [m ...]   how many members were added, removed
//	SMEMBERS key               sorted
//	SISMEMBER key m, SCARD key
//	TYPE key                   "string" (registers, counters), "set", "none"
//
// Connection and server: PING [msg], ECHO msg, QUIT, SELECT 0, INFO
// [section ...] (the server's "server", "clients", "memory" and "stats"
// sections and the Backend's), HELLO [2 [SETNAME name]], CLIENT SETNAME | GETNAME |
// SETINFO | ID | INFO, CONFIG GET (appendonly, save, maxclients, timeout,
// databases, proto-max-bulk-len), COMMAND [COUNT | DOCS | INFO | LIST].
//
// CONSISTENCY [READ|WRITE] <level> sets the consistency level of the
// connection's reads, writes or both, one of kvsync's levels (ONE, QUORUM,
// ALL, LOCAL_ONE, LOCAL_QUORUM, EACH_QUORUM, LOCAL_SERIAL, SERIAL) or
// DEFAULT (level 0: the Backend's default, and a strong key's own serial
// level); CONSISTENCY alone shows them as "read=LOCAL_QUORUM
// write=LOCAL_QUORUM". Every later op of the connection carries it in
// wire.Op.Level. The Backend refuses a serial level on an eventual key, and
// any other explicit level on a strong key.
//
// # Strong keys
//
// Keys the cluster declares strong (kvsync.Declaration) hold one value
// decided by consensus, so SET takes Redis's conditions (NX, XX, and IFEQ
// and IFNE of Redis 8.4) and expiries (PX, EX; EX is sent as PX), and
// DELEX and DELIFEQ delete conditionally. A condition that does not hold
// answers as Redis does: SET a null reply, DELEX and DELIFEQ 0. The
// endpoint does not know which keys are strong: it sends the conditions
// and expiries to the Backend, which refuses them on an eventual key
// ("ERR rejected: key "k" is eventual: conditions (NX) apply to strong
// keys only (declare its prefix strong with --strong)"). GET, MGET,
// EXISTS, TYPE, INCR and its kin, SADD, SREM, SMEMBERS, SISMEMBER, SCARD
// and DEL work on strong keys as on eventual ones, rendered from
// kvsync.Response.Strong. SET's GET, KEEPTTL, EXAT, PXAT, IFDEQ and IFDNE
// (and DELEX's IFDEQ, IFDNE) are refused, each with what to use instead.
// IFEQ and IFNE compare with a string value: a counter or a set never
// equals it (Redis answers WRONGTYPE there). Redis clients send no request
// ids, so a command retried after an unknown outcome is a new request.
//
// # What differs from Redis
//
//   - Values are CRDTs. Registers (SET) and counters (INCR) are both
//     "string" to TYPE and GET, but a counter is its own kind: INCR creates
//     one on a missing key, INCR on a key SET wrote is WRONGTYPE, and SET
//     replaces a counter or a set. Concurrent SETs from two regions are
//     both kept as siblings; GET returns the winner (latest hybrid
//     timestamp).
//   - Eventual keys have no expiries and no conditional writes: those need
//     a read and a write to be one atomic step, which replicas that accept
//     writes independently cannot promise. Only strong keys take them (see
//     above).
//   - Multi-key commands are not atomic: DEL, EXISTS, MGET and MSET issue one
//     op per key, 64 at a time concurrently, and on an error some keys may
//     have been written. DEL and MSET write a key named twice once (MSET
//     its last value).
//   - Errors that Redis does not have keep their text, prefixed "ERR ": a
//     write that may have been applied says so ("ERR QUORUM not reached: 1
//     of 2 replicas answered within 500ms; the write may have been
//     applied"), one that was not says that ("ERR rejected: value too
//     large ...").
//   - There are no transactions: replicas accept writes independently, so
//     nothing can apply a group of commands all or none. MULTI is refused
//     ("ERR MULTI is not supported by Meridian: it has no MULTI/EXEC
//     transactions; ..."), and so is every command after it until EXEC or
//     DISCARD, PING and HELLO included ("ERR command refused, not applied:
//     it follows a MULTI that Meridian refused ..."), since clients send
//     the commands of a transaction behind MULTI without waiting for its
//     reply (redis-py's default pipeline, go-redis's TxPipelined, ioredis's
//     multi): applying them would apply a transaction its client is told
//     failed. EXEC then answers "EXECABORT Transaction discarded because of
//     previous errors.", as Redis does for a transaction with a refused
//     command, and DISCARD "OK"; either ends the refusal. QUIT still closes
//     the connection; a MULTI inside gets "ERR MULTI calls can not be
//     nested"; EXEC and DISCARD without MULTI get "ERR EXEC without MULTI"
//     and "ERR DISCARD without MULTI". WATCH and UNWATCH are refused (no
//     optimistic transactions either) and leave the connection as it was.
//   - RESP3 is not spoken: HELLO 3 gets "NOPROTO unsupported protocol
//     version", on which clients fall back to RESP2. There are no users or
//     passwords (HELLO AUTH is refused, AUTH is unknown), no databases but
//     0, no pub/sub, no scripting, no RESET. HELLO and INFO report
//     redis_version 7.2.0, the release whose replies the endpoint mimics.
//
// # Pipelining
//
// A connection's requests are answered in order. The requests of a
// pipeline already read (up to Config.MaxPipeline) are split into groups of
// consecutive requests that go to the Backend and where none writes a key
// another reads or writes; a group's requests are issued concurrently.
// Connection commands (CONSISTENCY, CLIENT, MULTI, ...) run alone, so a
// pipeline behaves as if its requests ran one after another: a refused MULTI
// refuses the very next request, and the request right after the EXEC or
// DISCARD that ends the refusal runs. The replies of what
// was read are written together, in one write when they fit in 64 KiB.
// Issuing concurrently costs a goroutine per request: against a Backend
// that answers in microseconds, MaxPipeline 1 is faster; against one that
// waits for replicas, the default is many times faster.
//
// # Limits
//
// Requests are bounded before they are read into memory. The endpoint has
// its own RESP2 reader, rather than tidwall/redcon, whose reader grows its
// buffer to whatever length a client announces. A multibulk count above
// Config.MaxArgs, or a bulk length that would take the request beyond
// Config.MaxRequestSize bytes, is refused from its length prefix; so are a
// malformed request, a header line longer than 16 KiB, and an inline
// command (telnet style) longer than 16 KiB or MaxRequestSize. The client
// gets a Redis-shaped error ("ERR Protocol error: request larger than
// 2097152 bytes"), the connection's reading side is drained for up to a
// second so that the client reads that error rather than a reset, and the
// connection is closed.
//
// Replies are bounded too: a reply beyond Config.MaxReplySize is replaced
// by "ERR reply larger than N bytes" and the connection goes on; MGET stops
// reading once its reply is too large. Config.MaxConns bounds the open
// connections ("ERR max number of clients reached") and Config.IdleTimeout
// closes a silent one. A connection holds less than two MaxRequestSize of
// requests, a 16 KiB read buffer, the replies of one group of concurrent
// requests (each at most MaxReplySize) and, per multi-key command, at most
// 64 Backend responses.
//
// The Backend enforces the limits of the data: key and value sizes, the
// members of one SADD, and the per-request timeout.
package resp
