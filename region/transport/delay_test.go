package transport_test

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/meridiankv/meridian/region/transport"
	"go.uber.org/goleak"
)

// clockImpls runs the Config.Delay tests on both transports: QUIC on
// loopback in real time, where a delay is checked between bounds, and the
// in-memory network in a synctest bubble, where time is fake and a frame
// arrives exactly when it is due (fake is true).
var clockImpls = []struct {
	name string
	env  func(t testing.TB) listenFunc
	fake bool
}{
	{"quic", quicEnv, false},
	{"mem", memEnv, true},
}

var delayCases = []struct {
	name string
	run  func(t *testing.T, listen listenFunc, fake bool)
}{
	{"a delayed peer does not hold another", testDelayPerAddress},
	{"jitter keeps the order", testDelayJitterKeepsOrder},
	{"Close does not wait for held frames", testDelayClose},
}

func TestDelay(t *testing.T) {
	for _, im := range clockImpls {
		for _, c := range delayCases {
			t.Run(im.name+"/"+c.name, func(t *testing.T) {
				if !im.fake {
					c.run(t, im.env(t), false)
					return
				}
				synctest.Test(t, func(t *testing.T) { c.run(t, im.env(t), true) })
			})
		}
	}
}

// slowLink bounds how late a delayed frame may arrive over loopback.
const slowLink = 2 * time.Second

func testDelayPerAddress(t *testing.T, listen listenFunc, fake bool) {
	const delay = 100 * time.Millisecond
	rxB, rxC := newSink(), newSink()
	b := listen(transport.Config{}, rxB.handle)
	c := listen(transport.Config{}, rxC.handle)
	a := listen(transport.Config{Delay: func(addr string) time.Duration {
		if addr == b.LocalAddr() {
			return delay
		}
		return 0
	}}, newSink().handle)
	// Connect first, so that no handshake is measured.
	for _, to := range []transport.Transport{b, c} {
		if err := a.Send(to.LocalAddr(), numbered(0, 10)); err != nil {
			t.Fatal(err)
		}
	}
	rxB.wait(t, a.LocalAddr(), 1)
	rxC.wait(t, a.LocalAddr(), 1)

	start := time.Now()
	for _, to := range []transport.Transport{b, c} { // the delayed peer first
		if err := a.Send(to.LocalAddr(), numbered(1, 10)); err != nil {
			t.Fatal(err)
		}
	}
	_, atC := rxC.wait(t, a.LocalAddr(), 2)
	_, atB := rxB.wait(t, a.LocalAddr(), 2)
	toB, toC := atB[1].Sub(start), atC[1].Sub(start)
	if toB < delay || toB > slowLink {
		t.Errorf("the frame with Delay %v arrived after %v, want between %v and %v", delay, toB, delay, slowLink)
	}
	if toC >= delay || !atC[1].Before(atB[1]) {
		t.Errorf("the frame with Delay 0 arrived after %v, the delayed one after %v: it was held behind the delayed peer", toC, toB)
	}
	if fake && (toB != delay || toC != 0) {
		t.Errorf("on a fake clock: arrived after %v and %v, want exactly %v and 0", toB, toC, delay)
	}
}

