package transport

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// Config configures a QUIC transport. A zero field means its default, so
// Config{Addr: a, TLS: t} is complete; DefaultConfig spells the defaults out.
// The in-memory network honours Addr, MaxFrameSize, QueueLen, QueueBytes,
// Delay and Logger and ignores the rest.
type Config struct {
	// Addr is the UDP host:port the transport binds, e.g. "127.0.1.2:7001".
	// Its one socket both accepts and dials, so the frames of this node
	// leave from and arrive at this address: bind the node's own IP rather
	// than 0.0.0.0, so that peers see the address they send to. Port 0
	// picks a free port (see LocalAddr). Required.
	Addr string
	// TLS holds this node's certificate and the cluster CA, for mutual TLS
	// (see MutualTLS): it must require and verify client certificates and
	// have RootCAs. Listen clones it, sets NextProtos to ALPN and requires
	// TLS 1.3. Required.
	TLS *tls.Config
	// MaxFrameSize is the largest frame in bytes: Send refuses longer
	// frames, and a length prefix above it closes the connection before
	// anything is allocated. Both ends should agree. Zero means
	// DefaultMaxFrameSize (64 MiB); at most 4 GiB - 1.
	MaxFrameSize int
	// QueueLen is the number of frames queued for one peer (waiting or
	// being written) beyond which Send returns ErrQueueFull. Zero means
	// 8192.
	QueueLen int
	// QueueBytes bounds the bytes queued for one peer the same way; a frame
	// is always admitted to an empty queue, so a frame of MaxFrameSize can
	// always be sent. Zero means 64 MiB.
	QueueBytes int
	// DialTimeout bounds a connection attempt, TLS handshake included. Zero
	// means 5 seconds.
	DialTimeout time.Duration
	// WriteTimeout is how long a write may make no progress, because the
	// peer does not read (QUIC flow control) or does not answer, before the
	// connection is closed and redialled; the frames being written are
	// lost. Zero means 10 seconds.
	WriteTimeout time.Duration
	// IdleTimeout closes a connection on which nothing was received for that
	// long (QUIC max_idle_timeout; the smaller of both ends applies). Zero
	// means 30 seconds.
	IdleTimeout time.Duration
	// KeepAlive is the period of the QUIC keep-alive packets that keep idle
	// connections open and detect dead peers; QUIC caps it at half the idle
	// timeout. Zero means 10 seconds; negative disables keep-alives.
	KeepAlive time.Duration
	// BackoffMin is the wait before the first redial after a failed dial or
	// connection; it doubles with each further failure up to BackoffMax and
	// resets once frames are written. Zero means 50 milliseconds.
	BackoffMin time.Duration
	// BackoffMax caps the redial wait. Zero means 5 seconds.
	BackoffMax time.Duration
	// Delay returns how long to hold a frame for addr before it is sent: the
	// one-way delay of the link (a WAN delay plus jitter, for demos and tests
	// on one machine, where there is no netem). Called once per frame, by
	// Send, so it must be fast and safe for concurrent use; nil, 0 or a
	// negative duration sends at once. Frames to one address keep their
	// order: a frame never leaves before the one queued before it, so its
	// release time is the later of Send plus its delay and the release time
	// of the previous frame. Frames are held by the peer's sender, never by
	// Send, and one peer's delay does not hold another's frames. Held frames
	// count against QueueLen and QueueBytes (and Stats' Queued), so a link
	// of delay d carries at most QueueLen/d frames per second before Send
	// returns ErrQueueFull: raise QueueLen with the delay.
	Delay func(addr string) time.Duration
	// Logger receives connection errors and redials. Nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults of every field but Addr and TLS, which
// have none.
func DefaultConfig() Config {
	return Config{
		MaxFrameSize: DefaultMaxFrameSize,
		QueueLen:     8192,
		QueueBytes:   64 << 20,
		DialTimeout:  5 * time.Second,
		WriteTimeout: 10 * time.Second,
		IdleTimeout:  30 * time.Second,
		KeepAlive:    10 * time.Second,
		BackoffMin:   50 * time.Millisecond,
		BackoffMax:   5 * time.Second,
	}
}

// withDefaults returns c with its zero fields set to their defaults.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	setDefault(&c.MaxFrameSize, d.MaxFrameSize)
	setDefault(&c.QueueLen, d.QueueLen)
	setDefault(&c.QueueBytes, d.QueueBytes)
	setDefault(&c.DialTimeout, d.DialTimeout)
	setDefault(&c.WriteTimeout, d.WriteTimeout)
	setDefault(&c.IdleTimeout, d.IdleTimeout)
	setDefault(&c.KeepAlive, d.KeepAlive)
	setDefault(&c.BackoffMin, d.BackoffMin)
	setDefault(&c.BackoffMax, d.BackoffMax)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func setDefault[T int | time.Duration](v *T, d T) {
	if *v == 0 {
		*v = d
	}
}

// Validate reports every problem of c at once, joined, or nil. Zero fields
// stand for their defaults and are valid.
func (c Config) Validate() error {
	return c.check(true)
}

// check validates c; the in-memory network passes withTLS false.
func (c Config) check(withTLS bool) error {
	c = c.withDefaults()
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("transport: config: "+format, args...))
	}
	if c.Addr == "" {
		bad("Addr is empty")
	} else if withTLS {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			bad("Addr %q is not host:port: %v", c.Addr, err)
		}
	}
	if c.MaxFrameSize < 0 || c.MaxFrameSize > maxFrameLimit {
		bad("MaxFrameSize %d is negative or above %d", c.MaxFrameSize, maxFrameLimit)
	}
	if c.QueueLen < 0 {
		bad("QueueLen %d is negative", c.QueueLen)
	}
	if c.QueueBytes < 0 {
		bad("QueueBytes %d is negative", c.QueueBytes)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"DialTimeout", c.DialTimeout}, {"WriteTimeout", c.WriteTimeout}, {"IdleTimeout", c.IdleTimeout},
		{"BackoffMin", c.BackoffMin}, {"BackoffMax", c.BackoffMax},
	} {
		if d.v < 0 {
			bad("%s %v is negative", d.name, d.v)
		}
	}
	if c.BackoffMin > c.BackoffMax {
		bad("BackoffMin %v is above BackoffMax %v", c.BackoffMin, c.BackoffMax)
	}
	if withTLS {
		errs = append(errs, checkTLS(c.TLS)...)
	}
	return errors.Join(errs...)
}

// checkTLS reports what keeps t from authenticating both ends.
func checkTLS(t *tls.Config) []error {
	if t == nil {
		return []error{errors.New("transport: config: TLS is nil (see MutualTLS)")}
	}
	var errs []error
	if len(t.Certificates) == 0 && t.GetCertificate == nil {
		errs = append(errs, errors.New("transport: config: TLS has no certificate"))
	}
	if t.ClientAuth != tls.RequireAndVerifyClientCert || t.ClientCAs == nil {
		errs = append(errs, errors.New("transport: config: TLS does not require and verify client certificates (ClientAuth, ClientCAs)"))
	}
	if t.RootCAs == nil || t.InsecureSkipVerify {
		errs = append(errs, errors.New("transport: config: TLS does not verify servers (RootCAs, InsecureSkipVerify)"))
	}
	return errs
}
