package sync

import (
	"testing"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// fixedOwners places every key on the same nodes, in order.
type fixedOwners []crdt.NodeID

func (f fixedOwners) Owners(_ []byte, n int) []crdt.NodeID { return f[:min(n, len(f))] }

// TestAcksGoToTheirPart: the copies of a write carry one coordinator id,
// and an acknowledgement reaches only the part whose id it echoes: one
// carrying the write's counter under another part's tag (a hint replay's,
// a handoff's) does not count for the write; the write's own id does. That
// hint and handoff acknowledgements reach their parts is what the hint and
// handoff tests check (they fail when Step routes them elsewhere).
func TestAcksGoToTheirPart(t *testing.T) {
	owners := fixedOwners{"a", "b", "c"}
	n, err := NewNode(DefaultConfig("a"), NewMemStore(), 1)
	if err != nil {
		t.Fatal(err)
	}
	n.SetView(1, View{Placement: owners, Members: owners})
	n.Submit(1, Request{ID: 7, Op: wire.Op{Kind: wire.OpPut, Key: []byte("k"), Value: []byte("v"), Level: uint8(One)}})
	rd, err := n.Flush()
	if err != nil {
		t.Fatal(err)
	}
	if len(rd.Responses) != 1 || rd.Responses[0].Err != nil {
		t.Fatalf("a write at ONE on an owner: %+v", rd.Responses)
	}
	var ids []uint64
	for _, m := range rd.Messages {
		if m.Type == wire.MsgWrite && m.ID != 0 {
			ids = append(ids, m.ID)
		}
	}
	if len(ids) != 2 || ids[0] != ids[1] || partOf(ids[0]) != partCoordinator {
		t.Fatalf("copies of the write carry ids %v, want one coordinator id for both", ids)
	}
	id := ids[0]
	if _, ok := n.coord.writes[id]; !ok {
		t.Fatal("the write does not wait for its copies")
	}
	for _, p := range []part{partHints, partHandoff, partAntiEntropy} {
		n.Step(2, wire.Message{Type: wire.MsgWriteAck, From: "b", To: "a", ID: id&^(1<<partBits-1) | uint64(p)})
		n.Step(2, wire.Message{Type: wire.MsgWriteAck, From: "c", To: "a", ID: id&^(1<<partBits-1) | uint64(p)})
		if _, ok := n.coord.writes[id]; !ok {
			t.Fatalf("an acknowledgement tagged for part %d reached the coordinator", p)
		}
	}
	n.Step(3, wire.Message{Type: wire.MsgWriteAck, From: "b", To: "a", ID: id})
	n.Step(3, wire.Message{Type: wire.MsgWriteAck, From: "c", To: "a", ID: id})
	if _, ok := n.coord.writes[id]; ok {
		t.Fatal("the write still waits after both copies were acknowledged under its id")
	}
}

// TestIDsNameTheirPart: every id carries the part that handed it out, and
// ids do not repeat across parts.
func TestIDsNameTheirPart(t *testing.T) {
	c := &core{nextID: 1 << 60}
	seen := map[uint64]bool{}
	for range 3 {
		for _, p := range []part{partCoordinator, partHints, partHandoff, partAntiEntropy} {
			id := c.newID(p)
			if partOf(id) != p || seen[id] {
				t.Fatalf("id %x: part %d, seen before %v; want part %d, new", id, partOf(id), seen[id], p)
			}
			seen[id] = true
		}
	}
}
