package transport

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
)

// writeBufferSize is the buffer between the frames and the QUIC stream: the
// frames queued while a batch is written leave together in as few packets
// as fit, and the buffer is flushed whenever the queue runs empty.
const writeBufferSize = 32 << 10

// writeChunk is the most handed to the stream under one write deadline, so
// that WriteTimeout bounds a stall, not the time a large frame takes.
const writeChunk = 1 << 20

// peer is the state of one remote address: its counters, its queue and the
// outbound connection its sender goroutine owns.
type peer struct {
	counters
	addr    string
	q       *queue
	started bool // guarded by QUIC.mu

	mu     sync.Mutex // guards conn and closed, shared with Close
	conn   *quic.Conn
	closed bool

	// Owned by the sender goroutine.
	out      *quic.Conn // the connection being written, nil when there is none
	stream   *quic.SendStream
	w        *bufio.Writer
	prefix   [4]byte
	dialed   bool // a connection was established before
	failures int  // failed dials and connections since frames were last written
}

// run is the sender goroutine of p: it writes p's frames in batches until
// Close, dialling as needed.
func (t *QUIC) run(p *peer) {
	timer := newStoppedTimer()
	var spare []item
	for {
		batch := p.q.take(t.ctx, spare)
		if batch == nil {
			p.dropped.Add(uint64(p.q.dropWaiting()))
			p.closeConn(codeClosing, "closing", true)
			return
		}
		t.writeBatch(p, batch, timer)
		clear(batch)
		spare = batch[:0]
	}
}

// writeBatch writes batch in order, waiting for the frames that are not due
// yet (the frames due by then are written together), and flushes before it
// waits and when no more frames are waiting. On a failure it drops
// the rest of the batch and closes the connection; on a failed dial it also
// drops the frames waiting, which would otherwise age while the peer is
// unreachable.
func (t *QUIC) writeBatch(p *peer, batch []item, timer *time.Timer) {
	rel := releaser{q: p.q}
	defer rel.flush()
	drop := func(rest []item) {
		p.dropped.Add(uint64(len(rest)))
		for _, it := range rest {
			rel.add(len(it.frame))
		}
	}
	t.forgetDead(p)
	for i, it := range batch {
		if notDue(it.due) {
			// Hold the head frame (Config.Delay); the frames behind it are
			// due no earlier. The room of the frames written is freed and
			// what is buffered leaves first.
			rel.flush()
			if err := p.flush(); err != nil {
				t.fail(p, err)
			}
			if !sleepUntil(t.ctx, timer, it.due) {
				drop(batch[i:])
				return
			}
			t.forgetDead(p)
		}
		if p.stream == nil {
			if err := t.connect(p, timer); err != nil {
				drop(batch[i:])
				p.dropped.Add(uint64(p.q.dropWaiting()))
				return
			}
		}
		if err := p.write(it.frame); err != nil {
			t.fail(p, err)
			drop(batch[i:])
			return
		}
		p.sent(1, len(it.frame))
		rel.add(len(it.frame))
	}
	if p.q.idle() {
		if err := p.flush(); err != nil {
			t.fail(p, err)
			return
		}
	}
	p.failures = 0 // the whole batch was written
}

// forgetDead drops p's connection if it ended while p had nothing to write
// (idle, or holding delayed frames), so that the next frame redials instead
// of failing to write: redial, lose nothing.
func (t *QUIC) forgetDead(p *peer) {
	if p.out != nil && p.out.Context().Err() != nil {
		t.fail(p, context.Cause(p.out.Context()))
	}
}

// connect dials p after the backoff its failures call for and opens the
// stream its frames go on.
func (t *QUIC) connect(p *peer, timer *time.Timer) error {
	if p.failures > 0 && !sleepUntil(t.ctx, timer, time.Now().Add(t.backoff(p.failures))) {
		return ErrClosed
	}
	conn, stream, err := t.dial(p.addr)
	if err != nil {
		p.failures++
		if t.ctx.Err() != nil {
			return ErrClosed
		}
		p.dialErrors.Add(1)
		if certRefusal(err) {
			t.cfg.Logger.Warn("transport: dial failed: the peer's certificate is not from this cluster's CA (or not for its address), or it refused this node's: give every node certificates of one CA (--tls-dir)",
				"local", t.addr, "peer", p.addr, "failures", p.failures, "err", err)
		} else {
			t.cfg.Logger.Warn("transport: dial failed", "local", t.addr, "peer", p.addr, "failures", p.failures, "err", err)
		}
		return err
	}
	if !p.setConn(conn) {
		return ErrClosed
	}
	t.wg.Go(func() { t.watch(conn, p.addr) })
	p.dials.Add(1)
	if p.dialed {
		p.reconnects.Add(1)
		t.cfg.Logger.Info("transport: reconnected", "local", t.addr, "peer", p.addr)
	}
	p.dialed = true
	p.out, p.stream = conn, stream
	w := deadlineWriter{s: stream, timeout: t.cfg.WriteTimeout}
	if p.w == nil {
		p.w = bufio.NewWriterSize(w, writeBufferSize)
	} else {
		p.w.Reset(w)
	}
	return nil
}

