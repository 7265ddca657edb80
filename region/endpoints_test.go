package region

import (
	"testing"

	"github.com/meridiankv/meridian/region/httpapi"
	"github.com/meridiankv/meridian/region/membership"
)

// TestMemberState: a member's status says what it is doing when it is not
// simply in the ring; one in the ring is as healthy as its detector says.
func TestMemberState(t *testing.T) {
	tests := []struct {
		status membership.Status
		health membership.Health
		want   httpapi.MemberState
	}{
		{membership.Active, membership.Alive, httpapi.StateAlive},
		{membership.Active, membership.Dead, httpapi.StateDead},
		{membership.Joining, membership.Alive, httpapi.StateJoining},
		{membership.Leaving, membership.Alive, httpapi.StateLeaving},
		{membership.Removing, membership.Dead, httpapi.StateRemoving},
		{membership.Removed, membership.Dead, "removed"},
		{membership.Left, membership.Dead, "left"},
	}
	for _, tt := range tests {
		m := MemberInfo{MemberInfo: membership.MemberInfo{Member: membership.Member{ID: "n1", Status: tt.status}, Health: tt.health}}
		if got := memberState(m); got != tt.want {
			t.Errorf("%s and %s: %q, want %q", tt.status, tt.health, got, tt.want)
		}
	}
}
