// Package transport carries frames between Meridian nodes, within a region
// and between regions: the one way bytes leave a node for another.
//
// A frame is an opaque byte string, already encoded by the wire package.
// The transport delivers frames one way, in order per peer, at most once
// and best effort: the node's event loop sends requests, replies and
// gossip as frames addressed to peers, and correlates replies by the ids
// inside them. Everything else (retries, timeouts, request ids, what a
// frame means) is the caller's.
//
//	h := func(from string, frame []byte) { events <- inbound{from, frame} }
//	t, err := transport.Listen(transport.Config{Addr: "127.0.1.2:7001", TLS: tlsConf}, h)
//	...
//	switch err := t.Send(peer, frame); {
//	case errors.Is(err, transport.ErrQueueFull):
//		// the peer is slow: drop, retry on the next tick, or shed load
//	case err != nil:
//		// closed, or frame over MaxFrameSize
//	}
//
// Two implementations satisfy Transport and one table of contract tests: QUIC,
// over quic-go with mutual TLS, and MemNetwork, an in-memory network with
// cuts and delays for tests and simulations.
//
// # What it does not do
//
// It does not retry, acknowledge, persist or reorder frames, and it does not
// know what they contain. A frame Send accepts can be lost when a
// connection fails; the frames that arrive from a peer are a subsequence, in
// order, of those it sent. It does not manage membership: peers are
// addresses, connected on first Send. It keeps no metrics registry; Stats
// returns plain counters for the region package to export.
//
// # Queues and back-pressure
//
// Each peer has a bounded queue (Config.QueueLen frames, QueueBytes bytes)
// drained by one sender goroutine. Send never waits for the network: it
// queues the frame or returns ErrQueueFull, and the caller decides. A bulk
// transfer (a handoff, a Merkle range) is a stream of frames of, say, 64 KiB
// to 1 MiB sent with SendWait from a goroutine of its own, which waits for
// room and so runs at the speed of the link and the receiver. Frames to one
// peer share one ordered stream, so a large frame delays the small ones
// queued behind it: keep bulk frames small enough that requests interleave.
//
// # Framing
//
// A QUIC transport opens one connection to each peer it sends to, reused
// for every frame, and one unidirectional stream on it. Each frame on the
// stream is a 4-byte big-endian length followed by that many bytes. One
// long-lived stream, not a stream per frame or per batch, because QUIC
// orders bytes within a stream but not across streams, and per-peer order is
// the contract. The sender writes through a 32 KiB buffer that it flushes
// when the queue runs empty, so that under load many small frames leave in
// one packet, and at low load each frame leaves at once. The reader checks
// each length against MaxFrameSize before allocating and closes the
// connection on a length over it. Frames from a peer arrive on the
// connection that peer dialled: connections carry frames one way, so two
// nodes that talk both ways have two connections, and neither has to break
// a tie when both dial at once.
//
// A connection that fails, or a write that makes no progress for
// WriteTimeout, closes the connection; the frames being written are lost and
// the next frame redials, after a backoff that doubles from BackoffMin to
// BackoffMax with each failure. A failed dial drops the frames queued so far
// rather than deliver them late. The UDP socket binds Config.Addr and both
// listens and dials, so a node's packets leave from its own IP (tests give
// each node an address of 127.0.0.0/8 and cut links with iptables rules on
// those addresses), and the from address of a frame is the sender's
// LocalAddr, to which the reply is sent. A node restarted on the same address
// sends stateless resets, keyed by its private key, to the connections of
// its previous run, so its peers redial at once.
//
// # TLS
//
// Every connection is mutual TLS 1.3 with ALPN "meridian/1": both ends
// present a certificate signed by the cluster CA and verify the other's.
// The dialler also checks that the certificate lists the IP it dialled, so a
// node certificate lists the node's IPs. NewCA, CA.Issue and MutualTLS create
// and load the material (ECDSA P-256, ten-year validity, PEM);
// CA.Write, LoadCA, CA.IssueFiles and LoadMutualTLS keep it in a cluster's
// directory as ca.crt, ca.key, <node>.crt and <node>.key.
//
// # Delay
//
// There is no netem on the test machines, so multi-region tests add WAN
// latency in the transport: Config.Delay returns a latency per destination
// address, and each frame is held that long after Send before it is written.
// With jitter a frame still never overtakes the one sent before it to the
// same address: it waits for it. The peer's sender goroutine holds the
// frames, so Send stays non-blocking and other peers are not held. The
// delay is one way: give both ends a delay for a round trip of twice it.
// MemNetwork.SetDelay does the same per link, both ways, on top of
// Config.Delay.
package transport
