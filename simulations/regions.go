package simulations

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/region/membership"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// Regions. A run of several regions gives each its own nodes, membership
// (a MemNetwork of its own), ring and N. The nodes of different regions
// reach each other as meridiand's do: a node of another region is named
// region/id (kvsync.Qualify), the replication state machine addresses it
// so, and each node keeps a membership.Directory of the other regions,
// which it exchanges with them (MsgRegion) over the same simulated links
// as its data and feeds to its Manager (SetRemote) before every refresh,
// as region/regions.go and region/view.go do. Messages between regions
// take the run's delay between regions and their own chance of loss; a
// region can be cut off from all the others for a while.

const (
	smallOutbox = 512             // MaxOutboxBytes of the runs drawn to drop their backlog
	regionAE    = 5 * time.Second // RegionAntiEntropyInterval of the runs drawn to have it
	warmup      = time.Second     // the regions find each other before clients and faults start
	linkTimeout = 3 * time.Second // the directory's default LinkTimeout, for the faults' lengths
)

// simRegion is one region of a run.
type simRegion struct {
	idx      int
	name     string
	replicas int // its N
	initial  int // nodes at the start
	mnet     *membership.MemNetwork
	nodes    []*simNode
	cut      map[[2]crdt.NodeID]bool // links cut inside the region
	cutOff   bool                    // cut off from every other region
	unstable []span                  // when its ring was changing (see trackRing)
}

// addRegion adds a region of nodes nodes (added by found) and N replicas.
func (s *Sim) addRegion(name string, nodes, replicas int) *simRegion {
	r := &simRegion{idx: len(s.regions), name: name, replicas: replicas, initial: nodes,
		mnet: membership.NewMemNetwork(), cut: map[[2]crdt.NodeID]bool{}}
	r.mnet.SetReach(func(from, to string) bool { return s.reaches(r, from, to) })
	r.mnet.SetHealth(func(observer, member string) membership.Health { return s.health(r, observer, member) })
	s.regions = append(s.regions, r)
	return r
}

// found adds the region's founding nodes, each with the founding roster
// stored with its data.
func (r *simRegion) found(s *Sim) {
	founding := membership.Roster{}
	for range r.initial {
		n := s.newNode(r)
		founding[string(n.id)] = membership.Member{ID: string(n.id), Region: r.name, VNodes: vnodes,
			Status: membership.Active, Incarnation: n.incarnation(), Version: 1}
	}
	for _, n := range r.nodes {
		n.stored = founding.Clone()
	}
}

// drawRegions draws a run of several regions: the first of Nodes nodes
// and N Replicas, each other of 3 or 4 nodes and N 2 or 3; the delay and
// loss of the links between regions; each node's outbox bound (an eighth
// of the runs get a small one, and drop their backlog); whether disks may
// be lost (a third of the runs); and whether anti-entropy runs between
// regions (a third of the runs).
func (s *Sim) drawRegions() {
	for i := range s.cfg.Regions {
		nodes, replicas := s.cfg.Nodes, s.cfg.Replicas
		if i > 0 {
			replicas = 2 + s.rng.IntN(2)
			nodes = 3 + s.rng.IntN(2)
		}
		s.addRegion(fmt.Sprintf("r%d", i+1), nodes, replicas).found(s)
	}
	s.wanDelay = int64(s.cfg.WANDelay)
	if s.wanDelay == 0 {
		s.wanDelay = int64(20*time.Millisecond) + s.rng.Int64N(int64(60*time.Millisecond)+1)
	}
	s.wanDrop = s.cfg.WANDrop
	if s.wanDrop == 0 {
		s.wanDrop = 0.01 + s.rng.Float64()*0.09
	}
	if s.cfg.OutboxBytes == 0 && s.rng.IntN(8) == 0 {
		s.outboxBytes = smallOutbox
	}
	s.diskLoss = s.rng.IntN(3) == 0
	switch {
	case s.cfg.RegionAE > 0:
		s.regionAE = s.cfg.RegionAE
	case s.cfg.RegionAE == 0 && s.rng.IntN(3) == 0:
		s.regionAE = regionAE
	}
	s.warmup = int64(warmup)
}

