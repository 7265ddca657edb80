package sync

import (
	"maps"
	"slices"

	"github.com/meridiankv/meridian/wire"
)

// memOutbox is a MemStore's outbox: shipments in Seq order and the
// regions' cursors.
type memOutbox struct {
	ships   []wire.Shipment // by Seq
	bytes   int64
	cursors map[string]uint64
}

func shipmentSize(s wire.Shipment) int64 { return hintSize(s.Key, s.State) + 16 }

// commitOutbox applies the outbox part of b, remembering how to undo it
// for a power loss under Batched.
func (m *MemStore) commitOutbox(b *wire.Batch) {
	o := &m.outbox
	if len(b.Outbox) == 0 && len(b.Cursors) == 0 && b.Trim == 0 {
		return
	}
	if m.Batched {
		ships, bytes, cursors := slices.Clone(o.ships), o.bytes, maps.Clone(o.cursors)
		m.journal = append(m.journal, undo{restore: func() { o.ships, o.bytes, o.cursors = ships, bytes, cursors }})
	}
	for _, s := range b.Outbox {
		s.Key, s.State = slices.Clone(s.Key), s.State.Clone()
		o.ships = append(o.ships, s)
		o.bytes += shipmentSize(s)
	}
	slices.SortFunc(o.ships, func(a, b wire.Shipment) int { return compareUint(a.Seq, b.Seq) })
	if o.cursors == nil && len(b.Cursors) > 0 {
		o.cursors = map[string]uint64{}
	}
	maps.Copy(o.cursors, b.Cursors)
	if b.Trim > 0 {
		i := 0
		for ; i < len(o.ships) && o.ships[i].Seq <= b.Trim; i++ {
			o.bytes -= shipmentSize(o.ships[i])
		}
		o.ships = slices.Delete(slices.Clone(o.ships), 0, i)
	}
}

func compareUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ScanOutbox calls fn for the shipments after Seq after, in order.
func (m *MemStore) ScanOutbox(after uint64, fn func(wire.Shipment) bool) error {
	ships := m.outbox.ships
	i, _ := slices.BinarySearchFunc(ships, after+1, func(s wire.Shipment, seq uint64) int { return compareUint(s.Seq, seq) })
	for ; i < len(ships); i++ {
		s := ships[i]
		s.State = s.State.Clone()
		if !fn(s) {
			break
		}
	}
	return nil
}

// Outbox returns what the outbox holds.
func (m *MemStore) Outbox() (wire.OutboxState, error) {
	o := m.outbox
	st := wire.OutboxState{Count: len(o.ships), Bytes: o.bytes, Cursors: maps.Clone(o.cursors)}
	if len(o.ships) > 0 {
		st.First, st.Last = o.ships[0].Seq, o.ships[len(o.ships)-1].Seq
	}
	if st.Cursors == nil {
		st.Cursors = map[string]uint64{}
	}
	return st, nil
}
