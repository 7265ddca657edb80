package membership

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// Directory is what this node knows of the other regions: each one's
// roster and the health its own failure detector reports, and whether the
// link to it works (this node heard from it lately). Nodes of different
// regions exchange directories (MsgRegion) over the same QUIC links as
// their data: every Interval each node sends its directory to one node of
// every region it knows (and to its WAN seeds until it has heard from a
// region), and the receiver answers with its own. A region learns of a
// third one through the directory of a second.
//
// Why not memberlist's WAN pool, as Consul does: a region already detects
// its own failures, and a remote region needs only its verdicts, not 9x9
// probes across the WAN; the directories ride the links the data uses, so
// that "the link is up" means that the data can flow (an iptables rule
// that cuts QUIC cuts them too), under the same mutual TLS, with no other
// port to open; and the exchange is a function of messages and time, so
// the simulator drives it like any other part.
//
// A Directory does no I/O and reads no clock. It is not safe for
// concurrent use.
type Directory struct {
	cfg     DirectoryConfig
	regions map[string]*remoteRegion
	next    int64 // when to send the next round
	round   uint32
	mate    bool // a member of this region answered this node's ask
}

// Settled reports whether this node has learned whether there are other
// regions: it knows one, or a member of its own region answered its ask
// (knowing none, in a cluster of one region). A node that joins, or
// restarts on a wiped disk, is unsettled until then, and stays joining
// (Manager.SetRegionsSettled).
func (d *Directory) Settled() bool { return d.mate || len(d.regions) > 0 }

// DirectoryConfig configures a Directory.
type DirectoryConfig struct {
	// Region and ID name this node.
	Region, ID string
	// Replicas is this region's N, told to the others: the levels that
	// span regions count replicas of every region.
	Replicas int
	// VNodes is the weight of a member whose entry gives none, as in the
	// region's own rings (Config.VNodes).
	VNodes int
	// Seeds are peer addresses of nodes of other regions (--wan-join),
	// asked for their directory until a region answers.
	Seeds []string
	// Interval is how often the node sends its directory to every region.
	// Default 1s.
	Interval time.Duration
	// LinkTimeout is how long a region may stay silent before its link is
	// reported down. Default 3s.
	LinkTimeout time.Duration
}

type remoteRegion struct {
	replicas int // the region's N, 0 until it said
	rings    rings
	roster   Roster
	health   map[string]Health // as the region's node last reported it
	heard    int64             // when a node of the region last answered, 0 for never
}

// document is a directory as it travels (MsgRegion's Blob) and is stored.
type document struct {
	Region   string            `json:"region"`
	Replicas int               `json:"replicas,omitempty"` // the sender's region's N
	Members  Roster            `json:"members"`            // the sender's region
	Health   map[string]Health `json:"health,omitempty"`   // the sender's region, by its detector
	Regions  map[string]Roster `json:"regions,omitempty"`  // the others it knows
}

// check refuses a directory with an entry a roster would refuse
// (DecodeRoster's rules): no id, an unknown status, an id that is not the
// key it is listed under.
func (doc document) check() error {
	rosters := map[string]Roster{doc.Region: doc.Members}
	for name, r := range doc.Regions {
		rosters[name] = r
	}
	for name, r := range rosters {
		for id, m := range r {
			if m.ID == "" || m.ID != id || !m.Status.valid() {
				return fmt.Errorf("region %s: roster entry %q is invalid (%+v)", name, id, m)
			}
		}
	}
	return nil
}

// NewDirectory returns the directory of the node cfg names, with the
// regions of a stored one (nil for none: see Encode), all down until
// heard from.
func NewDirectory(cfg DirectoryConfig, stored []byte) (*Directory, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.LinkTimeout <= 0 {
		cfg.LinkTimeout = 3 * time.Second
	}
	d := &Directory{cfg: cfg, regions: map[string]*remoteRegion{}}
	if len(stored) > 0 {
		var doc document
		if err := json.Unmarshal(stored, &doc); err != nil {
			return nil, fmt.Errorf("membership: the stored directory of regions does not decode (%v): delete the meta key or restart with --wan-join", err)
		}
		d.learn(doc.Regions)
	}
	return d, nil
}

// Encode returns the regions this node knows, to store and pass to
// NewDirectory after a restart.
func (d *Directory) Encode() []byte {
	b, _ := json.Marshal(document{Region: d.cfg.Region, Regions: d.rosters()})
	return b
}

func (d *Directory) rosters() map[string]Roster {
	out := make(map[string]Roster, len(d.regions))
	for name, r := range d.regions {
		out[name] = r.roster.Clone()
	}
	return out
}

