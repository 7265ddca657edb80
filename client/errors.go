package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Sentinels an *Error matches by its Code. Use errors.Is(err, ErrWrongType).
var (
	// ErrBadRequest: a parameter, header or body was malformed (code
	// "bad_request"); nothing was applied.
	ErrBadRequest = errors.New("client: bad request")
	// ErrNotFound: no such route or node (code "not_found"). A key that
	// holds nothing is not an error: Get returns a Value of TypeNone.
	ErrNotFound = errors.New("client: not found")
	// ErrRejected: the node refused the request, such as a value over its
	// size limit (code "rejected"); nothing was applied.
	ErrRejected = errors.New("client: rejected")
	// ErrWrongType: the key holds another kind of value (code
	// "wrong_type"); nothing was applied.
	ErrWrongType = errors.New("client: key holds another type")
	// ErrOverflow: the counter would leave the int64 range (code
	// "overflow"); nothing was applied.
	ErrOverflow = errors.New("client: counter overflow")
	// ErrUnavailable: too few replicas were reachable (code "unavailable");
	// nothing was tried.
	ErrUnavailable = errors.New("client: unavailable")
	// ErrTimeout: a read did not get enough answers in time (code
	// "timeout").
	ErrTimeout = errors.New("client: timeout")
	// ErrUnknownOutcome: a write did not get enough answers in time (code
	// "unknown_outcome"); it may have been applied and will then spread.
	ErrUnknownOutcome = errors.New("client: outcome unknown")
	// ErrInternal: the node failed (code "internal").
	ErrInternal = errors.New("client: internal error")
	// ErrConditionFailed: the condition of a write to a strong key (NX, XX,
	// IfEq, IfNe, IfVersion) did not hold (code "condition_failed", HTTP
	// 412); nothing was applied. Error.Current is the key's value then.
	ErrConditionFailed = errors.New("client: condition not met")
)

var sentinels = map[string]error{
	"bad_request":      ErrBadRequest,
	"not_found":        ErrNotFound,
	"rejected":         ErrRejected,
	"wrong_type":       ErrWrongType,
	"overflow":         ErrOverflow,
	"unavailable":      ErrUnavailable,
	"timeout":          ErrTimeout,
	"unknown_outcome":  ErrUnknownOutcome,
	"internal":         ErrInternal,
	"condition_failed": ErrConditionFailed,
}

// Error is an error a node answered.
type Error struct {
	// Status is the HTTP status, such as 409.
	Status int
	// Code names the error, such as "wrong_type"; see the sentinels. It is
	// empty when the answer was not Meridian's JSON error, such as a proxy's
	// page.
	Code string
	// Applied is "no" when the operation was certainly not applied, "maybe"
	// when a write may have taken effect on some replica.
	Applied string
	// Message is the node's explanation, intact.
	Message string
	// RequestID is the request id the write carried (Idempotency-Key), for
	// a retry with RetryOf; empty when it carried none.
	RequestID string
	// Current is the value of a strong key whose condition did not hold
	// (ErrConditionFailed), version included; nil otherwise, and when the
	// node answered from the key's request-id memory.
	Current *Value
}

// Error returns the message with the code and status.
func (e *Error) Error() string {
	code := e.Code
	if code == "" {
		code = strings.ToLower(strings.ReplaceAll(http.StatusText(e.Status), " ", "_"))
	}
	return fmt.Sprintf("client: %s (%s, HTTP %d)", e.Message, code, e.Status)
}

// Is makes errors.Is(err, ErrWrongType) and the other sentinels true for the
// Error's code.
func (e *Error) Is(target error) bool {
	s, ok := sentinels[e.Code]
	return ok && s == target
}

// MaybeApplied reports whether the operation may have been applied despite
// the error: read before retrying a write that is not idempotent, such as
// an increment.
func (e *Error) MaybeApplied() bool { return e.Applied == "maybe" }

// answerError builds the Error of an answer with a failing status. write
// says whether the request may have changed data, for answers that do not
// say.
func answerError(status int, body []byte, write bool) *Error {
	var b struct {
		Error   string     `json:"error"`
		Code    string     `json:"code"`
		Applied string     `json:"applied"`
		Current *valueJSON `json:"current"`
	}
	if json.Unmarshal(body, &b) == nil && b.Code != "" {
		e := &Error{Status: status, Code: b.Code, Applied: b.Applied, Message: b.Error}
		if b.Current != nil {
			e.Current, _ = b.Current.value() // a value that does not decode is left out
		}
		return e
	}
	e := &Error{Status: status, Applied: "no", Message: snippet(body)}
	if write && status >= 500 {
		e.Applied = "maybe"
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// snippet returns the start of a body that is not Meridian's, for an error
// message.
func snippet(body []byte) string {
	const limit = 200
	s := strings.TrimSpace(string(body))
	if !utf8.ValidString(s) {
		return fmt.Sprintf("%d bytes of non-text answer", len(body))
	}
	if len(s) > limit {
		s = strings.ToValidUTF8(s[:limit], "") + "..."
	}
	return s
}
