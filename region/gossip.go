package region

import (
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/meridiankv/meridian/region/membership"
	"github.com/meridiankv/meridian/wire"
)

// gossip runs memberlist for the region: failure detection (who is alive,
// suspect or dead) and the spreading of the roster, which memberlist carries
// as user data (broadcasts for changes, push-pull for the whole roster). It
// is the membership.Gossip the node's membership.Manager runs against; its
// methods are safe for concurrent use.
type gossip struct {
	ml       *memberlist.Memberlist
	queue    *memberlist.TransmitLimitedQueue
	notify   chan struct{} // signalled (never blocking) when the roster changes
	joined   atomic.Bool   // a join succeeded (or none was asked for)
	stopJoin chan struct{}
	joinDone chan struct{} // closed when the join loop ends; nil without one
	redialed chan struct{} // closed when the reconnect loop ends

	keyring *memberlist.Keyring // nil: plain text

	mu     gosync.Mutex
	roster membership.Roster
	self   string
	protos map[string]int // each live member's announced protocol, from memberlist's events
}

var _ gossiper = (*gossip)(nil)

// gossiper is what a node needs of its region's gossip: the
// membership.Gossip its Manager runs against, a signal when the roster or
// the members' health changed, and a way out. gossip (memberlist) is the
// one meridiand runs; tests run nodes over an in-memory one.
type gossiper interface {
	membership.Gossip
	// changed is signalled, without blocking, when the roster changed.
	changed() <-chan struct{}
	// leave tells the others this node is going.
	leave(timeout time.Duration) error
	// stop stops gossiping and waits for its goroutines.
	stop() error
}

func (g *gossip) changed() <-chan struct{} { return g.notify }

// gossipDelegate adapts gossip to memberlist's callbacks, serf style.
type gossipDelegate struct{ g *gossip }

var _ memberlist.Delegate = gossipDelegate{}

func (d gossipDelegate) NodeMeta(limit int) []byte { return nodeMeta }
func (d gossipDelegate) NotifyMsg(b []byte)        { d.g.mergeBytes(b) }
func (d gossipDelegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.g.queue.GetBroadcasts(overhead, limit)
}
func (d gossipDelegate) LocalState(join bool) []byte { return d.g.encoded() }
func (d gossipDelegate) MergeRemoteState(buf []byte, join bool) {
	d.g.mergeBytes(buf)
}

// rosterBroadcast gossips one roster entry; a newer one for the same member
// replaces it in the queue.
type rosterBroadcast struct {
	id  string
	msg []byte
}

func (b rosterBroadcast) Invalidates(o memberlist.Broadcast) bool {
	ob, ok := o.(rosterBroadcast)
	return ok && ob.id == b.id
}
func (b rosterBroadcast) Message() []byte { return b.msg }
func (b rosterBroadcast) Finished()       {}

// gossipConfig is what startGossip needs.
type gossipConfig struct {
	self          membership.Member
	roster        membership.Roster // as stored; self's entry is set from self
	join          []string
	probeInterval time.Duration
	probeTimeout  time.Duration
	suspicionMult int
	pushPull      time.Duration
	reconnect     time.Duration       // how often members held dead are joined again
	keyring       *memberlist.Keyring // nil: plain text
	logger        *slog.Logger
}

func startGossip(c gossipConfig) (*gossip, error) {
	host, portStr, err := net.SplitHostPort(c.self.Gossip)
	if err != nil {
		return nil, fmt.Errorf("region: gossip address %q: %w", c.self.Gossip, err)
	}
	port, _ := strconv.Atoi(portStr)
	g := &gossip{notify: make(chan struct{}, 1), roster: c.roster.Clone(), self: c.self.ID, stopJoin: make(chan struct{}),
		redialed: make(chan struct{})}
	g.joined.Store(len(c.join) == 0)
	if g.roster == nil {
		g.roster = membership.Roster{}
	}
	g.roster[c.self.ID] = c.self
	cfg := memberlist.DefaultLANConfig()
	cfg.Name = c.self.ID
	cfg.BindAddr, cfg.BindPort = host, port
	cfg.AdvertiseAddr, cfg.AdvertisePort = host, port
	cfg.Label = "meridian/" + c.self.Region
	cfg.ProbeInterval, cfg.ProbeTimeout, cfg.SuspicionMult = c.probeInterval, c.probeTimeout, c.suspicionMult
	cfg.PushPullInterval = c.pushPull
	// Push-pull and joins inside a region answer in milliseconds; a short
	// timeout keeps a join of an unreachable member from holding up Close.
	cfg.TCPTimeout = 2 * time.Second
	cfg.Delegate = gossipDelegate{g}
	cfg.Events = gossipEvents{g}
	if c.keyring != nil {
		g.keyring, cfg.Keyring = c.keyring, c.keyring
		cfg.GossipVerifyIncoming, cfg.GossipVerifyOutgoing = true, true
	}
	// The queue must exist before memberlist starts: a peer's push-pull
	// can arrive while Create is still running.
	g.queue = &memberlist.TransmitLimitedQueue{NumNodes: g.size, RetransmitMult: cfg.RetransmitMult}
	cfg.LogOutput = nil
	cfg.Logger = log.New(&slogWriter{l: c.logger}, "", 0)
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{BindAddrs: []string{host}, BindPort: port, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("region: gossip on %s: %w", c.self.Gossip, err)
	}
	cfg.Transport = boundTransport{NetTransport: nt, ip: net.ParseIP(host)}
	ml, err := memberlist.Create(cfg)
	if err != nil {
		nt.Shutdown()
		return nil, fmt.Errorf("region: starting gossip on %s: %w", c.self.Gossip, err)
	}
	g.ml = ml
	g.broadcast(c.self)
	// A restarted node finds its region through the members it knew, even
	// when it was started without --join (the first node of a region).
	join := slices.Clone(c.join)
	for _, m := range c.roster.Sorted() {
		if m.ID != c.self.ID && m.Status.InRegion() && m.Gossip != "" && !slices.Contains(join, m.Gossip) {
			join = append(join, m.Gossip)
		}
	}
	if len(join) > 0 {
		g.joinDone = make(chan struct{})
		go g.joinLoop(join, c.logger)
	}
	go g.reconnectLoop(c.reconnect)
	return g, nil
}

