package wire

import (
	"errors"
	"fmt"
	"math"
)

// reader is the second pass of decoding (see validate): it reads values
// out of a body validate accepted, each in every form validate lets through
// for its shape. Its methods still check what they read, so that a misuse
// is an error rather than a panic, but on validated input they do not fail.
type reader struct {
	data []byte
	off  int
}

var errShape = errors.New("item of an unexpected type") // never on validated input

// head reads the head of the next item.
func (r *reader) head() (major, info byte, arg uint64, err error) {
	if r.off < len(r.data) && r.data[r.off]&0x1f < 24 { // a one-byte head, the common case
		b := r.data[r.off]
		r.off++
		return b >> 5, b & 0x1f, uint64(b & 0x1f), nil
	}
	major, info, arg, n, err := readItemHead(r.data[r.off:])
	if err != nil {
		return 0, 0, 0, err
	}
	if info == 31 {
		return 0, 0, 0, errShape // indefinite lengths do not pass validate
	}
	r.off += n
	return major, info, arg, nil
}

// isNull reports whether the next item is null or undefined, which the
// reflective decoder takes as the zero value of any type.
func (r *reader) isNull() bool {
	return r.off < len(r.data) && (r.data[r.off] == 0xf6 || r.data[r.off] == 0xf7)
}

// uint reads an unsigned integer, or a simple value taken for one, at
// most limit; null is 0.
func (r *reader) uint(limit uint64) (uint64, error) {
	major, info, arg, err := r.head()
	switch {
	case err != nil:
		return 0, err
	case major == majorSimple && (info == 22 || info == 23):
		return 0, nil
	case (major == majorUint || major == majorSimple && (info < 20 || info == 24)) && arg <= limit:
		return arg, nil
	}
	return 0, errShape
}

// int reads an integer in the int64 range, or a simple value; null is 0.
func (r *reader) int() (int64, error) {
	major, info, arg, err := r.head()
	switch {
	case err != nil:
		return 0, err
	case major == majorSimple && (info == 22 || info == 23):
		return 0, nil
	case arg > math.MaxInt64:
		return 0, errShape
	case major == majorUint || major == majorSimple && (info < 20 || info == 24):
		return int64(arg), nil
	case major == majorNegative:
		return ^int64(arg), nil // -1-arg
	}
	return 0, errShape
}

// str reads a byte or text string and returns its bytes, within the input:
// callers copy what they keep. Null is nil.
func (r *reader) str() ([]byte, error) {
	if r.isNull() {
		r.off++
		return nil, nil
	}
	major, _, arg, err := r.head()
	switch {
	case err != nil:
		return nil, err
	case major != majorBytes && major != majorText || arg > uint64(len(r.data)-r.off):
		return nil, errShape
	}
	b := r.data[r.off : r.off+int(arg) : r.off+int(arg)]
	r.off += int(arg)
	return b, nil
}

// bytes reads what the reflective decoder takes for a []byte: a byte
// string, returned within the input (fresh is false: callers copy what they
// keep); an array of small integers, returned in a new slice (fresh); or
// null, nil.
func (r *reader) bytes() (b []byte, fresh bool, err error) {
	if r.isNull() {
		r.off++
		return nil, false, nil
	}
	if r.off < len(r.data) && r.data[r.off]>>5 == majorArray {
		n, _, err := r.array()
		if err != nil {
			return nil, false, err
		}
		b = make([]byte, n) // n <= the bytes left: validate saw every element
		for i := range b {
			v, err := r.uint(math.MaxUint8)
			if err != nil {
				return nil, false, err
			}
			b[i] = byte(v)
		}
		return b, true, nil
	}
	b, err = r.str()
	return b, false, err
}

// ownBytes is bytes returning memory the caller owns, as the reflective
// decoder does: a byte string is copied, an empty one to a non-nil slice.
func (r *reader) ownBytes() ([]byte, error) {
	b, fresh, err := r.bytes()
	if err != nil || fresh || b == nil {
		return b, err
	}
	return append([]byte{}, b...), nil
}

// array reads the head of an array and returns its count, or null.
func (r *reader) array() (n int, null bool, err error) {
	return r.container(majorArray)
}

// mapHead reads the head of a map and returns its count, or null.
func (r *reader) mapHead() (n int, null bool, err error) {
	return r.container(majorMap)
}

func (r *reader) container(want byte) (int, bool, error) {
	if r.isNull() {
		r.off++
		return 0, true, nil
	}
	major, _, arg, err := r.head()
	switch {
	case err != nil:
		return 0, false, err
	case major != want || arg > uint64(len(r.data)-r.off):
		// Every element takes a byte at least: a count beyond the bytes
		// left was not validated.
		return 0, false, errShape
	}
	return int(arg), false, nil
}

// tuple reads the head of an array of n elements; null, the zero value of
// a toarray struct, reports null.
func (r *reader) tuple(n int) (null bool, err error) {
	count, null, err := r.array()
	if err == nil && !null && count != n {
		err = fmt.Errorf("%w: an array of %d elements, want %d", errShape, count, n)
	}
	return null, err
}

// skip moves past the next item.
func (r *reader) skip() error {
	for items := 1; items > 0; items-- {
		major, _, arg, err := r.head()
		if err != nil {
			return err
		}
		left := uint64(len(r.data) - r.off)
		switch major {
		case majorBytes, majorText:
			if arg > left {
				return errShape
			}
			r.off += int(arg)
		case majorArray, majorMap:
			if arg > left {
				return errShape
			}
			if major == majorMap {
				arg *= 2
			}
			items += int(arg)
		case majorTag:
			return errShape
		}
	}
	return nil
}
