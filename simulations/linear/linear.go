package linear

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/meridiankv/meridian/wire"
)

// Op is one operation of a history: what a client asked and what it was
// answered, with the times it asked and was answered (any unit, one clock).
type Op struct {
	Client int
	Call   int64
	Return int64 // ignored when Unknown
	Op     wire.Op
	// The answer: Unknown for an unknown outcome; else Failed for a
	// condition that did not hold, and Value (the key's value after the
	// operation, as readers see it) and Result (INCR's value, the members
	// SADD added or SREM removed) for a success.
	Unknown bool
	Failed  bool
	Value   wire.Strong
	Result  int64
	// NoValue says a successful write was answered without the value
	// right after it (a retried request answered from memory): only its
	// Result is checked.
	NoValue bool
}

// state is a key's value as the model keeps it.
type state struct {
	kind    wire.StrongKind
	s       string
	n       int64
	members string // sorted, joined by "\x00"
}

func stateOf(v wire.Strong) state {
	st := state{kind: v.Kind, s: string(v.Bytes), n: v.Int}
	var ms []string
	for _, m := range v.Members {
		ms = append(ms, string(m))
	}
	st.members = strings.Join(ms, "\x00")
	return st
}

func (s state) String() string {
	switch s.kind {
	case wire.StrongString:
		return strconv.Quote(s.s)
	case wire.StrongCounter:
		return strconv.FormatInt(s.n, 10)
	case wire.StrongSet:
		return "{" + strings.ReplaceAll(s.members, "\x00", ",") + "}"
	}
	return "none"
}

// apply returns what op does to s: the new state, whether its condition
// held, its result, and false for an operation that fails on s (a wrong
// type: nothing changes).
func apply(s state, op *wire.Op) (next state, held bool, result int64, ok bool) {
	switch op.Cond {
	case wire.CondNX:
		held = s.kind == wire.StrongNone
	case wire.CondXX:
		held = s.kind != wire.StrongNone
	case wire.CondIfEq:
		held = s.kind == wire.StrongString && s.s == string(op.Expect)
	case wire.CondIfNe:
		held = !(s.kind == wire.StrongString && s.s == string(op.Expect))
	default:
		held = true
	}
	if !held {
		return s, false, 0, true
	}
	switch op.Kind {
	case wire.OpGet:
		return s, true, 0, true
	case wire.OpPut:
		return state{kind: wire.StrongString, s: string(op.Value)}, true, 1, true
	case wire.OpDelete:
		if s.kind == wire.StrongNone {
			return s, true, 0, true
		}
		return state{}, true, 1, true
	case wire.OpIncr:
		n := int64(0)
		switch s.kind {
		case wire.StrongCounter:
			n = s.n
		case wire.StrongString:
			v, err := strconv.ParseInt(s.s, 10, 64)
			if err != nil {
				return s, true, 0, false
			}
			n = v
		case wire.StrongSet:
			return s, true, 0, false
		}
		return state{kind: wire.StrongCounter, n: n + op.By}, true, n + op.By, true
	case wire.OpAdd, wire.OpRemove:
		if s.kind != wire.StrongNone && s.kind != wire.StrongSet {
			return s, true, 0, false
		}
		var ms []string
		if s.members != "" {
			ms = strings.Split(s.members, "\x00")
		}
		changed := int64(0)
		for _, e := range op.Elems {
			i, found := slices.BinarySearch(ms, string(e))
			switch {
			case op.Kind == wire.OpAdd && !found:
				ms = slices.Insert(ms, i, string(e))
				changed++
			case op.Kind == wire.OpRemove && found:
				ms = slices.Delete(ms, i, i+1)
				changed++
			}
		}
		if len(ms) == 0 {
			return state{}, true, changed, true
		}
		return state{kind: wire.StrongSet, members: strings.Join(ms, "\x00")}, true, changed, true
	}
	return s, true, 0, false
}

// model is a strong key, for porcupine.
var model = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, o := range history {
			k := string(o.Input.(*Op).Op.Key)
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], o)
		}
		slices.Sort(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return state{} },
	Step: func(st, input, _ any) (bool, any) {
		s, o := st.(state), input.(*Op)
		next, held, result, ok := apply(s, &o.Op)
		switch {
		case o.Unknown:
			return true, next // it took effect here (or, placed last, never)
		case !ok:
			return false, s // it would have failed: a success cannot be placed here
		case o.Failed:
			return !held, s
		case !held:
			return false, s
		}
		if o.Op.Kind == wire.OpIncr || o.Op.Kind == wire.OpAdd || o.Op.Kind == wire.OpRemove {
			if result != o.Result {
				return false, s
			}
		}
		return o.NoValue || next == stateOf(o.Value), next
	},
	Equal: func(a, b any) bool { return a.(state) == b.(state) },
	DescribeOperation: func(input, _ any) string {
		o := input.(*Op)
		return Describe(o)
	},
	DescribeState: func(st any) string { return st.(state).String() },
}

// Describe returns o in words, as the checker's reports show it.
func Describe(o *Op) string {
	op := o.Op
	var b strings.Builder
	fmt.Fprintf(&b, "c%d %s %s", o.Client, kindName(op.Kind), op.Key)
	switch op.Kind {
	case wire.OpPut:
		fmt.Fprintf(&b, " %q", op.Value)
	case wire.OpIncr:
		fmt.Fprintf(&b, " %+d", op.By)
	case wire.OpAdd, wire.OpRemove:
		fmt.Fprintf(&b, " %q", op.Elems)
	}
	if op.Cond != wire.CondNone {
		fmt.Fprintf(&b, " %s %q", op.Cond, op.Expect)
	}
	switch {
	case o.Unknown:
		b.WriteString(" -> unknown")
	case o.Failed:
		b.WriteString(" -> condition failed")
	default:
		fmt.Fprintf(&b, " -> %s", stateOf(o.Value))
	}
	return b.String()
}

func kindName(k wire.OpKind) string {
	names := map[wire.OpKind]string{wire.OpGet: "get", wire.OpPut: "set", wire.OpDelete: "del", wire.OpIncr: "incr",
		wire.OpAdd: "sadd", wire.OpRemove: "srem"}
	if n, ok := names[k]; ok {
		return n
	}
	return fmt.Sprintf("op%d", k)
}

// Result is what Check decided.
type Result struct {
	Ok, Unknown bool // linearizable; undecided within the limit
	Ops         int
	Info        porcupine.LinearizationInfo
}

// Check decides whether history is linearizable within limit. A history
// Check cannot decide in time is a failure for the caller to report.
func Check(history []Op, limit time.Duration) Result {
	ops := make([]porcupine.Operation, 0, len(history))
	for i := range history {
		o := &history[i]
		ret := o.Return
		if o.Unknown {
			ret = math.MaxInt64
		}
		ops = append(ops, porcupine.Operation{ClientId: o.Client, Input: o, Call: o.Call, Output: nil, Return: ret})
	}
	res, info := porcupine.CheckOperationsVerbose(model, ops, limit)
	return Result{Ok: res == porcupine.Ok, Unknown: res == porcupine.Unknown, Ops: len(ops), Info: info}
}