// learn merges the rosters of regions other than this node's.
func (d *Directory) learn(regions map[string]Roster) {
	for name, roster := range regions {
		if name == d.cfg.Region || name == "" {
			continue
		}
		r := d.region(name)
		r.roster.Merge(roster)
	}
}

func (d *Directory) region(name string) *remoteRegion {
	r := d.regions[name]
	if r == nil {
		r = &remoteRegion{roster: Roster{}, health: map[string]Health{}}
		d.regions[name] = r
	}
	return r
}

// SeedID is the name a message to a WAN seed goes to: the seed's id is not
// known yet. Peers maps it to the seed's address.
func SeedID(addr string) crdt.NodeID { return kvsync.Qualify("?", crdt.NodeID(addr)) }

// Tick returns the directories to send at time now: every Interval, one
// to a node of each region (in turn, skipping those the region reports
// down), and one to every seed while no region has answered. local and
// health are this node's region as its membership sees it.
func (d *Directory) Tick(now int64, local Roster, health map[string]Health) []wire.Message {
	if now < d.next {
		return nil
	}
	d.next = now + int64(d.cfg.Interval)
	if len(d.regions) == 0 {
		d.next = now + int64(d.cfg.Interval)/10 // ask the region-mates again soon
	}
	d.round++
	blob := d.document(local, health)
	var out []wire.Message
	heard := false
	for _, name := range d.names() {
		r := d.regions[name]
		heard = heard || r.heard > 0
		var up []string
		for _, m := range r.roster.InRing() {
			if healthOf(r.health, m.ID) == Alive || len(r.health) == 0 {
				up = append(up, m.ID)
			}
		}
		if len(up) == 0 {
			for _, m := range r.roster.InRing() {
				up = append(up, m.ID)
			}
		}
		if len(up) == 0 {
			continue
		}
		to := up[(int(d.round)+len(d.cfg.ID))%len(up)]
		out = append(out, wire.Message{Type: wire.MsgRegion, To: kvsync.Qualify(name, crdt.NodeID(to)), ID: 1,
			Region: d.cfg.Region, Blob: blob})
	}
	if !heard {
		for _, s := range d.cfg.Seeds {
			out = append(out, wire.Message{Type: wire.MsgRegion, To: SeedID(s), ID: 1, Region: d.cfg.Region, Blob: blob})
		}
	}
	if len(d.regions) == 0 {
		// A node that knows no other region (new, or wiped) asks a member
		// of its own region, which may: it must not serve as if there were
		// none, nor owe its writes to no one.
		var others []string
		for _, m := range local.Sorted() {
			if m.ID != d.cfg.ID && m.Status.InRegion() && healthOf(health, m.ID) == Alive {
				others = append(others, m.ID)
			}
		}
		if len(others) > 0 {
			to := others[int(d.round)%len(others)]
			out = append(out, wire.Message{Type: wire.MsgRegion, To: crdt.NodeID(to), ID: 1, Region: d.cfg.Region, Blob: blob})
		}
	}
	for i := range out {
		out[i].From = crdt.NodeID(d.cfg.ID)
	}
	return out
}

func (d *Directory) document(local Roster, health map[string]Health) []byte {
	b, _ := json.Marshal(document{Region: d.cfg.Region, Replicas: d.cfg.Replicas, Members: local, Health: health, Regions: d.rosters()})
	return b
}

func (d *Directory) names() []string {
	names := slices.Collect(maps.Keys(d.regions))
	slices.Sort(names)
	return names
}

