package sync_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// strongCluster is a cluster whose keys under "s:" are strong, local to
// the default region.
func strongCluster(t *testing.T, n int) *cluster {
	t.Helper()
	decl, err := kvsync.ParseDeclaration("s:")
	if err != nil {
		t.Fatal(err)
	}
	return newCluster(t, n, func(c *kvsync.Config) { c.Strong = decl })
}

func sput(key, value string) wire.Op {
	return wire.Op{Kind: wire.OpPut, Key: []byte(key), Value: []byte(value)}
}

func cond(op wire.Op, c wire.Cond, expect string) wire.Op {
	op.Cond, op.Expect = c, []byte(expect)
	return op
}

// strongValue returns what r says the key holds, "<none>" for nothing.
func strongValue(t *testing.T, r kvsync.Response) string {
	t.Helper()
	if r.Strong == nil {
		t.Fatalf("no strong value in %+v", r)
	}
	switch r.Strong.Kind {
	case wire.StrongString:
		return string(r.Strong.Bytes)
	case wire.StrongCounter:
		return "#" + strings.TrimSpace(strings.Repeat(" ", 0)) + itoa(r.Strong.Int)
	case wire.StrongSet:
		var out []string
		for _, m := range r.Strong.Members {
			out = append(out, string(m))
		}
		return "{" + strings.Join(out, ",") + "}"
	}
	return "<none>"
}

func itoa(i int64) string {
	return strings.TrimSpace(strings.ReplaceAll(time.Duration(i).String(), "ns", ""))
}

// TestStrongOperations: every operation on a strong key, with and without
// conditions, read back at another node.
func TestStrongOperations(t *testing.T) {
	c := strongCluster(t, 4)
	steps := []struct {
		name string
		op   wire.Op
		at   crdt.NodeID
		want string // the value after, "" for an error
		err  error
	}{
		{"get of nothing", wire.Op{Kind: wire.OpGet, Key: []byte("s:k")}, "n1", "<none>", nil},
		{"set xx of nothing fails", cond(sput("s:k", "a"), wire.CondXX, ""), "n2", "", kvsync.ErrConditionFailed},
		{"set nx", cond(sput("s:k", "a"), wire.CondNX, ""), "n3", "a", nil},
		{"set nx again fails", cond(sput("s:k", "b"), wire.CondNX, ""), "n1", "", kvsync.ErrConditionFailed},
		{"set ifeq a", cond(sput("s:k", "b"), wire.CondIfEq, "a"), "n4", "b", nil},
		{"set ifeq a fails", cond(sput("s:k", "c"), wire.CondIfEq, "a"), "n2", "", kvsync.ErrConditionFailed},
		{"set ifne b fails", cond(sput("s:k", "c"), wire.CondIfNe, "b"), "n2", "", kvsync.ErrConditionFailed},
		{"set ifne a", cond(sput("s:k", "c"), wire.CondIfNe, "a"), "n1", "c", nil},
		{"get", wire.Op{Kind: wire.OpGet, Key: []byte("s:k")}, "n4", "c", nil},
		{"delex ifeq wrong fails", cond(wire.Op{Kind: wire.OpDelete, Key: []byte("s:k")}, wire.CondIfEq, "x"), "n3", "", kvsync.ErrConditionFailed},
		{"delex ifeq", cond(wire.Op{Kind: wire.OpDelete, Key: []byte("s:k")}, wire.CondIfEq, "c"), "n3", "<none>", nil},
		{"incr", wire.Op{Kind: wire.OpIncr, Key: []byte("s:n"), By: 5}, "n1", "#5", nil},
		{"decr", wire.Op{Kind: wire.OpIncr, Key: []byte("s:n"), By: -7}, "n2", "#-2", nil},
		{"incr of a string", wire.Op{Kind: wire.OpIncr, Key: []byte("s:k2"), By: 1}, "n1", "#1", nil},
		{"sadd", wire.Op{Kind: wire.OpAdd, Key: []byte("s:set"), Elems: [][]byte{[]byte("b"), []byte("a")}}, "n1", "{a,b}", nil},
		{"srem", wire.Op{Kind: wire.OpRemove, Key: []byte("s:set"), Elems: [][]byte{[]byte("a")}}, "n3", "{b}", nil},
		{"sadd on a counter", wire.Op{Kind: wire.OpAdd, Key: []byte("s:n"), Elems: [][]byte{[]byte("a")}}, "n3", "", crdt.ErrWrongType},
	}
	for _, s := range steps {
		r := c.do(s.at, s.op)
		if s.err != nil {
			if !errors.Is(r.Err, s.err) {
				t.Fatalf("%s: %v, want %v", s.name, r.Err, s.err)
			}
			continue
		}
		if r.Err != nil {
			t.Fatalf("%s: %v", s.name, r.Err)
		}
		if got := strongValue(t, r); got != s.want {
			t.Fatalf("%s: the key holds %s, want %s", s.name, got, s.want)
		}
	}
}