// reconnectLoop joins again, every interval and one at a time, the members
// of the roster that memberlist holds dead. Memberlist never probes a dead
// node, so once a partition has lasted past the suspicion timeout, each
// side holds the other dead and, without this, would stay apart after the
// heal (serf reconnects for the same reason). A join of a member that is
// still unreachable fails within the TCP timeout and is tried next time.
func (g *gossip) reconnectLoop(interval time.Duration) {
	defer close(g.redialed)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-g.stopJoin:
			return
		case <-t.C:
		}
		roster, health := g.Snapshot()
		for _, m := range roster.Sorted() {
			if _, seen := health[m.ID]; seen || m.ID == g.self || !m.Status.InRegion() || m.Gossip == "" {
				continue
			}
			select {
			case <-g.stopJoin:
				return
			default:
			}
			if _, err := g.ml.Join([]string{m.Gossip}); err == nil {
				g.signal()
			}
		}
	}
}

// joinLoop joins the nodes given, retrying every second until one answers
// (they may not be up yet) or the node stops.
func (g *gossip) joinLoop(addrs []string, logger *slog.Logger) {
	defer close(g.joinDone)
	for i := 0; ; i++ {
		if _, err := g.ml.Join(addrs); err == nil {
			g.joined.Store(true)
			g.signal()
			return
		} else if i%30 == 0 { // the first failure, then every 30 s
			if keyRefusal(err.Error()) {
				logger.Error("could not join: the nodes asked do not hold this node's gossip key (or it does not hold theirs): give every node the same key file (--gossip-key); retrying every second", "join", addrs, "err", err)
			} else {
				logger.Warn("could not reach a node to join yet; retrying every second", "join", addrs, "err", err)
			}
		}
		select {
		case <-g.stopJoin:
			return
		case <-time.After(time.Second):
		}
	}
}

// size is the number of members, for the broadcast queue's retransmits.
func (g *gossip) size() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return max(1, len(g.roster))
}

// boundTransport makes memberlist's TCP connections leave from the node's
// own address, like its UDP packets, so that tests can cut one node off with
// firewall rules on its address.
type boundTransport struct {
	*memberlist.NetTransport
	ip net.IP
}

func (t boundTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

func (t boundTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: t.ip}}
	return d.Dial("tcp", a.Addr)
}

func (g *gossip) encoded() []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	return membership.EncodeRoster(g.roster)
}

func (g *gossip) mergeBytes(b []byte) {
	r, err := membership.DecodeRoster(b)
	if err != nil {
		return // a peer of another version or a corrupt packet: ignore it
	}
	g.mu.Lock()
	changed := g.roster.Merge(r)
	g.mu.Unlock()
	for _, m := range changed {
		g.broadcast(m)
	}
	if len(changed) > 0 {
		g.signal()
	}
}

// Update records a change of member m, with a version above what the roster
// holds, and gossips it.
func (g *gossip) Update(m membership.Member) membership.Member {
	g.mu.Lock()
	m.Version = max(m.Version, g.roster[m.ID].Version) + 1
	g.roster[m.ID] = m
	g.mu.Unlock()
	g.broadcast(m)
	g.signal()
	return m
}

func (g *gossip) broadcast(m membership.Member) {
	g.queue.QueueBroadcast(rosterBroadcast{id: m.ID, msg: membership.EncodeRoster(membership.Roster{m.ID: m})})
}

func (g *gossip) signal() {
	select {
	case g.notify <- struct{}{}:
	default:
	}
}

