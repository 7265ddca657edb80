package wire

import "github.com/meridiankv/meridian/crdt"

// OpKind names a client operation.
type OpKind uint8

// The client operations. OpGet and OpInspect read; the others write.
const (
	OpGet     OpKind = iota + 1 // read the key's state
	OpPut                       // set a register value (replaces any kind)
	OpDelete                    // observed-remove of the whole key
	OpIncr                      // add By to a counter
	OpAdd                       // add Elems to a set
	OpRemove                    // remove Elems from a set
	OpInspect                   // read every replica's state separately
)

// Op is a client operation, as a coordinator receives it and as one node
// forwards it to another.
type Op struct {
	Kind  OpKind
	Key   []byte
	Value []byte   // OpPut
	Elems [][]byte // OpAdd, OpRemove
	By    int64    // OpIncr
	// Context is the causal context the client read (OpPut, OpDelete): the
	// write supersedes exactly what it names. Nil means what the
	// coordinating replica has seen.
	Context *crdt.Context
	// Level is the consistency level (sync.Level); 0 means the default.
	Level uint8
}