// dial connects to addr and opens the stream for this node's frames.
func (t *QUIC) dial(addr string) (*quic.Conn, *quic.SendStream, error) {
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("transport: resolving %s: %w", addr, err)
	}
	ctx, cancel := context.WithTimeout(t.ctx, t.cfg.DialTimeout)
	defer cancel()
	conn, err := t.tr.Dial(ctx, raddr, t.tls, t.qconf)
	if err != nil {
		return nil, nil, fmt.Errorf("transport: dialling %s: %w", addr, err)
	}
	stream, err := conn.OpenUniStream()
	if err != nil {
		_ = conn.CloseWithError(codeBroken, "opening a stream failed")
		return nil, nil, fmt.Errorf("transport: opening a stream to %s: %w", addr, err)
	}
	return conn, stream, nil
}

// backoff returns the wait before a redial after n failures.
func (t *QUIC) backoff(n int) time.Duration {
	d := t.cfg.BackoffMin
	for i := 1; i < n && d < t.cfg.BackoffMax; i++ {
		d *= 2
	}
	return min(d, t.cfg.BackoffMax)
}

// fail closes p's connection after err; the next frame redials.
func (t *QUIC) fail(p *peer, err error) {
	p.failures++
	p.closeConn(codeBroken, "write failed", false)
	p.out, p.stream = nil, nil
	if t.ctx.Err() != nil || isClosing(err) {
		return
	}
	p.connErrs.Add(1)
	t.cfg.Logger.Warn("transport: connection failed", "local", t.addr, "peer", p.addr, "err", err)
}

// write appends one length-prefixed frame to the stream's buffer.
func (p *peer) write(frame []byte) error {
	binary.BigEndian.PutUint32(p.prefix[:], uint32(len(frame)))
	if _, err := p.w.Write(p.prefix[:]); err != nil {
		return err
	}
	_, err := p.w.Write(frame)
	return err
}

// flush hands the buffered frames to the stream, if there is one.
func (p *peer) flush() error {
	if p.w == nil || p.stream == nil || p.w.Buffered() == 0 {
		return nil
	}
	return p.w.Flush()
}

// setConn records conn as p's connection, unless Close has closed p; then it
// closes conn and reports false.
func (p *peer) setConn(conn *quic.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = conn.CloseWithError(codeClosing, "closing")
		return false
	}
	p.conn = conn
	return true
}

// closeConn closes p's connection, if any, with code; final keeps p from
// taking another.
func (p *peer) closeConn(code quic.ApplicationErrorCode, reason string, final bool) {
	p.mu.Lock()
	conn := p.conn
	p.conn = nil
	p.closed = p.closed || final
	p.mu.Unlock()
	if conn != nil {
		_ = conn.CloseWithError(code, reason)
	}
}

// deadlineWriter writes to a QUIC stream in chunks, each under a fresh
// write deadline.
type deadlineWriter struct {
	s       *quic.SendStream
	timeout time.Duration
}

func (d deadlineWriter) Write(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		if err := d.s.SetWriteDeadline(time.Now().Add(d.timeout)); err != nil {
			return n, err
		}
		m, err := d.s.Write(b[n:min(len(b), n+writeChunk)])
		n += m
		if err != nil {
			return n, fmt.Errorf("transport: writing: %w", err)
		}
	}
	return n, nil
}

// watch waits for an outbound connection to end and logs it when the peer
// refused this node's certificate: under TLS 1.3 the dial has returned by
// then, and the sender would only see its next write fail.
func (t *QUIC) watch(conn *quic.Conn, addr string) {
	<-conn.Context().Done()
	if err := context.Cause(conn.Context()); err != nil && t.ctx.Err() == nil && !isClosing(err) && certRefusal(err) {
		t.cfg.Logger.Warn("transport: the peer refused this node's certificate: give every node certificates of one CA (--tls-dir)",
			"local", t.addr, "peer", addr, "err", err)
	}
}

// certRefusal reports whether a dial failed on a certificate: this node
// did not trust the peer's, or the peer refused this node's.
func certRefusal(err error) bool {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	if errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "certificate") || strings.Contains(s, "x509")
}
