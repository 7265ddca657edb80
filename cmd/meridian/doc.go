// Command meridian is the command line client of a Meridian key-value
// store: it reads and writes keys, shows concurrent values and why one of
// them wins, lists a region's members and the other regions, and asks
// nodes to leave or be removed. It talks to any node's HTTP API through
// package client.
//
// It runs no node itself (that is meridiand), except `meridian dev`, which
// starts a local development cluster (package region/devcluster), and
// `meridian dev partition` and `heal`, which cut one of its regions off from
// the others with iptables and restore the links.
//
// Usage:
//
//	meridian [--addr URL] [--consistency LEVEL] [--timeout D] COMMAND [ARGS]
//
// Commands:
//
//	get KEY               read a key: a register's value, a set's members, a counter
//	put KEY VALUE         write a register value (--context CTX: supersede what you read;
//	                      strong keys: --nx, --xx, --if-eq V, --if-ne V, --if-version N, --px MS)
//	del KEY               delete a key (--context CTX: delete only what you read;
//	                      strong keys: --if-eq V, --if-ne V, --if-version N)
//	incr KEY [BY]         add BY (default 1, may be negative) to a counter
//	sadd KEY MEMBER...    add members to a set
//	srem KEY MEMBER...    remove members from a set
//	smembers KEY          list a set's members
//	inspect KEY           every concurrent value, which wins and why, each replica's state
//	cluster               the region's members and the other regions
//	node leave            ask the node at --addr to hand its data off and leave
//	node remove ID        remove a dead node for good (--force: even from a minority)
//	dev                   run a local development cluster of R regions of N nodes
//	dev partition REGION  cut a dev cluster's region off from the others (root, iptables)
//	dev heal              undo every dev partition (root, iptables)
//	gossip-key            print a new gossip key for the nodes' key file
//	help [COMMAND]        help on a command, with examples
//
// --addr defaults to $MERIDIAN_ADDR, else http://127.0.0.1:8080. Flags may
// come before or after a command's arguments; "--" ends them, so that a
// value may start with "-".
package main
