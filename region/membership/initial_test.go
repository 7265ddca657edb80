package membership

import "testing"

func TestInitial(t *testing.T) {
	cfg := DefaultConfig("n2")
	cfg.Incarnation = "mine"
	entry := func(id string, s Status, inc string, v uint64) Member {
		return Member{ID: id, Status: s, Incarnation: inc, Version: v}
	}
	other := entry("n1", Active, "x", 4)
	tests := []struct {
		name    string
		stored  Roster
		join    bool
		status  Status
		version uint64
	}{
		{"the first node of a new region", nil, false, Active, 0},
		{"a new node joining", nil, true, Joining, 0},
		{"a restart, active", Roster{"n1": other, "n2": entry("n2", Active, "mine", 7)}, false, Active, 8},
		{"a restart, joining", Roster{"n1": other, "n2": entry("n2", Joining, "mine", 7)}, true, Joining, 8},
		{"a restart, leaving", Roster{"n1": other, "n2": entry("n2", Leaving, "mine", 7)}, false, Leaving, 8},
		{"a restart on a roster stored before incarnations", Roster{"n2": entry("n2", Active, "", 7)}, false, Active, 8},
		{"a restart after leaving", Roster{"n1": other, "n2": entry("n2", Left, "mine", 7)}, false, Joining, 8},
		{"a restart after a removal", Roster{"n1": other, "n2": entry("n2", Removed, "mine", 7)}, false, Joining, 8},
		{"a restart of the first node, which knows its region", Roster{"n1": other}, false, Joining, 0},
		{"a restart on another incarnation's roster", Roster{"n1": other, "n2": entry("n2", Active, "theirs", 7)}, false, Joining, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Initial(cfg, tt.stored, tt.join)
			if m.Status != tt.status || m.Version != tt.version || m.Incarnation != "mine" || m.ID != "n2" {
				t.Fatalf("got %+v, want status %s version %d", m, tt.status, tt.version)
			}
		})
	}
}
