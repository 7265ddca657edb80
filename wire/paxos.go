package wire

import (
	"bytes"
	"fmt"
	"slices"
)

// The items of single-key consensus (CASPaxos, Rystsov 2018), which package
// sync runs for strong keys: the value consensus decides (Strong), what an
// acceptor keeps of a key beside it on disk (Acceptor), and the body of the
// four consensus messages (Paxos, carried in Message.Blob). They are CBOR
// structs encoded by the generic codec, under tags of their own.

// Ballot orders the proposals of one key: by N, then by the proposer's id,
// so that two proposers never propose under the same ballot. The zero
// Ballot is below every other.
type Ballot struct {
	N  uint64 `cbor:"1,keyasint,omitempty"`
	By string `cbor:"2,keyasint,omitempty"` // the proposer, qualified with its region outside the default one
}

// Compare returns -1, 0 or +1 as b is below, equal to or above o.
func (b Ballot) Compare(o Ballot) int {
	switch {
	case b.N < o.N:
		return -1
	case b.N > o.N:
		return 1
	}
	return bytes.Compare([]byte(b.By), []byte(o.By))
}

// Less reports whether b is below o.
func (b Ballot) Less(o Ballot) bool { return b.Compare(o) < 0 }

// IsZero reports whether b is the zero Ballot.
func (b Ballot) IsZero() bool { return b.N == 0 && b.By == "" }

// String returns b as "N.by".
func (b Ballot) String() string { return fmt.Sprintf("%d.%s", b.N, b.By) }

// StrongKind is what a strong key holds.
type StrongKind uint8

// The kinds of strong value.
const (
	StrongNone    StrongKind = iota // nothing: never written, or deleted
	StrongString                    // Bytes
	StrongCounter                   // Int
	StrongSet                       // Members

	lastStrongKind = StrongSet
)

var strongKindNames = [...]string{"none", "string", "counter", "set"}

// String returns the kind's name.
func (k StrongKind) String() string {
	if k <= lastStrongKind {
		return strongKindNames[k]
	}
	return fmt.Sprintf("StrongKind(%d)", uint8(k))
}

// Strong is the value of a strong key, as consensus decides it: one value,
// no siblings. Version counts the changes decided (0: never written), and
// is what a conditional write over HTTP names (If-Match).
type Strong struct {
	Kind    StrongKind `cbor:"1,keyasint,omitempty"`
	Bytes   []byte     `cbor:"2,keyasint,omitempty"` // StrongString
	Int     int64      `cbor:"3,keyasint,omitempty"` // StrongCounter
	Members [][]byte   `cbor:"4,keyasint,omitempty"` // StrongSet: sorted, distinct
	// Expires is when the value lapses (SET ... PX), in Unix nanoseconds by
	// the clock of the proposer that decides the next change: 0 for never.
	Expires int64  `cbor:"5,keyasint,omitempty"`
	Version uint64 `cbor:"6,keyasint,omitempty"`
	// Done remembers the latest requests that carried an id, oldest first,
	// with what they answered, so that a retry of one is answered again
	// instead of applied twice.
	Done []Done `cbor:"7,keyasint,omitempty"`
}

// Done is a request a strong key remembers (Strong.Done).
type Done struct {
	ID     []byte `cbor:"1,keyasint"`
	At     int64  `cbor:"2,keyasint,omitempty"` // when it was decided, Unix nanoseconds by its proposer's clock
	Result int64  `cbor:"3,keyasint,omitempty"` // what it answered: INCR's value, SADD's count, 1 for a condition met
	Failed bool   `cbor:"4,keyasint,omitempty"` // its condition failed: nothing changed
}

// Live returns v as a reader sees it at time now (Unix nanoseconds): none
// once it has expired.
func (v *Strong) Live(now int64) bool {
	return v.Kind != StrongNone && (v.Expires == 0 || now < v.Expires)
}

// Clone returns a copy of v that shares no memory with it.
func (v *Strong) Clone() Strong {
	c := *v
	c.Bytes = bytes.Clone(v.Bytes)
	if v.Members != nil {
		c.Members = make([][]byte, len(v.Members))
		for i, m := range v.Members {
			c.Members[i] = bytes.Clone(m)
		}
	}
	if v.Done != nil {
		c.Done = make([]Done, len(v.Done))
		for i, d := range v.Done {
			d.ID = bytes.Clone(d.ID)
			c.Done[i] = d
		}
	}
	return c
}

// Equal reports whether v and o hold the same value, version and requests.
func (v *Strong) Equal(o *Strong) bool {
	return v.Kind == o.Kind && bytes.Equal(v.Bytes, o.Bytes) && v.Int == o.Int &&
		slices.EqualFunc(v.Members, o.Members, bytes.Equal) && v.Expires == o.Expires && v.Version == o.Version &&
		slices.EqualFunc(v.Done, o.Done, func(a, b Done) bool {
			return bytes.Equal(a.ID, b.ID) && a.At == b.At && a.Result == b.Result && a.Failed == b.Failed
		})
}

