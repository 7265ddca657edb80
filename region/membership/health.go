package membership

import "fmt"

// Health is what the failure detector reports of a member.
type Health uint8

// The healths. A member the detector does not know, or no longer sees, is
// Dead.
const (
	Alive   Health = iota + 1 // answers probes
	Suspect                   // missed probes: may be down; routed around
	Dead                      // declared down, or not seen
)

var healthNames = map[Health]string{Alive: "alive", Suspect: "suspect", Dead: "dead"}

// String returns "alive", "suspect" or "dead".
func (h Health) String() string {
	if n, ok := healthNames[h]; ok {
		return n
	}
	return fmt.Sprintf("health(%d)", uint8(h))
}

// healthOf returns the health of id in a Snapshot's map: Dead when absent.
func healthOf(health map[string]Health, id string) Health {
	if h, ok := health[id]; ok && h != 0 {
		return h
	}
	return Dead
}