// Step takes a directory another region's node sent at time now, and
// returns the answer to send back (nil for none). It reports whether the
// message changed what this node knows (a member's entry or health, or a
// link that comes up): the caller then refreshes the view and stores
// Encode. A message that is no directory from another region is refused.
func (d *Directory) Step(now int64, m wire.Message, local Roster, health map[string]Health) (reply []wire.Message, changed bool, err error) {
	if m.Type != wire.MsgRegion {
		return nil, false, fmt.Errorf("membership: %v is not a directory of regions", m.Type)
	}
	if m.Region == "" {
		return nil, false, fmt.Errorf("membership: a directory from %s names no region", m.From)
	}
	var doc document
	if err := json.Unmarshal(m.Blob, &doc); err != nil || doc.Region != m.Region {
		return nil, false, fmt.Errorf("membership: a directory from %s of region %s does not decode: %v", m.From, m.Region, err)
	}
	if err := doc.check(); err != nil {
		return nil, false, fmt.Errorf("membership: a directory from %s of region %s: %w", m.From, m.Region, err)
	}
	if m.Region == d.cfg.Region {
		// A member of this region that knows no other region asks; or
		// answers: the regions it knows, nothing of their links.
		before := d.Encode()
		d.learn(doc.Regions)
		d.mate = d.mate || m.ID == 0 // an answer, not another's ask
		if m.ID != 0 {
			reply = []wire.Message{{Type: wire.MsgRegion, From: crdt.NodeID(d.cfg.ID), To: m.From,
				Region: d.cfg.Region, Blob: d.document(local, health)}}
		}
		return reply, string(before) != string(d.Encode()), nil
	}
	before := d.Encode()
	r := d.region(m.Region)
	wasUp := d.up(now, r)
	r.roster.Merge(doc.Members)
	changed = !maps.Equal(r.health, doc.Health)
	r.health = maps.Clone(doc.Health)
	if r.health == nil {
		r.health = map[string]Health{}
	}
	r.heard = now
	if doc.Replicas > 0 && doc.Replicas != r.replicas {
		r.replicas, changed = doc.Replicas, true
	}
	d.learn(doc.Regions)
	changed = changed || !wasUp || string(before) != string(d.Encode())
	if m.ID != 0 {
		reply = []wire.Message{{Type: wire.MsgRegion, From: crdt.NodeID(d.cfg.ID), To: kvsync.Qualify(m.Region, m.From),
			Region: d.cfg.Region, Blob: d.document(local, health)}}
	}
	return reply, changed, nil
}

func (d *Directory) up(now int64, r *remoteRegion) bool {
	return r.heard > 0 && now-r.heard < int64(d.cfg.LinkTimeout)
}

// Views returns the replication state machine's view of every other
// region at time now, sorted by name.
func (d *Directory) Views(now int64) []kvsync.RegionView {
	var out []kvsync.RegionView
	for _, name := range d.names() {
		r := d.regions[name]
		v := kvsync.RegionView{Name: name, Replicas: r.replicas, Up: d.up(now, r), Down: map[crdt.NodeID]bool{}}
		if sig := ringSig(r.roster.InRing()) + "|" + ringSig(r.roster.InNextRing()); sig != r.rings.sig {
			r.rings = buildRings(r.roster.InRing(), r.roster.InNextRing(), d.cfg.VNodes)
		}
		if r.rings.now != nil && r.rings.now.Len() > 0 {
			v.Placement, v.Epoch = qualified{name, Placement(r.rings.now)}, r.rings.epoch
			if ringSig(r.roster.InRing()) != ringSig(r.roster.InNextRing()) && r.rings.next != nil && r.rings.next.Len() > 0 {
				v.Next = qualified{name, Placement(r.rings.next)}
			}
		}
		for _, m := range r.roster.InRing() {
			q := kvsync.Qualify(name, crdt.NodeID(m.ID))
			v.Members = append(v.Members, q)
			if len(r.health) > 0 && healthOf(r.health, m.ID) != Alive {
				v.Down[q] = true
			}
		}
		out = append(out, v)
	}
	return out
}

// Peers returns the peer address of every node of the other regions, by
// qualified name, and of every seed (SeedID).
func (d *Directory) Peers() map[crdt.NodeID]string {
	out := map[crdt.NodeID]string{}
	for name, r := range d.regions {
		for id, m := range r.roster {
			out[kvsync.Qualify(name, crdt.NodeID(id))] = m.Peer
		}
	}
	for _, s := range d.cfg.Seeds {
		out[SeedID(s)] = s
	}
	return out
}

// RegionInfo is one other region as this node sees it.
type RegionInfo struct {
	Name string
	// Up says the link works: a node of the region answered within
	// LinkTimeout. Heard is when one last did, 0 for never.
	Up    bool
	Heard int64
	// Members lists the region's members with the health its own failure
	// detector reports, sorted by id.
	Members []MemberInfo
}

// Regions describes every other region at time now, sorted by name.
func (d *Directory) Regions(now int64) []RegionInfo {
	var out []RegionInfo
	for _, name := range d.names() {
		r := d.regions[name]
		info := RegionInfo{Name: name, Up: d.up(now, r), Heard: r.heard}
		for _, m := range r.roster.Sorted() {
			h := healthOf(r.health, m.ID)
			if len(r.health) == 0 {
				h = Suspect // never heard from the region itself
			}
			info.Members = append(info.Members, MemberInfo{Member: m, Health: h})
		}
		out = append(out, info)
	}
	return out
}

// qualified is a region's placement naming its nodes region/id.
type qualified struct {
	region string
	p      kvsync.Placement
}

func (q qualified) Owners(key []byte, n int) []crdt.NodeID {
	out := q.p.Owners(key, n)
	for i, id := range out {
		out[i] = kvsync.Qualify(q.region, id)
	}
	return out
}
