package storage_test

import (
	"fmt"
	"math"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/storage"
	"github.com/meridiankv/meridian/wire"
)

// A put merges into what is stored: two replicas' concurrent writes end as
// siblings, and replaying the older one changes nothing.
func ExampleDB_Commit() {
	db, err := storage.Open("", storage.Options{InMemory: true})
	if err != nil {
		panic(err)
	}
	defer db.Close()

	var a, b crdt.State
	a.Put("n1", []byte("red"), crdt.Timestamp{Wall: 2}, nil)
	b.Put("n2", []byte("blue"), crdt.Timestamp{Wall: 1}, nil)
	for _, s := range []crdt.State{a, b, a} {
		if err := db.Commit(&wire.Batch{Puts: []wire.Entry{{Key: []byte("color"), State: s}}}); err != nil {
			panic(err)
		}
	}
	s, err := db.Get([]byte("color"))
	if err != nil {
		panic(err)
	}
	for _, sib := range s.Siblings() {
		fmt.Printf("%s by %s\n", sib.Value, sib.Dot.Node)
	}
	fmt.Println("unchanged puts:", db.Stats().PutsUnchanged)
	// Output:
	// red by n1
	// blue by n2
	// unchanged puts: 1
}

// Hints wait for an unreachable replica; once delivered, they are deleted.
func ExampleDB_ScanHints() {
	db, err := storage.Open("", storage.Options{InMemory: true})
	if err != nil {
		panic(err)
	}
	defer db.Close()

	var s crdt.State
	s.Put("n1", []byte("v"), crdt.Timestamp{Wall: 1}, nil)
	err = db.Commit(&wire.Batch{
		Puts:  []wire.Entry{{Key: []byte("k"), State: s}},
		Hints: []wire.Hint{{Target: "n3", Key: []byte("k"), State: s}},
	})
	if err != nil {
		panic(err)
	}
	backlog, _ := db.HintTargets()
	fmt.Printf("%s holds %d hint\n", backlog[0].Target, backlog[0].Count)

	var delivered []wire.HintKey
	_ = db.ScanHints("n3", func(key []byte, s crdt.State) bool {
		// ... send s to n3 ...
		delivered = append(delivered, wire.HintKey{Target: "n3", Key: key})
		return true
	})
	if err := db.Commit(&wire.Batch{HintDeletes: delivered}); err != nil {
		panic(err)
	}
	backlog, _ = db.HintTargets()
	fmt.Println("targets left:", len(backlog))

	n := 0
	_ = db.Scan(0, math.MaxUint64, func([]byte, crdt.State, uint64) bool { n++; return true })
	fmt.Println("keys:", n)
	// Output:
	// n3 holds 1 hint
	// targets left: 0
	// keys: 1
}
