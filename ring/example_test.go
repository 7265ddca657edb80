package ring_test

import (
	"fmt"

	"github.com/meridiankv/meridian/ring"
)

func Example() {
	r, err := ring.New(
		ring.Member{ID: "eu-1"},
		ring.Member{ID: "eu-2"},
		ring.Member{ID: "eu-3", VNodes: 512}, // twice the hardware, twice the keys
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	key := []byte("user:42")
	fmt.Println("owners:", r.Owners(key, 2))

	// A node joins: keys move only to it, and the others keep their order.
	grown, err := r.With(ring.Member{ID: "eu-4"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("after eu-4 joins:", grown.Owners(key, 2))

	// A node leaves: only what it held moves.
	fmt.Println("after eu-1 leaves:", grown.Without("eu-1").Owners(key, 2))

	shares := grown.Shares(1)
	for _, m := range grown.Members() {
		fmt.Printf("%s: %d vnodes, primary for %.0f%% of the keys\n", m.ID, m.VNodes, 100*shares[m.ID])
	}
	// Output:
	// owners: [eu-1 eu-3]
	// after eu-4 joins: [eu-4 eu-1]
	// after eu-1 leaves: [eu-4 eu-3]
	// eu-1: 256 vnodes, primary for 20% of the keys
	// eu-2: 256 vnodes, primary for 19% of the keys
	// eu-3: 512 vnodes, primary for 40% of the keys
	// eu-4: 256 vnodes, primary for 20% of the keys
}

// ExampleRing_Ranges shows what handoff streams when a node joins: the key
// ranges it holds on the new ring, which it held on none before.
func ExampleRing_Ranges() {
	old, _ := ring.New(ring.Member{ID: "a"}, ring.Member{ID: "b"}, ring.Member{ID: "c"}, ring.Member{ID: "d"})
	grown, _ := old.With(ring.Member{ID: "e"})
	var size float64
	ranges := grown.Ranges("e", 1)
	for _, rg := range ranges {
		size += float64(rg.End-rg.Start) + 1
	}
	fmt.Printf("e is primary for %d ranges, %.1f%% of the key space\n", len(ranges), 100*size/(1<<64))
	fmt.Println("the first starts at", ranges[0].Start)
	// Output:
	// e is primary for 11361 ranges, 19.6% of the key space
	// the first starts at 262628489970742
}

func ExampleConfig() {
	// Classic consistent hashing with 4,096 tokens per node: one probe.
	r, err := ring.Config{VNodes: 4096, Probes: 1}.New(ring.Member{ID: "a"}, ring.Member{ID: "b"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Owners([]byte("user:42"), 1))
	// Output: [a]
}
