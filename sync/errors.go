package sync

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// Errors a client can test with errors.Is. Every error a Node returns for a
// request says whether the operation may have been applied: ErrRejected and
// ErrUnavailable mean it was not; ErrUnknownOutcome means it may have been.
var (
	// ErrRejected: the request was invalid (too large, wrong type, bad
	// argument) and nothing was applied.
	ErrRejected = errors.New("sync: rejected")
	// ErrUnavailable: too few replicas were reachable to try; nothing was
	// applied.
	ErrUnavailable = errors.New("sync: unavailable")
	// ErrUnknownOutcome: too few replicas answered in time; a write may have
	// been applied on some of them and will then spread.
	ErrUnknownOutcome = errors.New("sync: outcome unknown")
	// ErrStopped: the node stopped before the request completed.
	ErrStopped = errors.New("sync: node stopped")
)

// RejectedError says why a request was refused before anything was applied.
type RejectedError struct{ Reason string }

func (e *RejectedError) Error() string { return "rejected: " + e.Reason }

// Is makes errors.Is(err, ErrRejected) true.
func (e *RejectedError) Is(target error) bool { return target == ErrRejected }

func rejectf(format string, args ...any) error {
	return &RejectedError{Reason: fmt.Sprintf(format, args...)}
}

// UnavailableError: fewer replicas were alive than the level requires, so
// the operation was not tried.
type UnavailableError struct {
	Level       Level
	Alive, Need int
	Write       bool
	// Region names a region the level needs whose link is down: the
	// operation failed at once, without waiting for the timeout.
	Region string
	// Reason, when set, says why in words of its own.
	Reason string
	// Prepare, for a write, says why it could not read a quorum of the
	// key's owners before minting: then it was not applied either.
	Prepare string
}

func (e *UnavailableError) Error() string {
	what := "nothing was read"
	if e.Write {
		what = "nothing was written"
	}
	if e.Reason != "" {
		return fmt.Sprintf("%s unavailable: %s; %s", e.Level, e.Reason, what)
	}
	if e.Region != "" {
		return fmt.Sprintf("%s unavailable: region %s is cut off from this one, and %s needs it; %s: retry later or use LOCAL_QUORUM",
			e.Level, e.Region, e.Level, what)
	}
	if e.Prepare != "" {
		return fmt.Sprintf("%s unavailable: a write first reads %d of the key's owners, and %d answered (%s); %s: retry later or use consistency ONE",
			e.Level, e.Need, e.Alive, e.Prepare, what)
	}
	return fmt.Sprintf("%s unavailable: %d of the %d replicas needed are reachable; %s: retry later or use a lower consistency level",
		e.Level, e.Alive, e.Need, what)
}

// Is makes errors.Is(err, ErrUnavailable) true.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// TimeoutError: fewer replicas than the level requires answered in time.
type TimeoutError struct {
	Level     Level
	Got, Need int
	Timeout   time.Duration
	Write     bool
	// Refused lists the replicas that answered with an error, and the
	// error, when that is why the level was not reached.
	Refused []string
}

func (e *TimeoutError) Error() string {
	tail := "nothing was changed"
	if e.Write {
		tail = "the write may have been applied"
	}
	if len(e.Refused) > 0 {
		return fmt.Sprintf("%s not reached: %d of %d replicas answered, others failed (%s); %s",
			e.Level, e.Got, e.Need, strings.Join(e.Refused, "; "), tail)
	}
	return fmt.Sprintf("%s not reached: %d of %d replicas answered within %s; %s", e.Level, e.Got, e.Need, e.Timeout, tail)
}

// Is makes errors.Is(err, ErrUnknownOutcome) true for writes.
func (e *TimeoutError) Is(target error) bool { return e.Write && target == ErrUnknownOutcome }

// RegionError: a level that spans regions was not reached because another
// region did not confirm in time, or answered with an error. A write was
// applied in this region, and reaches the others in the background: its
// outcome there is unknown.
type RegionError struct {
	Level  Level
	Region string
	Write  bool
	Why    string // "did not answer within 1s", or the region's error
}

func (e *RegionError) Error() string {
	tail := "nothing was changed"
	if e.Write {
		tail = "the write was applied in this region and reaches the others in the background; whether " + e.Region + " has it yet is unknown"
	}
	return fmt.Sprintf("%s not reached: region %s %s; %s", e.Level, e.Region, e.Why, tail)
}

// Is makes errors.Is(err, ErrUnknownOutcome) true for writes, and
// errors.Is(err, ErrUnavailable) true for reads.
func (e *RegionError) Is(target error) bool {
	if e.Write {
		return target == ErrUnknownOutcome
	}
	return target == ErrUnavailable
}

// encodeErr turns an error into the code and text a reply carries.
func encodeErr(err error) (wire.ErrCode, string) {
	var te *TimeoutError
	switch {
	case err == nil:
		return wire.CodeOK, ""
	case errors.Is(err, crdt.ErrWrongType):
		return wire.CodeWrongType, err.Error()
	case errors.Is(err, crdt.ErrOverflow):
		return wire.CodeOverflow, err.Error()
	case errors.Is(err, ErrConditionFailed):
		return wire.CodeCondition, err.Error()
	case errors.Is(err, ErrRejected), errors.Is(err, ErrNotInteger):
		return wire.CodeRejected, err.Error()
	case errors.Is(err, ErrUnavailable):
		return wire.CodeUnavailable, err.Error()
	case errors.As(err, &te) && !te.Write:
		return wire.CodeReadTimeout, err.Error()
	case errors.Is(err, ErrUnknownOutcome):
		return wire.CodeUnknownOutcome, err.Error()
	}
	return wire.CodeInternal, err.Error()
}

// remoteError is an error that came back from another node: its text as it
// was, and the sentinel its code maps to.
type remoteError struct {
	text     string
	sentinel error
	also     error // a second sentinel it matches (ErrNotInteger, which travels as a rejection)
}

func (e *remoteError) Error() string { return e.text }
func (e *remoteError) Is(target error) bool {
	return (e.sentinel != nil && target == e.sentinel) || (e.also != nil && target == e.also)
}

// decodeErr rebuilds an error from a reply's code and text.
func decodeErr(code wire.ErrCode, text string) error {
	sentinels := map[wire.ErrCode]error{
		wire.CodeWrongType:      crdt.ErrWrongType,
		wire.CodeOverflow:       crdt.ErrOverflow,
		wire.CodeRejected:       ErrRejected,
		wire.CodeUnavailable:    ErrUnavailable,
		wire.CodeUnknownOutcome: ErrUnknownOutcome,
		wire.CodeCondition:      ErrConditionFailed,
	}
	if code == wire.CodeOK {
		return nil
	}
	e := &remoteError{text: text, sentinel: sentinels[code]}
	if code == wire.CodeRejected && strings.Contains(text, ErrNotInteger.Error()) {
		e.also = ErrNotInteger
	}
	return e
}
