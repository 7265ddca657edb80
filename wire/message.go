package wire

import (
	"fmt"

	"github.com/meridiankv/meridian/crdt"
)

// MsgType says what a Message asks for or answers.
type MsgType uint8

// The node-to-node message types. Every kind that carries a state for the
// receiver to merge or keep is answered by MsgWriteAck when its ID is not
// 0; the ID's low bits name the sender's part that waits for it.
const (
	MsgWrite        MsgType = iota + 1 // a coordinator's copy of a write, for an owner (or a future owner) to merge into Key; protocol 1 sent every kind below as MsgWrite, a hint with Target set
	MsgWriteAck                        // answers MsgWrite, MsgHint, MsgReplay, MsgHandoff, MsgRepair: Code says whether it was taken
	MsgRead                            // send back your state of Key
	MsgReadReply                       // answers MsgRead with State
	MsgForward                         // coordinate Op, which this node does not own
	MsgForwardReply                    // answers MsgForward: the coordinator's Response
	MsgTreeRequest                     // anti-entropy: send the hashes of these tree nodes
	MsgTreeReply                       // anti-entropy: the hashes asked for
	MsgKeysRequest                     // anti-entropy: list your keys in these segments
	MsgKeysReply                       // anti-entropy: keys with the hashes of their states
	MsgHint                            // keep State as a hint for Target, an owner that is down: the receiver is a fallback (protocol 2)
	MsgReplay                          // a hint delivered, to its target or the key's owners: merge State into Key (protocol 2)
	MsgHandoff                         // a key the sender will not own once the ring change completes: merge State into Key (protocol 2)
	MsgRepair                          // the merged state of Key, for a replica that had less (read repair, anti-entropy): merge it (protocol 2)
	MsgShip                            // a write another region accepted, for this region's owners of Key: one message per key, the messages of one batch share ID and Changed counts them (protocol 2)
	MsgShipAck                         // answers the MsgShips of one ID taken in one round: Changed counts them, Code says whether they were taken (protocol 2)
	MsgRegion                          // the sender's directory of regions (Blob), answered by the receiver's own when ID is not 0 (protocol 2)
	MsgRelay                           // a write of another region at a level that spans regions: merge State into Key's owners of this region at Level (a local level), answer MsgForwardReply (protocol 2)
	MsgPrepare                         // consensus on strong Key: promise the ballot of Blob (a Paxos), answer MsgPromise (protocol 3)
	MsgPromise                         // answers MsgPrepare: the promise, with what the acceptor accepted last, or a refusal (protocol 3)
	MsgAccept                          // consensus on strong Key: accept the value of Blob under its ballot, and promise its next one, answer MsgAccepted (protocol 3)
	MsgAccepted                        // answers MsgAccept: taken, or a refusal (protocol 3)
	MsgSettle                          // list the strong keys you keep a record of whose acceptors the ring change of Epoch moves, from Hashes[0] on (protocol 3)
	MsgSettleReply                     // answers MsgSettle: Keys, and Hashes[0] the hash to ask from next, none when the list is complete (protocol 3)

	lastMsgType = MsgSettleReply
)

// Protocol is the version of the message kinds this build sends and takes.
// Protocol 1 knew MsgWrite through MsgKeysReply and refuses a frame holding
// any later kind, so a node sends a peer that has not announced protocol 2
// only the kinds of protocol 1 (Legacy). Protocol 2 added the split kinds
// and the kinds between regions; protocol 3 the consensus kinds, sent only
// to nodes that announced it (ProtocolConsensus).
const Protocol = 3

// ProtocolSplit is the protocol that split MsgWrite into its kinds and
// added the kinds between regions.
const ProtocolSplit = 2

// ProtocolConsensus is the protocol that added the consensus kinds
// (MsgPrepare to MsgSettleReply) and frame version 3's operation fields.
const ProtocolConsensus = 3

// Legacy returns the kind a message of type t travels as to a peer of
// protocol 1: MsgWrite for the kinds that protocol 2 split from it, t
// itself for the others.
func Legacy(t MsgType) MsgType {
	if t >= MsgHint && t <= MsgRepair {
		return MsgWrite
	}
	return t
}

// Carries reports whether messages of type t carry a state for the
// receiver to merge, or keep as a hint: the kinds MsgWriteAck answers.
func Carries(t MsgType) bool { return t == MsgWrite || (t >= MsgHint && t <= MsgRepair) }

var msgNames = [...]string{MsgWrite: "write", MsgWriteAck: "write_ack", MsgRead: "read", MsgReadReply: "read_reply",
	MsgForward: "forward", MsgForwardReply: "forward_reply", MsgTreeRequest: "tree_request", MsgTreeReply: "tree_reply",
	MsgKeysRequest: "keys_request", MsgKeysReply: "keys_reply", MsgHint: "hint", MsgReplay: "replay", MsgHandoff: "handoff",
	MsgRepair: "repair", MsgShip: "ship", MsgShipAck: "ship_ack", MsgRegion: "region", MsgRelay: "relay",
	MsgPrepare: "prepare", MsgPromise: "promise", MsgAccept: "accept", MsgAccepted: "accepted",
	MsgSettle: "settle", MsgSettleReply: "settle_reply"}

// String returns the kind's name, as metrics label it.
func (t MsgType) String() string {
	if t >= MsgWrite && t <= lastMsgType {
		return msgNames[t]
	}
	return fmt.Sprintf("MsgType(%d)", uint8(t))
}

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
	CodeCondition                     // a strong key's condition did not hold; nothing applied (protocol 3)

	// LastCode is the highest code this build knows.
	LastCode = CodeCondition
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
	// Target is the replica a MsgHint (or a protocol-1 MsgWrite) is a hint
	// for, empty when the receiver is a replica itself.
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
	// Region is the sender's region on a message between regions, empty
	// inside one: the receiver names the sender region/From.
	Region string
	// Blob is a document the message kind defines (MsgRegion: the
	// directory of regions, JSON).
	Blob []byte
}

// KeyDigest is a key and the hash of its encoded state.
type KeyDigest struct {
	Key  []byte
	Hash uint64
}
