package httpapi

import (
	"testing"

	"github.com/meridiankv/meridian/crdt"
)

// TestOriginRegion: an actor names its region before a slash; one that
// names none is of the default region.
func TestOriginRegion(t *testing.T) {
	for actor, want := range map[crdt.NodeID]string{
		"r2/n1.1a2b3c4d.3": "r2",
		"eu-west/n12.ff.1": "eu-west",
		"n1.1a2b3c4d.3":    "local",
		"":                 "local",
	} {
		if got := originRegion(actor); got != want {
			t.Errorf("originRegion(%q) = %q, want %q", actor, got, want)
		}
	}
}
