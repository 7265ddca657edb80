package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// MemNetwork is an in-memory network of transports: the twin of QUIC for
// tests and simulations, with the same contract (per-peer order, bounded
// queues, ErrQueueFull, the Handler's goroutine per peer) and no sockets.
// Links between two addresses can be cut, healed and delayed. Its methods
// are safe for concurrent use.
type MemNetwork struct {
	mu    sync.RWMutex
	nodes map[string]*MemTransport
	cut   map[[2]string]bool
	delay map[[2]string]time.Duration
}

// NewMemNetwork returns an empty network with no cuts and no delays.
func NewMemNetwork() *MemNetwork {
	return &MemNetwork{
		nodes: make(map[string]*MemTransport),
		cut:   make(map[[2]string]bool),
		delay: make(map[[2]string]time.Duration),
	}
}

// link names the link between a and b, whichever way round.
func link(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// Cut drops every frame between a and b, both ways, from now until Heal,
// including frames already queued when they come to be delivered.
func (n *MemNetwork) Cut(a, b string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cut[link(a, b)] = true
}

// Heal undoes Cut(a, b).
func (n *MemNetwork) Heal(a, b string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.cut, link(a, b))
}

// SetDelay holds every frame sent between a and b, both ways, for d after
// Send (a round trip takes 2d), added to any Config.Delay. Zero removes the
// delay. It applies to frames sent from now on.
func (n *MemNetwork) SetDelay(a, b string, d time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if d <= 0 {
		delete(n.delay, link(a, b))
		return
	}
	n.delay[link(a, b)] = d
}

// Listen returns a transport at addr, any string, with the default limits.
// It returns ErrAddrInUse if a transport is listening at addr.
func (n *MemNetwork) Listen(addr string, h Handler) (*MemTransport, error) {
	return n.ListenConfig(Config{Addr: addr}, h)
}

// ListenConfig is Listen with the limits of cfg: Addr, MaxFrameSize,
// QueueLen, QueueBytes, Delay and Logger; the other fields are ignored.
func (n *MemNetwork) ListenConfig(cfg Config, h Handler) (*MemTransport, error) {
	if h == nil {
		return nil, errors.New("transport: nil handler")
	}
	if err := cfg.check(false); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &MemTransport{
		net: n, cfg: cfg.withDefaults(), h: h, ctx: ctx, cancel: cancel,
		peers: make(map[string]*memPeer),
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.nodes[cfg.Addr]; ok {
		cancel()
		return nil, fmt.Errorf("%w: %s", ErrAddrInUse, cfg.Addr)
	}
	n.nodes[cfg.Addr] = m
	return m, nil
}

// deliver hands frame to the transport at to, reporting false if there is
// none or the link is cut.
func (n *MemNetwork) deliver(from, to string, frame []byte) bool {
	n.mu.RLock()
	dst, cut := n.nodes[to], n.cut[link(from, to)]
	n.mu.RUnlock()
	return dst != nil && !cut && dst.receive(from, frame)
}

// MemTransport is a transport of a MemNetwork. Each peer it sends to gets a
// goroutine that takes its frames from the peer's queue in order and calls
// the peer's Handler: that goroutine is the peer connection of the Handler
// contract.
type MemTransport struct {
	net    *MemNetwork
	cfg    Config
	h      Handler
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.RWMutex
	closed bool
	peers  map[string]*memPeer

	handling sync.RWMutex // read-held while the Handler runs; Close takes it to wait
	dead     bool         // guarded by handling
}

type memPeer struct {
	counters
	q       *queue
	started bool // guarded by MemTransport.mu
}

var _ Transport = (*MemTransport)(nil)

// LocalAddr returns the address the transport listens at.
func (m *MemTransport) LocalAddr() string { return m.cfg.Addr }

// Send queues frame for addr; see Transport. Frames to an address with no
// transport are dropped, as the network would.
func (m *MemTransport) Send(addr string, frame []byte) error {
	p, _, err := m.push(addr, frame)
	if errors.Is(err, ErrQueueFull) {
		p.refused.Add(1)
	}
	return err
}

// SendWait queues frame for addr, waiting for room; see Transport.
func (m *MemTransport) SendWait(ctx context.Context, addr string, frame []byte) error {
	return sendWait(ctx, func() (<-chan struct{}, error) {
		_, room, err := m.push(addr, frame)
		return room, err
	})
}

func (m *MemTransport) push(addr string, frame []byte) (*memPeer, <-chan struct{}, error) {
	if len(frame) > m.cfg.MaxFrameSize {
		return nil, nil, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, len(frame), m.cfg.MaxFrameSize)
	}
	p, err := m.peer(addr, true)
	if err != nil {
		return nil, nil, err
	}
	var d time.Duration
	if m.cfg.Delay != nil {
		d = max(m.cfg.Delay(addr), 0)
	}
	m.net.mu.RLock()
	d += m.net.delay[link(m.cfg.Addr, addr)]
	m.net.mu.RUnlock()
	var due time.Time
	if d > 0 {
		due = time.Now().Add(d)
	}
	room, err := p.q.push(frame, due)
	return p, room, err
}

