package wire

import "github.com/meridiankv/meridian/crdt"

// MsgType says what a Message asks for or answers.
type MsgType uint8

// The node-to-node message types.
const (
	MsgWrite        MsgType = iota + 1 // merge State into Key (or keep it as a hint for Target); ack if ID != 0
	MsgWriteAck                        // answers MsgWrite: Code says whether it was taken
	MsgRead                            // send back your state of Key
	MsgReadReply                       // answers MsgRead with State
	MsgForward                         // coordinate Op, which this node does not own
	MsgForwardReply                    // answers MsgForward: the coordinator's Response
	MsgTreeRequest                     // anti-entropy: send the hashes of these tree nodes
	MsgTreeReply                       // anti-entropy: the hashes asked for
	MsgKeysRequest                     // anti-entropy: list your keys in these segments
	MsgKeysReply                       // anti-entropy: keys with the hashes of their states
)

// ErrCode classifies the error a reply carries, so that the receiver can
// rebuild an error that errors.Is recognises.
type ErrCode uint8

// The error codes.
const (
	CodeOK             ErrCode = iota // no error
	CodeRejected                      // invalid request; nothing applied
	CodeUnavailable                   // too few replicas reachable; nothing applied
	CodeUnknownOutcome                // timed out; a write may have been applied
	CodeReadTimeout                   // a read timed out; nothing changed
	CodeWrongType                     // crdt.ErrWrongType
	CodeOverflow                      // crdt.ErrOverflow
	CodeInternal                      // anything else, such as a storage error
)

// Message is one node-to-node message. Like etcd-raft's Message it is one
// flat struct whose Type says which fields matter.
type Message struct {
	Type     MsgType
	From, To crdt.NodeID
	// ID correlates a request with its reply; the requester chooses it.
	ID  uint64
	Key []byte
	// State is a delta or a full state (MsgWrite), a replica's state
	// (MsgReadReply, and MsgWriteAck of a counter write, whose reply is
	// the counter's value) or a coordinator's result (MsgForwardReply).
	State crdt.State
	// Target is the replica a MsgWrite is a hint for, empty when the
	// receiver is a replica itself.
	Target crdt.NodeID
	// Op is the forwarded operation (MsgForward).
	Op *Op
	// Changed is what MsgForwardReply's operation changed (kvsync.Response).
	Changed int64
	Code    ErrCode
	Err     string
	// Anti-entropy: the tree level and node indexes asked for or answered,
	// their hashes, and the keys of segments with the hashes of their states.
	Level   uint8
	Indexes []uint32
	Hashes  []uint64
	Keys    []KeyDigest
	// Epoch names the placement an anti-entropy exchange compares trees
	// under; both ends must share it, or the trees cover different keys.
	Epoch uint64
}

// KeyDigest is a key and the hash of its encoded state.
type KeyDigest struct {
	Key  []byte
	Hash uint64
}
