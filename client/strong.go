package client

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Strong keys are the keys the cluster declares strong (meridiand
// --strong): each holds one value decided by consensus, with a version
// that counts its changes. Their writes can be conditional (NX, XX, IfEq,
// IfNe, IfVersion) and a Put can lapse (WithTTL); a node refuses these on
// an eventual key, with ErrRejected.

// IdempotencyKeyHeader is the HTTP header that names a write: a strong key
// remembers the names of its latest 16 writes with their answers, and
// answers a retry of one as it did, without applying it again.
const IdempotencyKeyHeader = "Idempotency-Key"

// cond is a condition of a write.
type cond struct {
	header, value string // an HTTP header and its value
	param         string // or a query parameter, with value
	name          string // for errors: "NX", "IfEq", ...
}

// NX makes a Put or Delete apply only if the key holds nothing (SET NX;
// HTTP If-None-Match: *). Strong keys only.
func NX() CallOption {
	return func(o *call) { o.conds = append(o.conds, cond{header: "If-None-Match", value: "*", name: "NX"}) }
}

// XX makes a Put or Delete apply only if the key holds something (SET XX;
// HTTP If-Match: *). Strong keys only.
func XX() CallOption {
	return func(o *call) { o.conds = append(o.conds, cond{header: "If-Match", value: "*", name: "XX"}) }
}

// IfEq makes a Put or Delete apply only if the key holds the string value
// (SET IFEQ, DELEX IFEQ). A counter or a set never equals it. Strong keys
// only.
func IfEq(value []byte) CallOption {
	return func(o *call) { o.conds = append(o.conds, cond{param: "ifeq", value: string(value), name: "IfEq"}) }
}

// IfNe makes a Put or Delete apply only if the key does not hold the string
// value (SET IFNE): a key that holds nothing, a counter or a set passes.
// Strong keys only.
func IfNe(value []byte) CallOption {
	return func(o *call) { o.conds = append(o.conds, cond{param: "ifne", value: string(value), name: "IfNe"}) }
}

// IfVersion makes a Put or Delete apply only if the key's version is still
// version (Value.Version of a read; HTTP If-Match). Version 0 is a key
// never written. Strong keys only.
func IfVersion(version uint64) CallOption {
	return func(o *call) {
		o.conds = append(o.conds, cond{header: "If-Match", value: `"` + strconv.FormatUint(version, 10) + `"`, name: "IfVersion"})
	}
}

// WithTTL makes a Put's value lapse after d, rounded up to a millisecond
// (SET PX): the key then holds nothing. Strong keys only; a Put without it
// clears an earlier expiry.
func WithTTL(d time.Duration) CallOption {
	return func(o *call) { o.ttl = d }
}

// WithRequestID names a write id (at most 64 bytes) instead of the name
// the client makes for it. A strong key answers a write whose name it
// remembers as it answered it, without applying it again.
func WithRequestID(id string) CallOption { return func(o *call) { o.reqID = id } }

// RetryOf makes a write reuse the request id of the write that returned
// err, so that on a strong key a retry after ErrUnknownOutcome is applied
// at most once in all:
//
//	n, err := c.Incr(ctx, "acct:42", 5)
//	if errors.Is(err, client.ErrUnknownOutcome) {
//		n, err = c.Incr(ctx, "acct:42", 5, client.RetryOf(err))
//	}
//
// It names the same operation: retry with the same arguments. An err that
// carries no request id (a read's, or a plain Put's) changes nothing.
func RetryOf(err error) CallOption {
	id := RequestIDOf(err)
	return func(o *call) {
		if id != "" {
			o.reqID = id
		}
	}
}

// RequestIDOf returns the request id of the write that returned err, or ""
// when it carried none.
func RequestIDOf(err error) string {
	var e *Error
	var s *sentError
	switch {
	case errors.As(err, &e):
		return e.RequestID
	case errors.As(err, &s):
		return s.id
	}
	return ""
}

// sentError is an error reaching the node with a write that carried a
// request id, such as a connection reset: the write may have been applied.
type sentError struct {
	id  string
	err error
}

func (e *sentError) Error() string { return e.err.Error() }
func (e *sentError) Unwrap() error { return e.err }

// newRequestID returns a random request id: 22 characters of base64url.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// strongHeaders adds the call's conditions, expiry and request id to the
// request: req's headers and q.
func (o *call) strongHeaders(h http.Header, q url.Values) error {
	if len(o.conds) > 1 {
		return fmt.Errorf("client: conditions %s and %s given together: give one", o.conds[0].name, o.conds[1].name)
	}
	for _, c := range o.conds {
		if c.header != "" {
			h.Set(c.header, c.value)
		} else {
			q.Set(c.param, c.value)
		}
	}
	if o.ttl != 0 {
		if o.ttl < 0 {
			return fmt.Errorf("client: WithTTL(%s): must be positive", o.ttl)
		}
		q.Set("px", strconv.FormatInt(int64((o.ttl+time.Millisecond-1)/time.Millisecond), 10))
	}
	if o.reqID != "" {
		h.Set(IdempotencyKeyHeader, o.reqID)
	}
	return nil
}

// DelIf deletes key only if it holds the string value, and reports whether
// it did: false when it held another value or nothing (DELIFEQ, DELEX
// IFEQ). Releasing a lock this way never releases another holder's. Strong
// keys only.
func (c *Client) DelIf(ctx context.Context, key string, value []byte, opts ...CallOption) (bool, error) {
	deleted, err := c.Delete(ctx, key, append(opts, IfEq(value))...)
	if errors.Is(err, ErrConditionFailed) {
		return false, nil
	}
	return deleted, err
}
