package client_test

import (
	"context"
	"fmt"
	"log"

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
