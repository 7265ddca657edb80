package region

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/region/httpapi"
	"github.com/meridiankv/meridian/region/membership"
	"github.com/meridiankv/meridian/region/resp"
	"github.com/meridiankv/meridian/region/transport"
	"github.com/meridiankv/meridian/storage"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Node is one running Meridian node: storage, the replication state machine
// (kvsync.Node) and the membership logic (membership.Manager) driven by one
// goroutine, the QUIC transport to the other nodes, memberlist gossip, and
// the client endpoints.
//
// All replication logic runs in the loop goroutine, which owns the state
// machine; everything else talks to it through channels. A batch of events
// is handled, then the state machine's writes are committed in one batch
// (group commit) and only then are its messages sent and clients answered.
type Node struct {
	cfg         Config
	log         *slog.Logger
	actor       crdt.NodeID
	incarnation string // of the node's data: its actor is ID.incarnation

	db    *storage.DB
	store kvsync.Store
	sm    *kvsync.Node
	tr    peerTransport
	g     gossiper
	reg   *prometheus.Registry
	met   *metrics
	http  *httpapi.Server
	resp  *resp.Server

	reqs    chan request
	inbound chan []wire.Message
	admin   chan func() // run in the loop (inLoop)
	stop    chan struct{}
	done    chan struct{}
	nextReq atomic.Uint64

	// Owned by the loop.
	waiters      map[uint64]chan kvsync.Response
	mgr          *membership.Manager
	peers        map[crdt.NodeID]string // peer addresses, from the last refresh
	leaveWaiters []chan error           // leaves waiting for the handoff
	rosterStored string                 // the roster as last persisted
	dir          *membership.Directory  // the other regions
	dirStored    string                 // the directory as last persisted
	local        membership.Roster      // this region, from the last refresh
	health       map[string]membership.Health
	logged       map[string]*logSpacing          // logEvery's records by topic
	dropped      map[string]int64                // writes given up on, by region, as last logged
	remoteAddrs  atomic.Pointer[map[string]bool] // peer addresses of other regions' nodes, for wanDelay
	outboxErrors int64                           // failed reads of the outbox, as last logged

	mu      gosync.Mutex // guards what other goroutines read
	cluster ClusterInfo
	smStats kvsync.Stats
	closed  bool
}

// peerTransport is what the node needs of a transport.
type peerTransport interface {
	Send(addr string, frame []byte) error
	Close() error
}

type request struct {
	id uint64
	op wire.Op
	ch chan kvsync.Response
}

// Start opens the node's storage, joins the region and starts serving.
func Start(cfg Config) (*Node, error) {
	return start(cfg, seams{})
}

// seams replace a node's I/O for tests: nil or false fields keep what
// meridiand runs.
type seams struct {
	// transport replaces QUIC with an in-memory network.
	transport *transport.MemNetwork
	// gossip replaces memberlist: it returns the gossip of the node whose
	// entry is self, with the roster stored with its data; joined is true
	// when the node was not asked to join a region (it founds one, or
	// restarts into the one it knows).
	gossip func(self membership.Member, stored membership.Roster, joined bool) (gossiper, error)
	// noEndpoints starts no Redis-protocol or HTTP listener: the test
	// calls Do.
	noEndpoints bool
}

// start starts a node over the seams given.
func start(cfg Config, sm seams) (_ *Node, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	n := &Node{cfg: cfg, log: cfg.Logger.With("node", cfg.ID), reqs: make(chan request, 1024),
		inbound: make(chan []wire.Message, 1024), stop: make(chan struct{}), done: make(chan struct{}),
		waiters: map[uint64]chan kvsync.Response{}, admin: make(chan func())}
	defer func() {
		if err != nil {
			n.closeAll()
		}
	}()
	if err := n.openStorage(); err != nil {
		return nil, err
	}
	if err := n.openTransport(sm.transport); err != nil {
		return nil, err
	}
	roster, err := n.loadRoster()
	if err != nil {
		return nil, err
	}
	if err := n.openDirectory(); err != nil {
		return nil, err
	}
	mcfg := n.membershipConfig()
	self := membership.Initial(mcfg, roster, len(cfg.Join) > 0)
	if err := n.startGossip(sm, self, roster); err != nil {
		return nil, err
	}
	now := cfg.Clock.Now().UnixNano()
	n.sm, err = kvsync.NewNode(n.syncConfig(), n.store, now)
	if err != nil {
		return nil, err
	}
	if n.mgr, err = membership.New(mcfg, self, n.g); err != nil {
		return nil, err
	}
	n.refreshView(now)
	for _, l := range []struct {
		what string
		lvl  kvsync.Level
	}{{"reads", cfg.ReadLevel}, {"writes", cfg.WriteLevel}} {
		if l.lvl.Spans() {
			n.log.Warn("the default consistency spans regions: once this node knows other regions, each such request waits for them (or fails at once when one is cut off); LOCAL_QUORUM keeps requests in this region",
				"requests", l.what, "level", l.lvl)
		}
	}
	n.reg = prometheus.NewRegistry()
	n.met = newMetrics(n.reg, n)
	go n.loop()
	if sm.noEndpoints {
		n.log.Info("node started without client endpoints", "region", cfg.Region, "actor", n.sm.Actor(), "status", self.Status)
		return n, nil
	}
	if err := n.serve(); err != nil {
		n.mu.Lock()
		n.closed = true
		n.mu.Unlock()
		close(n.stop)
		<-n.done
		return nil, err
	}
	n.log.Info("node started", "region", cfg.Region, "actor", n.sm.Actor(), "status", self.Status,
		"peer", cfg.PeerAddr, "gossip", cfg.GossipAddr)
	return n, nil
}

