package sync

import (
	"errors"
	"slices"
	"time"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// Replication between regions. Every write this node coordinates is kept
// in its outbox (core.owe), in the same commit as the write, so that it is
// owed to the other regions from the moment it is acknowledged, and stays
// owed across a crash. The shipper sends each region what it is owed, in
// batches of up to ShipBatch keys (the deltas of one key merged), one
// message per key and every message of a batch in one frame to one node of
// the region, with up to ShipInFlight batches unacknowledged and ShipRate
// bytes per second. The receiving node (the relay) keeps each key for its
// region's owners (it merges the keys it owns, and keeps a hint for every
// other owner, which the hinter delivers at once) and acknowledges the
// batch once that is durable. A region's cursor then moves past the batch,
// durably; a shipment every region took is deleted.
//
// What is owed to a region is bounded (MaxOutboxBytes): a region cut off
// for longer than its backlog allows is given up on, and anti-entropy
// between regions repairs it after the heal.

// owe keeps delta, the write of key this node just applied, in the outbox
// for the other regions.
func (n *core) owe(key []byte, delta crdt.State) {
	if len(n.view.Remote) == 0 || n.cfg.MaxOutboxBytes == 0 {
		return
	}
	n.seq++
	n.batch.Outbox = append(n.batch.Outbox, wire.Shipment{Seq: n.seq, Key: key, State: delta, At: n.now})
}

// RegionStats describes the replication to one other region.
type RegionStats struct {
	Up           bool          // the link works: the region was heard from recently
	Pending      int64         // shipments owed to the region
	PendingBytes int64         // their bytes, estimated from the outbox's mean
	Lag          time.Duration // age of the oldest shipment owed, 0 when none
	Shipped      int64         // shipments the region took
	ShippedBytes int64         // their keys and encoded deltas
	Batches      int64         // batches the region acknowledged
	Resent       int64         // batches sent again after a timeout or a refusal
	Dropped      int64         // shipments given up on when the backlog passed MaxOutboxBytes
}

// shipper is the part of a Node that ships the outbox to the other
// regions: one lane per region.
type shipper struct {
	*core
	lanes    map[string]*lane
	byID     map[uint64]*lane // batches in flight
	box      wire.OutboxState // as last read
	nextLook int64            // when to read the outbox's state again
	trimmed  uint64
}

// lane is the replication to one region.
type lane struct {
	region  string
	cursor  uint64 // every Seq up to it taken by the region, or given up on
	sent    uint64 // every Seq up to it sent (cursor <= sent)
	batches []*shipBatch
	relay   uint32 // rotates the relay after a failure
	tokens  int64  // bytes it may send now (ShipRate)
	filled  int64  // when tokens were last added
	retryAt int64  // after a refusal, no batch before then
	oldest  int64  // At of the oldest shipment owed, 0 when none
	st      RegionStats
}

// shipBatch is a batch in flight.
type shipBatch struct {
	id        uint64
	through   uint64 // the last Seq it covers
	keys      int64  // messages sent, one per key
	got       int64  // messages acknowledged
	shipments int64  // Seqs it covers
	bytes     int64
	deadline  int64
}

func newShipper(c *core) (*shipper, error) {
	s := &shipper{core: c, lanes: map[string]*lane{}, byID: map[uint64]*lane{}}
	box, err := c.store.Outbox()
	if err != nil {
		return nil, errors.Join(errors.New("sync: reading the outbox"), err)
	}
	s.box = box
	c.seq = box.Last
	for _, cur := range box.Cursors {
		c.seq = max(c.seq, cur)
	}
	s.trimmed = box.First - min(box.First, 1)
	return s, nil
}

// setRegions opens a lane for every region the view names that has none.
// A region seen for the first time is owed only what is written from now
// on: anti-entropy brings it the rest.
func (s *shipper) setRegions() {
	for _, rv := range s.view.Remote {
		if s.lanes[rv.Name] != nil {
			continue
		}
		cur, ok := s.box.Cursors[rv.Name]
		if !ok {
			cur = s.seq
			s.setCursor(rv.Name, cur)
		}
		s.lanes[rv.Name] = &lane{region: rv.Name, cursor: cur, sent: cur, filled: s.now, tokens: s.burst()}
	}
}

func (s *shipper) setCursor(region string, cur uint64) {
	if s.batch.Cursors == nil {
		s.batch.Cursors = map[string]uint64{}
	}
	s.batch.Cursors[region] = cur
}

// burst is the most bytes a lane may send at once: two batches of
// ShipBatch keys of 1 KiB, at least a second's worth of ShipRate.
func (s *shipper) burst() int64 { return max(s.cfg.ShipRate, 2<<10*int64(s.cfg.ShipBatch)) }

// maxShipBytes bounds one batch's bytes, whatever its keys.
const maxShipBytes = 1 << 20

func (s *shipper) tick() {
	if len(s.lanes) == 0 {
		return
	}
	if s.now >= s.nextLook {
		s.nextLook = s.now + int64(100*time.Millisecond)
		s.look()
	}
	for _, name := range s.regionNames() {
		l := s.lanes[name]
		s.expire(l)
		if rv := s.view.remote(name); rv != nil && rv.Up {
			s.fill(l)
		}
	}
}

func (s *shipper) regionNames() []string {
	names := make([]string, 0, len(s.lanes))
	for name := range s.lanes {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// look reads the outbox's state, measures each lane's backlog and lag,
// gives up on a backlog beyond MaxOutboxBytes, and trims what every region
// took.
func (s *shipper) look() {
	box, err := s.store.Outbox()
	if err != nil {
		return
	}
	s.box = box
	mean := int64(0)
	if box.Count > 0 {
		mean = box.Bytes / int64(box.Count)
	}
	for _, name := range s.regionNames() {
		l := s.lanes[name]
		if box.Cursors[name] < l.cursor {
			// The commit that was to record it failed: record it again, or
			// a node that leaves would wait for it for ever (drained).
			s.setCursor(name, l.cursor)
		}
		owed := int64(box.Last - min(box.Last, l.cursor))
		if owed*mean > s.cfg.MaxOutboxBytes {
			l.st.Dropped += owed
			l.cursor, l.sent, l.batches = box.Last, box.Last, nil
			s.setCursor(name, l.cursor)
			owed = 0
		}
		l.st.Pending, l.st.PendingBytes = owed, owed*mean
		l.oldest = 0
		if owed > 0 {
			s.noteErr(s.store.ScanOutbox(l.cursor, func(sh wire.Shipment) bool {
				l.oldest = sh.At
				return false
			}))
		}
	}
	s.trim()
}

// trim deletes the shipments every region took.
func (s *shipper) trim() {
	low := uint64(0)
	for i, name := range s.regionNames() {
		if c := s.lanes[name].cursor; i == 0 || c < low {
			low = c
		}
	}
	if low > s.trimmed && low >= s.box.First && s.box.Count > 0 {
		s.batch.Trim = low
		s.trimmed = low
	}
}

// expire sends a lane's batches again, from its cursor, when the oldest
// one waited too long: the relay or the link failed.
func (s *shipper) expire(l *lane) {
	if len(l.batches) == 0 || l.batches[0].deadline > s.now {
		return
	}
	l.st.Resent++
	s.restart(l)
}

// restart forgets a lane's batches in flight and sends again from its
// cursor, to another node of the region.
func (s *shipper) restart(l *lane) {
	for _, b := range l.batches {
		delete(s.byID, b.id)
	}
	l.batches, l.sent = nil, l.cursor
	l.relay++
}

// fill sends the lane's next batches, within ShipInFlight and ShipRate.
func (s *shipper) fill(l *lane) {
	if s.now < l.retryAt || l.sent >= s.seq {
		return // nothing new to send: no need to read the store
	}
	l.tokens = min(s.burst(), l.tokens+(s.now-l.filled)*s.cfg.ShipRate/int64(time.Second))
	l.filled = s.now
	for len(l.batches) < s.cfg.ShipInFlight && l.tokens > 0 {
		to := s.relayFor(l)
		if to == "" {
			return
		}
		b := s.nextBatch(l)
		if b == nil {
			return
		}
		l.tokens -= b.bytes
	}
}

// nextBatch sends the shipments after the lane's sent mark, merged by key,
// as one batch, and returns it; nil when nothing is owed.
func (s *shipper) nextBatch(l *lane) *shipBatch {
	merged := map[string]crdt.State{}
	var order []string
	b := &shipBatch{through: l.sent}
	err := s.store.ScanOutbox(l.sent, func(sh wire.Shipment) bool {
		k := string(sh.Key)
		if cur, ok := merged[k]; ok {
			merged[k] = crdt.Merge(cur, sh.State)
		} else {
			if len(order) == s.cfg.ShipBatch {
				return false
			}
			merged[k] = sh.State
			order = append(order, k)
		}
		b.through = sh.Seq
		b.shipments++
		b.bytes += hintSize(sh.Key, sh.State)
		return b.bytes < maxShipBytes
	})
	s.noteErr(err)
	if len(order) == 0 {
		return nil
	}
	to := s.relayFor(l)
	b.id = s.newID(partCoordinator)
	b.keys = int64(len(order))
	b.deadline = s.now + int64(s.cfg.ShipTimeout)
	for _, k := range order {
		s.send(wire.Message{Type: wire.MsgShip, To: to, ID: b.id, Key: []byte(k), State: merged[k], Changed: b.keys})
	}
	l.batches = append(l.batches, b)
	l.sent = b.through
	s.byID[b.id] = l
	return b
}

// relayFor returns the node of the lane's region its batches go to: one
// of its members up, chosen by this node's id so that the nodes of a
// region spread their batches, and the next one after a failure.
func (s *shipper) relayFor(l *lane) crdt.NodeID {
	return pickUp(s.view.remote(l.region), s.cfg.ID, l.relay)
}

// acked handles a relay's acknowledgement of a batch's messages: a lane's
// cursor moves past every batch fully acknowledged in order.
func (s *shipper) acked(m wire.Message) {
	l, ok := s.byID[m.ID]
	if !ok {
		return // a batch given up on and sent again
	}
	i := slices.IndexFunc(l.batches, func(b *shipBatch) bool { return b.id == m.ID })
	if i < 0 {
		return
	}
	if m.Code != wire.CodeOK {
		// The relay could not keep the batch (its hint budget is full, its
		// region has no ring yet): try again shortly, elsewhere.
		l.st.Resent++
		l.retryAt = s.now + int64(s.cfg.ShipTimeout)/4
		s.restart(l)
		return
	}
	l.batches[i].got += m.Changed
	for len(l.batches) > 0 && l.batches[0].got >= l.batches[0].keys {
		b := l.batches[0]
		l.batches = l.batches[1:]
		delete(s.byID, b.id)
		l.cursor = b.through
		l.st.Shipped += b.shipments
		l.st.ShippedBytes += b.bytes
		l.st.Batches++
		s.setCursor(l.region, l.cursor)
	}
}

// noteErr records an outbox that could not be read (Stats.OutboxErr): the
// lanes stop at the shipment that does not decode, and their lag shows it.
func (s *shipper) noteErr(err error) {
	if err != nil {
		s.core.stats.OutboxErrors++
		s.core.stats.OutboxErr = err
	}
}

// drained reports whether every region took what this node owes it (or
// was given up on), as its stored cursors record: nothing else holds those
// writes for them, so a node that leaves waits for it.
func (s *shipper) drained() bool {
	box, err := s.store.Outbox()
	if err != nil {
		return false
	}
	for name := range s.lanes {
		if box.Count > 0 && box.Cursors[name] < box.Last {
			return false
		}
	}
	return len(s.batch.Outbox) == 0 // nor any written in this round
}

// stats returns each lane's figures.
func (s *shipper) stats() map[string]RegionStats {
	if len(s.lanes) == 0 {
		return nil
	}
	out := make(map[string]RegionStats, len(s.lanes))
	for name, l := range s.lanes {
		st := l.st
		if rv := s.view.remote(name); rv != nil {
			st.Up = rv.Up
		}
		if l.oldest > 0 && st.Pending > 0 {
			st.Lag = time.Duration(max(0, s.now-l.oldest))
		}
		out[name] = st
	}
	return out
}

// relay is the part of a Node that takes the batches other regions ship
// here: each key is merged into its owners in this region as a write is,
// without minting (coordinator.coordinateMerge, at LOCAL_ONE: the owners
// reachable get it at once, the silent ones a hint), and the batch is
// acknowledged once every key is durable on one owner at least. A key
// that could not be (no owner reachable) refuses the batch: it comes again.
// Another region's anti-entropy repairs are kept for every owner (take).
type relay struct {
	*core
	hints *hinter
	coord *coordinator
	waits map[shipKey]*shipWait
}

type shipKey struct {
	from crdt.NodeID
	id   uint64
}

// shipWait is a batch being taken: its keys not answered yet.
type shipWait struct {
	shipKey
	keys     int64           // in the batch (MsgShip.Changed)
	seen     map[string]bool // keys received, so that a duplicate counts once
	pending  int64           // received and not answered
	taken    int64           // answered and durable
	err      error           // the first key that could not be
	deadline int64           // then it is forgotten: the batch comes again
}

func newRelay(c *core, h *hinter, co *coordinator) *relay {
	r := &relay{core: c, hints: h, coord: co, waits: map[shipKey]*shipWait{}}
	c.shipDone = r.keyDone
	return r
}

func (r *relay) onShip(m wire.Message) {
	k := shipKey{from: m.From, id: m.ID}
	w := r.waits[k]
	if w == nil {
		w = &shipWait{shipKey: k, keys: max(m.Changed, 1), seen: map[string]bool{},
			deadline: r.now + 2*int64(r.cfg.RequestTimeout)}
		r.waits[k] = w
	}
	if w.seen[string(m.Key)] {
		return
	}
	w.seen[string(m.Key)] = true
	w.pending++
	r.coord.coordinateMerge(origin{ship: w}, m.Key, m.State, LocalOne)
}

// keyDone takes the answer of one key's merge.
func (r *relay) keyDone(w *shipWait, resp Response) {
	if r.waits[w.shipKey] != w {
		return // forgotten: the batch comes again
	}
	w.pending--
	if resp.Err != nil {
		r.stats.ShipsRefused++
		if w.err == nil {
			w.err = resp.Err
		}
	} else {
		r.stats.ShipsTaken++
		w.taken++
	}
	if w.pending > 0 || int64(len(w.seen)) < w.keys {
		return
	}
	delete(r.waits, w.shipKey)
	ack := wire.Message{Type: wire.MsgShipAck, To: w.from, ID: w.id, Changed: w.taken}
	ack.Code, ack.Err = encodeErr(w.err)
	r.send(ack)
}

// tick forgets the batches not acknowledged in time (a key never came,
// or its merge was lost with a failed commit): the sender sends them
// again.
func (r *relay) tick() {
	for k, w := range r.waits {
		if w.deadline <= r.now {
			delete(r.waits, k)
		}
	}
}

// take keeps s, another region's anti-entropy repair of key, for key's
// owners in this region: merged here when this node owns it, kept as a hint
// for every other owner (the hinter delivers it at its next tick).
func (r *relay) take(key []byte, s crdt.State) error {
	owners := r.owners(key)
	for _, p := range r.nextOwners(key) {
		if !slices.Contains(owners, p) {
			owners = append(owners, p)
		}
	}
	if len(owners) == 0 {
		return rejectf("region %s has no ring yet on %s: the repair will come again", r.cfg.region(), r.cfg.ID)
	}
	for _, p := range owners {
		if p == r.cfg.ID {
			r.merge(key, s)
			continue
		}
		if err := r.hints.take(p, key, s); err != nil {
			return err
		}
	}
	r.hints.next = r.now // deliver at the next tick
	return nil
}