// TestStrongFastPath: the second operation on a key from its proposer is
// one round trip: an accept, no prepare.
func TestStrongFastPath(t *testing.T) {
	c := strongCluster(t, 3)
	kinds := map[wire.MsgType]int{}
	c.observe = func(m wire.Message) { kinds[m.Type]++ }
	if r := c.do("n1", sput("s:k", "a")); r.Err != nil {
		t.Fatal(r.Err)
	}
	if kinds[wire.MsgPrepare] == 0 || kinds[wire.MsgAccept] == 0 {
		t.Fatalf("the first operation sent %v, want prepares and accepts", kinds)
	}
	clear(kinds)
	if r := c.do("n1", sput("s:k", "b")); r.Err != nil {
		t.Fatal(r.Err)
	}
	if kinds[wire.MsgPrepare] != 0 || kinds[wire.MsgAccept] == 0 {
		t.Fatalf("the second operation sent %v, want accepts only", kinds)
	}
	var st kvsync.StrongStats
	for _, id := range c.ids {
		s := c.nodes[id].Stats().Strong
		st.Rounds += s.Rounds
		st.FastPath += s.FastPath
		st.Promised += s.Promised
		st.Accepted += s.Accepted
	}
	if st.Rounds != 2 || st.FastPath != 1 || st.Promised < 2 || st.Accepted < 4 {
		t.Errorf("stats %+v, want 2 rounds, 1 fast, 2+ promises, 4+ acceptances", st)
	}
}

// TestStrongRequestIDIsAppliedOnce: an INCR sent again with its request id
// is answered as the first time, not applied again.
func TestStrongRequestIDIsAppliedOnce(t *testing.T) {
	c := strongCluster(t, 3)
	op := wire.Op{Kind: wire.OpIncr, Key: []byte("s:n"), By: 10, ReqID: []byte("req-1")}
	for i := range 3 {
		r := c.do(crdt.NodeID([]string{"n1", "n2", "n3"}[i]), op)
		if r.Err != nil || r.Changed != 10 {
			t.Fatalf("try %d: %+v, want 10", i, r)
		}
	}
	if r := c.do("n2", wire.Op{Kind: wire.OpGet, Key: []byte("s:n")}); r.Err != nil || r.Strong.Int != 10 {
		t.Fatalf("after three tries of one request: %+v, want 10", r)
	}
}