// Snapshot returns the roster and the health memberlist reports: alive or
// suspect for the members it sees, absent (dead) for the others.
func (g *gossip) Snapshot() (membership.Roster, map[string]membership.Health) {
	g.mu.Lock()
	r := g.roster.Clone()
	g.mu.Unlock()
	health := map[string]membership.Health{}
	for _, n := range g.ml.Members() { // the live ones: neither dead nor left
		switch n.State {
		case memberlist.StateAlive:
			health[n.Name] = membership.Alive
		case memberlist.StateSuspect:
			health[n.Name] = membership.Suspect
		}
	}
	return r, health
}

// nodeMeta is what this node announces in memberlist's own node metadata,
// which only the node itself sets and which older builds pass on intact
// (unlike roster entries, whose unknown fields they drop): the message
// protocol it speaks.
var nodeMeta = []byte(fmt.Sprintf(`{"proto":%d}`, wire.Protocol))

// Protocols returns the protocol each member memberlist sees announced;
// a member of a build that announced none is absent.
func (g *gossip) Protocols() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return maps.Clone(g.protos)
}

// gossipEvents records the protocol each member announces as memberlist
// reports joins, updates and departures. The events are the only safe
// place to read a member's metadata: memberlist rewrites it in place under
// its own lock, which Members' callers do not hold.
type gossipEvents struct{ g *gossip }

func (e gossipEvents) NotifyJoin(n *memberlist.Node)   { e.note(n) }
func (e gossipEvents) NotifyUpdate(n *memberlist.Node) { e.note(n) }
func (e gossipEvents) NotifyLeave(n *memberlist.Node) {
	e.g.mu.Lock()
	delete(e.g.protos, n.Name)
	e.g.mu.Unlock()
}

func (e gossipEvents) note(n *memberlist.Node) {
	var meta struct {
		Proto int `json:"proto"`
	}
	proto := 0
	if json.Unmarshal(n.Meta, &meta) == nil {
		proto = meta.Proto
	}
	e.g.mu.Lock()
	defer e.g.mu.Unlock()
	if e.g.protos == nil {
		e.g.protos = map[string]int{}
	}
	if proto > 0 {
		e.g.protos[n.Name] = proto
	} else {
		delete(e.g.protos, n.Name)
	}
}

// Joined reports whether a join succeeded, or none was asked for.
func (g *gossip) Joined() bool { return g.joined.Load() }

// leave tells the others this node is going, and stops gossiping.
func (g *gossip) leave(timeout time.Duration) error {
	err := g.ml.Leave(timeout)
	return err
}

func (g *gossip) stop() error {
	close(g.stopJoin)
	if g.joinDone != nil {
		<-g.joinDone
	}
	<-g.redialed
	return g.ml.Shutdown()
}

// slogWriter turns memberlist's log lines into slog records: errors and
// warnings at their level, the rest as debug. A refusal for want of the
// gossip key gets a record of its own that says so and what to do.
// Refusals are logged once per keyLogInterval at most, with the number
// left out since: a stranger probes several times a second.
type slogWriter struct {
	l          *slog.Logger
	mu         gosync.Mutex
	lastKeyLog time.Time
	suppressed int
}

// keyLogInterval spaces the log records of gossip refused for its key.
const keyLogInterval = 10 * time.Second

func (w *slogWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	switch {
	case keyRefusal(line):
		w.mu.Lock()
		now := time.Now()
		if now.Sub(w.lastKeyLog) < keyLogInterval {
			w.suppressed++
			w.mu.Unlock()
			return len(p), nil
		}
		left := w.suppressed
		w.lastKeyLog, w.suppressed = now, 0
		w.mu.Unlock()
		w.l.Error("gossip refused: the other node does not hold this cluster's gossip key, or this node does not hold its cluster's: give every node the same key file (--gossip-key)",
			"component", "memberlist", "detail", line, "refused_since_last_record", left)
	case strings.HasPrefix(line, "[ERR]"):
		w.l.Error(line, "component", "memberlist")
	case strings.HasPrefix(line, "[WARN]"):
		w.l.Warn(line, "component", "memberlist")
	default:
		w.l.Debug(line, "component", "memberlist")
	}
	return len(p), nil
}

// keyRefusal reports whether a memberlist log line or error says that a
// message could not be decrypted, or was not encrypted when it had to be.
func keyRefusal(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "no installed keys could decrypt") || strings.Contains(s, "not encrypted") ||
		strings.Contains(s, "decrypt packet failed") || strings.Contains(s, "encryption is configured")
}

// reloadKeys installs the keys of the key file path in the keyring.
func (g *gossip) reloadKeys(path string) error {
	kr := g.keyring
	if kr == nil {
		return fmt.Errorf("%w: this node gossips in plain text (it has no TLS directory): there is no key to reload", ErrGossipKey)
	}
	keys, err := readGossipKeys(path)
	if err != nil {
		return err
	}
	return installKeys(kr, keys)
}
