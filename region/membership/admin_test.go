package membership

import (
	"errors"
	"testing"
)

// TestRefusalsSayWhatToDo: the errors of Leave and Remove reach the
// operator as they are (HTTP, CLI); they match their sentinels.
func TestRefusalsSayWhatToDo(t *testing.T) {
	r := formed(t, 2, nil)
	r.crash("n2")
	r.tick()
	n1 := r.nodes["n1"].m
	_, lastErr := formed(t, 1, nil).nodes["n1"].m.Leave()
	tests := []struct {
		name string
		err  error
		is   error
		msg  string
	}{
		{"leave of the last node", lastErr, ErrLastNode, "membership: n1 is the last node of region eu: there is no one to hand its data to"},
		{"remove of a live node", n1.Remove("n1", false), ErrAlive, "membership: n1 is alive: run `meridian node leave` against it instead, which hands its data off first"},
		{"remove of an unknown id", n1.Remove("zz", false), ErrNotMember, "membership: no such member: \"zz\" is not in region eu (see `meridian cluster`)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.is) || tt.err.Error() != tt.msg {
				t.Fatalf("got %v, want %q matching %v", tt.err, tt.msg, tt.is)
			}
		})
	}
}
