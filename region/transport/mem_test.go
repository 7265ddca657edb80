package transport_test

import (
	"errors"
	"testing"
	"time"

	"github.com/meridiankv/meridian/region/transport"
)

func TestMemCutDropsBothWaysUntilHeal(t *testing.T) {
	network := transport.NewMemNetwork()
	rxA, rxB := newSink(), newSink()
	a, err := network.Listen("a", rxA.handle)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	b, err := network.Listen("b", rxB.handle)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })

	network.Cut("b", "a")
	for _, send := range []struct {
		from transport.Transport
		to   string
	}{{a, "b"}, {b, "a"}} {
		if err := send.from.Send(send.to, []byte("lost")); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "both frames are dropped", func() bool {
		return a.Stats().Peers["b"].Dropped == 1 && b.Stats().Peers["a"].Dropped == 1
	})
	network.Heal("a", "b")
	if err := a.Send("b", []byte("found")); err != nil {
		t.Fatal(err)
	}
	if err := b.Send("a", []byte("found")); err != nil {
		t.Fatal(err)
	}
	for _, rx := range []struct {
		s    *sink
		from string
	}{{rxB, "a"}, {rxA, "b"}} {
		if frames, _ := rx.s.wait(t, rx.from, 1); len(frames) != 1 || string(frames[0]) != "found" {
			t.Errorf("from %s: %q, want only the frame sent after Heal", rx.from, frames)
		}
	}
}

func TestMemSetDelayHoldsBothWays(t *testing.T) {
	const delay = 30 * time.Millisecond
	network := transport.NewMemNetwork()
	network.SetDelay("a", "b", delay)
	rxA, rxB := newSink(), newSink()
	a, err := network.Listen("a", rxA.handle)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	b, err := network.Listen("b", rxB.handle)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	start := time.Now()
	if err := a.Send("b", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := b.Send("a", []byte("y")); err != nil {
		t.Fatal(err)
	}
	for _, rx := range []struct {
		s    *sink
		from string
	}{{rxB, "a"}, {rxA, "b"}} {
		if _, at := rx.s.wait(t, rx.from, 1); at[0].Sub(start) < delay {
			t.Errorf("frame from %s arrived after %v, want at least %v", rx.from, at[0].Sub(start), delay)
		}
	}
	network.SetDelay("b", "a", 0)
	if err := a.Send("b", []byte("z")); err != nil {
		t.Fatal(err)
	}
	rxB.wait(t, "a", 2)
}

func TestMemListenTakesAnAddressOnce(t *testing.T) {
	network := transport.NewMemNetwork()
	a, err := network.Listen("a", newSink().handle)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := network.Listen("a", newSink().handle); !errors.Is(err, transport.ErrAddrInUse) {
		t.Fatalf("second Listen: %v, want ErrAddrInUse", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := network.Listen("a", newSink().handle)
	if err != nil {
		t.Fatalf("Listen after Close: %v", err)
	}
	if err := again.Close(); err != nil {
		t.Fatal(err)
	}
}