// TestStrongMinorityAppliesNothing: a proposer cut off from a majority of
// the key's acceptors answers with a definite error or an unknown outcome,
// never a success; after the heal the key holds what a majority decided.
func TestStrongMinorityAppliesNothing(t *testing.T) {
	c := strongCluster(t, 4)
	owners, _ := c.owners("s:k")
	p := owners[0] // the key's proposer
	if r := c.do(p, sput("s:k", "a")); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.drop = func(m wire.Message) bool { return m.From == p || m.To == p }
	r := c.do(p, sput("s:k", "b"))
	if !errors.Is(r.Err, kvsync.ErrUnknownOutcome) && !errors.Is(r.Err, kvsync.ErrUnavailable) {
		t.Fatalf("a write on the minority side: %+v, want an unknown outcome or unavailable", r)
	}
	// The proposer's accept reached itself only (it answers with an unknown
	// outcome): a later round may choose that value or not. A definite
	// error means it is never chosen.
	want := map[string]bool{"a": true, "b": errors.Is(r.Err, kvsync.ErrUnknownOutcome)}
	c.drop = nil
	for _, at := range c.ids {
		if r := c.do(at, wire.Op{Kind: wire.OpGet, Key: []byte("s:k")}); r.Err != nil || !want[strongValue(t, r)] {
			t.Fatalf("after the heal, at %s: %v %v, want one of %v", at, r.Err, r.Strong, want)
		}
	}
}

// TestStrongLevels: an eventual key refuses the serial levels and the
// conditions; a strong key refuses the other levels and inspect.
func TestStrongLevels(t *testing.T) {
	c := strongCluster(t, 3)
	for _, tc := range []struct {
		op   wire.Op
		want string
	}{
		{wire.Op{Kind: wire.OpGet, Key: []byte("e"), Level: uint8(kvsync.LocalSerial)}, "applies to strong keys only"},
		{cond(sput("e", "v"), wire.CondNX, ""), "conditions (NX) apply to strong keys only"},
		{wire.Op{Kind: wire.OpPut, Key: []byte("e"), Value: []byte("v"), TTL: 100}, "expiry (PX) applies to strong keys only"},
		{wire.Op{Kind: wire.OpGet, Key: []byte("s:k"), Level: uint8(kvsync.Quorum)}, "its operations use LOCAL_SERIAL, not QUORUM"},
		{wire.Op{Kind: wire.OpGet, Key: []byte("s:k"), Level: uint8(kvsync.Serial)}, "its operations use LOCAL_SERIAL, not SERIAL"},
		{wire.Op{Kind: wire.OpInspect, Key: []byte("s:k")}, "no siblings"},
		{cond(wire.Op{Kind: wire.OpIncr, Key: []byte("s:k"), By: 1}, wire.CondNX, ""), "applies to SET and DEL only"},
	} {
		r := c.do("n1", tc.op)
		if !errors.Is(r.Err, kvsync.ErrRejected) || !strings.Contains(r.Err.Error(), tc.want) {
			t.Errorf("%+v: %v, want rejected saying %q", tc.op, r.Err, tc.want)
		}
	}
}

// TestStrongLockExpires: SET NX PX takes a lock that frees itself; a stale
// holder's DELEX IFEQ fails once another holds it.
func TestStrongLockExpires(t *testing.T) {
	c := strongCluster(t, 3)
	lock := func(token string) wire.Op {
		op := cond(sput("s:lock", token), wire.CondNX, "")
		op.TTL = 100
		return op
	}
	if r := c.do("n1", lock("t1")); r.Err != nil {
		t.Fatal(r.Err)
	}
	if r := c.do("n2", lock("t2")); !errors.Is(r.Err, kvsync.ErrConditionFailed) {
		t.Fatalf("a second holder while the lease runs: %v", r.Err)
	}
	c.advance(150 * time.Millisecond)
	if r := c.do("n2", lock("t2")); r.Err != nil {
		t.Fatalf("after the lease: %v", r.Err)
	}
	release := cond(wire.Op{Kind: wire.OpDelete, Key: []byte("s:lock")}, wire.CondIfEq, "t1")
	if r := c.do("n1", release); !errors.Is(r.Err, kvsync.ErrConditionFailed) {
		t.Fatalf("the stale holder's release: %v, want a failed condition", r.Err)
	}
}

