package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Type is the kind of value a key holds.
type Type string

// The types of value. TypeNone is a key that holds nothing: never written,
// or deleted.
const (
	TypeNone     Type = "none"
	TypeRegister Type = "register"
	TypeSet      Type = "set"
	TypeCounter  Type = "counter"
)

// Value is what a read or a write returns of a key.
type Value struct {
	// Key is the key read or written.
	Key string
	// Type is the type of value it holds; TypeNone when it holds nothing.
	Type Type
	// Value is the register value a reader sees: the winner among
	// concurrent values (see Inspect for all of them).
	Value []byte
	// Members are the elements of a set, sorted.
	Members []string
	// Count is the value of a counter.
	Count int64
	// Siblings is the number of concurrent values of a register; more than
	// one means writes conflicted and a write WithContext(Context) will
	// collapse them.
	Siblings int
	// Context is the key's causal context, an opaque token: hand it back
	// with WithContext to supersede exactly what was read. Strong keys
	// have none.
	Context string

	// Strong says the key is strong: one value decided by consensus (a
	// register of one value, Siblings 1), and the fields below.
	Strong bool
	// Version counts a strong key's changes (0: never written); hand it to
	// IfVersion to write only if no one else wrote since.
	Version uint64
	// Expires is when a strong value written WithTTL lapses, by the clock
	// of the node that decided it; zero for never.
	Expires time.Time
	// Replayed says a write was answered from a strong key's request-id
	// memory: applied once already, earlier, so the value then is not
	// known and the fields above are empty. Read the key for its value now.
	Replayed bool
}

// Exists reports whether the key holds a value.
func (v *Value) Exists() bool { return v.Type != TypeNone }

// valueJSON is the JSON shape of a Value.
type valueJSON struct {
	Key      string   `json:"key"`
	Type     Type     `json:"type"`
	Value    *string  `json:"value"`
	Encoding string   `json:"encoding"`
	Members  []string `json:"members"`
	Count    int64    `json:"count"`
	Siblings int      `json:"siblings"`
	Context  string   `json:"context"`
	Strong   bool     `json:"strong"`
	Version  uint64   `json:"version"`
	Expires  string   `json:"expires"`
	Replayed bool     `json:"replayed"`
}

func (j valueJSON) value() (*Value, error) {
	v := &Value{Key: j.Key, Type: j.Type, Count: j.Count, Siblings: j.Siblings, Context: j.Context,
		Strong: j.Strong, Version: j.Version, Replayed: j.Replayed}
	if v.Replayed {
		v.Type = TypeNone
	}
	var err error
	if j.Expires != "" {
		if v.Expires, err = time.Parse(time.RFC3339Nano, j.Expires); err != nil {
			return nil, fmt.Errorf("client: the node sent an expiry that is not RFC 3339: %w", err)
		}
	}
	if j.Value != nil {
		if v.Value, err = decodeText(*j.Value, j.Encoding); err != nil {
			return nil, err
		}
	}
	for _, m := range j.Members {
		b, err := decodeText(m, j.Encoding)
		if err != nil {
			return nil, err
		}
		v.Members = append(v.Members, string(b))
	}
	return v, nil
}

