package wire_test

import (
	"errors"
	"fmt"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/wire"
)

func Example() {
	var s crdt.State
	s.Put("eu-1", []byte("hello"), crdt.Timestamp{Wall: 1_767_225_600_000_000_000}, nil)

	b, err := wire.EncodeState(s)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d bytes: %x\n", len(b), b)
	fmt.Println(diag(b)) // [tag, version, [nodes, vector, cloud, registers, members, shares]]

	got, err := wire.DecodeState(b)
	if err != nil {
		panic(err)
	}
	fmt.Println("equal:", got.Equal(s))
	// Output:
	// 39 bytes: 83010186814465752d3181820001808183820001821b18867251edfa0000004568656c6c6f8080
	// [1, 1, [['eu-1'], [[0, 1]], [], [[[0, 1], [1767225600000000000, 0], 'hello']], [], []]]
	// equal: true
}

// ExamplePeek dispatches incoming bytes on their tag.
func ExamplePeek() {
	ctx, _ := wire.EncodeContext(crdt.NewContext([]crdt.Dot{{Node: "eu-1", Counter: 3}}, nil))
	for _, msg := range [][]byte{ctx, {0x83, 0x18, 0x63, 0x01, 0x80}} {
		switch tag, version, err := wire.Peek(msg); {
		case errors.Is(err, wire.ErrUnknownTag):
			fmt.Println("refused:", err)
		case err != nil:
			fmt.Println("bad input:", err)
		case tag == wire.TagContext:
			c, err := wire.DecodeContext(msg)
			fmt.Println(tag, version, c, err)
		}
	}
	// Output:
	// context 1 {eu-1:3} <nil>
	// refused: wire: unknown message tag 99: sent by a newer build?
}
