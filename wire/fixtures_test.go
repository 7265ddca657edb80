package wire_test

import (
	"fmt"
	"time"

	"github.com/meridiankv/meridian/crdt"
)

// The fixtures: values built through the crdt API from fixed node IDs and
// fixed timestamps, so that they, and the bytes they encode to, never change.

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

// at returns the timestamp offset after t0, with a logical part.
func at(offset time.Duration, logical uint32) crdt.Timestamp {
	return crdt.Timestamp{Wall: t0 + int64(offset), Logical: logical}
}

// must returns the delta of a mutator that cannot fail on its input.
func must(d crdt.State, err error) crdt.State {
	if err != nil {
		panic(fmt.Sprintf("fixture: %v", err))
	}
	return d
}

// registerFixture: two regions write the key concurrently, after one of
// them overwrote its own first write: two siblings, one with a logical
// timestamp part.
func registerFixture() crdt.State {
	var eu, us crdt.State
	eu.Put("eu-1", []byte("first"), at(0, 0), nil)
	dEU := eu.Put("eu-1", []byte("from eu"), at(2*time.Millisecond, 0), nil)
	dUS := us.Put("us-1", []byte("from us\x00\xff"), at(2*time.Millisecond, 7), nil)
	eu.Merge(dUS)
	us.Merge(dEU)
	return eu
}

// setFixture: elements added by two nodes, one of them binary, one added
// concurrently by both (two dots), one removed.
func setFixture() crdt.State {
	var a, b crdt.State
	b.Merge(must(a.Add("a", at(0, 0), "apple", "banana", "\x00\xffbin")))
	dRem := must(b.Remove("banana"))
	dB := must(b.Add("b", at(time.Second, 0), "cherry", "apple"))
	dA := must(a.Add("a", at(time.Second, 1), "apple", ""))
	a.Merge(dRem)
	a.Merge(dB)
	b.Merge(dA)
	return a
}

// counterFixture: three nodes increment and decrement; one delta arrives
// twice.
func counterFixture() crdt.State {
	var x, y, z crdt.State
	dx := must(x.Incr("x", 10, at(0, 0)))
	y.Merge(dx)
	dy := must(y.Incr("y", -3, at(1, 0)))
	dz := must(z.Incr("z", 1<<40, at(2, 0)))
	dx2 := must(x.Incr("x", -25, at(3, 0)))
	for _, d := range []crdt.State{dy, dz, dx2, dy} {
		x.Merge(d)
	}
	return x
}

// tombstoneFixture: a key whose value was deleted, leaving a context only,
// with a gap: the replica saw c's third write but not its first two, so c:3
// sits in the cloud.
func tombstoneFixture() crdt.State {
	var s, c crdt.State
	s.Put("a", []byte("gone"), at(0, 0), nil)
	must(c.Add("c", at(1, 0), "x"))
	must(c.Add("c", at(2, 0), "y"))
	s.Merge(must(c.Add("c", at(3, 0), "z")))
	s.Delete(nil)
	return s
}

// mixedFixture: a register write and a set add made concurrently in two
// regions: the key holds entries of both kinds.
func mixedFixture() crdt.State {
	var a, b crdt.State
	da := a.Put("eu-1", []byte("a string"), at(time.Millisecond, 0), nil)
	db := must(b.Add("us-1", at(2*time.Millisecond, 0), "member"))
	a.Merge(db)
	b.Merge(da)
	return a
}

// The version-2 fixtures hold counter resets. They are assembled from
// their parts, so that they never change whatever the mutators do;
// TestV2FixturesAreReachable builds the same states through the mutators.

// assemble builds a fixture from its parts.
func assemble(p crdt.Parts) crdt.State {
	s, err := crdt.Assemble(p)
	if err != nil {
		panic(fmt.Sprintf("fixture: %v", err))
	}
	return s
}

