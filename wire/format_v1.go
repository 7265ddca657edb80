package wire

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/meridiankv/meridian/crdt"
)

// Version 1 of the state and context formats: the pieces both share, the
// node table and the causal context, and the checks on them. The structs
// are encoded as CBOR arrays in field order (toarray); strings are written
// as CBOR byte strings (see encMode).

// dotV1 is a crdt.Dot: [node, counter], node an index into the node table.
type dotV1 struct {
	_       struct{} `cbor:",toarray"`
	Node    uint64
	Counter uint64
}

// timeV1 is a crdt.Timestamp: [wall, logical].
type timeV1 struct {
	_       struct{} `cbor:",toarray"`
	Wall    int64
	Logical uint32
}

// contextV1 is the body of a TagContext item: [nodes, vector, cloud].
type contextV1 struct {
	_      struct{} `cbor:",toarray"`
	Nodes  []string
	Vector []dotV1
	Cloud  []dotV1
}

// compareDotV1 orders dots by node index, then counter: by node ID, then
// counter, since the node table is sorted.
func compareDotV1(a, b dotV1) int {
	if c := cmp.Compare(a.Node, b.Node); c != 0 {
		return c
	}
	return cmp.Compare(a.Counter, b.Counter)
}

// nodeTable is the sorted, duplicate-free list of the node IDs of a state
// or context; a dot names its node by its index in the table.
type nodeTable []string

// dot returns d with its node replaced by its index in t, and false when d
// is not a valid dot of a node in t.
func (t nodeTable) dot(d crdt.Dot) (dotV1, bool) {
	i, found := slices.BinarySearch(t, string(d.Node))
	return dotV1{Node: uint64(i), Counter: d.Counter}, found && d.Valid()
}

// checkNodeTable checks the node table that opens a state or context body
// against l before the body is decoded, so that its limits hold before
// anything is allocated: the body must be an array whose first element is
// an array of at most MaxNodes byte strings of at most MaxNodeIDLen bytes.
func checkNodeTable(what string, body []byte, l Limits) error {
	major, arg, n, err := readHead(body)
	if err != nil {
		return malformed(what, "%v", err)
	}
	if major != majorArray || arg == 0 {
		return malformed(what, "want a non-empty array, got %s", describe(major, arg))
	}
	body = body[n:]
	major, count, n, err := readHead(body)
	if err != nil {
		return malformed(what, "node table: %v", err)
	}
	if major != majorArray {
		return malformed(what, "the node table must be an array, got %s", describe(major, count))
	}
	if count > uint64(l.MaxNodes) {
		return &TooLargeError{Name: "MaxNodes", Size: clampInt(count), Limit: l.MaxNodes}
	}
	return checkNodeIDHeads(what, body[n:], count, l)
}

// checkNodeIDHeads checks the count node IDs at the start of data: each a
// byte string of at most MaxNodeIDLen bytes, all within data.
func checkNodeIDHeads(what string, data []byte, count uint64, l Limits) error {
	for i := range count {
		major, size, n, err := readHead(data)
		switch {
		case err != nil:
			return malformed(what, "node id %d: %v", i, err)
		case major != majorBytes:
			return malformed(what, "node id %d must be a byte string, got %s", i, describe(major, size))
		case size > uint64(l.MaxNodeIDLen):
			return &TooLargeError{Name: "MaxNodeIDLen", Size: clampInt(size), Limit: l.MaxNodeIDLen}
		case size > uint64(len(data)-n):
			return malformed(what, "node id %d: input ends inside it", i)
		}
		data = data[n+int(size):]
	}
	return nil
}

func clampInt(v uint64) int { return int(min(v, math.MaxInt)) }

// checkNodeIDs checks that a decoded node table is sorted, unique and
// free of empty IDs.
func checkNodeIDs(what string, nodes []string) error {
	for i, id := range nodes {
		if id == "" {
			return malformed(what, "node id %d is empty", i)
		}
		if i > 0 && nodes[i-1] >= id {
			return malformed(what, "node table not sorted or not unique at entry %d (%q after %q)", i, id, nodes[i-1])
		}
	}
	return nil
}

// toDot resolves w against the node table.
func (w dotV1) toDot(nodes []string) (crdt.Dot, error) {
	if w.Node >= uint64(len(nodes)) {
		return crdt.Dot{}, fmt.Errorf("node index %d out of range: the node table has %d entries", w.Node, len(nodes))
	}
	if w.Counter == 0 {
		return crdt.Dot{}, fmt.Errorf("dot of node %q has counter 0", nodes[w.Node])
	}
	return crdt.Dot{Node: crdt.NodeID(nodes[w.Node]), Counter: w.Counter}, nil
}
