package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/meridiankv/meridian/region/httpapi"
)

// euTable is what `meridian cluster` prints of the fake's own region, eu:
// all it printed before there were other regions.
const euTable = `region eu, 3 replicas of each key, as node a sees it

ID        STATE  REGION  OWNS   HINTS  HTTP            PEER  GOSSIP  RESP
a (self)  alive  eu      33.3%  0      127.0.0.1:8080  -     -       -
b         alive  eu      33.3%  0      127.0.0.1:8081  -     -       -
c         dead   eu      33.3%  12     127.0.0.1:8082  -     -       -
`

// otherRegions are the regions besides eu of a 3-region cluster, out of
// order: us, cut off for 12s with a backlog, and ap, up and shipping.
func otherRegions() []httpapi.Region {
	heardAP, heardUS := int64(120), int64(12_000)
	return []httpapi.Region{
		{Name: "us", Link: httpapi.LinkDown, HeardAgoMS: &heardUS,
			Nodes: []httpapi.RegionNode{
				{ID: "g", Status: "active", Health: "dead", RESPAddr: "10.0.3.7:6379"},
				{ID: "h", Status: "joining", Health: "alive"},
			},
			Replication: httpapi.Replication{LagMS: 12_345, Pending: 1_234_567, PendingBytes: 45_600_000, Shipped: 9_876, Dropped: 12}},
		{Name: "ap", Link: httpapi.LinkUp, HeardAgoMS: &heardAP,
			Nodes: []httpapi.RegionNode{
				{ID: "e", Status: "active", Health: "suspect", RESPAddr: "10.0.2.5:6379"},
				{ID: "d", Status: "active", Health: "alive", RESPAddr: "10.0.2.4:6379"},
			},
			Replication: httpapi.Replication{LagMS: 45, Shipped: 1234, ShippedBytes: 56_789}},
	}
}

func TestClusterOutput(t *testing.T) {
	tests := []struct {
		name    string
		regions []httpapi.Region
		want    string
	}{
		{"one region prints as before", nil, euTable},
		{"three regions", otherRegions(), euTable + `
region ap: link up, heard 120ms ago, replication lag 45ms, 0 pending (0 B), 1,234 shipped, 0 dropped
ID  STATUS  HEALTH   RESP
d   active  alive    10.0.2.4:6379
e   active  suspect  10.0.2.5:6379

region us: link DOWN, last heard 12s ago, replication lag 12.3s, 1,234,567 pending (45.6 MB), 9,876 shipped, 12 dropped
ID  STATUS   HEALTH  RESP
g   active   dead    10.0.3.7:6379
h   joining  alive   -
`},
		{"a region never heard from, its nodes unknown", []httpapi.Region{{Name: "sa", Link: httpapi.LinkDown}}, euTable + `
region sa: link DOWN, never heard from, replication lag 0ms, 0 pending (0 B), 0 shipped, 0 dropped
no nodes known
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, url := serve(t)
			f.setRegions(tt.regions)
			stdout, _, err := invoke([]string{"--addr", url, "cluster"})
			if err != nil {
				t.Fatal(err)
			}
			if stdout != tt.want {
				t.Errorf("meridian cluster printed\n%s\nwant\n%s", stdout, tt.want)
			}
		})
	}
}

func TestClusterJSON(t *testing.T) {
	f, url := serve(t)
	f.setRegions(otherRegions())
	stdout, _, err := invoke([]string{"--addr", url, "cluster", "--json"})
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Members []struct{ ID string }
		Regions []struct {
			Name        string
			Link        string
			HeardAgoMS  *int64 `json:"heard_ago_ms"`
			Nodes       []struct{ ID string }
			Replication map[string]int64
		}
	}
	if err := json.Unmarshal([]byte(stdout), &c); err != nil {
		t.Fatalf("--json printed something that is not JSON: %v\n%s", err, stdout)
	}
	if len(c.Members) != 3 || len(c.Regions) != 2 || c.Regions[0].Name != "ap" || c.Regions[1].Link != "down" ||
		*c.Regions[1].HeardAgoMS != 12_000 || c.Regions[1].Replication["pending"] != 1_234_567 || c.Regions[0].Nodes[0].ID != "d" {
		t.Errorf("meridian cluster --json printed\n%s", stdout)
	}
}

func TestHumanUnits(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"ago ms", ago(120 * time.Millisecond), "120ms"},
		{"ago zero", ago(0), "0ms"},
		{"ago seconds", ago(12_345 * time.Millisecond), "12.3s"},
		{"ago whole seconds", ago(12 * time.Second), "12s"},
		{"ago minutes", ago(3*time.Minute + 1500*time.Millisecond), "3m2s"},
		{"thousands small", thousands(999), "999"},
		{"thousands", thousands(1234), "1,234"},
		{"thousands millions", thousands(1_234_567), "1,234,567"},
		{"thousands negative", thousands(-1_234_567), "-1,234,567"},
		{"bytes", byteSize(999), "999 B"},
		{"kilobytes", byteSize(1000), "1.0 kB"},
		{"rounds up a unit", byteSize(999_999), "1.0 MB"},
		{"megabytes", byteSize(45_600_000), "45.6 MB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}
