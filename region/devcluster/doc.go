// Package devcluster starts a local Meridian cluster as separate meridiand
// processes: what `meridian dev` and `make run` run, and what the tests that
// exercise real processes (kill -9, restarts, joins, leaves) build on.
//
// Node i of region r listens on its own loopback address 127.0.<base+r>.<i>
// with the default ports (Redis protocol 6379, HTTP 8080, QUIC 7000, gossip
// 7946), for its listeners and its outgoing connections alike, so that a
// test can cut one node off with firewall rules on its address. The cluster
// directory holds a certificate authority and one certificate per node
// (tls/), one data directory and one log file per node, and cluster.json:
// for each node its id, region, addresses, pid, data directory, log file and
// full command line, so that a script can kill a node and start it again.
//
// It is for development and tests on one machine; it is not a deployment
// tool.
package devcluster