// decodeText returns the bytes of a JSON string sent with encoding ("" or
// "base64").
func decodeText(s, encoding string) ([]byte, error) {
	switch encoding {
	case "":
		return []byte(s), nil
	case "base64":
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("client: decoding a base64 value from the node: %w", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("client: the node sent a value in unknown encoding %q: upgrade the client", encoding)
}

// Get reads key. A key that holds nothing is not an error: the Value has
// TypeNone and the Context to write it with (or, for a strong key, its
// Version).
func (c *Client) Get(ctx context.Context, key string, opts ...CallOption) (*Value, error) {
	var j valueJSON
	r := request{method: http.MethodGet, path: keyPath("/v1/kv/", key, ""), call: c.options(opts)}
	if err := c.send(ctx, r, &j, http.StatusNotFound); err != nil {
		return nil, err
	}
	return j.value()
}

// Put writes value to key as a register, replacing a value of any type, and
// returns the key as the node that coordinated the write holds it. With
// WithContext it supersedes exactly what that read saw; without, it is a
// blind write. On a strong key it may carry a condition (NX, XX, IfEq,
// IfNe, IfVersion: ErrConditionFailed when it does not hold) and WithTTL;
// a conditional Put gets a request id (see RetryOf).
func (c *Client) Put(ctx context.Context, key string, value []byte, opts ...CallOption) (*Value, error) {
	var j valueJSON
	if value == nil {
		value = []byte{}
	}
	o := c.options(opts)
	r := request{method: http.MethodPut, path: keyPath("/v1/kv/", key, ""), body: value, call: o, write: true,
		keyWrite: true, named: len(o.conds) > 0}
	if err := c.send(ctx, r, &j); err != nil {
		return nil, err
	}
	return j.value()
}

// Delete deletes whatever key holds and reports whether it held a value.
// With WithContext it deletes only what that read saw: a concurrent write
// survives. On a strong key it may carry a condition (IfEq, IfNe,
// IfVersion: ErrConditionFailed when it does not hold; see also DelIf).
func (c *Client) Delete(ctx context.Context, key string, opts ...CallOption) (bool, error) {
	var j struct {
		Deleted bool `json:"deleted"`
	}
	r := request{method: http.MethodDelete, path: keyPath("/v1/kv/", key, ""), call: c.options(opts), write: true,
		keyWrite: true, named: true}
	err := c.send(ctx, r, &j)
	return j.Deleted, err
}

// Incr adds by (negative to decrement) to the counter at key, creating it at
// 0, and returns its value as the coordinating node sees it. On a strong
// key, a string that holds a decimal integer counts from it, and a retry
// with RetryOf after ErrUnknownOutcome is applied at most once in all.
func (c *Client) Incr(ctx context.Context, key string, by int64, opts ...CallOption) (int64, error) {
	var j struct {
		Value int64 `json:"value"`
	}
	r := request{
		method: http.MethodPost, path: keyPath("/v1/counter/", key, ""),
		query: url.Values{"by": {strconv.FormatInt(by, 10)}}, call: c.options(opts), write: true,
		keyWrite: true, named: true,
	}
	err := c.send(ctx, r, &j)
	return j.Value, err
}

// SAdd adds members to the set at key, creating it, and returns how many
// were not in it.
func (c *Client) SAdd(ctx context.Context, key string, members []string, opts ...CallOption) (int64, error) {
	return c.setOp(ctx, key, "/add", members, opts)
}

// SRem removes members from the set at key and returns how many were in it.
// A concurrent add of a member it removes survives (add wins).
func (c *Client) SRem(ctx context.Context, key string, members []string, opts ...CallOption) (int64, error) {
	return c.setOp(ctx, key, "/remove", members, opts)
}

func (c *Client) setOp(ctx context.Context, key, suffix string, members []string, opts []CallOption) (int64, error) {
	if members == nil {
		members = []string{}
	}
	body, err := json.Marshal(members)
	if err != nil {
		return 0, fmt.Errorf("client: encoding members: %w", err)
	}
	var j struct {
		Added   int64 `json:"added"`
		Removed int64 `json:"removed"`
	}
	r := request{method: http.MethodPost, path: keyPath("/v1/set/", key, suffix), body: body, json: true, call: c.options(opts), write: true,
		keyWrite: true, named: true}
	err = c.send(ctx, r, &j)
	return j.Added + j.Removed, err
}

// SMembers returns the members of the set at key, sorted; none when the key
// holds nothing. A key of another type is an error matching ErrWrongType.
func (c *Client) SMembers(ctx context.Context, key string, opts ...CallOption) ([]string, error) {
	v, err := c.Get(ctx, key, opts...)
	if err != nil {
		return nil, err
	}
	if v.Type != TypeSet && v.Type != TypeNone {
		return nil, fmt.Errorf("client: key %q holds a %s, not a set: %w", key, v.Type, ErrWrongType)
	}
	return v.Members, nil
}
