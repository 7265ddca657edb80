package region

import (
	"time"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// maxBatch bounds the events handled before a flush, so that a flood of
// requests still gets its writes committed and answered promptly.
const maxBatch = 512

// maxFrame is the size beyond which messages to one peer are split into
// several frames.
const maxFrame = 4 << 20

// maxFrameMessages is the number of messages beyond which messages to one
// peer are split into several frames: the most a peer's decoder takes.
var maxFrameMessages = wire.DefaultLimits().MaxFrameMessages

func (n *Node) loop() {
	defer close(n.done)
	clock := n.cfg.Clock
	tick := clock.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	view := clock.NewTicker(100 * time.Millisecond)
	defer view.Stop()
	for {
		select {
		case <-n.stop:
			n.failWaiters()
			return
		case r := <-n.reqs:
			n.submit(r)
		case msgs := <-n.inbound:
			n.step(msgs)
		case <-tick.C():
			now := clock.Now().UnixNano()
			n.sm.Tick(now)
			n.tickDirectory(now)
		case <-view.C():
			n.refreshView(clock.Now().UnixNano())
		case <-n.g.changed():
			n.refreshView(clock.Now().UnixNano())
		case fn := <-n.admin:
			fn()
		}
		n.drain()
		n.flush()
	}
}

// drain handles the requests and messages already waiting, up to maxBatch.
func (n *Node) drain() {
	for range maxBatch {
		select {
		case r := <-n.reqs:
			n.submit(r)
		case msgs := <-n.inbound:
			n.step(msgs)
		default:
			return
		}
	}
}

func (n *Node) submit(r request) {
	n.waiters[r.id] = r.ch
	n.sm.Submit(n.cfg.Clock.Now().UnixNano(), kvsync.Request{ID: r.id, Op: r.op})
}

func (n *Node) step(msgs []wire.Message) {
	now := n.cfg.Clock.Now().UnixNano()
	for _, m := range msgs {
		switch {
		case !n.forMe(m):
		case m.Type == wire.MsgRegion:
			n.onDirectory(now, m)
		default:
			n.sm.Step(now, m)
		}
	}
}

// flush commits the state machine's writes, then sends its messages, one
// frame per peer, and answers its clients.
func (n *Node) flush() {
	rd, err := n.sm.Flush()
	if err != nil {
		n.log.Error("commit failed: writes of this batch are not acknowledged", "err", err)
	}
	n.sendAll(rd.Messages)
	for _, r := range rd.Responses {
		if ch, ok := n.waiters[r.ID]; ok {
			delete(n.waiters, r.ID)
			ch <- r
		}
	}
	st := n.sm.Stats()
	n.mu.Lock()
	n.smStats = st
	n.mu.Unlock()
	if st.OutboxErrors > n.outboxErrors {
		n.outboxErrors = st.OutboxErrors
		n.logEvery("outbox", "could not read the outbox: writes owed to other regions stop there until anti-entropy repairs them; check the disk", "err", st.OutboxErr)
	}
	for name, rs := range st.Regions {
		if rs.Dropped > n.dropped[name] {
			if n.dropped == nil {
				n.dropped = map[string]int64{}
			}
			n.log.Warn("gave up on writes owed to a region cut off for longer than its backlog allows (--max-outbox-bytes): anti-entropy repairs it once it is back",
				"region", name, "writes", rs.Dropped-n.dropped[name], "max_outbox_bytes", n.cfg.MaxOutboxBytes)
			n.dropped[name] = rs.Dropped
		}
	}
}

// sendAll encodes each peer's messages into frames and hands them to the
// transport, whose sender goroutine writes them. Encoding here, on the
// loop, saves a goroutine hand-off per peer and round: it takes a few
// microseconds per frame. Each peer's slice is allocated at its final size:
// messages are large structs.
func (n *Node) sendAll(msgs []wire.Message) {
	if len(msgs) == 0 {
		return
	}
	type peerMsgs struct {
		to   crdt.NodeID
		n    int
		msgs []wire.Message
	}
	var peers []peerMsgs // in order of first message; a few peers at most
	find := func(to crdt.NodeID) *peerMsgs {
		for i := range peers {
			if peers[i].to == to {
				return &peers[i]
			}
		}
		peers = append(peers, peerMsgs{to: to})
		return &peers[len(peers)-1]
	}
	for _, m := range msgs {
		find(m.To).n++
	}
	for _, m := range msgs {
		p := find(m.To)
		if p.msgs == nil {
			p.msgs = make([]wire.Message, 0, p.n)
		}
		p.msgs = append(p.msgs, m)
	}
	for _, p := range peers {
		addr, ok := n.peers[p.to]
		if !ok {
			n.log.Warn("no address for a peer: dropping its messages", "peer", p.to)
			continue
		}
		n.sendFrames(p.to, addr, p.msgs)
	}
}

// sendFrames sends msgs to peer to at addr in one frame, or in halves while
// a frame would hold more than maxFrameMessages or be larger than maxFrame.
// A peer that falls behind by more than the transport queues loses frames:
// writes to it are then hinted when their acknowledgements time out.
func (n *Node) sendFrames(to crdt.NodeID, addr string, msgs []wire.Message) {
	if len(msgs) > maxFrameMessages {
		n.sendFrames(to, addr, msgs[:len(msgs)/2])
		n.sendFrames(to, addr, msgs[len(msgs)/2:])
		return
	}
	frame, err := wire.EncodeFrame(msgs)
	if err != nil {
		n.log.Error("could not encode messages", "peer", to, "err", err)
		return
	}
	if len(frame) > maxFrame && len(msgs) > 1 {
		n.sendFrames(to, addr, msgs[:len(msgs)/2])
		n.sendFrames(to, addr, msgs[len(msgs)/2:])
		return
	}
	if err := n.tr.Send(addr, frame); err != nil {
		n.log.Debug("could not send to a peer; it will be hinted or repaired", "peer", to, "err", err)
	}
}

func (n *Node) failWaiters() {
	for id, ch := range n.waiters {
		ch <- kvsync.Response{Err: kvsync.ErrStopped}
		delete(n.waiters, id)
	}
	n.answerLeave(kvsync.ErrStopped)
}