func testDelayJitterKeepsOrder(t *testing.T, listen listenFunc, fake bool) {
	const n, jitter = 200, 30 * time.Millisecond
	rng := rand.New(rand.NewPCG(1, 2))
	delays := make([]time.Duration, 0, n) // Delay's answers, one per Send
	rx := newSink()
	b := listen(transport.Config{}, rx.handle)
	a := listen(transport.Config{Delay: func(string) time.Duration {
		d := time.Duration(rng.Int64N(int64(jitter) + 1))
		delays = append(delays, d) // Send calls it on this goroutine only
		return d
	}}, newSink().handle)
	sent := make([]time.Time, n)
	for i := range n {
		sent[i] = time.Now()
		if err := a.Send(b.LocalAddr(), numbered(i, 10)); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	if len(delays) != n {
		t.Fatalf("Delay was called %d times for %d frames, want once per frame", len(delays), n)
	}
	frames, at := rx.wait(t, a.LocalAddr(), n)
	checkSequence(t, a.LocalAddr(), frames, n)
	var release time.Time // the frame's release time: due, and not before the previous frame's
	for i := range n {
		if due := sent[i].Add(delays[i]); due.After(release) {
			release = due
		}
		if at[i].Before(release) {
			t.Errorf("frame %d arrived %v after Send, before its release time %v after Send", i, at[i].Sub(sent[i]), release.Sub(sent[i]))
		}
		if fake && !at[i].Equal(release) {
			t.Errorf("on a fake clock frame %d arrived %v after Send, want exactly its release time %v", i, at[i].Sub(sent[i]), release.Sub(sent[i]))
		}
	}
}

func testDelayClose(t *testing.T, listen listenFunc, fake bool) {
	const n, lead = 100, 50 * time.Millisecond
	ignore := goleak.IgnoreCurrent()
	rx := newSink()
	b := listen(transport.Config{}, rx.handle)
	// Frame 0 connects; frame 1 is held for lead: once it arrives the
	// sender has flushed it and waits for frame 2, held with the other n-1
	// for an hour.
	var calls atomic.Int64
	a := listen(transport.Config{Delay: func(string) time.Duration {
		switch calls.Add(1) {
		case 1:
			return 0
		case 2:
			return lead
		default:
			return time.Hour
		}
	}}, newSink().handle)
	if err := a.Send(b.LocalAddr(), numbered(0, 100)); err != nil {
		t.Fatal(err)
	}
	rx.wait(t, a.LocalAddr(), 1)
	for i := 1; i <= n+1; i++ {
		if err := a.Send(b.LocalAddr(), numbered(i, 100)); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	rx.wait(t, a.LocalAddr(), 2)
	if fake {
		synctest.Wait() // the sender is waiting for frame 2
	}
	if s := a.Stats().Peers[b.LocalAddr()]; s.Queued != n || s.FramesSent != 2 {
		t.Fatalf("stats while held %+v, want Queued %d and FramesSent 2", s, n)
	}
	start := time.Now()
	closed := make(chan error, 1)
	go func() { closed <- a.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(slowLink):
		t.Fatalf("Close did not return within %v with frames held for an hour", slowLink)
	}
	if took := time.Since(start); took > time.Second || fake && took != 0 {
		t.Errorf("Close took %v with frames held for an hour", took)
	}
	if s := a.Stats().Peers[b.LocalAddr()]; s.Dropped != n || s.Queued != 0 || s.FramesSent != 2 {
		t.Errorf("stats after Close %+v, want Dropped %d, Queued 0, FramesSent 2", s, n)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if frames, _ := rx.got(a.LocalAddr()); len(frames) != 2 {
		t.Errorf("%d frames arrived, want only the 2 not held for an hour", len(frames))
	}
	goleak.VerifyNone(t, ignore)
}

// TestMemDelayAddsToSetDelay: a link's MemNetwork.SetDelay and the sender's
// Config.Delay add up, and SetDelay still holds both ways.
func TestMemDelayAddsToSetDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const link, own = 50 * time.Millisecond, 100 * time.Millisecond
		network := transport.NewMemNetwork()
		network.SetDelay("a", "b", link)
		rxA, rxB := newSink(), newSink()
		a, err := network.ListenConfig(transport.Config{Addr: "a", Delay: func(string) time.Duration { return own }}, rxA.handle)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Close() })
		b, err := network.Listen("b", rxB.handle)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close() })

		steps := []struct {
			name    string
			link    time.Duration // SetDelay before sending
			from    transport.Transport
			to      string
			rx      *sink
			n       int // frames from from at rx once this one arrived
			arrives time.Duration
		}{
			{"a to b: link plus Config.Delay", link, a, "b", rxB, 1, link + own},
			{"b to a: the link only", link, b, "a", rxA, 1, link},
			{"a to b, link delay removed: Config.Delay only", 0, a, "b", rxB, 2, own},
		}
		for _, st := range steps {
			network.SetDelay("a", "b", st.link)
			start := time.Now()
			if err := st.from.Send(st.to, []byte(st.name)); err != nil {
				t.Fatal(err)
			}
			_, at := st.rx.wait(t, st.from.LocalAddr(), st.n)
			if got := at[st.n-1].Sub(start); got != st.arrives {
				t.Errorf("%s: arrived after %v, want %v", st.name, got, st.arrives)
			}
		}
	})
}
