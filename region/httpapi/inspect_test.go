package httpapi_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/meridiankv/meridian/region/httpapi"
	"github.com/meridiankv/meridian/wire"
)

// TestContextRoundTrip: a read of two concurrent siblings returns both and a
// context; a write that sends that context back collapses them, a write
// without it leaves the sibling it had not seen.
func TestContextRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		send     bool // send back the context the read returned
		siblings float64
	}{
		{"write with the context read supersedes both", true, 1},
		{"blind write keeps the unseen sibling", false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.conflict(t, "k", "from-a", "from-b", false)
			h := newHandler(t, f, httpapi.Config{})

			w := do(t, h, request{method: "GET", path: "/v1/kv/k"})
			read := decode(t, w)
			checkFields(t, read, map[string]any{"siblings": 2.0, "value": "from-b"})

			put := request{method: "PUT", path: "/v1/kv/k", body: "merged"}
			if tt.send {
				put.header = map[string]string{httpapi.ContextHeader: w.Header().Get(httpapi.ContextHeader)}
			}
			if w := do(t, h, put); w.Code != 200 {
				t.Fatalf("PUT: %d %s", w.Code, w.Body)
			}
			after := decode(t, do(t, h, request{method: "GET", path: "/v1/kv/k"}))
			checkFields(t, after, map[string]any{"siblings": tt.siblings})
			if tt.send {
				checkFields(t, after, map[string]any{"value": "merged"})
			}
		})
	}
}

// inspection is the part of an inspect answer the tests read.
type inspection struct {
	Type      string
	Causality string
	Context   string
	Siblings  []struct {
		Value, Dot, Node, Time string
		Logical                uint32
		Winner                 bool
	}
	Winner  struct{ Dot, Reason string }
	Members []struct{ Value, Dot, Node string }
	Count   *int64
	Shares  []struct {
		Node, Dot string
		Inc, Dec  uint64
	}
	Resets   []resetJSON
	Replicas []struct {
		Node, Error string
		Agrees      bool
		State       *struct {
			Type, Value, Causality string
			Siblings               []string
		}
	}
}

type resetJSON struct {
	Node     string
	Inc, Dec uint64
}

func inspect(t *testing.T, f *fakeBackend, key string) inspection {
	t.Helper()
	w := do(t, newHandler(t, f, httpapi.Config{}), request{method: "GET", path: "/v1/inspect/" + key})
	if w.Code != 200 {
		t.Fatalf("inspect: %d %s", w.Code, w.Body)
	}
	var in inspection
	if err := json.Unmarshal(w.Body.Bytes(), &in); err != nil {
		t.Fatal(err)
	}
	if in.Context == "" || w.Header().Get(httpapi.ContextHeader) != in.Context {
		t.Errorf("context %q, header %q: want the same token in both", in.Context, w.Header().Get(httpapi.ContextHeader))
	}
	return in
}

func TestInspectSiblings(t *testing.T) {
	tests := []struct {
		name   string
		tie    bool
		winner string // its dot
		reason string
		time   string // of the loser
	}{
		{"later write wins by time", false, "b:1", "highest HLC timestamp", "2025-01-02T03:04:05Z"},
		{"tied times fall to node id", true, "b:1", "timestamps tie: highest node id wins", "2025-01-02T03:04:05Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.conflict(t, "k", "from-a", "from-b", tt.tie)
			f.SetCut("c", true)
			in := inspect(t, f, "k")
			if in.Type != "register" || len(in.Siblings) != 2 {
				t.Fatalf("type %s with %d siblings, want a register with 2: %+v", in.Type, len(in.Siblings), in)
			}
			win, lose := in.Siblings[0], in.Siblings[1]
			if !win.Winner || lose.Winner || win.Dot != tt.winner || win.Value != "from-b" || win.Node != "b" {
				t.Errorf("siblings %+v: want the winner from-b at %s first", in.Siblings, tt.winner)
			}
			if lose.Dot != "a:1" || lose.Node != "a" || lose.Time != tt.time || lose.Logical != 0 {
				t.Errorf("loser = %+v, want from-a at a:1, %s", lose, tt.time)
			}
			if in.Winner.Dot != tt.winner || in.Winner.Reason != tt.reason {
				t.Errorf("winner = %+v, want %s because %q", in.Winner, tt.winner, tt.reason)
			}
			if in.Causality != "{a:1 b:1}" {
				t.Errorf("causality = %q, want {a:1 b:1}", in.Causality)
			}
			var nodes, values []string
			for _, r := range in.Replicas {
				nodes = append(nodes, r.Node)
				switch {
				case r.Error != "":
					values = append(values, "error")
				case r.Agrees:
					values = append(values, "agrees")
				default:
					values = append(values, r.State.Value)
				}
			}
			if want := []string{"from-a", "from-b", "error"}; !reflect.DeepEqual(values, want) || !reflect.DeepEqual(nodes, []string{"a", "b", "c"}) {
				t.Errorf("replicas %v hold %v, want a, b, c holding %v", nodes, values, want)
			}
		})
	}
}

func TestInspectSetAndCounter(t *testing.T) {
	f := newFake()
	f.run(wire.Op{Kind: wire.OpAdd, Key: []byte("s"), Elems: [][]byte{[]byte("x"), []byte("y")}})
	f.run(wire.Op{Kind: wire.OpIncr, Key: []byte("n"), By: 5})
	f.run(wire.Op{Kind: wire.OpIncr, Key: []byte("n"), By: -2})

	set := inspect(t, f, "s")
	if set.Type != "set" || len(set.Members) != 2 || set.Members[0].Value != "x" || set.Members[0].Dot != "a:1" || set.Members[1].Dot != "a:2" {
		t.Errorf("set inspection = %+v, want x at a:1 and y at a:2", set)
	}
	for _, r := range set.Replicas {
		if !r.Agrees {
			t.Errorf("replica %s disagrees on a fully replicated set: %+v", r.Node, r)
		}
	}
	cnt := inspect(t, f, "n")
	if cnt.Type != "counter" || cnt.Count == nil || *cnt.Count != 3 || len(cnt.Shares) != 1 ||
		cnt.Shares[0].Node != "a" || cnt.Shares[0].Inc != 5 || cnt.Shares[0].Dec != 2 {
		t.Errorf("counter inspection = %+v, want 3 from a's share +5 -2", cnt)
	}

	// Deleted, then incremented: the share counts above what the delete
	// removed, and the inspection shows both.
	f.run(wire.Op{Kind: wire.OpDelete, Key: []byte("n")})
	f.run(wire.Op{Kind: wire.OpIncr, Key: []byte("n"), By: 4})
	cnt = inspect(t, f, "n")
	if cnt.Count == nil || *cnt.Count != 4 || len(cnt.Shares) != 1 || cnt.Shares[0].Inc != 9 || cnt.Shares[0].Dec != 2 ||
		len(cnt.Resets) != 1 || cnt.Resets[0] != (resetJSON{Node: "a", Inc: 5, Dec: 2}) {
		t.Errorf("counter inspection after DEL and INCRBY 4 = %+v, want 4 from a's share +9 -2 above its reset +5 -2", cnt)
	}
}