// smallOutboxRun reports whether the run's outboxes are bounded so tightly
// that a region cut off loses its backlog.
func (s *Sim) smallOutboxRun() bool { return len(s.regions) > 1 && s.outboxBytes <= smallOutbox }

// regionSizes describes each region's nodes and N, for the trace and the
// summary.
func (s *Sim) regionSizes() []string {
	var out []string
	for _, r := range s.regions {
		out = append(out, fmt.Sprintf("%s: %d nodes, N=%d", r.name, len(r.nodes), r.replicas))
	}
	return out
}

// qualify names node id of r uniquely in the run: region/id when there are
// several regions, the id alone in a run of one.
func (r *simRegion) qualify(id crdt.NodeID) crdt.NodeID {
	if r.name == "local" {
		return id
	}
	return kvsync.Qualify(r.name, id)
}

// node returns the node of r named id, or nil.
func (r *simRegion) node(id crdt.NodeID) *simNode {
	i := slices.IndexFunc(r.nodes, func(n *simNode) bool { return n.id == id })
	if i < 0 {
		return nil
	}
	return r.nodes[i]
}

// inRegion counts the members of the region that have not left or been
// removed, nor been asked to: faults keep it at N or more.
func (r *simRegion) inRegion() int {
	c := 0
	for _, n := range r.nodes {
		if !n.gone && !n.leaving {
			c++
		}
	}
	return c
}

// reaches says whether gossip from one node of r gets to another.
func (s *Sim) reaches(r *simRegion, from, to string) bool {
	a, b := r.node(crdt.NodeID(from)), r.node(crdt.NodeID(to))
	return a != nil && b != nil && a.node != nil && b.node != nil && !r.cut[link(a.id, b.id)]
}

// health is what observer's failure detector says of member, in region r.
func (s *Sim) health(r *simRegion, observer, member string) membership.Health {
	m := r.node(crdt.NodeID(member))
	if m == nil || s.downFor(crdt.NodeID(observer), m) {
		return membership.Dead
	}
	return membership.Alive
}

// trackRing records when the region's ring is changing: a join, leave or
// removal under way (a roster whose ring now and next differ), or running
// nodes that disagree on the ring. The checker does not hold operations
// that overlap such a time to the guarantees of QUORUM (see check).
func (r *simRegion) trackRing(now int64) {
	sigs := map[string]bool{}
	moving := false
	for _, n := range r.nodes {
		if n.node == nil {
			continue
		}
		sigs[n.ring] = true
		cur, next, _ := strings.Cut(n.ring, "|")
		moving = moving || cur != next
	}
	changing := moving || len(sigs) > 1
	open := len(r.unstable) > 0 && r.unstable[len(r.unstable)-1].to < 0
	switch {
	case changing && !open:
		r.unstable = append(r.unstable, span{from: now, to: -1})
	case !changing && open:
		r.unstable[len(r.unstable)-1].to = now
	}
}

// resolve returns the node a message from node from to name goes to: a
// node of from's region, of another region (region/id), or a WAN seed
// (membership.SeedID, by its peer address); nil for none.
func (s *Sim) resolve(from *simNode, to crdt.NodeID) *simNode {
	region, id, ok := kvsync.SplitQualified(to)
	if !ok {
		return from.region.node(to)
	}
	if region == "?" {
		i := slices.IndexFunc(s.nodes, func(n *simNode) bool { return string(n.name) == string(id) })
		if i < 0 {
			return nil
		}
		return s.nodes[i]
	}
	i := slices.IndexFunc(s.regions, func(r *simRegion) bool { return r.name == region })
	if i < 0 {
		return nil
	}
	return s.regions[i].node(id)
}

// severed reports whether the link from one node to another is cut: inside
// a region, that link; between regions, either region cut off.
func (s *Sim) severed(from, to *simNode) bool {
	if from.region == to.region {
		return from.region.cut[link(from.id, to.id)]
	}
	return from.region.cutOff || to.region.cutOff
}

// directoryConfig is node n's directory of the other regions, as meridiand
// configures it: its region's N, and as WAN seeds (--wan-join) the
// founding nodes of every other region.
func (s *Sim) directoryConfig(n *simNode) membership.DirectoryConfig {
	c := membership.DirectoryConfig{Region: n.region.name, ID: string(n.id), Replicas: n.region.replicas, VNodes: vnodes}
	for _, r := range s.regions {
		if r == n.region {
			continue
		}
		for _, o := range r.nodes[:r.initial] {
			c.Seeds = append(c.Seeds, string(o.name))
		}
	}
	return c
}

