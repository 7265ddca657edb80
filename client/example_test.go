package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/meridiankv/meridian/client"
)

// Two clients wrote "greeting" concurrently, so it holds two siblings. A
// read returns the winner and a causal context; a write that hands the
// context back supersedes everything that read saw, so the siblings collapse
// into the one new value.
func Example_readModifyWrite() {
	node, srv := newFakeNode(nil) // stands in for a node at http://127.0.0.1:8080
	defer srv.Close()
	node.conflict("greeting", "hello")
	node.conflict("greeting", "hi")

	c := client.New(srv.URL)
	ctx := context.Background()

	v, err := c.Get(ctx, "greeting")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("read %q, %d concurrent values\n", v.Value, v.Siblings)

	v, err = c.Put(ctx, "greeting", append(v.Value, '!'), client.WithContext(v.Context))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %q, %d concurrent value\n", v.Value, v.Siblings)
	// Output:
	// read "hi", 2 concurrent values
	// wrote "hi!", 1 concurrent value
}

// A lock on a strong key (meridiand --strong lock:): take it only if no one
// holds it, let it lapse if its holder dies, and release it only if it is
// still yours.
func Example_lock() {
	_, srv := newFakeNode(nil) // stands in for a node at http://127.0.0.1:8080
	defer srv.Close()
	c := client.New(srv.URL)
	ctx := context.Background()

	if _, err := c.Put(ctx, "lock:report", []byte("worker-1"), client.NX(), client.WithTTL(30*time.Second)); err != nil {
		log.Fatal(err)
	}
	_, err := c.Put(ctx, "lock:report", []byte("worker-2"), client.NX(), client.WithTTL(30*time.Second))
	var e *client.Error
	if errors.As(err, &e) && errors.Is(err, client.ErrConditionFailed) {
		fmt.Printf("worker-2 waits: held by %s (version %d)\n", e.Current.Value, e.Current.Version)
	}
	released, err := c.DelIf(ctx, "lock:report", []byte("worker-2"))
	fmt.Println("worker-2 released it:", released, err)
	released, err = c.DelIf(ctx, "lock:report", []byte("worker-1"))
	fmt.Println("worker-1 released it:", released, err)
	// Output:
	// worker-2 waits: held by worker-1 (version 1)
	// worker-2 released it: false <nil>
	// worker-1 released it: true <nil>
}
