package region

import (
	"errors"
	gosync "sync"
	"testing"
	"time"

	kvsync "github.com/meridiankv/meridian/sync"
)

// manualClock is a Clock that moves only when Advance is called.
type manualClock struct {
	mu      gosync.Mutex
	now     time.Time
	tickers []*manualTicker
}

type manualTicker struct {
	c       chan time.Time
	period  time.Duration
	next    time.Time
	stopped bool
}

func newManualClock() *manualClock { return &manualClock{now: time.Unix(1_700_000_000, 0)} }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) NewTicker(d time.Duration) Ticker {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTicker{c: make(chan time.Time, 1), period: d, next: c.now.Add(d)}
	c.tickers = append(c.tickers, t)
	return &manualTickerHandle{c, t}
}

// Advance moves the clock by d and fires the tickers whose time came, once
// each at most, dropping the ticks a slow reader missed.
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.tickers {
		if t.stopped || c.now.Before(t.next) {
			continue
		}
		select {
		case t.c <- c.now:
		default:
		}
		for !c.now.Before(t.next) {
			t.next = t.next.Add(t.period)
		}
	}
}

type manualTickerHandle struct {
	c *manualClock
	t *manualTicker
}

func (h *manualTickerHandle) C() <-chan time.Time { return h.t.c }
func (h *manualTickerHandle) Stop() {
	h.c.mu.Lock()
	h.t.stopped = true
	h.c.mu.Unlock()
}

// TestRequestTimeoutsFollowTheNodesClock: a node's request timeouts run on
// its Clock, not on the machine's: a QUORUM write its peer never answers
// stays pending while the node's clock stands still, however long the
// test waits, and fails once the clock passes the request timeout.
func TestRequestTimeoutsFollowTheNodesClock(t *testing.T) {
	const timeout = 200 * time.Millisecond
	r := newMemRegion(t, 2, func(c *Config) { c.Replicas, c.RequestTimeout = 2, timeout })
	r.until("both nodes active", 30*time.Second, r.settled)
	ctx := t.Context()
	if res := r.nodes[0].Do(ctx, put("k", "v1", kvsync.Quorum)); res.Err != nil {
		t.Fatalf("a QUORUM write with both nodes up: %v", res.Err)
	}

	r.tr.Cut(r.cfgs[0].PeerAddr, r.cfgs[1].PeerAddr)
	answer := make(chan kvsync.Response, 1)
	go func() { answer <- r.nodes[0].Do(ctx, put("k", "v2", kvsync.Quorum)) }()
	select {
	case res := <-answer:
		t.Fatalf("answered while the node's clock stood still: %v", res.Err)
	case <-time.After(5 * timeout): // five request timeouts of the machine's time
	}
	r.clock.Advance(timeout + 10*time.Millisecond)
	for range 3 { // the loop takes the tick as the clock passes the deadline
		r.clock.Advance(10 * time.Millisecond)
	}
	select {
	case res := <-answer:
		var te *kvsync.TimeoutError
		var ue *kvsync.UnavailableError
		if !errors.As(res.Err, &te) && !errors.As(res.Err, &ue) {
			t.Fatalf("a write its peer never answers: %v, want a timeout or an unavailable error", res.Err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the write was not answered once the node's clock passed its timeout")
	}
}