// peer returns the state of addr, creating it, and with start its delivery
// goroutine, on first use.
func (m *MemTransport) peer(addr string, start bool) (*memPeer, error) {
	m.mu.RLock()
	p, closed := m.peers[addr], m.closed
	started := p != nil && p.started // written under the lock below
	m.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	if p != nil && (started || !start) {
		return p, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if p = m.peers[addr]; p == nil {
		p = &memPeer{q: newQueue(m.cfg.QueueLen, m.cfg.QueueBytes)}
		m.peers[addr] = p
	}
	if start && !p.started {
		p.started = true
		m.wg.Go(func() { m.run(addr, p) })
	}
	return p, nil
}

// run delivers p's frames to addr in order until Close.
func (m *MemTransport) run(addr string, p *memPeer) {
	timer := newStoppedTimer()
	var spare []item
	for {
		batch := p.q.take(m.ctx, spare)
		if batch == nil {
			p.dropped.Add(uint64(p.q.dropWaiting()))
			return
		}
		rel := releaser{q: p.q}
		for _, it := range batch {
			if notDue(it.due) {
				rel.flush() // free the room of the frames delivered while this one is held
			}
			switch {
			case !sleepUntil(m.ctx, timer, it.due):
				p.dropped.Add(1)
			case m.net.deliver(m.cfg.Addr, addr, it.frame):
				p.sent(1, len(it.frame))
			default:
				p.dropped.Add(1)
			}
			rel.add(len(it.frame))
		}
		rel.flush()
		clear(batch)
		spare = batch[:0]
	}
}

// receive passes a copy of frame from from to the Handler, reporting false
// if the transport is closed.
func (m *MemTransport) receive(from string, frame []byte) bool {
	m.handling.RLock()
	defer m.handling.RUnlock()
	if m.dead {
		return false
	}
	p, err := m.peer(from, false)
	if err != nil {
		return false
	}
	p.received(len(frame))
	m.h(from, bytes.Clone(frame))
	return true
}

// Stats returns the counters of every peer.
func (m *MemTransport) Stats() Stats {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s := Stats{Peers: make(map[string]PeerStats, len(m.peers))}
	for addr, p := range m.peers {
		s.Peers[addr] = p.snapshot(p.q.len())
	}
	return s
}

// Close removes the transport from the network, waits for the Handler calls
// in progress and stops its goroutines; queued frames are dropped. The
// address can then be listened at again.
func (m *MemTransport) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.net.mu.Lock()
	if m.net.nodes[m.cfg.Addr] == m {
		delete(m.net.nodes, m.cfg.Addr)
	}
	m.net.mu.Unlock()
	m.handling.Lock()
	m.dead = true
	m.handling.Unlock()
	m.cancel()
	for _, p := range m.peers {
		p.q.close()
	}
	m.wg.Wait()
	return nil
}