// resetCounterFixture: x counted +10 and y -3; x deleted the counter while
// y, concurrently, added 5, and z, unaware of it all, added 2^40. The shares
// of y and z are live, y's counted above its reset: 5 + 2^40.
func resetCounterFixture() crdt.State {
	return assemble(crdt.Parts{
		Context: crdt.NewContext([]crdt.Dot{{Node: "x", Counter: 1}, {Node: "y", Counter: 2}, {Node: "z", Counter: 1}}, nil),
		Shares: []crdt.Share{
			{Dot: crdt.Dot{Node: "y", Counter: 2}, Time: at(2, 0), Inc: 5, Dec: 3},
			{Dot: crdt.Dot{Node: "z", Counter: 1}, Time: at(3, 0), Inc: 1 << 40},
		},
		Resets: []crdt.Reset{{Node: "x", Inc: 10}, {Node: "y", Dec: 3}},
	})
}

// resetTombstoneFixture: resetCounterFixture deleted: a context and a
// reset per writer.
func resetTombstoneFixture() crdt.State {
	return assemble(crdt.Parts{
		Context: crdt.NewContext([]crdt.Dot{{Node: "x", Counter: 1}, {Node: "y", Counter: 2}, {Node: "z", Counter: 1}}, nil),
		Resets:  []crdt.Reset{{Node: "x", Inc: 10}, {Node: "y", Inc: 5, Dec: 3}, {Node: "z", Inc: 1 << 40}},
	})
}

// resetRegisterFixture: x counted +10, then a SET at x replaced the
// counter: a register value and x's reset.
func resetRegisterFixture() crdt.State {
	return assemble(crdt.Parts{
		Context:  crdt.NewContext([]crdt.Dot{{Node: "x", Counter: 2}}, nil),
		Siblings: []crdt.Sibling{{Dot: crdt.Dot{Node: "x", Counter: 2}, Time: at(1, 0), Value: []byte("text")}},
		Resets:   []crdt.Reset{{Node: "x", Inc: 10}},
	})
}

// contextFixture: a context with a version vector and a cloud.
func contextFixture() crdt.Context {
	return crdt.NewContext(
		[]crdt.Dot{{Node: "eu-1", Counter: 5}, {Node: "us-1", Counter: 300}},
		[]crdt.Dot{{Node: "us-1", Counter: 302}, {Node: "ap-1", Counter: 70000}},
	)
}

// golden is one golden file and the value it holds: a crdt.State, a
// crdt.Context, a frame ([]wire.Message) or a consensus item (wire.Strong,
// wire.Acceptor, wire.Paxos).
type golden struct {
	file  string
	value any
}

// goldens lists every golden file: at least one per tag and version.
func goldens() []golden {
	return []golden{
		{"state-v1-empty.cbor", crdt.State{}},
		{"state-v1-register.cbor", registerFixture()},
		{"state-v1-set.cbor", setFixture()},
		{"state-v1-counter.cbor", counterFixture()},
		{"state-v1-tombstone.cbor", tombstoneFixture()},
		{"state-v1-mixed.cbor", mixedFixture()},
		{"context-v1.cbor", contextFixture()},
		{"context-v1-empty.cbor", crdt.Context{}},
		{"frame-v1.cbor", frameFixture()},
		{"state-v2-counter.cbor", resetCounterFixture()},
		{"state-v2-tombstone.cbor", resetTombstoneFixture()},
		{"state-v2-register.cbor", resetRegisterFixture()},
		{"frame-v2.cbor", frameV2Fixture()},
		{"frame-v3.cbor", frameV3Fixture()},
		{"strong-v1-string.cbor", strongStringFixture()},
		{"strong-v1-counter.cbor", strongCounterFixture()},
		{"strong-v1-set.cbor", strongSetFixture()},
		{"acceptor-v1.cbor", acceptorFixture()},
		{"paxos-v1-accept.cbor", paxosAcceptFixture()},
		{"paxos-v1-promise.cbor", paxosPromiseFixture()},
		{"paxos-v1-refused.cbor", paxosRefusedFixture()},
	}
}
