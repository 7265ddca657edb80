package wire

import (
	"fmt"

	"github.com/meridiankv/meridian/crdt"
)

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

	// The conditions and options of strong keys (frame version 3): a write
	// applies only when Cond holds of the key's value (Expect is the value
	// IFEQ and IFNE compare with, Version what CondVersion requires); TTL
	// makes a put lapse after that many milliseconds (PX); ReqID names the
	// request, so that a retry of it is answered, not applied again.
	Cond    Cond
	Expect  []byte
	TTL     int64
	ReqID   []byte
	Version uint64
}

// Cond is the condition of a write to a strong key.
type Cond uint8

// The conditions.
const (
	CondNone    Cond = iota // always
	CondNX                  // the key holds nothing (SET NX; If-None-Match: *)
	CondXX                  // the key holds something (SET XX)
	CondIfEq                // the key holds the string Expect (IFEQ, DELEX IFEQ, DELIFEQ)
	CondIfNe                // the key does not hold the string Expect (IFNE)
	CondVersion             // the key's version is Version (If-Match)

	LastCond = CondVersion
)

var condNames = [...]string{"none", "NX", "XX", "IFEQ", "IFNE", "version"}

// String returns the condition's name.
func (c Cond) String() string {
	if c <= LastCond {
		return condNames[c]
	}
	return fmt.Sprintf("Cond(%d)", uint8(c))
}
