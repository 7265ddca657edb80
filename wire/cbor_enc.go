package wire

import (
	"encoding/binary"
	"math"
)

// The hand-written CBOR encoder: append functions for the few kinds of item
// the version-1 formats hold, each writing exactly what encMode writes for
// the Go value the reflective structs (stateV1, messageV1, ...) hold there:
// heads in their shortest form, negative integers as major type 1, Go
// strings and byte slices as byte strings, nil slices as empty ones.

// More CBOR major types; envelope.go names 0, 2 and 4.
const (
	majorNegative = 1
	majorText     = 3
	majorMap      = 5
	majorTag      = 6
	majorSimple   = 7
)

// appendHead appends the head of an item of the given major type whose
// argument (a value, length or count) is arg, in its shortest form.
func appendHead(dst []byte, major byte, arg uint64) []byte {
	m := major << 5
	switch {
	case arg < 24:
		return append(dst, m|byte(arg))
	case arg <= math.MaxUint8:
		return append(dst, m|24, byte(arg))
	case arg <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, m|25), uint16(arg))
	case arg <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, m|26), uint32(arg))
	}
	return binary.BigEndian.AppendUint64(append(dst, m|27), arg)
}

// headLen is the length of the head appendHead writes for arg.
func headLen(arg uint64) int {
	switch {
	case arg < 24:
		return 1
	case arg <= math.MaxUint8:
		return 2
	case arg <= math.MaxUint16:
		return 3
	case arg <= math.MaxUint32:
		return 5
	}
	return 9
}

// appendUint64 appends v as an unsigned integer.
func appendUint64(dst []byte, v uint64) []byte { return appendHead(dst, majorUint, v) }

// appendInt64 appends v as an unsigned integer, or as a negative one
// (major type 1, argument -1-v) when it is below zero.
func appendInt64(dst []byte, v int64) []byte {
	if v < 0 {
		return appendHead(dst, majorNegative, uint64(^v)) // ^v == -1-v
	}
	return appendHead(dst, majorUint, uint64(v))
}

// appendBytes appends b as a byte string; a nil b as an empty one.
func appendBytes(dst, b []byte) []byte {
	return append(appendHead(dst, majorBytes, uint64(len(b))), b...)
}

// appendString appends s as a byte string, as encMode writes Go strings.
func appendString(dst []byte, s string) []byte {
	return append(appendHead(dst, majorBytes, uint64(len(s))), s...)
}