// TestStrongKeyWithAnOlderAcceptorIsUnavailable: a strong key one of whose
// acceptors runs a build without consensus is refused at once, saying so.
func TestStrongKeyWithAnOlderAcceptorIsUnavailable(t *testing.T) {
	c := strongCluster(t, 3)
	owners, _ := c.owners("s:k")
	p := owners[0]
	c.nodes[p].SetView(c.now, kvsync.View{Placement: c.place, Members: c.ids, Down: map[crdt.NodeID]bool{},
		Current: c.current(), Older: map[crdt.NodeID]bool{owners[1]: true}})
	r := c.do(p, sput("s:k", "v"))
	if !errors.Is(r.Err, kvsync.ErrUnavailable) || !strings.Contains(r.Err.Error(), "older build") {
		t.Fatalf("%v, want unavailable naming the older build", r.Err)
	}
}

// TestJoinSettlesStrongKeys: a strong key decided by two of its three
// owners, one of which the join replaces, keeps its value once the join
// completes, even when the new owners answer without the old ones: the
// joiner settled it under the joint acceptors before it completed.
func TestJoinSettlesStrongKeys(t *testing.T) {
	c := strongCluster(t, 4)
	old, all := rendezvous(c.ids[:3]), rendezvous(c.ids)
	var key string
	var removed, kept1, kept2 crdt.NodeID
	for i := 0; key == ""; i++ {
		k := fmt.Sprintf("s:%d", i)
		before, after := old.Owners([]byte(k), 3), all.Owners([]byte(k), 3)
		if slices.Contains(after, "n4") {
			for _, id := range before {
				if !slices.Contains(after, id) {
					removed = id
				}
			}
			for _, id := range before {
				if id != removed {
					if kept1 == "" {
						kept1 = id
					} else {
						kept2 = id
					}
				}
			}
			key = k
		}
	}
	c.setRing(1, old, nil)
	c.advance(100 * time.Millisecond) // the ring changed at once: the gain passes settle
	// Decided by removed and kept1: kept2 never hears of it.
	c.drop = func(m wire.Message) bool { return m.To == kept2 || m.From == kept2 }
	if r := c.do(removed, sput(key, "v1")); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.drop = nil
	c.setRing(2, old, all) // n4 joins
	for i := 0; c.nodes["n4"].Stats().Settled == 0; i++ {
		if i > 500 {
			t.Fatal("the joiner never settled the key")
		}
		c.advance(10 * time.Millisecond)
	}
	c.setRing(3, all, nil) // the join completes
	// The new owners, without kept1 (and the removed node, gone).
	c.drop = func(m wire.Message) bool {
		return m.To == kept1 || m.From == kept1 || m.To == removed || m.From == removed
	}
	c.down = map[crdt.NodeID]bool{kept1: true, removed: true}
	c.setRing(4, all, nil)
	r := c.do(kept2, wire.Op{Kind: wire.OpGet, Key: []byte(key)})
	if r.Err != nil || strongValue(t, r) != "v1" {
		t.Fatalf("after the join, without %s: %v %v, want v1", kept1, r.Err, r.Strong)
	}
}

// strongWorld is a world of regions whose keys under "g:" are strong and
// global, and under "l:" strong and homed in r1.
func strongWorld(t *testing.T, regions int) *world {
	t.Helper()
	decl, err := kvsync.ParseDeclaration("g:=global,l:=local:r1")
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, regions, 3, func(c *kvsync.Config) { c.Strong = decl })
	w.wan = map[wire.MsgType]int64{} // encode what crosses regions, as the transport does
	return w
}

