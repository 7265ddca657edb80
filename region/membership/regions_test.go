package membership

import (
	"testing"
	"time"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

func rosterOf(region string, ids ...string) Roster {
	r := Roster{}
	for _, id := range ids {
		r[id] = Member{ID: id, Region: region, Peer: region + id + ":7000", VNodes: 8, Status: Active, Version: 1}
	}
	return r
}

func alive(ids ...string) map[string]Health {
	h := map[string]Health{}
	for _, id := range ids {
		h[id] = Alive
	}
	return h
}

// deliver hands msgs to the directories by name (region/id, id of region
// of the sender, or a seed), and returns the replies.
func deliver(t *testing.T, now int64, msgs []wire.Message, from string, dirs map[string]*Directory, rosters map[string]Roster) []wire.Message {
	t.Helper()
	var out []wire.Message
	for _, m := range msgs {
		to := string(m.To)
		if r, id, ok := kvsync.SplitQualified(m.To); ok {
			if r == "?" {
				to = "r1/n1" // the seed of these tests
			} else {
				to = r + "/" + string(id)
			}
		} else {
			to = from + "/" + to
		}
		d := dirs[to]
		if d == nil {
			continue
		}
		region, _, _ := kvsync.SplitQualified(crdt.NodeID(to))
		reply, _, err := d.Step(now, m, rosters[region], alive("n1", "n2"))
		if err != nil {
			t.Fatalf("%s took %v: %v", to, m.Type, err)
		}
		out = append(out, reply...)
	}
	return out
}

// TestDirectory: a node joined to another region through one seed learns
// that region, its members and its ring, and is learned by it; a member of
// the seed's region that knew nothing learns from its region-mate; a link
// silent for LinkTimeout is down; a directory that does not decode is
// refused.
func TestDirectory(t *testing.T) {
	rosters := map[string]Roster{"r1": rosterOf("r1", "n1", "n2"), "r2": rosterOf("r2", "n1", "n2")}
	mk := func(region, id string, seeds ...string) *Directory {
		d, err := NewDirectory(DirectoryConfig{Region: region, ID: id, Replicas: 3, VNodes: 8, Seeds: seeds}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	dirs := map[string]*Directory{"r1/n1": mk("r1", "n1"), "r1/n2": mk("r1", "n2"), "r2/n1": mk("r2", "n1", "r1n1:7000")}
	now := int64(time.Hour)
	// r2/n1 asks its seed; r1/n1 answers.
	replies := deliver(t, now, dirs["r2/n1"].Tick(now, rosters["r2"], alive("n1", "n2")), "r2", dirs, rosters)
	deliver(t, now, replies, "r1", dirs, rosters)
	for _, who := range []string{"r1/n1", "r2/n1"} {
		v := dirs[who].Views(now)
		if len(v) != 1 || !v[0].Up || len(v[0].Members) != 2 || v[0].Placement == nil || v[0].Replicas != 3 {
			t.Fatalf("%s's view: %+v", who, v)
		}
		if owners := v[0].Placement.Owners([]byte("k"), 1); len(owners) != 1 || owners[0][:3] != crdt.NodeID(v[0].Name+"/") {
			t.Errorf("%s: owners %v, want a qualified node of %s", who, owners, v[0].Name)
		}
	}
	if p := dirs["r2/n1"].Peers()["r1/n2"]; p != "r1n2:7000" {
		t.Errorf("r2/n1 has r1/n2 at %q", p)
	}
	// r1/n2 knows no region: it asks a region-mate and learns r2.
	if len(dirs["r1/n2"].Views(now)) != 0 {
		t.Fatal("r1/n2 knows a region already")
	}
	replies = deliver(t, now, dirs["r1/n2"].Tick(now, rosters["r1"], alive("n1", "n2")), "r1", dirs, rosters)
	deliver(t, now, replies, "r1", dirs, rosters)
	if v := dirs["r1/n2"].Views(now); len(v) != 1 || v[0].Name != "r2" || v[0].Up {
		t.Errorf("r1/n2 after asking r1/n1: %+v, want r2 known, its link not (yet) up", v)
	}
	// Silence: the link goes down after LinkTimeout.
	later := now + int64(3*time.Second)
	if v := dirs["r1/n1"].Views(later); v[0].Up {
		t.Error("r2 still up after 3s of silence")
	}
	// A broken directory changes nothing.
	before := string(dirs["r1/n1"].Encode())
	if _, _, err := dirs["r1/n1"].Step(later, wire.Message{Type: wire.MsgRegion, From: "n9", Region: "r3", Blob: []byte("{")}, rosters["r1"], nil); err == nil {
		t.Error("a directory that does not decode was taken")
	}
	bad := []byte(`{"region":"r3","members":{"x":{"id":"x","status":9}}}`)
	if _, _, err := dirs["r1/n1"].Step(later, wire.Message{Type: wire.MsgRegion, From: "n9", Region: "r3", Blob: bad}, rosters["r1"], nil); err == nil {
		t.Error("a directory with an invalid roster entry was taken")
	}
	if string(dirs["r1/n1"].Encode()) != before {
		t.Error("a refused directory changed what the node knows")
	}
	// A stored directory comes back, every link down until heard.
	d, err := NewDirectory(DirectoryConfig{Region: "r1", ID: "n1", VNodes: 8}, dirs["r1/n1"].Encode())
	if err != nil {
		t.Fatal(err)
	}
	if v := d.Views(later); len(v) != 1 || v[0].Up || len(v[0].Members) != 2 {
		t.Errorf("restored directory: %+v", v)
	}
	if _, err := NewDirectory(DirectoryConfig{Region: "r1", ID: "n1"}, []byte("not json")); err == nil {
		t.Error("a stored directory that does not decode was taken")
	}
}

// TestDirectorySettles: a new node's directory is unsettled until it knows
// a region or a member of its own region answers its ask, even knowing
// none (a cluster of one region); another's ask does not settle it.
func TestDirectorySettles(t *testing.T) {
	rosters := map[string]Roster{"r1": rosterOf("r1", "n1", "n2")}
	dirs := map[string]*Directory{}
	for _, id := range []string{"n1", "n2"} {
		d, err := NewDirectory(DirectoryConfig{Region: "r1", ID: id, Replicas: 3, VNodes: 8}, nil)
		if err != nil {
			t.Fatal(err)
		}
		dirs["r1/"+id] = d
	}
	now := int64(time.Hour)
	if dirs["r1/n2"].Settled() {
		t.Fatal("a new directory is settled")
	}
	// n2 asks n1 (its only alive mate); n1 takes the ask and answers.
	var asks []wire.Message
	for _, m := range dirs["r1/n2"].Tick(now, rosters["r1"], alive("n1", "n2")) {
		if m.To == "n1" {
			asks = append(asks, m)
		}
	}
	if len(asks) != 1 {
		t.Fatalf("n2 asked %v, want n1", asks)
	}
	replies := deliver(t, now, asks, "r1", dirs, rosters)
	if dirs["r1/n1"].Settled() {
		t.Error("n1 settled by n2's ask: an ask says nothing of the regions")
	}
	deliver(t, now, replies, "r1", dirs, rosters)
	if !dirs["r1/n2"].Settled() {
		t.Error("n2 not settled by its mate's answer")
	}
	stored, err := NewDirectory(DirectoryConfig{Region: "r1", ID: "n3", Replicas: 3, VNodes: 8},
		[]byte(`{"region":"r1","regions":{"r2":{"n1":{"id":"n1","region":"r2","peer":"x:1","status":2,"version":1}}}}`))
	if err != nil || !stored.Settled() {
		t.Errorf("a directory that stored a region: settled %v, %v", stored != nil && stored.Settled(), err)
	}
}
