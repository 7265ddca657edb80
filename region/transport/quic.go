package transport

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
)

// QUIC application error codes, sent when a connection is closed on purpose.
const (
	codeClosing       quic.ApplicationErrorCode = 0 // the transport closed
	codeFrameTooLarge quic.ApplicationErrorCode = 1 // a length prefix over MaxFrameSize
	codeBroken        quic.ApplicationErrorCode = 2 // a read or write failed
)

// readBufferSize is the buffer between a QUIC stream and the frame reader.
const readBufferSize = 64 << 10

// QUIC is a Transport over QUIC with mutual TLS. It owns one UDP socket,
// bound to Config.Addr, on which it accepts connections from peers and
// dials its own: one outbound connection per peer, carrying this node's
// frames to it on one stream, and one inbound connection per peer the
// other way. Create it with Listen.
type QUIC struct {
	cfg    Config
	h      Handler
	addr   string
	udp    *net.UDPConn
	tr     *quic.Transport
	ln     *quic.Listener
	tls    *tls.Config
	qconf  *quic.Config
	ctx    context.Context // done on Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine

	mu      sync.RWMutex
	closed  bool
	peers   map[string]*peer
	inbound map[*quic.Conn]struct{}
}

var _ Transport = (*QUIC)(nil)

// Listen binds cfg.Addr and returns a transport that passes every frame it
// receives to h. It returns the problems of cfg (see Config.Validate) or
// the error binding the address.
func Listen(cfg Config, h Handler) (*QUIC, error) {
	if h == nil {
		return nil, errors.New("transport: nil handler")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	laddr, err := net.ResolveUDPAddr("udp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("transport: resolving %s: %w", cfg.Addr, err)
	}
	udp, err := net.ListenUDP("udp", laddr)
	if err != nil {
		return nil, fmt.Errorf("transport: binding %s: %w", cfg.Addr, err)
	}
	t := &QUIC{
		cfg:     cfg,
		h:       h,
		addr:    udp.LocalAddr().String(),
		udp:     udp,
		tls:     cfg.TLS.Clone(),
		qconf:   quicConfig(cfg),
		peers:   make(map[string]*peer),
		inbound: make(map[*quic.Conn]struct{}),
	}
	t.tls.NextProtos = []string{ALPN}
	t.tls.MinVersion = tls.VersionTLS13
	t.tr = &quic.Transport{Conn: udp, StatelessResetKey: resetKey(cfg.TLS, t.addr)}
	if t.ln, err = t.tr.Listen(t.serverTLS(), t.qconf); err != nil {
		err = errors.Join(err, t.tr.Close(), udp.Close())
		return nil, fmt.Errorf("transport: listening on %s: %w", t.addr, err)
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.wg.Go(t.accept)
	return t, nil
}

// serverTLS returns the TLS configuration of the listener: t.tls, except
// that it checks the client's certificate itself, by the rules of
// RequireAndVerifyClientCert (the cluster CA, client authentication), so
// that it can log a peer it refuses and why: crypto/tls tells only the
// peer.
func (t *QUIC) serverTLS() *tls.Config {
	srv := t.tls.Clone()
	srv.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		peer := "unknown"
		if hello.Conn != nil {
			peer = hello.Conn.RemoteAddr().String()
		}
		c := t.tls.Clone()
		c.ClientAuth = tls.RequestClientCert
		c.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			err := verifyClient(raw, t.tls.ClientCAs)
			if err != nil {
				t.cfg.Logger.Warn("transport: refused a peer whose certificate is not from this cluster's CA: give every node certificates of one CA (--tls-dir)",
					"local", t.addr, "peer", peer, "err", err)
			}
			return err
		}
		return c, nil
	}
	return srv
}