// check refuses what a decoder must not hand on: an unknown kind, fields of
// another kind, unsorted or repeated members, a request without an id.
func (v *Strong) check() error {
	switch {
	case v.Kind > lastStrongKind:
		return fmt.Errorf("unknown kind %d", v.Kind)
	case v.Kind != StrongString && len(v.Bytes) > 0,
		v.Kind != StrongCounter && v.Int != 0,
		v.Kind != StrongSet && len(v.Members) > 0:
		return fmt.Errorf("a %s value holds fields of another kind", v.Kind)
	}
	for i := 1; i < len(v.Members); i++ {
		if bytes.Compare(v.Members[i-1], v.Members[i]) >= 0 {
			return fmt.Errorf("set members unsorted or repeated at %d", i)
		}
	}
	for _, d := range v.Done {
		if len(d.ID) == 0 {
			return fmt.Errorf("a remembered request has no id")
		}
	}
	return nil
}

// Acceptor is what an acceptor keeps of one strong key, beside the key,
// synced before it answers: the highest ballot it promised, and the
// ballot and value it accepted last.
type Acceptor struct {
	Promised Ballot `cbor:"1,keyasint,omitempty"`
	Accepted Ballot `cbor:"2,keyasint,omitempty"`
	Value    Strong `cbor:"3,keyasint,omitempty"`
}

// IsZero reports whether a is what an acceptor that never heard of the key
// holds.
func (a *Acceptor) IsZero() bool {
	return a.Promised.IsZero() && a.Accepted.IsZero() && a.Value.Equal(&Strong{})
}

// Refusal says why an acceptor refused a prepare or an accept.
type Refusal uint8

// The refusals.
const (
	RefusedNone     Refusal = iota // taken
	RefusedBallot                  // it promised a higher ballot (Paxos.Ballot names it)
	RefusedConfig                  // it sees the key's acceptors differently: membership is changing
	RefusedDecl                    // its declaration of strong keys differs
	RefusedNotReady                // it is catching up on the key and does not vote yet
	RefusedStore                   // its store failed

	lastRefusal = RefusedStore
)

var refusalNames = [...]string{"none", "ballot", "config", "declaration", "not ready", "store"}

// String returns the refusal's name.
func (r Refusal) String() string {
	if r <= lastRefusal {
		return refusalNames[r]
	}
	return fmt.Sprintf("Refusal(%d)", uint8(r))
}

// Paxos is the body of a consensus message, in Message.Blob (the key is
// Message.Key):
//
//   - MsgPrepare: promise Ballot.
//   - MsgPromise: Refused is none, and Accepted and Value are what the
//     acceptor accepted last; or Refused says why not, and for a ballot
//     refusal Ballot is the one it promised.
//   - MsgAccept: accept Value under Ballot, and when Next is not zero also
//     promise Next (the next round's prepare, piggybacked).
//   - MsgAccepted: Refused is none; or says why not, as for MsgPromise.
//
// Config and Decl are digests of the key's acceptors as the sender sees
// them and of its declaration of strong keys: an acceptor refuses a
// message whose digests differ from its own.
type Paxos struct {
	Ballot   Ballot  `cbor:"1,keyasint,omitempty"`
	Next     Ballot  `cbor:"2,keyasint,omitempty"`
	Accepted Ballot  `cbor:"3,keyasint,omitempty"`
	Value    *Strong `cbor:"4,keyasint,omitempty"`
	Config   uint64  `cbor:"5,keyasint,omitempty"`
	Decl     uint64  `cbor:"6,keyasint,omitempty"`
	Refused  Refusal `cbor:"7,keyasint,omitempty"`
}

// EncodeStrong returns the encoding of v, a strong key's value.
func EncodeStrong(v Strong) ([]byte, error) { return defaultCodec.encodeValue(TagStrong, v) }

// DecodeStrong decodes a strong key's value, refusing one that breaks the
// limits or is malformed.
func DecodeStrong(b []byte) (Strong, error) {
	var v Strong
	if err := defaultCodec.decodeValue(b, TagStrong, &v); err != nil {
		return Strong{}, err
	}
	if err := v.check(); err != nil {
		return Strong{}, malformed("strong", "%v", err)
	}
	return v, nil
}

// EncodeAcceptor returns the encoding of a, an acceptor's record of a key.
func EncodeAcceptor(a Acceptor) ([]byte, error) { return defaultCodec.encodeValue(TagAcceptor, a) }

// DecodeAcceptor decodes an acceptor's record of a key.
func DecodeAcceptor(b []byte) (Acceptor, error) {
	var a Acceptor
	if err := defaultCodec.decodeValue(b, TagAcceptor, &a); err != nil {
		return Acceptor{}, err
	}
	if err := a.Value.check(); err != nil {
		return Acceptor{}, malformed("acceptor", "%v", err)
	}
	return a, nil
}

// EncodePaxos returns the encoding of p, a consensus message's body.
func EncodePaxos(p Paxos) ([]byte, error) { return defaultCodec.encodeValue(TagPaxos, p) }

// DecodePaxos decodes a consensus message's body.
func DecodePaxos(b []byte) (Paxos, error) {
	var p Paxos
	if err := defaultCodec.decodeValue(b, TagPaxos, &p); err != nil {
		return Paxos{}, err
	}
	if p.Refused > lastRefusal {
		return Paxos{}, malformed("paxos", "unknown refusal %d", p.Refused)
	}
	if p.Value != nil {
		if err := p.Value.check(); err != nil {
			return Paxos{}, malformed("paxos", "%v", err)
		}
	}
	return p, nil
}
