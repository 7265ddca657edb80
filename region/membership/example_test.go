package membership_test

import (
	"fmt"
	"time"

	"github.com/meridiankv/meridian/region/membership"
	kvsync "github.com/meridiankv/meridian/sync"
)

// replica stands in for *kvsync.Node: a simulator passes its nodes' state
// machines.
type replica struct{ ready bool }

func (r *replica) SetView(int64, kvsync.View) {}
func (r *replica) Bootstrapped() bool         { return r.ready }
func (r *replica) HandedOff() bool            { return r.ready }
func (r *replica) Settled() bool              { return r.ready }

// node is what a simulator keeps of one node: its data (incarnation and
// stored roster) survives a crash, the rest does not.
type node struct {
	cfg    membership.Config
	stored membership.Roster
	m      *membership.Manager
	r      *replica
}

// Example drives three nodes over the in-memory network the way meridiand
// drives one over memberlist: on each tick a round of gossip, then a
// Refresh of every running node, whose roster is persisted.
func Example() {
	net := membership.NewMemNetwork()
	nodes := map[string]*node{}
	start := func(id, incarnation string, join bool) {
		n := nodes[id]
		if n == nil || n.cfg.Incarnation != incarnation {
			n = &node{} // new, or wiped: no stored roster
			nodes[id] = n
		}
		n.cfg = membership.DefaultConfig(id)
		n.cfg.Incarnation, n.cfg.Peer = incarnation, id+":7000"
		self := membership.Initial(n.cfg, n.stored, join)
		m, err := membership.New(n.cfg, self, net.Add(self, n.stored, !join))
		if err != nil {
			panic(err)
		}
		n.m, n.r = m, &replica{ready: true}
	}
	now := int64(0)
	tick := func(rounds int) {
		for range rounds {
			now += int64(100 * time.Millisecond)
			net.Spread()
			for _, id := range []string{"n1", "n2", "n3"} {
				if n := nodes[id]; n != nil && n.m != nil {
					res := n.m.Refresh(now, n.r)
					n.stored = res.Roster
				}
			}
		}
	}
	show := func(what string) {
		res := nodes["n1"].m.Refresh(now, nodes["n1"].r)
		fmt.Print(what, ":")
		for _, m := range res.Members {
			fmt.Printf(" %s=%s/%s", m.ID, m.Status, m.Health)
		}
		fmt.Println()
	}

	start("n1", "a1", false) // founds the region
	start("n2", "b1", true)
	start("n3", "c1", true)
	tick(5)
	show("formed")

	net.Stop("n3") // a crash
	nodes["n3"].m = nil
	tick(5)
	show("n3 down")

	start("n3", "c2", true)     // wiped: back under a new incarnation
	nodes["n3"].r.ready = false // not bootstrapped yet
	tick(5)
	show("n3 wiped")
	nodes["n3"].r.ready = true
	tick(2)
	show("n3 pulled its ranges")

	if _, err := nodes["n2"].m.Leave(); err != nil {
		panic(err)
	}
	tick(5)
	show("n2 left")

	net.SetReach(func(from, to string) bool { return from != "n3" && to != "n3" })
	tick(5)
	fmt.Println(nodes["n1"].m.Remove("n3", false))
	fmt.Println(nodes["n1"].m.Remove("n3", true))
	tick(1)
	show("n3 removed")
	// Output:
	// formed: n1=active/alive n2=active/alive n3=active/alive
	// n3 down: n1=active/alive n2=active/alive n3=active/dead
	// n3 wiped: n1=active/alive n2=active/alive n3=joining/alive
	// n3 pulled its ranges: n1=active/alive n2=active/alive n3=active/alive
	// n2 left: n1=active/alive n2=left/alive n3=active/alive
	// membership: only 1 of 2 members are reachable from here; a minority must not remove members: heal the partition, or force it with --force if the others are gone for good
	// <nil>
	// n3 removed: n1=active/alive n2=left/alive n3=removed/dead
}