// TestGlobalStrongKeys: a global key is decided by the owners of every
// region and survives a region cut off; a local key is forwarded to its
// home region, and fails at once where that region is cut off.
func TestGlobalStrongKeys(t *testing.T) {
	w := strongWorld(t, 3)
	r1, r2, r3 := addr{"r1", "n1"}, addr{"r2", "n2"}, addr{"r3", "n3"}
	if r := w.do(r2, sput("g:k", "a")); r.Err != nil {
		t.Fatal(r.Err)
	}
	if r := w.do(r3, wire.Op{Kind: wire.OpGet, Key: []byte("g:k")}); r.Err != nil || strongValue(t, r) != "a" {
		t.Fatalf("global key read in r3: %v %v", r.Err, r.Strong)
	}
	if r := w.do(r3, cond(sput("l:k", "x"), wire.CondNX, "")); r.Err != nil {
		t.Fatalf("local key written from r3: %v", r.Err)
	}
	if r := w.do(r1, wire.Op{Kind: wire.OpGet, Key: []byte("l:k")}); r.Err != nil || strongValue(t, r) != "x" {
		t.Fatalf("local key read at home: %v %v", r.Err, r.Strong)
	}
	if w.wan[wire.MsgAccept] == 0 || w.wan[wire.MsgForward] == 0 {
		t.Errorf("no accept or forward crossed regions: %v", w.wan)
	}
	w.cut["r3"] = true
	w.setViews()
	if r := w.do(r1, cond(sput("g:k", "b"), wire.CondIfEq, "a")); r.Err != nil {
		t.Fatalf("global key written with r3 cut off: %v", r.Err)
	}
	if r := w.do(r3, wire.Op{Kind: wire.OpGet, Key: []byte("l:k")}); !errors.Is(r.Err, kvsync.ErrUnavailable) || !strings.Contains(r.Err.Error(), "r1") {
		t.Fatalf("local key from r3 cut off from its home: %v, want unavailable naming r1", r.Err)
	}
	if r := w.do(r3, sput("g:k", "c")); r.Err == nil {
		t.Fatalf("global key written in r3, cut off from the majority: success")
	}
	w.cut["r3"] = false
	w.setViews()
	if r := w.do(r3, wire.Op{Kind: wire.OpGet, Key: []byte("g:k")}); r.Err != nil || (strongValue(t, r) != "b" && strongValue(t, r) != "c") {
		t.Fatalf("global key after the heal: %v %v, want b (or c, whose outcome was unknown)", r.Err, r.Strong)
	}
}

// TestGlobalStrongKeysNeedThreeRegions: a global key in a cluster of two
// regions is refused, saying why.
func TestGlobalStrongKeysNeedThreeRegions(t *testing.T) {
	w := strongWorld(t, 2)
	r := w.do(addr{"r1", "n1"}, sput("g:k", "a"))
	if !errors.Is(r.Err, kvsync.ErrUnavailable) || !strings.Contains(r.Err.Error(), "at least 3 regions") {
		t.Fatalf("%v, want unavailable: global keys need 3 regions", r.Err)
	}
}

// TestLeaveSettlesStrongKeys: as TestJoinSettlesStrongKeys, for a node
// that leaves: it settles the strong keys it was an acceptor of before it
// reports HandedOff.
func TestLeaveSettlesStrongKeys(t *testing.T) {
	c := strongCluster(t, 4)
	leaver := crdt.NodeID("n1")
	all, rest := rendezvous(c.ids), rendezvous(c.ids[1:])
	var key string
	var kept1, kept2 crdt.NodeID
	for i := 0; key == ""; i++ {
		k := fmt.Sprintf("s:%d", i)
		before := all.Owners([]byte(k), 3)
		if slices.Contains(before, leaver) {
			key = k
			for _, id := range before {
				switch {
				case id == leaver:
				case kept1 == "":
					kept1 = id
				default:
					kept2 = id
				}
			}
		}
	}
	c.setRing(1, all, nil)
	c.advance(100 * time.Millisecond) // the ring changed at once: the gain passes settle
	c.drop = func(m wire.Message) bool { return m.To == kept2 || m.From == kept2 }
	if r := c.do(leaver, sput(key, "v1")); r.Err != nil {
		t.Fatal(r.Err)
	}
	c.drop = nil
	for _, id := range c.ids {
		c.nodes[id].SetView(c.now, kvsync.View{Placement: all, Next: rest, Members: c.ids, Down: map[crdt.NodeID]bool{},
			Epoch: 2, Current: c.current(), Leaving: id == leaver})
	}
	for i := 0; c.nodes[leaver].Stats().Settled == 0; i++ {
		if i > 500 {
			t.Fatal("the leaving node never settled the key")
		}
		c.advance(10 * time.Millisecond)
	}
	c.drop = func(m wire.Message) bool {
		return m.To == kept1 || m.From == kept1 || m.To == leaver || m.From == leaver
	}
	c.down = map[crdt.NodeID]bool{kept1: true, leaver: true}
	c.setRing(3, rest, nil)
	r := c.do(kept2, wire.Op{Kind: wire.OpGet, Key: []byte(key)})
	if r.Err != nil || strongValue(t, r) != "v1" {
		t.Fatalf("after the leave, without %s: %v %v, want v1", kept1, r.Err, r.Strong)
	}
}

