package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// Decoding a body is two passes over its bytes. The first, validate, reads
// every head once and refuses what the reflective decoder (Codec.dec, the
// fxamacker/cbor Unmarshal of the format structs) refuses; the second
// builds the value from bytes it then knows to be sound, with the format's
// own checks (sorted lists, dots in the context, ...).
//
// The reflective decoder first checks the whole item is well formed (heads,
// lengths, the nesting, array and map limits, no indefinite lengths, no
// tags, nothing after the item), then decodes it into the structs, where a
// type mismatch anywhere is an error. validate does both in one walk and
// keeps their precedence: a well-formedness error returns at once, as it
// would before decoding started, while a mismatch is remembered and the walk
// goes on checking well-formedness only. So an input that breaks a limit
// after a mismatch still gets ErrTooLarge, as it did.

// shape is what the reflective decoder accepts at one place in a body: the
// CBOR image of the Go type of a field of the format structs. A nil shape
// takes anything well formed: validate walks with it where it found a
// mismatch, and through map keys.
type shape struct {
	kind   shapeKind
	max    uint64   // shapeUint: the largest value the Go type holds
	elem   *shape   // shapeList: the elements
	fields []*shape // shapeTuple: the elements; shapeKeyed: the value of key i+1
}

type shapeKind uint8

const (
	shapeUint   shapeKind = iota + 1 // uint8, uint32, uint64
	shapeInt                         // int64
	shapeBytes                       // []byte
	shapeString                      // string
	shapeTuple                       // a struct with the toarray option
	shapeList                        // a slice of another type than byte
	shapeKeyed                       // a struct whose fields have keyasint keys 1..n
)

// What the reflective decoder accepts for each kind, besides null and
// undefined, which it accepts everywhere as the zero value:
//
//	shapeUint    an unsigned integer up to max, or a simple value (other than
//	             false and true) up to max, which it takes for an integer
//	shapeInt     an integer in the int64 range, or a simple value
//	shapeBytes   a byte string, or an array of shapeUint(255)
//	shapeString  a byte string, or a text string of valid UTF-8
//	shapeTuple   an array of exactly len(fields) elements
//	shapeList    an array
//	shapeKeyed   a map whose keys are unsigned integers from 1 to
//	             len(fields), each at most once: any other key is an unknown
//	             field, a duplicate key or a key of the wrong type
var (
	uint8Shape  = &shape{kind: shapeUint, max: math.MaxUint8}
	uint32Shape = &shape{kind: shapeUint, max: math.MaxUint32}
	uint64Shape = &shape{kind: shapeUint, max: math.MaxUint64}
	int64Shape  = &shape{kind: shapeInt}
	bytesShape  = &shape{kind: shapeBytes}
	stringShape = &shape{kind: shapeString}
)

func tupleOf(fields ...*shape) *shape { return &shape{kind: shapeTuple, fields: fields} }
func listOf(elem *shape) *shape       { return &shape{kind: shapeList, elem: elem} }
func keyedOf(fields ...*shape) *shape { return &shape{kind: shapeKeyed, fields: fields} }

// validation errors of the well-formedness kind; the limits are mapped to
// ErrTooLarge by validationError, the others to ErrMalformed.
var (
	errNesting    = errors.New("nesting too deep")
	errArrayLimit = errors.New("array too long")
	errMapLimit   = errors.New("map too large")
	errEOF        = errors.New("unexpected EOF")
)

// validate checks body, the encoding of one item of shape s and nothing
// after it, as the reflective decoder with the limits l does, and returns an
// error matching ErrTooLarge or ErrMalformed where that decoder fails (see
// decodeError). It allocates nothing unless it fails.
func (l Limits) validate(what string, body []byte, s *shape) error {
	v := validator{data: body, maxDepth: l.MaxNestedLevels - 1, maxArray: l.MaxArrayElements, maxPairs: l.MaxMapPairs}
	if len(body) == 0 {
		return validationError(what, l, errEOF)
	}
	if err := v.item(s, 0); err != nil {
		return validationError(what, l, err)
	}
	if v.off != len(body) {
		return malformed(what, "%d bytes of extraneous data starting at index %d", len(body)-v.off, v.off)
	}
	if v.mismatch != nil {
		return fmt.Errorf("%w: %s: %w", ErrMalformed, what, v.mismatch)
	}
	return nil
}

