package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ContextHeader is the HTTP header that carries a key's causal context.
const ContextHeader = "X-Meridian-Context"

// maxAnswer bounds the size of an answer the client reads, in bytes.
const maxAnswer = 64 << 20

// Client talks to one Meridian node over HTTP. It is safe for concurrent use.
type Client struct {
	base  string
	hc    *http.Client
	level Level
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests with hc, for timeouts,
// TLS or a custom transport. The default is http.DefaultClient.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithDefaultConsistency sets the consistency level of every call that does
// not choose one with WithConsistency. The default is the node's.
func WithDefaultConsistency(l Level) Option { return func(c *Client) { c.level = l } }

// New returns a client of the node at baseURL, such as
// "http://127.0.0.1:8080"; "127.0.0.1:8080" without a scheme means http. A
// malformed URL is reported by the first call.
func New(baseURL string, opts ...Option) *Client {
	if !strings.Contains(baseURL, "://") {
		baseURL = "http://" + baseURL
	}
	c := &Client{base: strings.TrimRight(baseURL, "/"), hc: http.DefaultClient}
	for _, o := range opts {
		o(c)
	}
	return c
}

// BaseURL returns the URL of the node the client talks to.
func (c *Client) BaseURL() string { return c.base }

// Level is a consistency level: how many replicas must answer before an
// operation succeeds. The node refuses an unknown name, listing the valid
// ones.
type Level string

// The consistency levels. The LOCAL_ and EACH_ forms count replicas within
// regions. LocalSerial and Serial are the levels of strong keys (consensus
// in the key's home region, or in every region), and apply to them only;
// the others apply to eventual keys only. A call that names no level uses
// the node's default, or a strong key's own serial level.
const (
	One         Level = "ONE"
	Quorum      Level = "QUORUM"
	All         Level = "ALL"
	LocalOne    Level = "LOCAL_ONE"
	LocalQuorum Level = "LOCAL_QUORUM"
	EachQuorum  Level = "EACH_QUORUM"
	LocalSerial Level = "LOCAL_SERIAL"
	Serial      Level = "SERIAL"
)

// CallOption adjusts one call.
type CallOption func(*call)

// call holds the options of one call.
type call struct {
	context string
	level   Level
	force   bool
	conds   []cond        // of a write to a strong key: at most one
	ttl     time.Duration // of a Put to a strong key
	reqID   string        // the write's request id
}

// WithContext makes a Put or a Delete supersede exactly what the read that
// returned token (Value.Context) saw, collapsing the siblings it read.
// Without it a write is blind. Other calls ignore it; an empty token is no
// context.
func WithContext(token string) CallOption { return func(o *call) { o.context = token } }

// WithConsistency sets the consistency level of one call.
func WithConsistency(l Level) CallOption { return func(o *call) { o.level = l } }

// WithForce makes a Remove go ahead even when the answering node sees no
// more than half of the region alive. Use it only when the other members
// are gone for good: a node on the minority side of a partition sees the
// majority dead, and removing them is what a partition must not do. Other
// calls ignore it.
func WithForce() CallOption { return func(o *call) { o.force = true } }

func (c *Client) options(opts []CallOption) call {
	o := call{level: c.level}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// request is one HTTP exchange with the node.
type request struct {
	method, path string
	query        url.Values
	body         []byte
	json         bool // body is JSON
	call         call
	write        bool // the request may change data
	// keyWrite: a write to a key, which takes the conditions, expiry and
	// request id of strong keys (other requests ignore them); named: it
	// gets a request id, made here unless the caller gave one, so that a
	// strong key applies a retry of it at most once.
	keyWrite, named bool
}

// keyPath returns the path of key under prefix, the key escaped as one
// path segment.
func keyPath(prefix, key, suffix string) string {
	return prefix + url.PathEscape(key) + suffix
}

// send runs r and decodes a successful JSON answer into out (nil to
// discard it). ok lists statuses besides 200 that carry an answer rather
// than an error.
func (c *Client) send(ctx context.Context, r request, out any, ok ...int) error {
	if !r.keyWrite {
		r.call.conds, r.call.ttl, r.call.reqID = nil, 0, ""
	} else if r.named && r.call.reqID == "" {
		r.call.reqID = newRequestID()
	}
	req, err := c.newRequest(ctx, &r)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return r.sent(fmt.Errorf("client: %w", err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return r.sent(fmt.Errorf("client: reading the answer to %s %s: %w", r.method, req.URL, err))
	}
	if resp.StatusCode != http.StatusOK && !containsStatus(ok, resp.StatusCode, body) {
		e := answerError(resp.StatusCode, body, r.write)
		e.RequestID = r.call.reqID
		return e
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("client: decoding the answer to %s %s: %w", r.method, req.URL, err)
		}
	}
	return nil
}

// newRequest returns the HTTP request of r: its query with the level, and
// its headers with the context and the options of strong keys.
func (c *Client) newRequest(ctx context.Context, r *request) (*http.Request, error) {
	q := url.Values{}
	for k, v := range r.query {
		q[k] = v
	}
	if r.call.level != "" {
		q.Set("consistency", string(r.call.level))
	}
	header := http.Header{}
	if err := r.call.strongHeaders(header, q); err != nil {
		return nil, err
	}
	u := c.base + r.path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, bytes.NewReader(r.body))
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", r.method, u, err)
	}
	req.Header = header
	if r.json {
		req.Header.Set("Content-Type", "application/json")
	} else if r.body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	if r.call.context != "" {
		req.Header.Set(ContextHeader, r.call.context)
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// sent returns err, an error reaching the node, with the request's id
// when it carried one (RequestIDOf).
func (r *request) sent(err error) error {
	if r.call.reqID == "" {
		return err
	}
	return &sentError{id: r.call.reqID, err: err}
}

// containsStatus reports whether status is one of ok and body is not an
// error answer.
func containsStatus(ok []int, status int, body []byte) bool {
	for _, s := range ok {
		if s == status {
			var probe struct {
				Code string `json:"code"`
			}
			return json.Unmarshal(body, &probe) == nil && probe.Code == ""
		}
	}
	return false
}