// startGossip starts the node's gossip: memberlist, or the seam's. n.g
// stays nil when it fails, so that closeAll has nothing to stop.
func (n *Node) startGossip(sm seams, self membership.Member, roster membership.Roster) error {
	cfg := n.cfg
	if sm.gossip != nil {
		g, err := sm.gossip(self, roster, len(cfg.Join) == 0)
		if err != nil {
			return err
		}
		n.g = g
		return nil
	}
	var kr *memberlist.Keyring
	if path := cfg.gossipKeyFile(); path != "" {
		var err error
		if kr, err = newKeyring(path); err != nil {
			return err
		}
	}
	g, err := startGossip(gossipConfig{self: self, roster: roster, join: cfg.Join,
		probeInterval: cfg.ProbeInterval, probeTimeout: cfg.ProbeTimeout, suspicionMult: cfg.SuspicionMult,
		pushPull: 5 * time.Second, reconnect: max(time.Second, 4*cfg.ProbeInterval), keyring: kr, logger: n.log})
	if err != nil {
		return err
	}
	n.g = g
	return nil
}

func (n *Node) syncConfig() kvsync.Config {
	c := kvsync.DefaultConfig(crdt.NodeID(n.cfg.ID))
	c.Actor = n.actor
	c.Replicas = n.cfg.Replicas
	c.RequestTimeout = n.cfg.RequestTimeout
	c.ReadRetryAfter = n.cfg.ReadRetryAfter
	c.MaxKeySize, c.MaxValueSize = n.cfg.MaxKeySize, n.cfg.MaxValueSize
	c.AntiEntropyInterval = n.cfg.AntiEntropyInterval
	c.MaxHintBytes = n.cfg.MaxHintBytes
	c.Region = n.cfg.Region
	c.MaxOutboxBytes = n.cfg.MaxOutboxBytes
	c.RegionAntiEntropyInterval = n.cfg.RegionAntiEntropyInterval
	c.Strong = n.cfg.Strong
	return c
}

// actorBase is the base of the actors a node mints its dots under:
// region/id.incarnation, so that actors are unique across regions (ids are
// unique only in a region) and a conflict's sibling names the region it was
// written in. A node of the default region, "local", leaves the region out:
// what it writes costs no more than before regions existed, and an actor
// without a region is read as one of "local".
func actorBase(region, id, incarnation string) crdt.NodeID {
	if region == DefaultRegion {
		return crdt.NodeID(id + "." + incarnation)
	}
	return crdt.NodeID(region + "/" + id + "." + incarnation)
}

// openStorage opens the data directory and reads (or creates) the node's
// incarnation: the actor in the dots it mints is its id plus the
// incarnation, so a node whose data was wiped never mints a dot again.
func (n *Node) openStorage() error {
	opts := storage.DefaultOptions()
	opts.InMemory = n.cfg.InMemory
	opts.Sync, opts.SyncInterval = n.cfg.Sync, n.cfg.SyncInterval
	opts.Logger = storage.LoggerFunc(func(format string, args ...any) { n.log.Warn(fmt.Sprintf(format, args...), "component", "badger") })
	db, err := storage.Open(n.cfg.DataDir, opts)
	if err != nil {
		return fmt.Errorf("region: opening data directory %q: %w", n.cfg.DataDir, err)
	}
	n.db, n.store = db, diskStore{db}
	inc, err := db.GetMeta("incarnation")
	if err != nil {
		return fmt.Errorf("region: reading the node's incarnation: %w", err)
	}
	if inc == nil {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		inc = []byte(hex.EncodeToString(b[:]))
		if err := db.PutMeta("incarnation", inc); err != nil {
			return fmt.Errorf("region: recording the node's incarnation: %w", err)
		}
	}
	n.incarnation = string(inc)
	n.actor = actorBase(n.cfg.Region, n.cfg.ID, n.incarnation)
	return nil
}

