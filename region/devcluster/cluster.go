package devcluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/meridiankv/meridian/client"
	"github.com/meridiankv/meridian/region"
	"github.com/meridiankv/meridian/region/transport"
)

// Config describes a local cluster.
type Config struct {
	// Dir is the cluster directory. It is created if needed; a directory
	// from an earlier run is reused, data included.
	Dir string
	// Binary is the meridiand executable to run.
	Binary string
	// Nodes is the number of nodes per region. Default 3.
	Nodes int
	// Regions is the number of regions. Default 1.
	Regions int
	// Base offsets the third byte of the addresses: region r uses
	// 127.0.<Base+r>.0/24. Default 0; tests pick their own so they never
	// meet a cluster started by hand.
	Base int
	// WANDelay and WANJitter are given to every node as --wan-delay and
	// --wan-jitter: each message to another region is delayed by WANDelay
	// plus a random part of up to WANJitter, one way. Default 0: the flags
	// are not given, and messages between regions are not delayed.
	WANDelay, WANJitter time.Duration
	// Args are extra meridiand flags given to every node, after the ones
	// the layout sets (so that they win), before --join and --wan-join.
	Args []string
}

// Node is one process of the cluster, as cluster.json records it.
type Node struct {
	ID      string   `json:"id"`
	Region  string   `json:"region"`
	IP      string   `json:"ip"`
	RESP    string   `json:"resp"`
	HTTP    string   `json:"http"`
	Peer    string   `json:"peer"`
	Gossip  string   `json:"gossip"`
	PID     int      `json:"pid"`
	DataDir string   `json:"data_dir"`
	LogFile string   `json:"log_file"`
	Command []string `json:"command"`
}

// Cluster is a running local cluster.
type Cluster struct {
	cfg   Config
	ca    *transport.CA
	mu    sync.Mutex
	nodes []*Node
	procs map[string]*exec.Cmd
	exits map[string]chan struct{}
}

