package transport_test

import (
	"fmt"
	"log"
	"net"
	"os"
	"time"

	"github.com/meridiankv/meridian/region/transport"
)

// Two nodes of a cluster: a CA and node certificates in the cluster
// directory, as `meridian dev` makes them, then a request and its reply.
func ExampleListen() {
	dir, err := os.MkdirTemp("", "meridian-certs")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ca, err := transport.NewCA()
	if err != nil {
		log.Fatal(err)
	}
	if err := ca.Write(dir); err != nil {
		log.Fatal(err)
	}
	ip := net.IPv4(127, 0, 0, 1)
	listen := func(name string, h transport.Handler) *transport.QUIC {
		if err := ca.IssueFiles(dir, name, []net.IP{ip}); err != nil {
			log.Fatal(err)
		}
		conf, err := transport.LoadMutualTLS(dir, name)
		if err != nil {
			log.Fatal(err)
		}
		t, err := transport.Listen(transport.Config{Addr: ip.String() + ":0", TLS: conf}, h)
		if err != nil {
			log.Fatal(err)
		}
		return t
	}
	replies := make(chan string)
	a := listen("n1", func(from string, frame []byte) { replies <- string(frame) })
	defer a.Close()
	var b *transport.QUIC
	ready := make(chan struct{})
	b = listen("n2", func(from string, frame []byte) {
		<-ready
		_ = b.Send(from, append([]byte("re: "), frame...)) // replies go to from
	})
	defer b.Close()
	close(ready)

	if err := a.Send(b.LocalAddr(), []byte("get k")); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-replies)
	// Output:
	// re: get k
}

// An in-memory network for tests and simulations: links can be delayed,
// and cut and healed (Cut, Heal) to make partitions.
func ExampleMemNetwork() {
	network := transport.NewMemNetwork()
	got := make(chan string, 1)
	a, _ := network.Listen("a", func(string, []byte) {})
	defer a.Close()
	b, _ := network.Listen("b", func(from string, frame []byte) { got <- from + ": " + string(frame) })
	defer b.Close()

	network.SetDelay("a", "b", 80*time.Millisecond) // a WAN link, both ways
	start := time.Now()
	_ = a.Send("b", []byte("hello"))
	fmt.Println(<-got, time.Since(start) >= 80*time.Millisecond)
	// Output:
	// a: hello true
}
