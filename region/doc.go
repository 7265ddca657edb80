// Package region runs one Meridian node: it composes the packages that hold
// the logic (sync's replication state machine, region/membership's roster
// decisions) with the ones that do I/O (storage on badger, the QUIC
// transport, memberlist gossip, the Redis-protocol and HTTP endpoints) and
// drives them from one goroutine.
//
// # The loop
//
// Start opens the data directory, joins the region's gossip pool and starts
// the loop (loop.go), the only goroutine that touches the state machine:
//
//	request (Do, the endpoints) ─┐
//	frame from a peer (transport) ├─> kvsync.Node.Submit / Step / Tick
//	tick of Config.Clock ─────────┤
//	gossip change, view tick ─────┴─> membership.Manager.Refresh -> SetView
//	then: Flush (one storage commit), send the frames, answer the clients
//
// Messages leave and clients are answered only after the commit that made
// them true: an acknowledgement never runs ahead of the disk.
//
// # Seams
//
// The logic reads time from Config.Clock (SystemClock by default), so a
// test can stop or move a node's clock. The transport has an in-memory
// twin (transport.MemNetwork), and the membership decisions sit behind
// membership.Gossip, which memberlist implements here (gossip.go) and
// membership.MemNetwork in memory. The package's tests start nodes over
// those twins with no client endpoint (start and its seams): a region in
// one process with no socket, on a clock the test moves
// (TestRegionOverInMemoryNetworks, TestRequestTimeoutsFollowTheNodesClock).
// The tests that exercise QUIC, memberlist and the endpoints themselves
// bind loopback addresses.
//
// # Files
//
//	config.go    Config, its defaults and Validate (the flags' names)
//	node.go      Start, Do, Close: opening and closing the parts
//	loop.go      the loop, group commit, frames to peers
//	view.go      membership refresh, the stored roster
//	gossip.go    memberlist behind membership.Gossip
//	store.go     storage.DB as a kvsync.Store, actor epochs in a meta value
//	cluster.go   what `meridian cluster` shows; join, leave, remove
//	endpoints.go the Redis-protocol and HTTP backends
//	metrics.go   Prometheus metrics
//	clock.go     Clock and SystemClock
//	placement.go the ring of a roster
//
// Subpackages: membership (the roster logic), transport (QUIC with mutual
// TLS, and its in-memory twin), resp and httpapi (the client endpoints),
// devcluster (local clusters of meridiand processes).
package region
