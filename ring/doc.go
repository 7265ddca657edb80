// Package ring decides which nodes hold a key: consistent hashing with
// virtual nodes (Karger, Lehman, Leighton, Levine, Lewin and Panigrahy,
// "Consistent Hashing and Random Trees: Distributed Caching Protocols for
// Relieving Hot Spots on the World Wide Web", STOC 1997) and multi-probe
// lookup (Appleton and O'Reilly, "Multi-Probe Consistent Hashing", 2015)
// to even out the nodes' shares.
//
//	r, err := ring.New(ring.Member{ID: "eu-1"}, ring.Member{ID: "eu-2"}, ring.Member{ID: "eu-3"})
//	owners := r.Owners(key, 3)          // primary first
//	grown, err := r.With(ring.Member{ID: "eu-4"})
//	gained := grown.Ranges("eu-4", 3)   // the key positions to stream to eu-4
//
// It is for placement only. It does not find out who the members are (the
// region package does, with memberlist), detect failures, know racks, zones
// or regions, move data, or balance load: it evens out the number of keys
// per node, not how hot they are. Everything here is pure: no I/O, no
// clock, no randomness, no goroutines. A Ring is immutable, so one value
// can serve every goroutine while a membership change builds the next.
//
// # Placement
//
// Each member places as many tokens on a ring of 2^64 positions as it has
// vnodes, the i-th at TokenHash(id, i), an xxHash of its ID and i. A key's
// position is KeyHash(key), the xxHash the storage layer orders keys by.
// Tokens that land on the same position are ordered by node ID; none is
// lost.
//
// A key is looked up at Probes positions (DefaultProbes, 8): its own
// position p, and p plus an offset for each further probe. The offsets
// depend only on the bucket of p, its top 16 bits, through the splitmix64
// finalizer. A member's distance to the key is the clockwise distance from
// a probe to one of its tokens, the shortest over all probes. The owners of
// the key, Owners(key, n), are the n members nearest to it, ties going to
// the lower node ID. With one probe this is classic consistent hashing: the
// first n distinct nodes clockwise from the key's position.
//
// Every node builds the same ring from the member list alone, in any
// order, with no coordinator: placement depends on nothing else, and
// TestPlacementIsStable pins it. All the nodes of a cluster must use the
// same Config.
//
// # Balance
//
// With one probe a node owns the gaps before its tokens, and those gaps
// vary: with 256 vnodes its share has a coefficient of variation of about
// 1/sqrt(256), so among ten nodes the busiest is typically 10% above the
// mean, and whether it stays under any bound depends on the node names.
// Adding probes fixes that: the far end of a long gap tends to be nearer to
// another probe's token, so long gaps no longer get more keys. Appleton and
// O'Reilly probe independent hashes of the key; that scatters the key
// positions a node owns over the whole ring, one by one, so no range of
// positions could be streamed when a node joins. Probes at fixed offsets
// from the key's position keep whole ranges but help little: each gap
// meets a single draw of rival tokens (with evenly spaced offsets the ring
// folds onto itself and nothing changes at all). Offsets drawn per bucket
// keep ranges and give each gap many
// independent draws of rivals (about 25 buckets per gap with ten nodes of
// 256 vnodes), which is what evens the shares.
//
// With the default Config, ten nodes and 200 sets of random names (UUIDs,
// host-N, ip:port, Kubernetes pod names), measured exactly over the key
// space, the busiest node is on average 3.0% above the mean and 6.7% at
// worst as primary, and 1.8% and 3.6% as one of three replicas; with one
// probe, 11% and 22%. The remaining spread has two sources of about equal
// size: token gaps (a relative deviation of about 1/sqrt(vnodes*(2*Probes-1)))
// and buckets (about sqrt(nodes/65536)). The second grows with the cluster:
// the busiest of 30 nodes is about 5% above the mean, of 100 about 7% (12%
// and 16% with one probe). Classic consistent hashing with 16 times the
// vnodes, Config{VNodes: 4096, Probes: 1}, balances about as well at ten
// nodes (2.3% on average, 5.2% at worst) and better in large clusters (4% at
// 100 nodes), for 16 times the tokens and memory but with faster lookups and
// far fewer ranges.
//
// A node's weight is its vnode count: a node with 512 vnodes owns about
// twice the keys of one with 256. A member's distance to a key depends on
// its own tokens alone, so a join inserts the joiner into each key's
// ranking of the members and a leave deletes the leaver: a join moves keys
// only to the joiner, a leave moves only the leaver's keys, and for every n
// the other owners keep their order. Changing a node's weight with With
// moves keys only to it or only away from it.
//
// # Cost
//
// T is the number of tokens, the sum of the vnodes. New, With and Without
// build a ring in O(T log T) time and about 16 bytes per token. Owners
// does Probes lookups, each O(1) on average through an index of the token
// positions, and walks a few tokens from each: on ten nodes 0.1 to 0.4 µs,
// four to six times a one-probe lookup, and AppendOwners allocates nothing.
// Ranges and Shares walk the 65,536 buckets, about 2*Probes lookups each:
// 10 to 40 ms, so compute them once per ring, not per request or tick. A
// node owns many small ranges: with ten nodes about 7,000 as primary and
// 14,000 as one of three owners, where one probe gives about one per token.
package ring