// TestForcedRemovalKeepsStrongKeys: a node removed by force leaves the ring
// at once, with no change under way to settle (so does one whose disk was
// wiped): the node that gains its keys refuses to vote on those it holds
// no record of until it has settled them, so the value the removed node
// and one other decided is never lost to a majority of the two that
// missed it.
func TestForcedRemovalKeepsStrongKeys(t *testing.T) {
	c := strongCluster(t, 4)
	all := rendezvous(c.ids)
	var key string
	var gone, a, b, gainer crdt.NodeID
	for i := 0; key == ""; i++ {
		k := fmt.Sprintf("s:%d", i)
		before := all.Owners([]byte(k), 3)
		for _, x := range before {
			rest := slices.DeleteFunc(slices.Clone(c.ids), func(id crdt.NodeID) bool { return id == x })
			after := rendezvous(rest).Owners([]byte(k), 3)
			if !slices.Equal(before, after) {
				key, gone = k, x
				for _, id := range after {
					if !slices.Contains(before, id) {
						gainer = id
					} else if a == "" {
						a = id
					} else {
						b = id
					}
				}
				break
			}
		}
	}
	c.setRing(1, all, nil)
	c.advance(100 * time.Millisecond)
	c.drop = func(m wire.Message) bool { return m.To == b || m.From == b }
	if r := c.do(gone, sput(key, "v1")); r.Err != nil {
		t.Fatal(r.Err)
	}
	// gone is removed while down; a cannot be reached either.
	rest := slices.DeleteFunc(slices.Clone(c.ids), func(id crdt.NodeID) bool { return id == gone })
	c.drop = func(m wire.Message) bool {
		return m.To == gone || m.From == gone || m.To == a || m.From == a
	}
	c.down = map[crdt.NodeID]bool{a: true}
	c.ids = rest
	c.setRing(2, rendezvous(rest), nil)
	r := c.do(b, wire.Op{Kind: wire.OpGet, Key: []byte(key)})
	if r.Err == nil {
		t.Fatalf("read by %s and %s, who both missed the write: %v, want an error (%s votes only once settled)", b, gainer, r.Strong, gainer)
	}
	c.drop = func(m wire.Message) bool { return m.To == gone || m.From == gone }
	c.down = map[crdt.NodeID]bool{}
	c.setRing(2, rendezvous(rest), nil)
	c.advance(time.Second) // the gainer asks again, and settles
	if r := c.do(b, wire.Op{Kind: wire.OpGet, Key: []byte(key)}); r.Err != nil || strongValue(t, r) != "v1" {
		t.Fatalf("once %s is back: %v %v, want v1", a, r.Err, r.Strong)
	}
}