// tickDirectory sends n's directory to the other regions when it is time.
func (s *Sim) tickDirectory(n *simNode) {
	if n.dir == nil {
		return
	}
	s.sendAll(n, n.dir.Tick(s.clock(n), n.stored, n.health))
}

// onDirectory takes a directory another region sent to n, answers it, and
// as meridiand does, stores it and refreshes n's view when it changed.
func (s *Sim) onDirectory(n *simNode, m wire.Message) {
	reply, changed, err := n.dir.Step(s.clock(n), m, n.stored, n.health)
	if err != nil {
		s.dirErrors = append(s.dirErrors, fmt.Sprintf("%s refused a directory from %s of %s: %v", n.name, m.From, m.Region, err))
		return
	}
	if changed {
		n.dirStored = n.dir.Encode()
		s.refresh(n)
	}
	s.sendAll(n, reply)
}

// cutOff cuts region r off from every other region, or heals it.
func (s *Sim) cutOff(r *simRegion, cut bool) {
	if cut {
		s.note("region %s cut off from the others", r.name)
	} else {
		s.note("region %s reaches the others again", r.name)
	}
	r.cutOff = cut
}

// planRegionCut cuts one region off, within the fault phase [from, end):
// the runs of several regions get one such partition at least, the runs
// with a small outbox bound a long one, so that they drop a backlog.
func (s *Sim) planRegionCut(from, end int64) {
	r := s.regions[s.rng.IntN(len(s.regions))]
	start := from + s.rng.Int64N((end-from)/2)
	length := int64(500*time.Millisecond) + s.rng.Int64N(int64(2*linkTimeout))
	if s.smallOutboxRun() {
		length += int64(2 * linkTimeout)
	}
	stop := min(start+length, end)
	s.fault(start, func() { s.cutOff(r, true) })
	s.fault(stop, func() { s.cutOff(r, false) })
}

// owed returns, by region, how many shipments n's store still owes it:
// what its outbox holds past the region's cursor.
func owed(n *simNode) map[string]uint64 {
	box, err := n.store.Outbox()
	if err != nil {
		return nil
	}
	out := map[string]uint64{}
	for name, cur := range box.Cursors {
		if box.Count > 0 && box.Last > cur {
			out[name] = box.Last - max(cur, box.First-1)
		}
	}
	return out
}

// retire notes what n owed the other regions as it stops for good (it
// left, or was removed): nothing else holds those writes for them.
func (s *Sim) retire(n *simNode, why string) {
	for _, name := range sortedNames(owed(n)) {
		line := fmt.Sprintf("%s %s owing region %s %d shipments, which are lost with it", n.name, why, name, owed(n)[name])
		s.note("%s", line)
		if why == "left the region" {
			s.owedLost = append(s.owedLost, line)
		}
	}
}

// noteDropped adds what n's node dropped of its backlogs (MaxOutboxBytes)
// to the run's count, before its counters go (a crash).
func (s *Sim) noteDropped(n *simNode) {
	if n.node == nil {
		return
	}
	for _, rs := range n.node.Stats().Regions {
		s.dropped += rs.Dropped
	}
}

// noteUnowed counts the writes n coordinated since its last refresh while
// its view named fewer than every other region: a write is owed only to
// the regions its coordinator knows (core.owe), and a region seen for the
// first time is owed only what is written from then on. A node knows the
// regions from its stored directory, or once its WAN seeds or another
// region's directory reach it: one that joins, or restarts on a wiped
// disk, while its region is cut off writes for its region only.
func (s *Sim) noteUnowed(n *simNode) {
	if n.node == nil || n.dir == nil {
		return
	}
	c := n.node.Stats().Coordinated
	if n.known < len(s.regions)-1 && c > n.coordMark {
		if s.unowed == nil {
			s.unowed = map[string]int64{}
		}
		s.unowed[string(n.name)] += c - n.coordMark
	}
	n.coordMark = c
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