func (n *Node) openTransport(mem *transport.MemNetwork) error {
	handler := func(from string, frame []byte) {
		msgs, err := wire.DecodeFrame(frame)
		if err != nil {
			n.log.Warn("dropping a frame that does not decode", "from", from, "err", err)
			return
		}
		select {
		case n.inbound <- msgs:
		case <-n.stop:
		}
	}
	if mem != nil {
		t, err := mem.ListenConfig(transport.Config{Addr: n.cfg.PeerAddr, Delay: n.wanDelay()}, handler)
		if err != nil {
			return err
		}
		n.tr = t
		return nil
	}
	tlsCfg, err := transport.LoadMutualTLS(n.cfg.TLSDir, n.cfg.ID)
	if err != nil {
		return fmt.Errorf("region: loading TLS material for %s from %s: %w", n.cfg.ID, n.cfg.TLSDir, err)
	}
	tc := transport.DefaultConfig()
	tc.Addr, tc.TLS, tc.Logger = n.cfg.PeerAddr, tlsCfg, n.log.With("component", "transport")
	tc.Delay = n.wanDelay()
	t, err := transport.Listen(tc, handler)
	if err != nil {
		return fmt.Errorf("region: peer listener on %s: %w", n.cfg.PeerAddr, err)
	}
	n.tr = t
	return nil
}

// serve starts the client endpoints.
func (n *Node) serve() error {
	hc := httpapi.DefaultConfig()
	hc.Addr, hc.MaxValueSize, hc.Logger = n.cfg.HTTPAddr, int64(n.cfg.MaxValueSize), n.log.With("component", "http")
	hc.Metrics = promhttp.HandlerFor(n.reg, promhttp.HandlerOpts{})
	h, err := httpapi.Listen(hc, httpBackend{n})
	if err != nil {
		return fmt.Errorf("region: HTTP listener on %s: %w", n.cfg.HTTPAddr, err)
	}
	n.http = h
	rc := resp.DefaultConfig()
	rc.Addr = n.cfg.RESPAddr
	rc.MaxRequestSize = max(rc.MaxRequestSize, n.cfg.MaxValueSize+n.cfg.MaxKeySize+64<<10)
	r, err := resp.Listen(rc, respBackend{n})
	if err != nil {
		return fmt.Errorf("region: Redis-protocol listener on %s: %w", n.cfg.RESPAddr, err)
	}
	n.resp = r
	return nil
}

// Do runs a client operation and waits for its answer. It is safe for
// concurrent use.
func (n *Node) Do(ctx context.Context, op wire.Op) kvsync.Response {
	p, strong := n.cfg.Strong.Of(op.Key)
	switch {
	case op.Level != 0:
	case strong:
		op.Level = uint8(p.Scope.Level()) // a strong key has one level, whatever the defaults
	case op.Kind == wire.OpGet || op.Kind == wire.OpInspect:
		op.Level = uint8(n.cfg.ReadLevel)
	default:
		op.Level = uint8(n.cfg.WriteLevel)
	}
	start := n.cfg.Clock.Now()
	r := n.do(ctx, op)
	n.met.observe(op, n.cfg.Clock.Now().Sub(start), r)
	return r
}

func (n *Node) do(ctx context.Context, op wire.Op) kvsync.Response {
	r := request{id: n.nextReq.Add(1), op: op, ch: make(chan kvsync.Response, 1)}
	select {
	case n.reqs <- r:
	case <-ctx.Done():
		return kvsync.Response{Err: fmt.Errorf("region: %w before the request was taken", ctx.Err())}
	case <-n.stop:
		return kvsync.Response{Err: kvsync.ErrStopped}
	}
	select {
	case resp := <-r.ch:
		return resp
	case <-ctx.Done():
		return kvsync.Response{Err: fmt.Errorf("region: %w: %w waiting for the answer", kvsync.ErrUnknownOutcome, ctx.Err())}
	case <-n.done:
		return kvsync.Response{Err: kvsync.ErrStopped}
	}
}

// Close stops the node without handing its data off: it keeps its ranges
// and catches up when it starts again. Use Leave first to leave for good.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.mu.Unlock()
	if n.http != nil {
		n.http.Close() // stop taking requests before the loop stops
		n.http = nil
	}
	if n.resp != nil {
		n.resp.Close()
		n.resp = nil
	}
	close(n.stop)
	<-n.done
	// The loop has stopped after its last flush: record the clean stop, so
	// that the next start mints under the same actor.
	clean := n.sm.Close()
	return errors.Join(clean, n.closeAll())
}

func (n *Node) closeAll() error {
	var errs []error
	if n.http != nil {
		errs = append(errs, n.http.Close())
	}
	if n.resp != nil {
		errs = append(errs, n.resp.Close())
	}
	if n.g != nil {
		errs = append(errs, n.g.stop())
	}
	if n.tr != nil {
		errs = append(errs, n.tr.Close())
	}
	if n.db != nil {
		errs = append(errs, n.db.Close())
	}
	return errors.Join(errs...)
}
