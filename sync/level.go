package sync

import (
	"fmt"
	"strings"
)

// Level is a consistency level: how many replicas must answer before an
// operation succeeds. The zero Level is invalid; use DefaultLevel.
//
// The LOCAL_ and EACH_ forms count replicas within regions. Inside one
// region they behave as their plain form; the multi-region layer gives them
// their own meaning (LOCAL_QUORUM: a quorum of the local region only;
// EACH_QUORUM: a quorum in every region).
type Level uint8

// The consistency levels.
const (
	One Level = iota + 1
	Quorum
	All
	LocalOne
	LocalQuorum
	EachQuorum
	// LocalSerial and Serial are the levels of strong keys (strong.go):
	// linearizable, by consensus among the key's replicas in its home
	// region (LOCAL_SERIAL) or in every region (SERIAL). Each applies to
	// the keys its scope declares, and to those only.
	LocalSerial
	Serial
)

// DefaultLevel is the level of operations that do not choose one: a
// quorum of the coordinator's region (in a cluster of one region, the same
// as QUORUM).
const DefaultLevel = LocalQuorum

// Spans reports whether l counts replicas of other regions: QUORUM,
// EACH_QUORUM and ALL. ONE is met by any replica, this region's included,
// and LOCAL_ONE and LOCAL_QUORUM count only this region's.
func (l Level) Spans() bool { return l == Quorum || l == EachQuorum || l == All }

var levelNames = map[Level]string{
	One: "ONE", Quorum: "QUORUM", All: "ALL",
	LocalOne: "LOCAL_ONE", LocalQuorum: "LOCAL_QUORUM", EachQuorum: "EACH_QUORUM",
	LocalSerial: "LOCAL_SERIAL", Serial: "SERIAL",
}

// IsSerial reports whether l is LOCAL_SERIAL or SERIAL, a level of strong
// keys.
func (l Level) IsSerial() bool { return l == LocalSerial || l == Serial }

// String returns the level's name, such as "QUORUM".
func (l Level) String() string {
	if s, ok := levelNames[l]; ok {
		return s
	}
	return fmt.Sprintf("Level(%d)", uint8(l))
}

// Valid reports whether l is one of the defined levels.
func (l Level) Valid() bool { _, ok := levelNames[l]; return ok }

// ParseLevel parses a level name, case-insensitively.
func ParseLevel(s string) (Level, error) {
	for l, name := range levelNames {
		if strings.EqualFold(s, name) {
			return l, nil
		}
	}
	return 0, fmt.Errorf("sync: unknown consistency level %q: use ONE, QUORUM, ALL, LOCAL_ONE, LOCAL_QUORUM, EACH_QUORUM, LOCAL_SERIAL or SERIAL", s)
}

// Required returns how many of n replicas must answer at level l.
func (l Level) Required(n int) int {
	switch l {
	case One, LocalOne:
		return 1
	case All:
		return n
	default:
		return n/2 + 1
	}
}
