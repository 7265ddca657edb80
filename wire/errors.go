package wire

import (
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Every error a decoder returns for bad input matches exactly one of these
// sentinels. Test them with errors.Is; the typed errors below carry the
// details.
var (
	// ErrMalformed is matched by input that is not a valid encoding: broken
	// CBOR, a wrong structure, or content that breaks the format's rules
	// (an unsorted node table, a dot outside the context, a zero counter).
	// Use errors.Is(err, ErrMalformed).
	ErrMalformed = errors.New("wire: malformed input")

	// ErrTooLarge is matched by input, or a value to encode, that exceeds
	// one of the Limits. Use errors.Is(err, ErrTooLarge); a *TooLargeError
	// carries the sizes when they are known.
	ErrTooLarge = errors.New("wire: input exceeds a limit")

	// ErrUnknownTag is matched by an *UnknownTagError: the envelope's tag is
	// not in this build's registry. Use errors.Is(err, ErrUnknownTag).
	ErrUnknownTag = errors.New("wire: unknown type tag")

	// ErrUnsupportedVersion is matched by a *VersionError: the tag is known
	// but this build does not read that version of its format. Use
	// errors.Is(err, ErrUnsupportedVersion).
	ErrUnsupportedVersion = errors.New("wire: unsupported format version")

	// ErrWrongTag is matched by a *WrongTagError: a decoder was handed an
	// item of another type, such as a context given to DecodeState. Use
	// errors.Is(err, ErrWrongTag).
	ErrWrongTag = errors.New("wire: unexpected type tag")
)

// UnknownTagError reports an envelope whose tag this build does not know,
// typically one written by a newer build.
type UnknownTagError struct {
	Tag Tag
}

// Error says the unknown tag, noting a message tag may come from a newer build.
func (e *UnknownTagError) Error() string {
	if e.Tag.IsMessage() {
		return fmt.Sprintf("wire: unknown message tag %d: sent by a newer build?", uint16(e.Tag))
	}
	return fmt.Sprintf("wire: unknown type tag %d", uint16(e.Tag))
}

// Is makes errors.Is(err, ErrUnknownTag) true.
func (e *UnknownTagError) Is(target error) bool { return target == ErrUnknownTag }

// VersionError reports an envelope of a known tag whose format version this
// build does not read.
type VersionError struct {
	Tag       Tag
	Version   uint16   // the version found
	Supported []uint16 // the versions this build reads, ascending
}

// Error says the tag, the version found and the versions this build reads.
func (e *VersionError) Error() string {
	msg := fmt.Sprintf("wire: %s format version %d is not supported: this build reads versions %v",
		e.Tag, e.Version, e.Supported)
	if n := len(e.Supported); n > 0 && e.Version > e.Supported[n-1] {
		msg += " (written by a newer build?)"
	}
	return msg
}

// Is makes errors.Is(err, ErrUnsupportedVersion) true.
func (e *VersionError) Is(target error) bool { return target == ErrUnsupportedVersion }

// WrongTagError reports an item of another type than the decoder expects.
type WrongTagError struct {
	Want Tag // the tag the decoder reads
	Got  Tag // the tag found in the envelope
}

// Error says both tags by name and number.
func (e *WrongTagError) Error() string {
	return fmt.Sprintf("wire: got a %s (tag %d) where a %s (tag %d) was expected",
		e.Got, uint16(e.Got), e.Want, uint16(e.Want))
}

// Is makes errors.Is(err, ErrWrongTag) true.
func (e *WrongTagError) Is(target error) bool { return target == ErrWrongTag }

// TooLargeError reports a size over one of the Limits, found before the
// input was decoded or while a value was encoded.
type TooLargeError struct {
	Name  string // the Limits field exceeded, such as "MaxMessageSize"
	Size  int    // the size found, in the unit of that limit
	Limit int    // the value of the limit
}

// Error says the size, its unit and the limit by name and value.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("wire: %d %s exceed the limit %s = %d", e.Size, unitOf(e.Name), e.Name, e.Limit)
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// unitOf names what a limit counts, for error messages.
func unitOf(limit string) string {
	switch limit {
	case "MaxMessageSize":
		return "bytes"
	case "MaxNodes":
		return "node ids"
	case "MaxNodeIDLen":
		return "bytes in a node id"
	case "MaxArrayElements":
		return "elements in an array"
	case "MaxFrameMessages":
		return "messages in a frame"
	}
	return "units"
}

// malformed returns an error matching ErrMalformed that says what was being
// read and what was wrong with it.
func malformed(what, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, what, fmt.Sprintf(format, args...))
}

// decodeError classifies an error of the CBOR decoder: its limits become
// ErrTooLarge, everything else ErrMalformed.
func decodeError(what string, l Limits, err error) error {
	var (
		nested *cbor.MaxNestedLevelError
		array  *cbor.MaxArrayElementsError
		pairs  *cbor.MaxMapPairsError
	)
	switch {
	case errors.As(err, &nested):
		return fmt.Errorf("%w: %s: nesting deeper than MaxNestedLevels = %d", ErrTooLarge, what, l.MaxNestedLevels)
	case errors.As(err, &array):
		return fmt.Errorf("%w: %s: an array longer than MaxArrayElements = %d", ErrTooLarge, what, l.MaxArrayElements)
	case errors.As(err, &pairs):
		return fmt.Errorf("%w: %s: a map larger than MaxMapPairs = %d", ErrTooLarge, what, l.MaxMapPairs)
	}
	return fmt.Errorf("%w: %s: %w", ErrMalformed, what, err)
}
