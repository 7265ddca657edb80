package resp

import (
	"slices"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

// cmdSAdd: SADD key member [member ...]. How many members were added.
func cmdSAdd(c *client, w *writer, args [][]byte) {
	r := c.write(wire.Op{Kind: wire.OpAdd, Key: args[1], Elems: slices.Clone(args[2:])})
	replyChanged(w, r.Err, r.Changed)
}

// cmdSRem: SREM key member [member ...]. How many members were removed.
func cmdSRem(c *client, w *writer, args [][]byte) {
	r := c.write(wire.Op{Kind: wire.OpRemove, Key: args[1], Elems: slices.Clone(args[2:])})
	replyChanged(w, r.Err, r.Changed)
}

func replyChanged(w *writer, err error, n int64) {
	if err != nil {
		w.err(errorText(err))
		return
	}
	w.int(n)
}

// cmdSMembers: SMEMBERS key. The members, sorted; empty for a missing key.
func cmdSMembers(c *client, w *writer, args [][]byte) {
	set, ok := c.readSet(w, args[1])
	if !ok {
		return
	}
	members := set.members()
	w.array(len(members))
	for _, m := range members {
		w.bulkString(m)
	}
}

// cmdSIsMember: SISMEMBER key member. 1 or 0.
func cmdSIsMember(c *client, w *writer, args [][]byte) {
	if set, ok := c.readSet(w, args[1]); ok {
		w.int(b2i(set.has(string(args[2]))))
	}
}

// cmdSCard: SCARD key. How many members; 0 for a missing key.
func cmdSCard(c *client, w *writer, args [][]byte) {
	if set, ok := c.readSet(w, args[1]); ok {
		w.int(int64(set.card()))
	}
}

// readSet reads key, a set or missing; or replies with an error and returns
// false.
func (c *client) readSet(w *writer, key []byte) (setView, bool) {
	r := c.read(key)
	switch kind := kindOf(r); {
	case r.Err != nil:
		w.err(errorText(r.Err))
	case kind != crdt.KindSet && kind != crdt.KindNone:
		w.err(wrongType)
	default:
		return setView{st: r.State, strong: r.Strong}, true
	}
	return setView{}, false
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
