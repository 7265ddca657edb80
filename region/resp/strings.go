package resp

import (
	"math"
	"strconv"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// cmdGet: GET key. A register's value, a counter's decimal value, null for
// a missing key, WRONGTYPE for a set.
func cmdGet(c *client, w *writer, args [][]byte) {
	r := c.read(args[1])
	if r.Err != nil {
		w.err(errorText(r.Err))
		return
	}
	if !writeString(w, r) {
		w.err(wrongType)
	}
}

// writeString appends the string value a read answered (a strong key's
// value, or an eventual key's state), or reports false if it is a set.
func writeString(w *writer, r kvsync.Response) bool {
	switch kindOf(r) {
	case crdt.KindNone:
		w.null()
	case crdt.KindRegister:
		if r.Strong != nil {
			w.bulk(r.Strong.Bytes)
			break
		}
		winner, _ := r.State.Get()
		w.bulk(winner.Value)
	case crdt.KindCounter:
		if r.Strong != nil {
			w.bulkInt(r.Strong.Int)
			break
		}
		v, err := r.State.Value()
		if err != nil {
			w.err(errorText(err))
			break
		}
		w.bulkInt(v)
	default:
		return false
	}
	return true
}

// cmdDel: DEL key [key ...]. How many of the keys held a value.
func cmdDel(c *client, w *writer, args [][]byte) {
	keys, _ := distinct(args[1:])
	ops := make([]wire.Op, len(keys))
	for i, k := range keys {
		ops[i] = wire.Op{Kind: wire.OpDelete, Key: k}
	}
	var n int64
	err := c.each(ops, func(r kvsync.Response) bool {
		n += r.Changed
		return true
	})
	if err != nil {
		w.err(errorText(err))
		return
	}
	w.int(n)
}

// cmdExists: EXISTS key [key ...]. How many of the keys hold a value, a key
// named twice counting twice.
func cmdExists(c *client, w *writer, args [][]byte) {
	var n int64
	err := c.each(reads(args[1:]), func(r kvsync.Response) bool {
		n += b2i(kindOf(r) != crdt.KindNone)
		return true
	})
	if err != nil {
		w.err(errorText(err))
		return
	}
	w.int(n)
}

// cmdMGet: MGET key [key ...]. The string values, null for a missing key or
// a set. The reply is built as the values arrive and refused once larger
// than MaxReplySize, so that its states are never all held at once.
func cmdMGet(c *client, w *writer, args [][]byte) {
	start := len(w.b)
	w.array(len(args) - 1)
	tooLarge := false
	err := c.each(reads(args[1:]), func(r kvsync.Response) bool {
		if kindOf(r) == crdt.KindSet || !writeString(w, r) {
			w.null()
		}
		tooLarge = len(w.b)-start > c.srv.cfg.MaxReplySize
		return !tooLarge
	})
	switch {
	case err != nil:
		w.b = w.b[:start]
		w.err(errorText(err))
	case tooLarge:
		w.b = w.b[:start]
		w.err(c.replyTooLarge())
	}
}

// cmdMSet: MSET key value [key value ...]. The pairs are written
// concurrently, not atomically; a key named twice gets its last value.
func cmdMSet(c *client, w *writer, args [][]byte) {
	if len(args)%2 == 0 {
		w.err(wrongArity("mset"))
		return
	}
	pairs := args[1:]
	keys := make([][]byte, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		keys = append(keys, pairs[i])
	}
	uniq, index := distinct(keys)
	ops := make([]wire.Op, len(uniq))
	for i, u := range index {
		ops[u] = wire.Op{Kind: wire.OpPut, Key: uniq[u], Value: pairs[2*i+1]}
	}
	replyOK(w, c.each(ops, func(kvsync.Response) bool { return true }))
}

// each runs ops with doAll and hands fn each response in order, until fn
// returns false or a response is an error, which it returns.
func (c *client) each(ops []wire.Op, fn func(kvsync.Response) bool) error {
	var err error
	c.doAll(ops, func(_ int, r kvsync.Response) bool {
		if r.Err != nil {
			err = r.Err
			return false
		}
		return fn(r)
	})
	return err
}

// cmdIncr, cmdIncrBy, cmdDecr, cmdDecrBy: the counter's new value. A
// missing key becomes a counter; a register is WRONGTYPE. On a strong key,
// a string that holds a decimal integer counts from it, as in Redis.
func cmdIncr(c *client, w *writer, args [][]byte) { incrBy(c, w, args[1], 1) }
func cmdDecr(c *client, w *writer, args [][]byte) { incrBy(c, w, args[1], -1) }

func cmdIncrBy(c *client, w *writer, args [][]byte) {
	if by, ok := parseInt(args[2]); ok {
		incrBy(c, w, args[1], by)
	} else {
		w.err(notInteger)
	}
}

func cmdDecrBy(c *client, w *writer, args [][]byte) {
	by, ok := parseInt(args[2])
	switch {
	case !ok:
		w.err(notInteger)
	case by == math.MinInt64:
		w.err("ERR decrement would overflow")
	default:
		incrBy(c, w, args[1], -by)
	}
}

func incrBy(c *client, w *writer, key []byte, by int64) {
	r := c.write(wire.Op{Kind: wire.OpIncr, Key: key, By: by})
	if r.Err != nil {
		w.err(errorText(r.Err))
		return
	}
	v, err := counterOf(r)
	if err != nil {
		w.err(errorText(err))
		return
	}
	w.int(v)
}

// cmdType: TYPE key. "string" for registers and counters, "set", "none".
func cmdType(c *client, w *writer, args [][]byte) {
	r := c.read(args[1])
	if r.Err != nil {
		w.err(errorText(r.Err))
		return
	}
	switch kindOf(r) {
	case crdt.KindRegister, crdt.KindCounter:
		w.status("string")
	case crdt.KindSet:
		w.status("set")
	default:
		w.status("none")
	}
}

func replyOK(w *writer, err error) {
	if err != nil {
		w.err(errorText(err))
		return
	}
	w.status("OK")
}

// parseInt parses a decimal int64 as Redis does: no sign but '-', no
// leading zero, no space.
func parseInt(b []byte) (int64, bool) {
	n, err := strconv.ParseInt(string(b), 10, 64)
	var buf [20]byte
	if err != nil || string(strconv.AppendInt(buf[:0], n, 10)) != string(b) {
		return 0, false
	}
	return n, true
}