// validationError classifies an error of the well-formedness walk as
// decodeError does the reflective decoder's.
func validationError(what string, l Limits, err error) error {
	switch err {
	case errNesting:
		return fmt.Errorf("%w: %s: nesting deeper than MaxNestedLevels = %d", ErrTooLarge, what, l.MaxNestedLevels)
	case errArrayLimit:
		return fmt.Errorf("%w: %s: an array longer than MaxArrayElements = %d", ErrTooLarge, what, l.MaxArrayElements)
	case errMapLimit:
		return fmt.Errorf("%w: %s: a map larger than MaxMapPairs = %d", ErrTooLarge, what, l.MaxMapPairs)
	}
	return fmt.Errorf("%w: %s: %w", ErrMalformed, what, err)
}

// validator walks a body once; see validate.
type validator struct {
	data     []byte
	off      int
	maxDepth int // of arrays and maps: the envelope takes a level of MaxNestedLevels
	maxArray int
	maxPairs int
	mismatch error // the first item found of a type its place does not take
}

// item checks the item at v.off against s (unless a mismatch was found
// already) and moves past it. depth is the number of arrays and maps
// around it. It returns well-formedness errors only.
func (v *validator) item(s *shape, depth int) error {
	start := v.off
	major, info, arg, err := v.head()
	if err != nil {
		return err
	}
	if v.mismatch != nil {
		s = nil
	}
	if s != nil && !s.takes(major, info, arg) {
		v.mismatch = fmt.Errorf("cannot unmarshal %s at byte %d: %s", describeItem(major, info, arg), start, s.want())
		s = nil
	}
	switch major {
	case majorBytes, majorText:
		if info == 31 {
			return errors.New("indefinite-length strings are not allowed")
		}
		if arg > math.MaxInt64 {
			return fmt.Errorf("string length %d is too large, causing integer overflow", arg)
		}
		if arg > uint64(len(v.data)-v.off) {
			return errEOF
		}
		str := v.data[v.off : v.off+int(arg)]
		v.off += int(arg)
		if major == majorText && s != nil && s.kind == shapeString && !utf8.Valid(str) {
			v.mismatch = fmt.Errorf("invalid UTF-8 string at byte %d", start)
		}
		return nil
	case majorArray, majorMap:
		return v.container(s, major, info, arg, depth+1)
	case majorTag:
		return errors.New("CBOR tag isn't allowed")
	}
	return nil // integers and simple values: head already checked
}

// container checks the elements of an array or the pairs of a map whose
// head v.head just read.
func (v *validator) container(s *shape, major, info byte, arg uint64, depth int) error {
	if depth > v.maxDepth {
		return errNesting
	}
	if info == 31 {
		return errors.New("indefinite-length arrays and maps are not allowed")
	}
	if arg > math.MaxInt64 {
		return fmt.Errorf("length %d is too large, causing integer overflow", arg)
	}
	if major == majorArray {
		if arg > uint64(v.maxArray) {
			return errArrayLimit
		}
		for i := range int(arg) {
			if err := v.item(s.element(i), depth); err != nil {
				return err
			}
		}
		return nil
	}
	if arg > uint64(v.maxPairs) {
		return errMapLimit
	}
	var seen uint64 // keys found, a bit per key below 64
	for range int(arg) {
		keyAt := v.off
		if err := v.item(nil, depth); err != nil {
			return err
		}
		var field *shape
		if s != nil && v.mismatch == nil {
			key, ok := v.fieldKey(keyAt, len(s.fields))
			switch {
			case !ok:
				v.mismatch = fmt.Errorf("map key at byte %d is not a field (an unknown field)", keyAt)
			case seen&(1<<key) != 0:
				v.mismatch = fmt.Errorf("duplicate map key %d at byte %d", key, keyAt)
			default:
				seen |= 1 << key
				field = s.fields[key-1]
			}
		}
		if err := v.item(field, depth); err != nil {
			return err
		}
	}
	return nil
}

// fieldKey returns the key at off, already found well formed, when it
// names one of n fields: an unsigned integer from 1 to n.
func (v *validator) fieldKey(off, n int) (uint64, bool) {
	major, _, arg, _, err := readItemHead(v.data[off:])
	return arg, err == nil && major == majorUint && arg >= 1 && arg <= uint64(n) && n < 64
}

// element returns the shape of element i of an array of shape s: nil, to
// check well-formedness only, when s is nil.
func (s *shape) element(i int) *shape {
	switch {
	case s == nil:
		return nil
	case s.kind == shapeTuple:
		return s.fields[i]
	case s.kind == shapeBytes:
		return uint8Shape
	}
	return s.elem
}

