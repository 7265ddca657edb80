package httpapi

import (
	"encoding/base64"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// ContextHeader is the header that carries a key's causal context: out with
// every read and write, back in with a write that supersedes what it read.
const ContextHeader = "X-Meridian-Context"

// encodingBase64 marks values and members sent as standard base64 because
// they are not valid UTF-8.
const encodingBase64 = "base64"

// valueBody is the JSON answer of a read or a write: what a client sees of
// a key.
type valueBody struct {
	Key      string   `json:"key"`
	Type     string   `json:"type,omitempty"`
	Value    *string  `json:"value,omitempty"`
	Encoding string   `json:"encoding,omitempty"`
	Members  []string `json:"members,omitempty"`
	Count    *int64   `json:"count,omitempty"`
	Siblings int      `json:"siblings"`
	Context  string   `json:"context,omitempty"` // eventual keys only
	// Strong keys: the version (count of changes, the ETag), and when a
	// value written with ?px= lapses (RFC 3339, the proposer's clock).
	Strong  bool    `json:"strong,omitempty"`
	Version *uint64 `json:"version,omitempty"`
	Expires string  `json:"expires,omitempty"`
	// Replayed: a write answered from a strong key's request-id memory
	// (Idempotency-Key): applied once, earlier; its value then is not known.
	Replayed bool `json:"replayed,omitempty"`
}

// encodeContext returns the token a client hands back: base64url, without
// padding, of the context's wire encoding.
func encodeContext(ctx crdt.Context) (string, error) {
	b, err := wire.EncodeContext(ctx)
	if err != nil {
		return "", fmt.Errorf("httpapi: encoding the causal context %s: %w", ctx, err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// decodeContext parses a token made by encodeContext.
func decodeContext(token string) (*crdt.Context, error) {
	b, err := base64.RawURLEncoding.DecodeString(trimPadding(token))
	if err != nil {
		return nil, badRequest("bad %s header: not base64url (%v): send back the context exactly as a read returned it", ContextHeader, err)
	}
	ctx, err := wire.DecodeContext(b)
	if err != nil {
		return nil, badRequest("bad %s header: %v: send back the context exactly as a read returned it", ContextHeader, err)
	}
	return &ctx, nil
}

func trimPadding(s string) string {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	return s
}

// text returns b as a JSON string: itself when valid UTF-8, else base64 and
// the encoding to say so.
func text(b []byte) (string, string) {
	if utf8.Valid(b) {
		return string(b), ""
	}
	return base64.StdEncoding.EncodeToString(b), encodingBase64
}

// texts returns members as JSON strings: all as they are when every one is
// valid UTF-8, else all in base64 and the encoding to say so.
func texts(members []string) ([]string, string) {
	for _, m := range members {
		if !utf8.ValidString(m) {
			out := make([]string, len(members))
			for i, m := range members {
				out[i] = base64.StdEncoding.EncodeToString([]byte(m))
			}
			return out, encodingBase64
		}
	}
	return members, ""
}

// renderValue returns what a client sees of st, the state of key.
func renderValue(key string, st crdt.State) (valueBody, error) {
	token, err := encodeContext(st.Context())
	if err != nil {
		return valueBody{}, err
	}
	v := valueBody{Key: key, Type: st.Kind().String(), Context: token}
	switch st.Kind() {
	case crdt.KindRegister:
		win, _ := st.Get()
		s, enc := text(win.Value)
		v.Value, v.Encoding, v.Siblings = &s, enc, len(st.Siblings())
	case crdt.KindSet:
		v.Members, v.Encoding = texts(st.Members())
	case crdt.KindCounter:
		n, err := st.Value()
		if err != nil {
			return valueBody{}, opError(err, false)
		}
		v.Count = &n
	}
	return v, nil
}

// hlc is a hybrid logical clock reading as JSON: the physical part in RFC
// 3339 with nanoseconds, and the logical counter that orders events sharing
// it.
type hlc struct {
	Time    string `json:"time"`
	Logical uint32 `json:"logical"`
}

func renderTime(t crdt.Timestamp) hlc {
	return hlc{Time: t.Time().Format(time.RFC3339Nano), Logical: t.Logical}
}

// Reasons a sibling wins, in words.
const (
	reasonOnly    = "the only value"
	reasonTime    = "highest HLC timestamp"
	reasonNode    = "timestamps tie: highest node id wins"
	reasonCounter = "timestamps and node ids tie: highest counter wins"
)

// winReason says why sibs[0] wins over the others; sibs is in the order of
// crdt.State.Siblings, winner first.
func winReason(sibs []crdt.Sibling) string {
	if len(sibs) < 2 {
		return reasonOnly
	}
	w, r := sibs[0], sibs[1]
	switch {
	case w.Time != r.Time:
		return reasonTime
	case w.Dot.Node != r.Dot.Node:
		return reasonNode
	}
	return reasonCounter
}
