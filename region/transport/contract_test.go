package transport_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meridiankv/meridian/region/transport"
)

// contract lists what every Transport must do; TestContract runs each case
// against each implementation.
var contract = []struct {
	name string
	run  func(t *testing.T, listen listenFunc)
}{
	{"frames between two arrive in order", testOrderTwo},
	{"frames among three arrive in order per sender", testOrderThree},
	{"a reply sent to from arrives", testReplyToFrom},
	{"a frame to itself arrives", testSelf},
	{"frame sizes", testFrameSizes},
	{"a full queue refuses frames", testQueueFull},
	{"a byte-full queue refuses frames", testQueueBytesFull},
	{"SendWait waits for room", testSendWait},
	{"Delay holds frames at least that long, in order", testDelay},
	{"stats count frames both ways", testStats},
	{"after Close", testClosed},
	{"no Handler call after Close returns", testNoHandlerAfterClose},
}

func TestContract(t *testing.T) {
	for _, im := range impls {
		for _, c := range contract {
			t.Run(im.name+"/"+c.name, func(t *testing.T) { c.run(t, im.env(t)) })
		}
	}
}

func testOrderTwo(t *testing.T, listen listenFunc) {
	const n = 5000
	rx := newSink()
	a := listen(transport.Config{}, newSink().handle)
	b := listen(transport.Config{}, rx.handle)
	for i := range n {
		if err := a.SendWait(t.Context(), b.LocalAddr(), numbered(i, 100)); err != nil {
			t.Fatalf("SendWait %d: %v", i, err)
		}
	}
	frames, _ := rx.wait(t, a.LocalAddr(), n)
	checkSequence(t, a.LocalAddr(), frames, n)
}

func testOrderThree(t *testing.T, listen listenFunc) {
	const n = 1000
	sinks := []*sink{newSink(), newSink(), newSink()}
	var nodes []transport.Transport
	for _, s := range sinks {
		nodes = append(nodes, listen(transport.Config{}, s.handle))
	}
	for i := range n {
		for _, from := range nodes {
			for _, to := range nodes {
				if from == to {
					continue
				}
				if err := from.SendWait(t.Context(), to.LocalAddr(), numbered(i, 10+i%500)); err != nil {
					t.Fatalf("SendWait: %v", err)
				}
			}
		}
	}
	for i, to := range nodes {
		for _, from := range nodes {
			if from != to {
				frames, _ := sinks[i].wait(t, from.LocalAddr(), n)
				checkSequence(t, from.LocalAddr(), frames, n)
			}
		}
	}
}

func testReplyToFrom(t *testing.T, listen listenFunc) {
	rx := newSink()
	a := listen(transport.Config{}, rx.handle)
	var b transport.Transport
	ready := make(chan struct{}) // b is set: the race detector cannot see through sockets
	b = listen(transport.Config{}, func(from string, frame []byte) {
		<-ready
		if err := b.Send(from, append([]byte("re: "), frame...)); err != nil {
			t.Errorf("reply: %v", err)
		}
	})
	close(ready)
	if err := a.Send(b.LocalAddr(), []byte("ping")); err != nil {
		t.Fatal(err)
	}
	frames, _ := rx.wait(t, b.LocalAddr(), 1)
	if string(frames[0]) != "re: ping" {
		t.Fatalf("reply %q, want %q", frames[0], "re: ping")
	}
}

func testSelf(t *testing.T, listen listenFunc) {
	rx := newSink()
	a := listen(transport.Config{}, rx.handle)
	if err := a.Send(a.LocalAddr(), []byte("me")); err != nil {
		t.Fatal(err)
	}
	if frames, _ := rx.wait(t, a.LocalAddr(), 1); string(frames[0]) != "me" {
		t.Fatalf("got %q, want %q", frames[0], "me")
	}
}

