// Package meridian is the root of Meridian, a multi-region, multi-writer
// key-value store whose values are CRDTs. This package holds no code: it
// carries the repository-wide tests (the dependency ladder between our
// packages, the purity of the ones that must do no I/O). Start with the
// README, then the doc.go of each package:
//
//	crdt         values and causality: register, OR-set, counter, HLC
//	ring         consistent hashing with virtual nodes
//	wire         the CBOR format of every state, delta and message
//	storage      keys on disk (badger)
//	sync         replication state machines, free of I/O
//	region       one running node: transport, membership, endpoints
//	simulations  seeded whole-cluster simulations
//	cmd          meridiand (the server) and meridian (the CLI)
package meridian