// head reads the head at v.off and moves past it, refusing what the
// reflective decoder's well-formedness check refuses in a head.
func (v *validator) head() (major, info byte, arg uint64, err error) {
	if v.off < len(v.data) && v.data[v.off]&0x1f < 24 { // a one-byte head, the common case
		b := v.data[v.off]
		v.off++
		return b >> 5, b & 0x1f, uint64(b & 0x1f), nil
	}
	major, info, arg, n, err := readItemHead(v.data[v.off:])
	if err != nil {
		return 0, 0, 0, err
	}
	v.off += n
	return major, info, arg, nil
}

// readItemHead reads the head at the start of data as the reflective
// decoder's well-formedness check does: unlike readHead, it returns the
// additional information and takes the head of an indefinite-length
// string, array or map (info 31), for its caller to refuse at the same
// point that check does. It refuses reserved additional information,
// indefinite integers and tags, a lone break and the two-byte encoding of
// a simple value below 32.
func readItemHead(data []byte) (major, info byte, arg uint64, n int, err error) {
	if len(data) == 0 {
		return 0, 0, 0, 0, errEOF
	}
	major, info = data[0]>>5, data[0]&0x1f
	switch {
	case info < 24:
		return major, info, uint64(info), 1, nil
	case info <= 27:
		size := 1 << (info - 24)
		if len(data) < 1+size {
			return 0, 0, 0, 0, errEOF
		}
		switch size {
		case 1:
			arg = uint64(data[1])
		case 2:
			arg = uint64(binary.BigEndian.Uint16(data[1:]))
		case 4:
			arg = uint64(binary.BigEndian.Uint32(data[1:]))
		default:
			arg = binary.BigEndian.Uint64(data[1:])
		}
		if major == majorSimple && info == 24 && arg < 32 {
			return 0, 0, 0, 0, fmt.Errorf("invalid simple value %d", arg)
		}
		return major, info, arg, 1 + size, nil
	case info == 31 && (major == majorBytes || major == majorText || major == majorArray || major == majorMap):
		return major, info, 0, 1, nil
	case info == 31 && major == majorSimple:
		return 0, 0, 0, 0, errors.New(`unexpected "break" code`)
	}
	return 0, 0, 0, 0, fmt.Errorf("invalid additional information %d for major type %d", info, major)
}

// takes reports whether the reflective decoder accepts an item with this
// head where s is expected (the elements of arrays and maps aside).
func (s *shape) takes(major, info byte, arg uint64) bool {
	if major == majorSimple && (info == 22 || info == 23) {
		return true // null and undefined: the zero value
	}
	simple := major == majorSimple && (info < 20 || info == 24) // taken for the integer arg
	switch s.kind {
	case shapeUint:
		return (major == majorUint || simple) && arg <= s.max
	case shapeInt:
		return (major == majorUint || major == majorNegative) && arg <= math.MaxInt64 || simple
	case shapeBytes:
		return major == majorBytes || major == majorArray
	case shapeString:
		return major == majorBytes || major == majorText
	case shapeTuple:
		return major == majorArray && arg == uint64(len(s.fields))
	case shapeList:
		return major == majorArray
	}
	return major == majorMap // shapeKeyed
}

// want says what s takes, for error messages.
func (s *shape) want() string {
	switch s.kind {
	case shapeUint:
		return fmt.Sprintf("want an unsigned integer up to %d (a larger one overflows)", s.max)
	case shapeInt:
		return "want an integer in the int64 range (a larger one overflows)"
	case shapeBytes:
		return "want a byte string"
	case shapeString:
		return "want a byte or text string"
	case shapeTuple:
		return fmt.Sprintf("want an array of %d elements (an array of a different number of elements does not fit)", len(s.fields))
	case shapeList:
		return "want an array"
	}
	return "want a map"
}

// describeItem names an item by its head, for error messages.
func describeItem(major, info byte, arg uint64) string {
	switch {
	case major == majorNegative:
		return "negative integer"
	case major == majorText:
		return "text string"
	case major == majorSimple && (info == 20 || info == 21):
		return "a boolean"
	case major == majorSimple && info >= 25:
		return "a float"
	case major == majorSimple:
		return fmt.Sprintf("simple value %d", arg)
	}
	return describe(major, arg)
}
