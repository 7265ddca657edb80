package wire

import "github.com/meridiankv/meridian/crdt"

// EncodeContext returns the canonical encoding of ctx under the default
// limits. See Codec.EncodeContext.
func EncodeContext(ctx crdt.Context) ([]byte, error) { return defaultCodec.EncodeContext(ctx) }

// AppendContext appends the canonical encoding of ctx to dst under the
// default limits. See Codec.AppendContext.
func AppendContext(dst []byte, ctx crdt.Context) ([]byte, error) {
	return defaultCodec.AppendContext(dst, ctx)
}

// DecodeContext decodes a context under the default limits. See
// Codec.DecodeContext.
func DecodeContext(data []byte) (crdt.Context, error) { return defaultCodec.DecodeContext(data) }

// EncodeContext returns the canonical encoding of ctx as a TagContext item:
// equal contexts encode to identical bytes. It fails with an error matching
// ErrTooLarge when ctx exceeds c's limits.
func (c *Codec) EncodeContext(ctx crdt.Context) ([]byte, error) {
	return c.AppendContext(nil, ctx)
}

// AppendContext is EncodeContext appending to dst. On error it returns dst
// unchanged in length.
func (c *Codec) AppendContext(dst []byte, ctx crdt.Context) ([]byte, error) {
	out, err := c.limits.appendContextBody(c.appendHead(dst, TagContext, 1), ctx)
	return c.endItem(dst, out, err)
}

// DecodeContext decodes a TagContext item written by any version this build
// reads, such as the context an HTTP client sends back with a write. It
// never panics and refuses, with an error matching one of the package's
// sentinels, any input that is not a valid context within c's limits.
func (c *Codec) DecodeContext(data []byte) (crdt.Context, error) {
	version, body, err := c.open(data, TagContext)
	if err != nil {
		return crdt.Context{}, err
	}
	switch version {
	case 1:
		return c.decodeContextV1(body)
	}
	return crdt.Context{}, &VersionError{Tag: TagContext, Version: version, Supported: registry[TagContext].versions}
}

// decodeContextV1 checks the node table against the limits, then the body
// (see validate), then reads it (state_dec.go).
func (c *Codec) decodeContextV1(body []byte) (crdt.Context, error) {
	if err := checkNodeTable("context", body, c.limits); err != nil {
		return crdt.Context{}, err
	}
	if err := c.limits.validate("context", body, contextShape); err != nil {
		return crdt.Context{}, err
	}
	return readContext(&reader{data: body}, "context", nil, nil)
}