// TestRemovalSettlesStrongKeys: a node removed while down is first
// removing (in the ring, out of the next one), and the steward settles the
// keys its removal moves under the joint groups before the removal
// completes: the value the removed node and one other decided reaches the
// node that gains the key, and is read after the removal without the
// other. Until the one other answers, the steward cannot settle; two
// removing owners of a key of three that never list their keys hold the
// removal too, since they may hold a value no one else does.
func TestRemovalSettlesStrongKeys(t *testing.T) {
	for _, twoGone := range []bool{false, true} {
		t.Run(fmt.Sprintf("two removed: %v", twoGone), func(t *testing.T) {
			c := strongCluster(t, 5)
			all := rendezvous(c.ids)
			var key string
			var gone, gone2, a, b crdt.NodeID
			for i := 0; key == ""; i++ {
				k := fmt.Sprintf("s:%d", i)
				if before := all.Owners([]byte(k), 3); !slices.Contains(before, "n1") {
					key, gone, a, b = k, before[0], before[1], before[2]
				}
			}
			removing := map[crdt.NodeID]bool{gone: true}
			if twoGone {
				gone2 = a // no member that lists its keys holds the write
				removing[gone2] = true
			}
			rest := rendezvous(slices.DeleteFunc(slices.Clone(c.ids), func(id crdt.NodeID) bool { return removing[id] }))
			c.setRing(1, all, nil)
			c.advance(100 * time.Millisecond)
			c.drop = func(m wire.Message) bool { return m.To == b || m.From == b }
			if r := c.do(gone, sput(key, "v1")); r.Err != nil {
				t.Fatal(r.Err)
			}
			// gone is removed while down (gone2 too); a is cut off for a while.
			cut := func(ids ...crdt.NodeID) {
				c.drop = func(m wire.Message) bool { return slices.Contains(ids, m.To) || slices.Contains(ids, m.From) }
			}
			cut(gone, gone2, a)
			removal := func(epoch uint64) {
				for _, id := range c.ids {
					down := map[crdt.NodeID]bool{}
					for r := range removing {
						down[r] = true
					}
					c.nodes[id].SetView(c.now, kvsync.View{Placement: all, Next: rest, Members: c.ids, Down: down,
						Epoch: epoch, Current: c.current(), Removing: removing, Steward: id == "n1"})
				}
			}
			removal(2)
			c.advance(time.Second)
			if c.nodes["n1"].Settled() {
				t.Fatalf("settled without %s, the only other holder of the key", a)
			}
			cut(gone, gone2)
			c.advance(time.Second)
			if settled := c.nodes["n1"].Settled(); settled == twoGone {
				t.Fatalf("settled %v, with %d of the key's 3 owners removed and silent", settled, len(removing))
			}
			if twoGone {
				return
			}
			// The removal completes; a is cut off again.
			c.ids = slices.DeleteFunc(c.ids, func(id crdt.NodeID) bool { return id == gone })
			cut(gone, a)
			c.down = map[crdt.NodeID]bool{gone: true, a: true}
			c.setRing(3, rest, nil)
			after := rest.Owners([]byte(key), 3)
			r := c.do(after[slices.IndexFunc(after, func(id crdt.NodeID) bool { return id != a })], wire.Op{Kind: wire.OpGet, Key: []byte(key)})
			if r.Err != nil || strongValue(t, r) != "v1" {
				t.Fatalf("after the removal, without %s: %v %v, want v1", a, r.Err, r.Strong)
			}
		})
	}
}