// Start creates what the cluster needs in cfg.Dir, starts every node and
// waits until each sees every member active and alive, or ctx ends.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Nodes == 0 {
		cfg.Nodes = 3
	}
	if cfg.Regions == 0 {
		cfg.Regions = 1
	}
	switch {
	case cfg.Nodes < 1 || cfg.Nodes > 254:
		return nil, fmt.Errorf("devcluster: %d nodes per region: use 1 to 254", cfg.Nodes)
	case cfg.Regions < 1:
		return nil, fmt.Errorf("devcluster: %d regions: use 1 or more", cfg.Regions)
	case cfg.WANDelay < 0 || cfg.WANJitter < 0:
		return nil, fmt.Errorf("devcluster: WAN delay %s, jitter %s: must not be negative", cfg.WANDelay, cfg.WANJitter)
	case cfg.Base < 0 || cfg.Base+cfg.Regions > 255:
		return nil, fmt.Errorf("devcluster: base %d: the addresses must stay within 127.0.0.0/8", cfg.Base)
	}
	if _, err := os.Stat(cfg.Binary); err != nil {
		return nil, fmt.Errorf("devcluster: meridiand binary: %w (build it with `make build`)", err)
	}
	c := &Cluster{cfg: cfg, procs: map[string]*exec.Cmd{}, exits: map[string]chan struct{}{}}
	if err := c.plan(); err != nil {
		return nil, err
	}
	for _, n := range c.nodes {
		if err := c.StartNode(n.ID); err != nil {
			c.Close()
			return nil, err
		}
	}
	if err := c.WaitReady(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// plan lays out the nodes and makes the TLS material they need.
func (c *Cluster) plan() error {
	tlsDir := filepath.Join(c.cfg.Dir, "tls")
	ca, err := transport.LoadCA(tlsDir)
	if err != nil {
		if ca, err = transport.NewCA(); err != nil {
			return err
		}
		if err := ca.Write(tlsDir); err != nil {
			return fmt.Errorf("devcluster: writing the cluster CA: %w", err)
		}
	}
	c.ca = ca
	if err := region.WriteGossipKeyFile(filepath.Join(tlsDir, region.GossipKeyFile)); err != nil {
		return fmt.Errorf("devcluster: %w", err)
	}
	for r := 1; r <= c.cfg.Regions; r++ {
		for i := 1; i <= c.cfg.Nodes; i++ {
			if err := c.addNode(r, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// addNode lays out node i of region r and issues its certificate; c.mu is
// held or not yet shared.
func (c *Cluster) addNode(r, i int) error {
	n := c.cfg.layout(r, i)
	if err := c.ca.IssueFiles(filepath.Join(c.cfg.Dir, "tls"), n.ID, []net.IP{net.ParseIP(n.IP)}); err != nil {
		return fmt.Errorf("devcluster: issuing %s's certificate: %w", n.ID, err)
	}
	c.nodes = append(c.nodes, n)
	return nil
}

// layout returns node i of region r with its addresses, directories and
// command line. Node 1 of a region starts it; the others --join node 1's
// gossip address. Every node of region r > 1 also --wan-joins the peer
// address of region 1's node 1, through which the regions find each other.
func (cfg Config) layout(r, i int) *Node {
	tlsDir := filepath.Join(cfg.Dir, "tls")
	ip := fmt.Sprintf("127.0.%d.%d", cfg.Base+r, i)
	id := fmt.Sprintf("r%dn%d", r, i)
	n := &Node{ID: id, Region: fmt.Sprintf("r%d", r), IP: ip,
		RESP: ip + ":6379", HTTP: ip + ":8080", Peer: ip + ":7000", Gossip: ip + ":7946",
		DataDir: filepath.Join(cfg.Dir, id, "data"), LogFile: filepath.Join(cfg.Dir, id, "meridiand.log")}
	n.Command = []string{cfg.Binary, "--id", id, "--region", n.Region, "--data", n.DataDir,
		"--tls-dir", tlsDir, "--resp", n.RESP, "--http", n.HTTP, "--peer", n.Peer, "--gossip", n.Gossip}
	if cfg.WANDelay > 0 {
		n.Command = append(n.Command, "--wan-delay", cfg.WANDelay.String())
	}
	if cfg.WANJitter > 0 {
		n.Command = append(n.Command, "--wan-jitter", cfg.WANJitter.String())
	}
	n.Command = append(n.Command, cfg.Args...)
	if i > 1 {
		n.Command = append(n.Command, "--join", fmt.Sprintf("127.0.%d.1:7946", cfg.Base+r))
	}
	if r > 1 {
		n.Command = append(n.Command, "--wan-join", fmt.Sprintf("127.0.%d.1:7000", cfg.Base+1))
	}
	return n
}

// AddNode lays out one more node in region 1 and starts it: it joins the
// region, receives its ranges and then serves them.
func (c *Cluster) AddNode() (Node, error) {
	c.mu.Lock()
	i := 0
	for _, n := range c.nodes {
		if n.Region == "r1" {
			i++
		}
	}
	if err := c.addNode(1, i+1); err != nil {
		c.mu.Unlock()
		return Node{}, err
	}
	n := *c.nodes[len(c.nodes)-1]
	c.mu.Unlock()
	return n, c.StartNode(n.ID)
}

// Nodes returns the cluster's nodes.
func (c *Cluster) Nodes() []Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Node, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = *n
	}
	return out
}

func (c *Cluster) node(id string) (*Node, error) {
	for _, n := range c.nodes {
		if n.ID == id {
			return n, nil
		}
	}
	return nil, fmt.Errorf("devcluster: no node %q", id)
}

// StartNode starts node id (again), with the command line it always has,
// and records its pid in cluster.json.
func (c *Cluster) StartNode(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := c.node(id)
	if err != nil {
		return err
	}
	if _, running := c.procs[id]; running {
		return fmt.Errorf("devcluster: %s is already running", id)
	}
	if err := os.MkdirAll(n.DataDir, 0o755); err != nil {
		return err
	}
	log, err := os.OpenFile(n.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(n.Command[0], n.Command[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	// The node dies with the process that started it, even on kill -9, and
	// a terminal's Ctrl-C reaches only this process, which stops the nodes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("devcluster: starting %s: %w", id, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		log.Close()
		close(exited)
	}()
	n.PID = cmd.Process.Pid
	c.procs[id], c.exits[id] = cmd, exited
	return c.writeManifest()
}

// Reload sends SIGHUP to node id, which reloads its gossip key file
// (TLSDir/gossip.key), and returns at once.
func (c *Cluster) Reload(id string) error {
	c.mu.Lock()
	cmd, ok := c.procs[id]
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("devcluster: %s is not running", id)
	}
	return cmd.Process.Signal(syscall.SIGHUP)
}

// GossipKeyFile returns the gossip key file every node of the cluster reads.
func (c *Cluster) GossipKeyFile() string {
	return filepath.Join(c.cfg.Dir, "tls", region.GossipKeyFile)
}

// Kill sends SIGKILL to node id and waits for it to die: a crash.
func (c *Cluster) Kill(id string) error { return c.signal(id, syscall.SIGKILL, 5*time.Second) }

// Stop sends SIGTERM to node id and waits up to timeout for it to exit,
// killing it then.
func (c *Cluster) Stop(id string, timeout time.Duration) error {
	return c.signal(id, syscall.SIGTERM, timeout)
}

func (c *Cluster) signal(id string, sig syscall.Signal, timeout time.Duration) error {
	c.mu.Lock()
	cmd, ok := c.procs[id]
	exited := c.exits[id]
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("devcluster: %s is not running", id)
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-exited
	}
	c.mu.Lock()
	delete(c.procs, id)
	delete(c.exits, id)
	c.mu.Unlock()
	return nil
}

// Close stops every node (SIGINT, then SIGKILL after 10s).
func (c *Cluster) Close() error {
	c.mu.Lock()
	var ids []string
	for id := range c.procs {
		ids = append(ids, id)
	}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.signal(id, syscall.SIGINT, 10*time.Second)
		}()
	}
	wg.Wait()
	return nil
}

// WaitReady waits until every running node answers on HTTP and sees every
// member of its region active and alive. It does not wait for the regions
// to find each other.
func (c *Cluster) WaitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		err := c.ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devcluster: the cluster did not become ready (see the logs in %s): %w", c.cfg.Dir, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) ready(ctx context.Context) error {
	c.mu.Lock()
	var running []Node
	exp := map[string]int{} // members per region
	for _, n := range c.nodes {
		exp[n.Region]++
		if _, ok := c.procs[n.ID]; ok {
			running = append(running, *n)
		}
	}
	c.mu.Unlock()
	for _, n := range running {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		cl, err := client.New(n.HTTP).Cluster(rctx)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %w", n.ID, err)
		}
		alive := 0
		for _, m := range cl.Members {
			if m.State == "alive" && m.Region == n.Region {
				alive++
			}
		}
		if alive != exp[n.Region] {
			return fmt.Errorf("%s sees %d of the %d members of %s alive and active", n.ID, alive, exp[n.Region], n.Region)
		}
	}
	return nil
}

// writeManifest writes cluster.json; c.mu is held.
func (c *Cluster) writeManifest() error {
	b, err := json.MarshalIndent(struct {
		Nodes []*Node `json:"nodes"`
	}{c.nodes}, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(c.cfg.Dir, "cluster.json.tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(c.cfg.Dir, "cluster.json"))
}

// LoadManifest reads the nodes of a cluster directory's cluster.json.
func LoadManifest(dir string) ([]Node, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cluster.json"))
	if err != nil {
		return nil, err
	}
	var m struct {
		Nodes []Node `json:"nodes"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("devcluster: %s/cluster.json: %w", dir, err)
	}
	return m.Nodes, nil
}
