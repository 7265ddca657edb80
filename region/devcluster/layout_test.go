package devcluster

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLayoutCommands lays out whole clusters (certificates included, no
// process started) and checks every node's command line by hand.
func TestLayoutCommands(t *testing.T) {
	// cmd returns the command line every node has, whatever the region
	// count, for node id in region r on ip, then more.
	cmd := func(dir, id, region, ip string, more ...string) []string {
		return append([]string{"/bin/meridiand", "--id", id, "--region", region,
			"--data", filepath.Join(dir, id, "data"), "--tls-dir", filepath.Join(dir, "tls"),
			"--resp", ip + ":6379", "--http", ip + ":8080", "--peer", ip + ":7000", "--gossip", ip + ":7946"}, more...)
	}
	tests := []struct {
		name string
		cfg  Config
		want func(dir string) map[string][]string
	}{
		{"one region, as before multi-region", Config{Nodes: 2, Regions: 1, Base: 140, Args: []string{"--replicas", "2"}},
			func(d string) map[string][]string {
				return map[string][]string{
					"r1n1": cmd(d, "r1n1", "r1", "127.0.141.1", "--replicas", "2"),
					"r1n2": cmd(d, "r1n2", "r1", "127.0.141.2", "--replicas", "2", "--join", "127.0.141.1:7946"),
				}
			}},
		{"one region with a WAN delay", Config{Nodes: 1, Regions: 1, Base: 140, WANDelay: 40 * time.Millisecond},
			func(d string) map[string][]string {
				return map[string][]string{"r1n1": cmd(d, "r1n1", "r1", "127.0.141.1", "--wan-delay", "40ms")}
			}},
		{"two regions: region 2 wan-joins region 1's first node", Config{Nodes: 2, Regions: 2, Base: 142,
			WANDelay: 40 * time.Millisecond, WANJitter: 5 * time.Millisecond, Args: []string{"--replicas", "2"}},
			func(d string) map[string][]string {
				w := []string{"--wan-delay", "40ms", "--wan-jitter", "5ms", "--replicas", "2"}
				return map[string][]string{
					"r1n1": cmd(d, "r1n1", "r1", "127.0.143.1", w...),
					"r1n2": cmd(d, "r1n2", "r1", "127.0.143.2", append(w, "--join", "127.0.143.1:7946")...),
					"r2n1": cmd(d, "r2n1", "r2", "127.0.144.1", append(w, "--wan-join", "127.0.143.1:7000")...),
					"r2n2": cmd(d, "r2n2", "r2", "127.0.144.2", append(w, "--join", "127.0.144.1:7946", "--wan-join", "127.0.143.1:7000")...),
				}
			}},
		{"two regions without a WAN delay", Config{Nodes: 1, Regions: 2, Base: 145},
			func(d string) map[string][]string {
				return map[string][]string{
					"r1n1": cmd(d, "r1n1", "r1", "127.0.146.1"),
					"r2n1": cmd(d, "r2n1", "r2", "127.0.147.1", "--wan-join", "127.0.146.1:7000"),
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Dir, tt.cfg.Binary = t.TempDir(), "/bin/meridiand"
			c := &Cluster{cfg: tt.cfg}
			if err := c.plan(); err != nil {
				t.Fatal(err)
			}
			want := tt.want(tt.cfg.Dir)
			if len(c.nodes) != len(want) {
				t.Errorf("%d nodes laid out, want %d", len(c.nodes), len(want))
			}
			for _, n := range c.nodes {
				if !slices.Equal(n.Command, want[n.ID]) {
					t.Errorf("%s's command line:\n got %s\nwant %s", n.ID, strings.Join(n.Command, " "), strings.Join(want[n.ID], " "))
				}
			}
		})
	}
}

// TestLayoutThreeByThree checks the flags of make run's cluster: every node
// delays, only regions 2 and 3 wan-join, and they all join 127.0.1.1:7000.
func TestLayoutThreeByThree(t *testing.T) {
	cfg := Config{Dir: "/d", Binary: "/bin/meridiand", Nodes: 3, Regions: 3, WANDelay: 40 * time.Millisecond}
	for r := 1; r <= 3; r++ {
		for i := 1; i <= 3; i++ {
			n := cfg.layout(r, i)
			args := strings.Join(n.Command, " ")
			if !strings.Contains(args, "--wan-delay 40ms") || strings.Contains(args, "--wan-jitter") {
				t.Errorf("%s: want --wan-delay 40ms and no --wan-jitter: %s", n.ID, args)
			}
			if hasJoin := strings.Contains(args, "--wan-join 127.0.1.1:7000"); hasJoin != (r > 1) {
				t.Errorf("%s: --wan-join 127.0.1.1:7000 given: %v, want %v: %s", n.ID, hasJoin, r > 1, args)
			}
			if strings.Count(args, "--wan-join") > 1 {
				t.Errorf("%s: --wan-join given twice: %s", n.ID, args)
			}
		}
	}
}

func TestLayoutStartRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no region", Config{Regions: -1}, "-1 regions: use 1 or more"},
		{"negative WAN delay", Config{Regions: 2, WANDelay: -time.Millisecond}, "WAN delay -1ms, jitter 0s: must not be negative"},
		{"negative WAN jitter", Config{Regions: 2, WANJitter: -time.Millisecond}, "must not be negative"},
		{"beyond 127/8", Config{Regions: 3, Base: 253}, "within 127.0.0.0/8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Dir, tt.cfg.Binary = t.TempDir(), "/nonexistent/meridiand"
			c, err := Start(t.Context(), tt.cfg)
			if err == nil {
				c.Close()
				t.Fatalf("Start(%+v) succeeded, want an error mentioning %q", tt.cfg, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start: %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
