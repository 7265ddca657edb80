package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The envelope [tag, version, body] is read and written here by hand, a few
// CBOR heads, so that Peek can dispatch on the tag without decoding the
// body, and the body is then decoded in place without a copy.

// CBOR major types (RFC 8949, section 3.1) this package reads by hand.
const (
	majorUint  = 0
	majorBytes = 2
	majorArray = 4
)

// envelopeHead is the head of the envelope: an array of three elements.
const envelopeHead = majorArray<<5 | 3

var (
	errTruncated  = errors.New("input ends in the middle of a head")
	errIndefinite = errors.New("indefinite lengths are not allowed")
	errReserved   = errors.New("reserved additional information value")
)

// readHead reads the head of the CBOR data item at the start of data: its
// major type, its argument (a length, a count or an integer's value) and the
// length of the head in bytes. Indefinite lengths are refused. readHead
// never reads past data.
func readHead(data []byte) (major byte, arg uint64, n int, err error) {
	if len(data) == 0 {
		return 0, 0, 0, errTruncated
	}
	major, info := data[0]>>5, data[0]&0x1f
	switch {
	case info < 24:
		return major, uint64(info), 1, nil
	case info <= 27:
		size := 1 << (info - 24) // 1, 2, 4 or 8 bytes follow
		if len(data) < 1+size {
			return 0, 0, 0, errTruncated
		}
		for _, b := range data[1 : 1+size] {
			arg = arg<<8 | uint64(b)
		}
		return major, arg, 1 + size, nil
	case info == 31:
		return 0, 0, 0, errIndefinite
	}
	return 0, 0, 0, errReserved
}

// appendUint appends v as a CBOR unsigned integer in its shortest form.
func appendUint(dst []byte, v uint16) []byte {
	switch {
	case v < 24:
		return append(dst, byte(v))
	case v <= math.MaxUint8:
		return append(dst, 24, byte(v))
	}
	return binary.BigEndian.AppendUint16(append(dst, 25), v)
}

// appendEnvelopeHead appends the envelope's head, tag and version: what
// precedes the body.
func appendEnvelopeHead(dst []byte, tag Tag, version uint16) []byte {
	dst = append(dst, envelopeHead)
	dst = appendUint(dst, uint16(tag))
	return appendUint(dst, version)
}

// readEnvelope splits an encoded item into its tag, version and body. It
// checks the envelope's shape only: whether the tag is known, and the body,
// are for its callers.
func readEnvelope(data []byte) (Tag, uint16, []byte, error) {
	major, arg, n, err := readHead(data)
	if err != nil {
		return 0, 0, nil, malformed("envelope", "%v", err)
	}
	if major != majorArray || arg != 3 {
		return 0, 0, nil, malformed("envelope", "want an array [tag, version, body], got %s", describe(major, arg))
	}
	data = data[n:]
	tag, n, err := readUint16(data, "tag")
	if err != nil {
		return 0, 0, nil, err
	}
	data = data[n:]
	version, n, err := readUint16(data, "version")
	if err != nil {
		return 0, 0, nil, err
	}
	body := data[n:]
	if len(body) == 0 {
		return 0, 0, nil, malformed("envelope", "no body after tag %d, version %d", tag, version)
	}
	return Tag(tag), version, body, nil
}

// readUint16 reads an unsigned integer of at most 16 bits, the envelope's
// tag or version, and the length of its encoding.
func readUint16(data []byte, what string) (uint16, int, error) {
	major, arg, n, err := readHead(data)
	if err != nil {
		return 0, 0, malformed("envelope", "reading the %s: %v", what, err)
	}
	if major != majorUint || arg > math.MaxUint16 {
		return 0, 0, malformed("envelope", "the %s must be an unsigned integer below 65536, got %s", what, describe(major, arg))
	}
	return uint16(arg), n, nil
}

// describe names a CBOR item by its head, for error messages.
func describe(major byte, arg uint64) string {
	switch major {
	case majorUint:
		return fmt.Sprintf("the unsigned integer %d", arg)
	case 1:
		return "a negative integer"
	case majorBytes:
		return fmt.Sprintf("a byte string of %d bytes", arg)
	case 3:
		return "a text string"
	case majorArray:
		return fmt.Sprintf("an array of %d elements", arg)
	case 5:
		return "a map"
	case 6:
		return "a CBOR tag"
	}
	return "a simple value or float"
}
