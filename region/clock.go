package region

import "time"

// Clock is the time a node's loop reads and the tickers that drive it: the
// replication state machine's ticks (request timeouts, hint replay,
// anti-entropy), the membership refresh (the dead timeout) and request
// latencies all come from it. Config.Clock defaults to the system clock; a
// test drives a node with its own, so that a timeout happens when the test
// says, not after a sleep.
//
// memberlist keeps its own time (its failure detector is its own business),
// and so do the transports' connection timeouts.
type Clock interface {
	Now() time.Time
	// NewTicker returns a ticker that delivers the time on its channel
	// every d, dropping ticks a slow reader misses, as time.Ticker does.
	NewTicker(d time.Duration) Ticker
}

// Ticker is a Clock's time.Ticker.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// SystemClock is the Clock of the machine.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTicker returns a time.Ticker.
func (SystemClock) NewTicker(d time.Duration) Ticker { return systemTicker{time.NewTicker(d)} }

type systemTicker struct{ t *time.Ticker }

func (t systemTicker) C() <-chan time.Time { return t.t.C }
func (t systemTicker) Stop()               { t.t.Stop() }
