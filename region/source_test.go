package region

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meridiankv/meridian/region/transport"
)

// TestConnectionsLeaveFromTheNodesAddress: every connection a node opens
// to another node (memberlist's TCP and UDP, QUIC) leaves from the node's
// own address, so that an iptables rule written by address cuts exactly
// the links it names. The node joins a region and another region through
// stand-ins that record where each connection came from.
func TestConnectionsLeaveFromTheNodesAddress(t *testing.T) {
	const node, standIn = "127.0.208.1", "127.0.208.9"
	sources := make(chan string, 64)
	tcp, err := net.Listen("tcp", standIn+":17946")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	go func() {
		for {
			c, err := tcp.Accept()
			if err != nil {
				return
			}
			sources <- "memberlist tcp from " + c.RemoteAddr().(*net.TCPAddr).IP.String()
			c.Close()
		}
	}()
	for _, port := range []string{"17946", "17000"} { // memberlist's UDP, QUIC
		udp, err := net.ListenPacket("udp", standIn+":"+port)
		if err != nil {
			t.Fatal(err)
		}
		defer udp.Close()
		go func() {
			buf := make([]byte, 64<<10)
			for {
				_, from, err := udp.ReadFrom(buf)
				if err != nil {
					return
				}
				what := map[string]string{"17946": "memberlist udp", "17000": "quic"}[port]
				sources <- what + " from " + from.(*net.UDPAddr).IP.String()
			}
		}()
	}

	dir := t.TempDir()
	tlsDir := filepath.Join(dir, "tls")
	ca, err := transport.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.Write(tlsDir); err != nil {
		t.Fatal(err)
	}
	if err := WriteGossipKeyFile(filepath.Join(tlsDir, GossipKeyFile)); err != nil {
		t.Fatal(err)
	}
	if err := ca.IssueFiles(tlsDir, "n1", []net.IP{net.ParseIP(node)}); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig("n1")
	c.Region = "r1"
	c.DataDir, c.TLSDir = filepath.Join(dir, "n1"), tlsDir
	c.RESPAddr, c.HTTPAddr = node+":16379", node+":18080"
	c.PeerAddr, c.GossipAddr = node+":17000", node+":17946"
	c.Join = []string{standIn + ":17946"}    // memberlist: TCP push-pull, then UDP
	c.WANJoin = []string{standIn + ":17000"} // QUIC
	c.Logger = testLogger()
	n, err := Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()

	// memberlist joins by TCP (push-pull) and then probes by UDP; the
	// directory of regions goes out over QUIC.
	want := map[string]bool{"memberlist tcp": false, "quic": false}
	deadline := time.After(20 * time.Second)
	for !want["memberlist tcp"] || !want["quic"] {
		select {
		case s := <-sources:
			kind, from, _ := strings.Cut(s, " from ")
			if from != node {
				t.Fatalf("%s: want every connection from the node's address %s", s, node)
			}
			want[kind] = true
		case <-deadline:
			t.Fatalf("after 20s the stand-ins saw %v: want memberlist's TCP and QUIC", want)
		}
	}
}
