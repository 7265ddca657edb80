package wire

import (
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/fxamacker/cbor/v2"
	"github.com/meridiankv/meridian/crdt"
)

// The generic plumbing of node-to-node messages: a message type is a tag, a
// registry entry and a CBOR struct, encoded by Marshal and decoded by
// Unmarshal.

// Marshal encodes body as a message of the given tag at its current
// version, using the default limits. See Codec.Marshal.
func Marshal(tag Tag, body any) ([]byte, error) { return defaultCodec.Marshal(tag, body) }

// Unmarshal decodes a message of the given tag into body, using the default
// limits. See Codec.Unmarshal.
func Unmarshal(data []byte, tag Tag, body any) error { return defaultCodec.Unmarshal(data, tag, body) }

// Marshal encodes body, the CBOR struct of a node-to-node message, in an
// envelope of tag at the version this build writes, with the encoding
// options of every item (Go strings become CBOR byte strings). It refuses
// a tag that is not a registered message tag, since states and contexts
// have their own encoders, and a body whose type holds a crdt.State or
// crdt.Context (see the package documentation). It fails with an error
// matching ErrTooLarge when the result exceeds MaxMessageSize.
func (c *Codec) Marshal(tag Tag, body any) ([]byte, error) {
	if err := checkMessage(tag, body); err != nil {
		return nil, err
	}
	return c.encodeValue(tag, body)
}

// Unmarshal decodes a message of the given tag, at the version this build
// writes, into body, a pointer to the message's CBOR struct. Input of
// another tag or version, or that breaks c's limits, is refused with an
// error matching one of the package's sentinels. Unmarshal checks the CBOR
// structure only: checking the values is the caller's business. Like
// Marshal, it refuses a tag that is not a message tag and a body holding a
// crdt.State or crdt.Context.
func (c *Codec) Unmarshal(data []byte, tag Tag, body any) error {
	if err := checkMessage(tag, body); err != nil {
		return err
	}
	return c.decodeValue(data, tag, body)
}

// checkMessage refuses, for Marshal and Unmarshal, a tag that is not a
// registered message tag and a body that holds a crdt value.
func checkMessage(tag Tag, body any) error {
	if _, err := lookup(tag); err != nil {
		return err
	}
	if !tag.IsMessage() {
		return fmt.Errorf("wire: a %s (tag %d) is not a message: use its own encoder and decoder", tag, uint16(tag))
	}
	if t := reflect.TypeOf(body); t != nil {
		if path := findOpaque(t, t.String(), map[reflect.Type]bool{}); path != "" {
			return fmt.Errorf("wire: a %s body cannot hold a crdt value (%s): it has no exported fields and would be lost; hold the bytes of EncodeState or EncodeContext instead", tag, path)
		}
	}
	return nil
}

// opaque are the crdt types whose fields are unexported: CBOR would write
// them as empty maps and silently drop their content.
var opaque = []reflect.Type{reflect.TypeFor[crdt.State](), reflect.TypeFor[crdt.Context]()}

// findOpaque returns the path to an opaque type within t, such as
// "*wire.Message.State", or "" when t holds none. It walks types, not
// values, so interface fields are not looked into.
func findOpaque(t reflect.Type, path string, seen map[reflect.Type]bool) string {
	if slices.Contains(opaque, t) {
		return path
	}
	if seen[t] {
		return ""
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return findOpaque(t.Elem(), path, seen)
	case reflect.Map:
		if p := findOpaque(t.Key(), path, seen); p != "" {
			return p
		}
		return findOpaque(t.Elem(), path, seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				if p := findOpaque(f.Type, path+"."+f.Name, seen); p != "" {
					return p
				}
			}
		}
	}
	return ""
}

// encodeValue encodes body, a CBOR struct of tag, at the version this
// build writes: the consensus values, and the messages of Marshal.
func (c *Codec) encodeValue(tag Tag, body any) ([]byte, error) {
	return c.appendItem(nil, tag, registry[tag].current(), body)
}

// decodeValue decodes an item of tag, at the version this build writes,
// into body, a pointer to its CBOR struct: the consensus values, and the
// messages of Unmarshal.
func (c *Codec) decodeValue(data []byte, tag Tag, body any) error {
	version, raw, err := c.open(data, tag)
	if err != nil {
		return err
	}
	f := registry[tag]
	if version != f.current() {
		return &VersionError{Tag: tag, Version: version, Supported: []uint16{f.current()}}
	}
	if err := c.dec.Unmarshal(raw, body); err != nil {
		var invalid *cbor.InvalidUnmarshalError
		if errors.As(err, &invalid) {
			return fmt.Errorf("wire: Unmarshal of a %s: %w", tag, err)
		}
		return decodeError(f.name, c.limits, err)
	}
	return nil
}