// TestRemovalSettlesGlobalKeys: a global key decided by a majority that
// holds one node of region r1, the one removed, and the rest in the other
// regions, is settled by r1's steward, which asks the other regions for
// their keys: after the removal, its value is read by a majority that
// holds none of the nodes that had it.
func TestRemovalSettlesGlobalKeys(t *testing.T) {
	decl, err := kvsync.ParseDeclaration("g:=global")
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, 3, 4, func(c *kvsync.Config) { c.Strong = decl })
	all := w.place
	var key string
	var gone crdt.NodeID
	var owners []crdt.NodeID
	for i := 0; key == ""; i++ {
		k := fmt.Sprintf("g:%d", i)
		if o := all.Owners([]byte(k), 3); !slices.Contains(o, "n1") {
			key, gone, owners = k, o[0], o
		}
	}
	rest := rendezvous(slices.DeleteFunc(slices.Clone(w.ids), func(id crdt.NodeID) bool { return id == gone }))
	// v1 is accepted by gone, every owner in r2 and one in r3: 5 of 9.
	missed := func(a addr) bool {
		return a.region == "r1" && a.id != gone || a.region == "r3" && a.id != owners[0]
	}
	w.drop = func(e envelope) bool { return missed(w.to(e.from, e.m)) || missed(e.from) }
	if r := w.do(addr{"r2", owners[0]}, sput(key, "v1")); r.Err != nil {
		t.Fatal(r.Err)
	}
	w.drop = nil
	delete(w.nodes, addr{"r1", gone}) // down for good
	// r1 removes gone: in its ring, out of the next one, n1 its steward.
	views := func(epoch uint64, next rendezvous, removing map[crdt.NodeID]bool) {
		for a, n := range w.nodes {
			v := kvsync.View{Placement: all, Members: w.ids, Down: map[crdt.NodeID]bool{gone: true}, Current: map[crdt.NodeID]bool{}, Epoch: 7}
			for _, id := range w.ids {
				v.Current[id] = true
			}
			if a.region == "r1" {
				v.Epoch, v.Removing, v.Steward = epoch, removing, a.id == "n1"
				if next != nil {
					v.Next = next
				} else {
					v.Placement, v.Members = rest, slices.DeleteFunc(slices.Clone(w.ids), func(id crdt.NodeID) bool { return id == gone })
				}
			} else {
				v.Down = map[crdt.NodeID]bool{}
			}
			for _, r := range w.regions {
				if r == a.region {
					continue
				}
				rv := kvsync.RegionView{Name: r, Up: true, Down: map[crdt.NodeID]bool{}, Placement: qualifiedPlacement{r, all}, Epoch: 7}
				members := w.ids
				if r == "r1" {
					rv.Epoch = epoch
					if next != nil {
						rv.Next = qualifiedPlacement{r, next}
					} else {
						rv.Placement = qualifiedPlacement{r, rest}
						members = slices.DeleteFunc(slices.Clone(w.ids), func(id crdt.NodeID) bool { return id == gone })
					}
				}
				for _, id := range members {
					rv.Members = append(rv.Members, kvsync.Qualify(r, id))
				}
				v.Remote = append(v.Remote, rv)
			}
			n.SetView(w.now, v)
		}
	}
	views(8, rest, map[crdt.NodeID]bool{gone: true})
	for i := 0; !w.nodes[addr{"r1", "n1"}].Settled(); i++ {
		if i > 300 {
			t.Fatal("the steward never settled the removal")
		}
		w.advance(10 * time.Millisecond)
	}
	views(9, nil, nil)
	// Read without r2 and the r3 node that accepted v1: r1's new owners
	// and r3's two others, 5 of 9.
	w.drop = func(e envelope) bool {
		to := w.to(e.from, e.m)
		return to.region == "r2" || e.from.region == "r2" || to == addr{"r3", owners[0]} || e.from == addr{"r3", owners[0]}
	}
	if r := w.do(addr{"r1", "n1"}, wire.Op{Kind: wire.OpGet, Key: []byte(key)}); r.Err != nil || strongValue(t, r) != "v1" {
		t.Fatalf("after the removal, without the nodes that accepted v1: %v %v, want v1", r.Err, r.Strong)
	}
}

// TestRemoteErrorsKeepTheirSentinels: an error that came back from another
// node matches the sentinels its code and text name.
func TestRemoteErrorsKeepTheirSentinels(t *testing.T) {
	c := strongCluster(t, 4)
	owners, other := c.owners("s:str")
	if r := c.do(owners[0], sput("s:str", "abc")); r.Err != nil {
		t.Fatal(r.Err)
	}
	r := c.do(other, wire.Op{Kind: wire.OpIncr, Key: []byte("s:str"), By: 1}) // forwarded to the proposer
	if !errors.Is(r.Err, kvsync.ErrNotInteger) || !errors.Is(r.Err, kvsync.ErrRejected) {
		t.Fatalf("INCR of a string, forwarded: %v, want ErrNotInteger and ErrRejected", r.Err)
	}
	r = c.do(other, cond(sput("s:str", "x"), wire.CondNX, ""))
	if !errors.Is(r.Err, kvsync.ErrConditionFailed) || r.Strong == nil || string(r.Strong.Bytes) != "abc" {
		t.Fatalf("SET NX, forwarded: %v %v, want a failed condition with the current value", r.Err, r.Strong)
	}
}
