package resp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Server is a running Redis-protocol endpoint. Its methods are safe for
// concurrent use.
type Server struct {
	cfg     Config
	backend Backend
	ln      net.Listener
	started time.Time

	ctx    context.Context // cancelled by Close; parent of every connection's
	cancel context.CancelFunc
	wg     sync.WaitGroup // the accept loop and every connection

	mu     sync.Mutex
	conns  map[*client]struct{}
	closed bool

	nextID   atomic.Int64
	accepted atomic.Int64
	rejected atomic.Int64
	commands atomic.Int64
	badReqs  atomic.Int64
}

// Stats counts what a Server did since it started.
type Stats struct {
	Conns          int64 // connections open now
	Accepted       int64 // connections accepted, rejected ones included
	Rejected       int64 // connections refused because MaxConns were open
	Commands       int64 // requests processed
	ProtocolErrors int64 // connections closed for a malformed or oversized request
}

// Listen starts a server on cfg.Addr in front of b. It returns once the
// socket listens; connections are served in the background until Close.
func Listen(cfg Config, b Backend) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if b == nil {
		return nil, errors.New("resp: Listen: nil Backend")
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("resp: listening on %s: %w", cfg.Addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg: cfg, backend: b, ln: ln, started: time.Now(),
		ctx: ctx, cancel: cancel, conns: map[*client]struct{}{},
	}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr returns the address the server listens on, host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	open := len(s.conns)
	s.mu.Unlock()
	return Stats{
		Conns:          int64(open),
		Accepted:       s.accepted.Load(),
		Rejected:       s.rejected.Load(),
		Commands:       s.commands.Load(),
		ProtocolErrors: s.badReqs.Load(),
	}
}

// Close stops accepting, cancels the context of every Backend call in
// flight, closes every connection and returns once every goroutine the
// server started has ended. Replies not yet written are lost. Calling Close
// again does nothing and returns nil.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	err := s.ln.Close()
	s.cancel()
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("resp: closing the listener: %w", err)
	}
	return nil
}

// accept accepts connections until the listener is closed.
func (s *Server) accept() {
	defer s.wg.Done()
	var backoff time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors or similar: wait, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(backoff):
			case <-s.ctx.Done():
				return
			}
			continue
		}
		backoff = 0
		s.accepted.Add(1)
		if c := s.admit(nc); c != nil {
			go c.serve()
		}
	}
}

// admit registers a connection, or refuses it if MaxConns are open or the
// server is closing.
func (s *Server) admit(nc net.Conn) *client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.conns) >= s.cfg.MaxConns {
		s.rejected.Add(1)
		// A new socket's send buffer is empty: this write does not block.
		_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = nc.Write([]byte("-ERR max number of clients reached\r\n"))
		nc.Close()
		return nil
	}
	c := newClient(s, nc, s.nextID.Add(1))
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return c
}

// drop unregisters a connection that has ended.
func (s *Server) drop(c *client) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// idleConn refreshes the connection's deadlines before each read and write,
// so that IdleTimeout bounds the silence of the client, not the length of
// the connection.
type idleConn struct {
	net.Conn
	timeout time.Duration
}

func (c idleConn) Read(p []byte) (int, error) {
	if err := c.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c idleConn) Write(p []byte) (int, error) {
	if err := c.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}
