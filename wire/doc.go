// Package wire is Meridian's byte format: the CBOR (RFC 8949) encoding of
// every state, delta and message that Meridian stores on disk and ships
// between nodes and regions.
//
// It converts between the crdt package's values and bytes and does nothing
// else: no I/O, no clock, no goroutines. It does not compress, frame a
// stream or authenticate; the transport and storage do that. The structs
// that define the format (stateV1, stateV2, messageV1, messageV2, ...) live
// here, so the memory
// layout of a value and its format change separately. The hot paths encode
// and decode them by hand (cbor_enc.go, cbor_valid.go, cbor_dec.go): the
// bytes are exactly what fxamacker/cbor writes for those structs, and the
// decoder accepts exactly what fxamacker/cbor accepts, which property and
// fuzz tests check against the reflective codec kept in the tests.
//
//	b, err := wire.EncodeState(s)   // storage writes b; replicas ship it
//	s, err := wire.DecodeState(b)   // refuses bad input, never panics
//
//	switch tag, _, err := wire.Peek(msg); {   // dispatch on incoming bytes
//	case err != nil:
//		return err
//	case tag == wire.TagState:
//		delta, err := wire.DecodeState(msg)
//		...
//	}
//
// # Determinism
//
// Anti-entropy hashes these bytes into Merkle trees, so encoding is
// deterministic: equal states (crdt.State.Equal) encode to identical bytes,
// whatever merges built them. Every list is written sorted, integers in
// their shortest form (core deterministic encoding, RFC 8949 section
// 4.2.1), and a nil slice like an empty one. Decoders check the structure,
// not the byte form: they refuse unsorted or duplicate entries but accept,
// say, an integer written longer than needed. Hash what EncodeState
// returns, not bytes received.
//
// # Envelope and registry
//
// Every encoded item is an envelope, a CBOR array of three elements:
//
//	[tag, version, body]
//
// The tag (a Tag) says what the body is and the version which revision of
// that type's format it follows; versions start at 1. Tags and versions are
// assigned in one registry (registry.go): 1 to 15 for values (TagState,
// TagContext, TagStrong, TagAcceptor), 16 to 255 for node-to-node messages (MinMessageTag to
// MaxMessageTag). A message type needs no plumbing of its own: a tag, a
// registry entry, a CBOR struct passed to Marshal and Unmarshal, and a golden
// file. Peek reads the tag and version without decoding the body. A
// message that carries a state or a context holds the bytes EncodeState or
// EncodeContext returned, an item nested in its body: crdt values have no
// exported fields, and Marshal refuses a body type that holds one.
//
// The versioning rule: a format change adds a version; never edit one. The
// golden files under testdata/, one per tag and version, fail the tests when
// an existing format changes by a single byte. A decoder reads every version
// the registry lists for its tag and refuses the others with a
// *VersionError; an unknown tag gets an *UnknownTagError. The encoders of
// states and frames write the oldest version that can represent their
// value, so that a value an older version can hold keeps its bytes (and its
// hash) and stays readable by builds that know only that version.
//
// # Format of states and contexts, version 1
//
// A state body is an array of six lists:
//
//	[nodes, vector, cloud, registers, members, shares]
//
//	nodes      [id, ...]                           byte strings, sorted, unique, non-empty
//	vector     [[node, max], ...]                  the version vector, sorted by node
//	cloud      [[node, counter], ...]              dots beyond a gap, sorted
//	registers  [[dot, time, value], ...]           sorted by dot
//	members    [[element, dot, time], ...]         sorted by element, then dot
//	shares     [[dot, time, inc, dec], ...]        sorted by dot
//
// A dot is [node, counter] and a time [wall, logical] (a crdt.Timestamp:
// nanoseconds since the epoch, a signed integer, and a 32-bit logical
// counter). Each node is an index into the node table, so a node ID is
// written once per state whatever the number of entries. Node IDs,
// register values and set elements are CBOR byte strings: values and
// elements are binary-safe, and node IDs are opaque names, not required to
// be UTF-8 (crdt.NodeID does not require it either). The node table holds
// exactly the nodes of the context; counters are at least 1; the cloud
// holds only dots the vector cannot absorb, as crdt.Context keeps it; an
// entry's dot is in the context and appears once (crdt.Assemble).
//
// A context body is the first three lists of a state: [nodes, vector, cloud].
// Deltas are states and use TagState.
//
// # Format of states, version 2
//
// A version-2 state body is version 1's six lists and a seventh, the
// counter's reset baselines (crdt.Reset: what deletes removed of each
// replica's share, see the crdt package):
//
//	[nodes, vector, cloud, registers, members, shares, resets]
//
//	resets     [[node, inc, dec], ...]             sorted by node, unique
//
// A reset names a node of the table, so there is at most one per node (at
// most MaxNodes), and it is not (0, 0) (crdt.Assemble). EncodeState writes
// version 1 for a state without resets, the same bytes a build that knows
// only version 1 writes, and version 2 for a state with resets; so equal
// states still encode to identical bytes. DecodeState reads both, and takes
// a version-2 body with an empty resets list, which the encoder never
// writes, for the state version 1 would hold.
//
// # Frames
//
// Nodes talk in frames (TagFrame, EncodeFrame, DecodeFrame): a batch of
// Messages, one flat struct per message in the style of etcd-raft's, whose
// Type says which fields matter. Each message is a CBOR map with small
// integer keys and empty fields left out, so that later versions can add
// fields. In a version-1 frame the states are version-1 bodies; in a
// version-2 frame they are version-2 bodies, an empty resets list for a
// state without any. A version-3 frame is a version-2 frame whose
// operations (Op) may hold five more fields, the condition and options of
// a write to a strong key:
//
//	8 Cond  9 Expect  10 TTL  11 ReqID  12 Version     (opV3)
//
// Frames of version 1 and 2 refuse those keys as unknown fields, and every
// version refuses an unknown Cond. EncodeFrame writes the oldest version
// that can represent the frame: 3 when an operation has one of those
// fields, else 2 when a state holds resets, else 1. Contexts are the
// version-1 body in all three. Frames hold
// crdt values, so they have their own codec rather than Marshal's. Inside a
// frame, a state's node table is checked against the limits after decoding;
// the frame's size bounds it until then.
//
// Message kinds are versioned apart from frames, by Protocol: protocol 2
// split MsgHint, MsgReplay, MsgHandoff and MsgRepair from MsgWrite, which
// protocol 1 used for all of them, and protocol 3 added the consensus kinds
// (MsgPrepare to MsgAccepted). A frame of any version holds any kind this
// build knows; a decoder of protocol 1 refuses a frame
// holding a later kind, so a node announces its protocol (memberlist node
// metadata) and is sent only the kinds it announced (Legacy maps them
// back); every build takes protocol 1's MsgWrite, with Target for a hint.
//
// # Consensus items
//
// The items of single-key consensus (paxos.go) are CBOR structs encoded by
// Marshal's encoder, each under a tag of its own: a strong key's value
// (TagStrong, EncodeStrong), what an acceptor keeps of it (TagAcceptor,
// EncodeAcceptor) and the body of the four consensus messages (TagPaxos,
// EncodePaxos, carried in Message.Blob). Their decoders refuse what the
// struct cannot hold, then unknown kinds and refusals, a value holding
// fields of another kind, unsorted or repeated set members and a remembered
// request without an id.
//
// # Hashes
//
// KeyHash (xxhash64 of a key) is a key's position: storage orders keys by it,
// anti-entropy segments by it, and the ring places by the same function.
// StateHash (xxhash64 of an encoding) names a stored state in the Merkle
// trees. Both come from github.com/cespare/xxhash/v2, the one dependency of
// wire besides the CBOR library.
//
// # Limits
//
// A Codec enforces Limits (DefaultLimits for the package-level functions)
// before it allocates: the input's size (MaxMessageSize, 64 MiB by default)
// before anything is read, the node table (MaxNodes, MaxNodeIDLen) before
// the body is decoded, nesting depth, array lengths and map sizes
// (MaxNestedLevels, MaxArrayElements, MaxMapPairs) while the CBOR is checked
// to be well formed, before it is decoded, and the messages of a frame
// (MaxFrameMessages) before the first is read. The encoder enforces the same
// limits, so a Codec never writes what it would refuse to read. Indefinite
// lengths, CBOR tags and duplicate map keys are refused.
//
// A decoder allocates by what it has read, never by what a header declares:
// the messages of a frame and the lists of a state or context (cloud,
// registers, members, shares) grow as their entries are read and
// found valid, each to at most twice what it has read (or 64 entries); the
// resets and the
// vector hold at most one entry per node of the table; and the lists of a
// message (Indexes, Hashes, Keys, Elems), whose every element is valid once
// the body is checked, are allocated at their count, which cannot exceed
// the bytes of those elements. A header declaring a million entries that
// are then refused costs a few kilobytes. Input that decodes costs at most,
// per byte (TestDecodersAllocateByWhatTheyRead measures each case):
//
//	about 176  a frame of the smallest messages ({1: type}, 3 bytes, for a
//	           264-byte Message), the frame's slice and those it outgrew;
//	           MaxFrameMessages bounds its Messages at about 35 MB
//	under 60   a state or context, mostly the crdt maps built from its
//	           entries: about 52 for a cloud of the smallest dots (4 bytes),
//	           51 for a set of small elements, 44 for registers
//	32         the keys of a MsgKeysReply (a 32-byte KeyDigest per null
//	           entry); 24 for the elements of an operation, 8 for Hashes, 4
//	           for Indexes
//	48         a consensus item: fxamacker/cbor checks the whole input
//	           before it decodes, then allocates a list at its count, which
//	           that input backs: a 48-byte Done per null request, a 24-byte
//	           slice per set member
//
// Reading the envelope allocates nothing; the node table, a string per node
// ID, at most MaxNodes of them.
//
// # What a replica keeps
//
// Batch, Entry, Hint, HintKey and HintBacklog (batch.go) name what a
// replica commits: key states, hints for replicas that were unreachable,
// and their deletions. They are not sent between nodes; they live here
// because both the package that decides what to keep (sync) and the one
// that keeps it (storage) need them, and storage may not import sync: one
// vocabulary, one rung below both.
//
// # Errors
//
// Every error a decoder returns for bad input matches exactly one sentinel:
// ErrMalformed, ErrTooLarge, ErrUnknownTag, ErrUnsupportedVersion or
// ErrWrongTag. The typed errors *TooLargeError, *UnknownTagError,
// *VersionError and *WrongTagError carry the details.
package wire
