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
// Region r is named r<r> and its nodes r<r>n<i>. Node 1 of a region starts
// it and the others --join it; every node of region 2 and up also
// --wan-joins region 1's node 1 (its peer address), through which the
// regions find each other. Config.WANDelay and WANJitter make every node
// delay its messages to other regions, as a WAN would. Partition cuts one
// region off from the others with iptables DROP rules on the nodes'
// addresses, links within each region untouched, and Heal removes those
// rules; both need root.
//
// It is for development and tests on one machine; it is not a deployment
// tool.
package devcluster
