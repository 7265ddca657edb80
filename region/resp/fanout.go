package resp

import (
	"sync"

	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// maxFanout bounds the Backend calls one multi-key command has in flight,
// and the responses it holds at once.
const maxFanout = 64

// read reads key at the connection's read level.
func (c *client) read(key []byte) kvsync.Response {
	return c.srv.backend.Do(c.ctx, wire.Op{Kind: wire.OpGet, Key: key, Level: uint8(c.readLevel)})
}

// write runs op at the connection's write level.
func (c *client) write(op wire.Op) kvsync.Response {
	op.Level = uint8(c.writeLevel)
	return c.srv.backend.Do(c.ctx, op)
}

// do runs op at the connection's level for its kind.
func (c *client) do(op wire.Op) kvsync.Response {
	if op.Kind == wire.OpGet {
		return c.read(op.Key)
	}
	return c.write(op)
}

// doAll runs ops maxFanout at a time, concurrently, and hands fn each
// response in order, a chunk's once the whole chunk is answered. It stops
// when fn returns false.
func (c *client) doAll(ops []wire.Op, fn func(i int, r kvsync.Response) bool) {
	resps := make([]kvsync.Response, min(len(ops), maxFanout))
	for base := 0; base < len(ops); base += maxFanout {
		chunk := ops[base:min(base+maxFanout, len(ops))]
		var wg sync.WaitGroup
		wg.Add(len(chunk) - 1)
		for i := 1; i < len(chunk); i++ {
			go c.doInto(&wg, &resps[i], chunk[i])
		}
		resps[0] = c.do(chunk[0])
		wg.Wait()
		for i := range chunk {
			if !fn(base+i, resps[i]) {
				return
			}
			resps[i] = kvsync.Response{} // hold no more than a chunk of states
		}
	}
}

func (c *client) doInto(wg *sync.WaitGroup, r *kvsync.Response, op wire.Op) {
	defer wg.Done()
	*r = c.do(op)
}

// reads returns an OpGet for each key.
func reads(keys [][]byte) []wire.Op {
	ops := make([]wire.Op, len(keys))
	for i, k := range keys {
		ops[i] = wire.Op{Kind: wire.OpGet, Key: k}
	}
	return ops
}

// distinct returns the distinct keys in their first order and, for each of
// keys, the index of its copy in that list.
func distinct(keys [][]byte) (uniq [][]byte, index []int) {
	index = make([]int, len(keys))
	if len(keys) == 1 {
		return keys, index
	}
	seen := make(map[string]int, len(keys))
	for i, k := range keys {
		u, ok := seen[string(k)]
		if !ok {
			u = len(uniq)
			seen[string(k)] = u
			uniq = append(uniq, k)
		}
		index[i] = u
	}
	return uniq, index
}