// verifyClient checks a client's certificate chain as
// tls.RequireAndVerifyClientCert does: present, issued by a CA of roots,
// for client authentication.
func verifyClient(raw [][]byte, roots *x509.CertPool) error {
	if len(raw) == 0 {
		return errors.New("transport: the peer presented no certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, b := range raw {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return fmt.Errorf("transport: the peer's certificate does not parse: %w", err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return fmt.Errorf("transport: the peer's certificate: %w", err)
	}
	return nil
}

// quicConfig returns the QUIC settings of both ends: peers open one
// unidirectional stream per connection and no bidirectional one.
func quicConfig(cfg Config) *quic.Config {
	keepAlive := max(cfg.KeepAlive, 0)
	return &quic.Config{
		HandshakeIdleTimeout:  cfg.DialTimeout,
		MaxIdleTimeout:        cfg.IdleTimeout,
		KeepAlivePeriod:       keepAlive,
		MaxIncomingStreams:    -1,
		MaxIncomingUniStreams: 4,
	}
}

// resetKey derives the QUIC stateless reset key from the node's private key
// and address, so that a node restarted on the same address resets the
// connections its previous run left open at its peers, which then redial at
// once instead of waiting for the idle timeout. It returns nil (no resets)
// for a key it cannot serialise.
func resetKey(t *tls.Config, addr string) *quic.StatelessResetKey {
	if len(t.Certificates) == 0 {
		return nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(t.Certificates[0].PrivateKey)
	if err != nil {
		return nil
	}
	h := sha256.New()
	h.Write([]byte("meridian transport stateless reset key\x00" + addr + "\x00"))
	h.Write(der)
	var k quic.StatelessResetKey
	copy(k[:], h.Sum(nil))
	return &k
}

// LocalAddr returns the address the transport is bound to, with the port
// chosen when Config.Addr asked for port 0.
func (t *QUIC) LocalAddr() string { return t.addr }

// Send queues frame for addr; see Transport.
func (t *QUIC) Send(addr string, frame []byte) error {
	p, _, err := t.push(addr, frame)
	if errors.Is(err, ErrQueueFull) {
		p.refused.Add(1)
	}
	return err
}

// SendWait queues frame for addr, waiting for room; see Transport.
func (t *QUIC) SendWait(ctx context.Context, addr string, frame []byte) error {
	return sendWait(ctx, func() (<-chan struct{}, error) {
		_, room, err := t.push(addr, frame)
		return room, err
	})
}

func (t *QUIC) push(addr string, frame []byte) (*peer, <-chan struct{}, error) {
	if len(frame) > t.cfg.MaxFrameSize {
		return nil, nil, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, len(frame), t.cfg.MaxFrameSize)
	}
	p, err := t.peer(addr, true)
	if err != nil {
		return nil, nil, err
	}
	var due time.Time
	if t.cfg.Delay != nil {
		if d := t.cfg.Delay(addr); d > 0 {
			due = time.Now().Add(d)
		}
	}
	room, err := p.q.push(frame, due)
	return p, room, err
}

// peer returns the state of addr, creating it, and with start its sender
// goroutine, on first use.
func (t *QUIC) peer(addr string, start bool) (*peer, error) {
	t.mu.RLock()
	p, closed := t.peers[addr], t.closed
	started := p != nil && p.started // written under the lock below
	t.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	if p != nil && (started || !start) {
		return p, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrClosed
	}
	if p = t.peers[addr]; p == nil {
		p = &peer{addr: addr, q: newQueue(t.cfg.QueueLen, t.cfg.QueueBytes)}
		t.peers[addr] = p
	}
	if start && !p.started {
		p.started = true
		t.wg.Go(func() { t.run(p) })
	}
	return p, nil
}

// Stats returns the counters of every peer.
func (t *QUIC) Stats() Stats {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s := Stats{Peers: make(map[string]PeerStats, len(t.peers))}
	for addr, p := range t.peers {
		s.Peers[addr] = p.snapshot(p.q.len())
	}
	return s
}

// Close closes every connection, telling peers, stops every goroutine and
// releases the socket. Queued frames are dropped.
func (t *QUIC) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	inbound := make([]*quic.Conn, 0, len(t.inbound))
	for c := range t.inbound {
		inbound = append(inbound, c)
	}
	t.mu.Unlock() // from here on peers changes no more
	t.cancel()
	for _, p := range t.peers {
		p.q.close()
		p.closeConn(codeClosing, "closing", true)
	}
	for _, c := range inbound {
		_ = c.CloseWithError(codeClosing, "closing")
	}
	_ = t.ln.Close() // it reports only that it was closed
	t.wg.Wait()
	return errors.Join(t.tr.Close(), t.udp.Close())
}

// accept runs until Close, starting a reader for each inbound connection.
func (t *QUIC) accept() {
	for {
		c, err := t.ln.Accept(t.ctx)
		if err != nil {
			return // the listener is closed
		}
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			_ = c.CloseWithError(codeClosing, "closing")
			return
		}
		t.inbound[c] = struct{}{}
		t.wg.Go(func() { t.serve(c) })
		t.mu.Unlock()
	}
}

// serve reads the frames of one inbound connection until it ends.
func (t *QUIC) serve(c *quic.Conn) {
	from := c.RemoteAddr().String()
	defer func() {
		t.mu.Lock()
		delete(t.inbound, c)
		t.mu.Unlock()
	}()
	p, err := t.peer(from, false)
	if err != nil {
		return // closing: Close closes c
	}
	for {
		s, err := c.AcceptUniStream(t.ctx)
		if err == nil {
			err = t.read(s, from, &p.counters)
		}
		switch {
		case err == nil:
			continue // the peer ended the stream between frames
		case t.ctx.Err() != nil || isClosing(err):
			return
		case errors.Is(err, ErrFrameTooLarge):
			_ = c.CloseWithError(codeFrameTooLarge, "frame too large")
		default:
			_ = c.CloseWithError(codeBroken, "read failed")
		}
		p.connErrs.Add(1)
		t.cfg.Logger.Warn("transport: inbound connection failed", "local", t.addr, "peer", from, "err", err)
		return
	}
}

// read passes the frames of s to the handler until s ends (nil) or fails.
// It checks each length prefix against MaxFrameSize before allocating.
func (t *QUIC) read(s *quic.ReceiveStream, from string, c *counters) error {
	r := bufio.NewReaderSize(s, readBufferSize)
	var prefix [4]byte
	for {
		if _, err := io.ReadFull(r, prefix[:]); err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("transport: reading a length prefix: %w", err)
		}
		n := binary.BigEndian.Uint32(prefix[:])
		if uint64(n) > uint64(t.cfg.MaxFrameSize) {
			return fmt.Errorf("%w: length prefix %d, limit %d", ErrFrameTooLarge, n, t.cfg.MaxFrameSize)
		}
		frame := make([]byte, n)
		if _, err := io.ReadFull(r, frame); err != nil {
			return fmt.Errorf("transport: reading a frame of %d bytes: %w", n, err)
		}
		c.received(len(frame))
		t.h(from, frame)
	}
}

// isClosing reports whether err is a peer or this transport closing a
// connection on purpose rather than a failure.
func isClosing(err error) bool {
	var app *quic.ApplicationError
	return errors.As(err, &app) && app.ErrorCode == codeClosing
}
