package transport

import (
	"context"
	"errors"
	"sync/atomic"
)

// ALPN is the TLS application protocol every Meridian connection negotiates.
// A new, incompatible framing gets a new ALPN ("meridian/2"), so that nodes of
// two versions refuse each other during the handshake rather than misread
// each other's bytes.
const ALPN = "meridian/1"

// DefaultMaxFrameSize is the largest frame, in bytes, a transport accepts
// unless configured otherwise: 64 MiB.
const DefaultMaxFrameSize = 64 << 20

// maxFrameLimit is the largest MaxFrameSize the 4-byte length prefix can carry.
const maxFrameLimit = 1<<32 - 1

var (
	// ErrClosed is returned by Send and SendWait after Close. Use
	// errors.Is(err, ErrClosed).
	ErrClosed = errors.New("transport: closed")
	// ErrQueueFull is returned by Send when the peer's queue holds QueueLen
	// frames or QueueBytes bytes: the peer or the network is slower than the
	// caller. The frame was not queued; the caller decides whether to drop
	// it, retry later or wait with SendWait. Use errors.Is(err, ErrQueueFull).
	ErrQueueFull = errors.New("transport: peer queue full")
	// ErrFrameTooLarge is returned, wrapped with the sizes, by Send for a
	// frame longer than MaxFrameSize. Use errors.Is(err, ErrFrameTooLarge).
	ErrFrameTooLarge = errors.New("transport: frame too large")
	// ErrAddrInUse is returned by MemNetwork.Listen for an address that
	// already has a listening transport.
	ErrAddrInUse = errors.New("transport: address in use")
)

// Transport carries frames between nodes: one-way, ordered per peer, best
// effort. Frames are opaque byte strings, already encoded by the caller; a
// response is just a frame the other way, correlated by an id inside it.
// All methods are safe for concurrent use.
type Transport interface {
	// Send queues frame for the transport listening at addr, the peer's
	// LocalAddr taken verbatim (addresses are not canonicalised), and returns
	// without waiting for the network. Frames to one addr are delivered in
	// the order they were sent, each at most once; frames can be lost when a
	// connection fails, so what arrives is a subsequence of what was sent.
	// Send returns ErrQueueFull when the peer's queue is full, ErrClosed
	// after Close and an error wrapping ErrFrameTooLarge for a frame over
	// the limit. The transport keeps frame: the caller must not modify it after
	// Send returns nil (sending one frame to several peers is fine).
	Send(addr string, frame []byte) error
	// SendWait is Send that, when the peer's queue is full, waits for room
	// until ctx is done (then it returns ctx.Err()). It is meant for bulk
	// transfers, which are many frames sent with SendWait from a goroutine
	// of their own; an event loop uses Send and handles ErrQueueFull.
	SendWait(ctx context.Context, addr string, frame []byte) error
	// LocalAddr returns the address peers pass to Send to reach this
	// transport; it is also the from address its frames arrive with.
	LocalAddr() string
	// Stats returns the counters of every peer this transport has sent to
	// or received from.
	Stats() Stats
	// Close stops every goroutine and closes every connection; queued frames
	// are dropped. The Handler is not called after Close returns. Close must
	// not be called from the Handler. Calling Close again returns nil.
	Close() error
}

// Handler receives each inbound frame with from, the LocalAddr of the
// sending transport, to which a reply can be sent. It is called from one
// goroutine per peer connection, so frames from one peer arrive one at a
// time and in order, while frames from different peers arrive concurrently.
// The handler owns frame and may keep it. It must not block for long: while
// it runs, that peer's frames wait, and a peer whose writes make no progress
// for its WriteTimeout drops the connection.
type Handler func(from string, frame []byte)

// Stats is a snapshot of a transport's counters, per peer address.
type Stats struct {
	// Peers maps a peer address to its counters.
	Peers map[string]PeerStats
}

// Total returns the sum of the counters of every peer.
func (s Stats) Total() PeerStats {
	var t PeerStats
	for _, p := range s.Peers {
		t.FramesSent += p.FramesSent
		t.BytesSent += p.BytesSent
		t.FramesReceived += p.FramesReceived
		t.BytesReceived += p.BytesReceived
		t.Dropped += p.Dropped
		t.Refused += p.Refused
		t.Queued += p.Queued
		t.Dials += p.Dials
		t.Reconnects += p.Reconnects
		t.DialErrors += p.DialErrors
		t.ConnErrors += p.ConnErrors
	}
	return t
}

// PeerStats counts the traffic with one peer since the transport started.
// Byte counts are frame payloads, without length prefixes or QUIC overhead.
type PeerStats struct {
	// FramesSent and BytesSent count frames written to the connection (the
	// in-memory network: handed to the peer). Written is not delivered: a
	// connection failure can still lose them.
	FramesSent, BytesSent uint64
	// FramesReceived and BytesReceived count frames passed to the Handler.
	FramesReceived, BytesReceived uint64
	// Dropped counts frames Send accepted but that were never written: the
	// peer could not be dialled, the connection failed, the link was cut or
	// the transport closed.
	Dropped uint64
	// Refused counts Send calls that returned ErrQueueFull.
	Refused uint64
	// Queued is the number of frames counted against QueueLen now: waiting
	// in the peer's queue or being written.
	Queued int
	// Dials counts connections established to the peer; Reconnects those
	// after the first.
	Dials, Reconnects uint64
	// DialErrors counts failed connection attempts (including TLS
	// handshakes refused either way); ConnErrors counts established
	// connections, outbound or inbound, that failed.
	DialErrors, ConnErrors uint64
}

// counters are the live, atomically updated PeerStats of one peer.
type counters struct {
	framesSent, bytesSent atomic.Uint64
	framesRecv, bytesRecv atomic.Uint64
	dropped, refused      atomic.Uint64
	dials, reconnects     atomic.Uint64
	dialErrors, connErrs  atomic.Uint64
}

// snapshot returns the counters as PeerStats, with queued frames waiting.
func (c *counters) snapshot(queued int) PeerStats {
	return PeerStats{
		FramesSent:     c.framesSent.Load(),
		BytesSent:      c.bytesSent.Load(),
		FramesReceived: c.framesRecv.Load(),
		BytesReceived:  c.bytesRecv.Load(),
		Dropped:        c.dropped.Load(),
		Refused:        c.refused.Load(),
		Queued:         queued,
		Dials:          c.dials.Load(),
		Reconnects:     c.reconnects.Load(),
		DialErrors:     c.dialErrors.Load(),
		ConnErrors:     c.connErrs.Load(),
	}
}

// sent records frames handed to the network.
func (c *counters) sent(frames, bytes int) {
	c.framesSent.Add(uint64(frames))
	c.bytesSent.Add(uint64(bytes))
}

// received records one frame passed to the Handler.
func (c *counters) received(bytes int) {
	c.framesRecv.Add(1)
	c.bytesRecv.Add(uint64(bytes))
}