func testFrameSizes(t *testing.T, listen listenFunc) {
	const limit = 1000
	rx := newSink()
	a := listen(transport.Config{MaxFrameSize: limit}, newSink().handle)
	b := listen(transport.Config{MaxFrameSize: limit}, rx.handle)
	if err := a.Send(b.LocalAddr(), make([]byte, limit+1)); !errors.Is(err, transport.ErrFrameTooLarge) {
		t.Fatalf("Send of %d bytes: %v, want ErrFrameTooLarge", limit+1, err)
	}
	want := [][]byte{bytes.Repeat([]byte{7}, limit), {}, []byte("x")}
	for _, f := range want {
		if err := a.Send(b.LocalAddr(), f); err != nil {
			t.Fatalf("Send of %d bytes: %v", len(f), err)
		}
	}
	frames, _ := rx.wait(t, a.LocalAddr(), len(want))
	for i := range want {
		if !bytes.Equal(frames[i], want[i]) {
			t.Errorf("frame %d: %d bytes, want %d", i, len(frames[i]), len(want[i]))
		}
	}
}

// hold delays every frame for an hour: they stay queued.
func hold(string) time.Duration { return time.Hour }

func testQueueFull(t *testing.T, listen listenFunc) {
	a := listen(transport.Config{QueueLen: 4, Delay: hold}, newSink().handle)
	b := listen(transport.Config{}, newSink().handle)
	for i := range 4 {
		if err := a.Send(b.LocalAddr(), numbered(i, 10)); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	if err := a.Send(b.LocalAddr(), numbered(4, 10)); !errors.Is(err, transport.ErrQueueFull) {
		t.Fatalf("Send to a full queue: %v, want ErrQueueFull", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if err := a.SendWait(ctx, b.LocalAddr(), numbered(4, 10)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SendWait to a full queue: %v, want DeadlineExceeded", err)
	}
	if s := a.Stats().Peers[b.LocalAddr()]; s.Queued != 4 || s.Refused != 1 {
		t.Fatalf("stats %+v, want Queued 4 and Refused 1", s)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if s := a.Stats().Peers[b.LocalAddr()]; s.Dropped != 4 || s.Queued != 0 {
		t.Fatalf("stats after Close %+v, want Dropped 4 and Queued 0", s)
	}
}

func testQueueBytesFull(t *testing.T, listen listenFunc) {
	a := listen(transport.Config{QueueBytes: 100, Delay: hold}, newSink().handle)
	b := listen(transport.Config{}, newSink().handle)
	if err := a.Send(b.LocalAddr(), make([]byte, 150)); err != nil {
		t.Fatalf("Send to an empty queue, over QueueBytes: %v", err)
	}
	if err := a.Send(b.LocalAddr(), make([]byte, 1)); !errors.Is(err, transport.ErrQueueFull) {
		t.Fatalf("Send to a byte-full queue: %v, want ErrQueueFull", err)
	}
}

func testSendWait(t *testing.T, listen listenFunc) {
	const n = 2000
	rx := newSink()
	a := listen(transport.Config{QueueLen: 2}, newSink().handle)
	b := listen(transport.Config{}, rx.handle)
	for i := range n {
		if err := a.SendWait(t.Context(), b.LocalAddr(), numbered(i, 1000)); err != nil {
			t.Fatalf("SendWait %d: %v", i, err)
		}
	}
	frames, _ := rx.wait(t, a.LocalAddr(), n)
	checkSequence(t, a.LocalAddr(), frames, n)
	if s := a.Stats().Peers[b.LocalAddr()]; s.Refused != 0 {
		t.Errorf("SendWait counted %d refusals", s.Refused)
	}
}

func testDelay(t *testing.T, listen listenFunc) {
	const n, delay = 20, 50 * time.Millisecond
	rx := newSink()
	a := listen(transport.Config{Delay: func(string) time.Duration { return delay }}, newSink().handle)
	b := listen(transport.Config{}, rx.handle)
	sent := make([]time.Time, n)
	for i := range n {
		sent[i] = time.Now()
		if err := a.Send(b.LocalAddr(), numbered(i, 10)); err != nil {
			t.Fatal(err)
		}
	}
	frames, at := rx.wait(t, a.LocalAddr(), n)
	checkSequence(t, a.LocalAddr(), frames, n)
	for i := range n {
		if d := at[i].Sub(sent[i]); d < delay {
			t.Errorf("frame %d arrived after %v, want at least %v", i, d, delay)
		}
	}
}

func testStats(t *testing.T, listen listenFunc) {
	const n = 10
	rx := newSink()
	a := listen(transport.Config{}, newSink().handle)
	b := listen(transport.Config{}, rx.handle)
	for range n {
		if err := a.Send(b.LocalAddr(), make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
	}
	rx.wait(t, a.LocalAddr(), n)
	eventually(t, "the sender counts its frames and frees its queue", func() bool {
		s := a.Stats().Peers[b.LocalAddr()]
		return s.FramesSent == n && s.Queued == 0
	})
	if s := a.Stats().Peers[b.LocalAddr()]; s.BytesSent != n*100 || s.Dropped != 0 || s.Queued != 0 {
		t.Errorf("sender stats %+v, want %d bytes sent, none dropped or queued", s, n*100)
	}
	if s := b.Stats().Peers[a.LocalAddr()]; s.FramesReceived != n || s.BytesReceived != n*100 {
		t.Errorf("receiver stats %+v, want %d frames and %d bytes received", s, n, n*100)
	}
	if got := b.Stats().Total().FramesReceived; got != n {
		t.Errorf("Total().FramesReceived = %d, want %d", got, n)
	}
}

func testClosed(t *testing.T, listen listenFunc) {
	a := listen(transport.Config{}, newSink().handle)
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := a.Send("127.0.0.1:9", []byte("x")); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Send after Close: %v, want ErrClosed", err)
	}
	if err := a.SendWait(t.Context(), "127.0.0.1:9", []byte("x")); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("SendWait after Close: %v, want ErrClosed", err)
	}
}

func testNoHandlerAfterClose(t *testing.T, listen listenFunc) {
	var closed, late atomic.Bool
	calls := make(chan struct{}, 1)
	a := listen(transport.Config{}, newSink().handle)
	b := listen(transport.Config{}, func(string, []byte) {
		late.Store(late.Load() || closed.Load())
		select {
		case calls <- struct{}{}:
		default:
		}
	})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				_ = a.Send(b.LocalAddr(), []byte("x"))
			}
		}
	}()
	<-calls
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	closed.Store(true)
	close(stop)
	<-done
	if late.Load() {
		t.Fatal("the Handler ran after Close returned")
	}
}

