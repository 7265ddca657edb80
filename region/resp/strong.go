package resp

import (
	"errors"
	"math"
	"slices"
	"strings"

	"github.com/meridiankv/meridian/crdt"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// Strong keys (kvsync.Declaration): their values are decided by consensus,
// so a write can be conditional (SET NX, XX, IFEQ, IFNE; DELEX; DELIFEQ)
// and a string can lapse (SET PX, EX). The commands spell these as Redis
// 8.4 and Valkey do. The endpoint does not know which keys are strong: it
// sends the conditions to the Backend, which refuses them on an eventual
// key with a message naming --strong, passed on as "ERR ...".

// unsupportedSet are the SET options Meridian refuses, with what to use
// instead.
var unsupportedSet = map[string]string{
	"GET":     "read the key with GET first, or make the write conditional with IFEQ",
	"KEEPTTL": "a SET without PX or EX clears the expiry, as in Redis; give PX again",
	"EXAT":    "use EX or PX, relative to now",
	"PXAT":    "use EX or PX, relative to now",
	"IFDEQ":   "compare the value itself with IFEQ",
	"IFDNE":   "compare the value itself with IFNE",
}

// The replies of SET's options that Redis has texts of its own for.
const badExpire = "ERR invalid expire time in 'set' command"

// parseSet returns the op of SET key value [NX|XX|IFEQ v|IFNE v] [PX ms|EX
// s], options in any order and each at most once, or the error reply.
func parseSet(args [][]byte) (wire.Op, string) {
	op := wire.Op{Kind: wire.OpPut, Key: args[1], Value: args[2]}
	for i := 3; i < len(args); i++ {
		opt := strings.ToUpper(string(args[i]))
		if hint, ok := unsupportedSet[opt]; ok {
			return wire.Op{}, "ERR SET option " + opt + " is not supported by Meridian: " + hint
		}
		switch opt {
		case "NX", "XX", "IFEQ", "IFNE":
			if op.Cond != wire.CondNone {
				return wire.Op{}, syntaxError // NX, XX, IFEQ and IFNE exclude each other
			}
			op.Cond = map[string]wire.Cond{"NX": wire.CondNX, "XX": wire.CondXX, "IFEQ": wire.CondIfEq, "IFNE": wire.CondIfNe}[opt]
			if opt == "IFEQ" || opt == "IFNE" {
				if i+1 >= len(args) {
					return wire.Op{}, syntaxError
				}
				i++
				op.Expect = args[i]
			}
		case "PX", "EX":
			if op.TTL != 0 || i+1 >= len(args) {
				return wire.Op{}, syntaxError
			}
			i++
			ttl, reply := expiry(args[i], opt == "EX")
			if reply != "" {
				return wire.Op{}, reply
			}
			op.TTL = ttl
		default:
			return wire.Op{}, syntaxError
		}
	}
	return op, ""
}

// expiry parses PX's milliseconds, or EX's seconds as milliseconds.
func expiry(arg []byte, seconds bool) (int64, string) {
	n, ok := parseInt(arg)
	switch {
	case !ok:
		return 0, notInteger
	case n <= 0, seconds && n > math.MaxInt64/1000:
		return 0, badExpire
	case seconds:
		return n * 1000, ""
	}
	return n, ""
}

// cmdSet: SET key value [NX|XX|IFEQ v|IFNE v] [PX ms|EX s]. OK when
// applied; a null reply when the condition did not hold, as Redis answers.
func cmdSet(c *client, w *writer, args [][]byte) {
	op, reply := parseSet(args)
	if reply != "" {
		w.err(reply)
		return
	}
	r := c.write(op)
	switch {
	case errors.Is(r.Err, kvsync.ErrConditionFailed):
		w.null()
	default:
		replyOK(w, r.Err)
	}
}

// cmdDelEx: DELEX key [IFEQ v|IFNE v] (Redis 8.4). 1 when deleted, 0 when
// not: the key held nothing, or the condition did not hold.
func cmdDelEx(c *client, w *writer, args [][]byte) {
	op := wire.Op{Kind: wire.OpDelete, Key: args[1]}
	if len(args) != 2 && len(args) != 4 {
		w.err(syntaxError)
		return
	}
	if len(args) == 4 {
		switch opt := strings.ToUpper(string(args[2])); opt {
		case "IFEQ":
			op.Cond, op.Expect = wire.CondIfEq, args[3]
		case "IFNE":
			op.Cond, op.Expect = wire.CondIfNe, args[3]
		case "IFDEQ", "IFDNE":
			w.err("ERR DELEX option " + opt + " is not supported by Meridian: " + unsupportedSet[opt])
			return
		default:
			w.err(syntaxError)
			return
		}
	}
	deleted(c, w, op)
}

// cmdDelIfEq: DELIFEQ key value (Valkey). 1 when the key held value and was
// deleted, else 0.
func cmdDelIfEq(c *client, w *writer, args [][]byte) {
	deleted(c, w, wire.Op{Kind: wire.OpDelete, Key: args[1], Cond: wire.CondIfEq, Expect: args[2]})
}

// deleted runs a delete and replies 1 or 0, 0 too for a condition that did
// not hold.
func deleted(c *client, w *writer, op wire.Op) {
	r := c.write(op)
	switch {
	case errors.Is(r.Err, kvsync.ErrConditionFailed):
		w.int(0)
	case r.Err != nil:
		w.err(errorText(r.Err))
	default:
		w.int(r.Changed)
	}
}

// kindOf returns the kind of value a read answered: a strong key's value
// (r.Strong) in the kinds of the eventual ones, else the state's.
func kindOf(r kvsync.Response) crdt.Kind {
	if r.Strong == nil {
		return r.State.Kind()
	}
	switch r.Strong.Kind {
	case wire.StrongString:
		return crdt.KindRegister
	case wire.StrongCounter:
		return crdt.KindCounter
	case wire.StrongSet:
		return crdt.KindSet
	}
	return crdt.KindNone
}

// counterOf returns the value INCR answered: a strong key's (r.Changed,
// also when r.Strong is nil because the answer came from the key's
// request-id memory, and r.State is then empty), or the counter's state.
func counterOf(r kvsync.Response) (int64, error) {
	if r.Strong != nil || r.State.Kind() == crdt.KindNone {
		return r.Changed, nil
	}
	return r.State.Value()
}

// setView is a set a read answered: an eventual key's state, or a strong
// key's members.
type setView struct {
	st     crdt.State
	strong *wire.Strong
}

// members returns the members, sorted.
func (s setView) members() []string {
	if s.strong == nil {
		return s.st.Members()
	}
	out := make([]string, len(s.strong.Members))
	for i, m := range s.strong.Members {
		out[i] = string(m)
	}
	return out
}

// has reports whether m is a member.
func (s setView) has(m string) bool {
	if s.strong == nil {
		return s.st.IsMember(m)
	}
	_, found := slices.BinarySearchFunc(s.strong.Members, m, func(x []byte, m string) int { return strings.Compare(string(x), m) })
	return found
}

// card returns how many members there are.
func (s setView) card() int {
	if s.strong == nil {
		return s.st.Card()
	}
	return len(s.strong.Members)
}
