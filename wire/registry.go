package wire

import (
	"fmt"
	"slices"
)

// Tag names the type of an encoded item: the first element of every
// envelope. A tag is assigned once, here, and never reused for another type,
// even after the type it named is retired.
//
// The numeric ranges are fixed:
//
//	0         never assigned, so a zeroed envelope is always refused
//	1..15     values Meridian stores or hands out (TagState, TagContext)
//	16..255   node-to-node messages (MinMessageTag..MaxMessageTag)
//	256..     reserved
type Tag uint16

// The value tags. Each has its own codec in this package (EncodeState,
// EncodeContext and their decoders); Marshal and Unmarshal refuse them.
const (
	// TagState is a key's crdt.State: what storage keeps and what replicas
	// ship to each other. Deltas are States too and use the same tag.
	TagState Tag = 1

	// TagContext is a crdt.Context alone: the causal context an HTTP client
	// receives with a read and sends back with its next write.
	TagContext Tag = 2
)

// The consensus tags (paxos.go): values stored and a message body, each a
// CBOR struct encoded by the generic codec under a tag of its own.
const (
	// TagStrong is a strong key's value, as consensus decides it.
	TagStrong Tag = 3
	// TagAcceptor is what an acceptor keeps of a strong key.
	TagAcceptor Tag = 4
	// TagPaxos is the body of a consensus message (Message.Blob).
	TagPaxos Tag = 17
)

// TagFrame is a batch of node-to-node Messages, the unit one node sends
// another. It holds states, so it has a codec of its own (EncodeFrame,
// DecodeFrame) rather than Marshal's.
const TagFrame Tag = 16

// The range of node-to-node message tags. Their bodies are encoded and
// decoded by Marshal and Unmarshal, with no plumbing of their own.
const (
	MinMessageTag Tag = 16
	MaxMessageTag Tag = 255
)

// format is one entry of the registry.
type format struct {
	// name is the type's name in lower case: it appears in error messages
	// and starts the names of its golden files (testdata/state-v1-*.cbor).
	name string
	// versions lists, in ascending order, the versions of the type's format
	// this build reads. The last one is the newest, the one Marshal writes;
	// the encoders of states and frames write the oldest version that can
	// represent their value, so that what older builds read stays readable
	// to them and byte-identical (see EncodeState).
	versions []uint16
}

// registry is every type this build knows, by tag. It is the only place
// tags and versions are assigned.
//
// Adding a message type is four steps: a Tag constant in the message range,
// its entry here with versions {1}, a CBOR struct for its body (in a file of
// its own, passed to Marshal and Unmarshal), and a golden file
// testdata/<name>-v1.cbor written by TestGoldenFiles with -update.
//
// Changing a format adds a version, never edits one: append the new version
// to versions, keep the old struct and its decoder, and add the golden file
// of the new version. Decoders switch on the version (DecodeState shows the
// pattern); Unmarshal reads only the current version of a message, so a
// message type that must keep reading an older one gets a decode function
// of its own at that point.
var registry = map[Tag]format{
	TagState:   {name: "state", versions: []uint16{1, 2}},
	TagContext: {name: "context", versions: []uint16{1}},
	TagFrame:   {name: "frame", versions: []uint16{1, 2, 3}},

	TagStrong:   {name: "strong", versions: []uint16{1}},
	TagAcceptor: {name: "acceptor", versions: []uint16{1}},
	TagPaxos:    {name: "paxos", versions: []uint16{1}},
}

// lookup returns the registry entry of t, or an *UnknownTagError.
func lookup(t Tag) (format, error) {
	f, ok := registry[t]
	if !ok {
		return format{}, &UnknownTagError{Tag: t}
	}
	return f, nil
}

// current returns the newest version this build reads and writes.
func (f format) current() uint16 { return f.versions[len(f.versions)-1] }

// reads reports whether this build decodes version v.
func (f format) reads(v uint16) bool { return slices.Contains(f.versions, v) }

// IsMessage reports whether t lies in the range of node-to-node message
// tags, MinMessageTag to MaxMessageTag, whether or not it is assigned.
func (t Tag) IsMessage() bool { return t >= MinMessageTag && t <= MaxMessageTag }

// String returns the name of the type t stands for, such as "state", or
// "tag N" for a tag this build does not know.
func (t Tag) String() string {
	if f, ok := registry[t]; ok {
		return f.name
	}
	return fmt.Sprintf("tag %d", uint16(t))
}