// BenchmarkSend sends frames one way between two transports as fast as
// back-pressure allows (SendWait) and reports frames/s, counted from the
// first Send to the last frame received.
func BenchmarkSend(b *testing.B) {
	for _, im := range impls {
		for _, size := range []int{100, 1024} {
			b.Run(im.name+"/"+sizeName(size), func(b *testing.B) { benchmarkSend(b, im.env(b), size) })
		}
	}
}

func sizeName(n int) string {
	if n%1024 == 0 {
		return strconv.Itoa(n/1024) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}

func benchmarkSend(b *testing.B, listen listenFunc, size int) {
	var got atomic.Int64
	want := int64(b.N) + 1 // and one warm-up frame
	arrived := make(chan struct{}, 1)
	rx := listen(transport.Config{}, func(string, []byte) {
		if n := got.Add(1); n == 1 || n == want {
			arrived <- struct{}{}
		}
	})
	tx := listen(transport.Config{}, func(string, []byte) {})
	frame := make([]byte, size)
	// Warm up: connect, so that the handshake is not measured.
	if err := tx.Send(rx.LocalAddr(), frame); err != nil {
		b.Fatal(err)
	}
	await(b, arrived)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if err := tx.SendWait(b.Context(), rx.LocalAddr(), frame); err != nil {
			b.Fatal(err)
		}
	}
	await(b, arrived)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
}

func await(b *testing.B, c <-chan struct{}) {
	b.Helper()
	select {
	case <-c:
	case <-time.After(patience):
		b.Fatal("frames did not arrive")
	}
}
