package membership

import (
	"maps"
	"reflect"
	"testing"
)

func TestMemNetwork(t *testing.T) {
	member := func(id string) Member { return Member{ID: id, Status: Active, Version: 1} }
	t.Run("a round carries each roster one hop", func(t *testing.T) {
		n := NewMemNetwork()
		a, b, c := n.Add(member("a"), nil, true), n.Add(member("b"), nil, true), n.Add(member("c"), nil, true)
		n.SetReach(func(from, to string) bool { return from < to && to != "c" || from == "b" && to == "c" })
		n.Spread()
		if got := len(b.Roster()); got != 2 {
			t.Errorf("b holds %d entries after one round, want a's and its own", got)
		}
		if _, ok := c.Roster()["a"]; ok {
			t.Errorf("a's entry reached c in one round through b")
		}
		n.Spread()
		if _, ok := c.Roster()["a"]; !ok {
			t.Errorf("a's entry did not reach c in two rounds")
		}
		if len(a.Roster()) != 1 {
			t.Errorf("a, which nobody reaches, holds %v", a.Roster())
		}
	})
	t.Run("a joiner joins once it and another reach each other", func(t *testing.T) {
		n := NewMemNetwork()
		n.Add(member("a"), nil, true)
		b := n.Add(member("b"), nil, false)
		reach := false
		n.SetReach(func(from, to string) bool { return reach || from == "a" })
		n.Spread()
		if b.Joined() {
			t.Fatal("b joined over a one-way link")
		}
		reach = true
		n.Spread()
		if !b.Joined() {
			t.Fatal("b did not join")
		}
	})
	t.Run("health", func(t *testing.T) {
		n := NewMemNetwork()
		a := n.Add(member("a"), Roster{"b": member("b"), "c": member("c")}, true)
		n.Add(member("b"), nil, true)
		_, h := a.Snapshot()
		if want := map[string]Health{"a": Alive, "b": Alive, "c": Dead}; !maps.Equal(h, want) {
			t.Errorf("default health %v, want %v", h, want)
		}
		n.SetHealth(func(observer, member string) Health { return Suspect })
		if _, h = a.Snapshot(); h["b"] != Suspect || h["a"] != Alive {
			t.Errorf("installed health: %v", h)
		}
		n.SetHealth(nil)
		n.Stop("b")
		if _, h = a.Snapshot(); h["b"] != Dead {
			t.Errorf("b stopped: %v", h)
		}
	})
	t.Run("update versions above the held entry", func(t *testing.T) {
		n := NewMemNetwork()
		a := n.Add(member("a"), Roster{"b": {ID: "b", Status: Active, Version: 9}}, true)
		if got := a.Update(Member{ID: "b", Status: Removed, Version: 2}); got.Version != 10 {
			t.Errorf("recorded %+v", got)
		}
	})
	t.Run("the same calls give the same rosters", func(t *testing.T) {
		run := func() map[string]Roster {
			n := NewMemNetwork()
			gs := map[string]*MemGossip{}
			for _, id := range []string{"d", "a", "c", "b"} {
				gs[id] = n.Add(member(id), nil, true)
			}
			n.SetReach(func(from, to string) bool { return from != "d" || to == "a" })
			for i := range 3 {
				for _, id := range []string{"a", "b", "c", "d"} {
					gs[id].Update(Member{ID: "x", Peer: id, Status: Status(1 + i%3)})
				}
				n.Spread()
			}
			out := map[string]Roster{}
			for id, g := range gs {
				out[id] = g.Roster()
			}
			return out
		}
		if a, b := run(), run(); !reflect.DeepEqual(a, b) {
			t.Fatalf("two runs differ:\n%v\n%v", a, b)
		}
	})
}
