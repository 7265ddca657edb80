package crdt

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"time"
)

// Timestamp is a hybrid logical clock reading (Kulkarni et al. 2014): Wall is
// the highest physical time, in nanoseconds since the Unix epoch, that the
// clock has seen, and Logical orders events that share it. Timestamps compare
// by Wall, then Logical.
type Timestamp struct {
	Wall    int64
	Logical uint32
}

// Compare returns -1, 0 or +1 as t is before, equal to or after o.
func (t Timestamp) Compare(o Timestamp) int {
	if c := cmp.Compare(t.Wall, o.Wall); c != 0 {
		return c
	}
	return cmp.Compare(t.Logical, o.Logical)
}

// IsZero reports whether t is the zero Timestamp.
func (t Timestamp) IsZero() bool { return t == Timestamp{} }

// Time returns the physical part of t as a time.Time in UTC.
func (t Timestamp) Time() time.Time { return time.Unix(0, t.Wall).UTC() }

// String renders t as an RFC 3339 time with nanoseconds, plus "+logical"
// when the logical part is not zero.
func (t Timestamp) String() string {
	s := t.Time().Format(time.RFC3339Nano)
	if t.Logical != 0 {
		s += fmt.Sprintf("+%d", t.Logical)
	}
	return s
}

// ErrClockSkew is the sentinel every *SkewError matches: a remote timestamp
// was too far ahead of local physical time to be absorbed. Use
// errors.Is(err, crdt.ErrClockSkew).
var ErrClockSkew = errors.New("crdt: remote clock too far ahead")

// SkewError reports a remote timestamp that was refused because it was more
// than MaxSkew ahead of the local physical time.
type SkewError struct {
	Remote   Timestamp     // the timestamp that was refused
	Physical int64         // local physical time, ns since the epoch
	MaxSkew  time.Duration // the configured bound
}

func (e *SkewError) Error() string {
	ahead := time.Duration(e.Remote.Wall - e.Physical)
	return fmt.Sprintf("crdt: remote timestamp %s is %s ahead of local time, more than the allowed %s: check the clocks (NTP) of both nodes",
		e.Remote, ahead, e.MaxSkew)
}

// Is makes errors.Is(err, ErrClockSkew) true.
func (e *SkewError) Is(target error) bool { return target == ErrClockSkew }

// Clock is a hybrid logical clock. It never returns a timestamp lower than
// one it returned or absorbed before, whatever the physical time passed in
// does. It reads no clock: the caller passes physical time to every call.
// A Clock is not safe for concurrent use.
type Clock struct {
	maxSkew time.Duration
	last    Timestamp
}

// NewClock returns a clock that refuses remote timestamps more than maxSkew
// ahead of the physical time passed to Observe. maxSkew <= 0 accepts any.
func NewClock(maxSkew time.Duration) *Clock { return &Clock{maxSkew: maxSkew} }

// Last returns the highest timestamp the clock has issued or absorbed.
func (c *Clock) Last() Timestamp { return c.last }

// Now returns a timestamp for a local event at the given physical time
// (nanoseconds since the epoch), strictly greater than every earlier one.
func (c *Clock) Now(physical int64) Timestamp {
	if physical > c.last.Wall {
		c.last = Timestamp{Wall: physical}
	} else {
		c.last = c.last.tick()
	}
	return c.last
}

// Observe absorbs a timestamp received from another node at the given local
// physical time and returns a timestamp greater than both it and every
// earlier one. A remote timestamp more than maxSkew ahead of physical is
// refused with a *SkewError and leaves the clock unchanged, so one node with
// a runaway clock cannot drag the others into the future.
func (c *Clock) Observe(remote Timestamp, physical int64) (Timestamp, error) {
	if c.maxSkew > 0 && remote.Wall-physical > int64(c.maxSkew) {
		return c.last, &SkewError{Remote: remote, Physical: physical, MaxSkew: c.maxSkew}
	}
	hi := c.last
	if remote.Compare(hi) > 0 {
		hi = remote
	}
	if physical > hi.Wall {
		c.last = Timestamp{Wall: physical}
	} else {
		c.last = hi.tick()
	}
	return c.last, nil
}

// tick returns the next timestamp after t, carrying into the wall part if
// the logical counter would overflow.
func (t Timestamp) tick() Timestamp {
	if t.Logical == math.MaxUint32 {
		return Timestamp{Wall: t.Wall + 1}
	}
	return Timestamp{Wall: t.Wall, Logical: t.Logical + 1}
}
