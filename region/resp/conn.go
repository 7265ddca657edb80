package resp

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	kvsync "github.com/meridiankv/meridian/sync"
)

// A connection refused for a bad request is drained for at most lingerTime
// and lingerBytes before it is closed, so that a client still writing the
// rest of an oversized request reads the error reply instead of a broken
// pipe or a connection reset. The bytes bound is not tied to the request
// size limit: a client refused for a request a few times over the limit
// (go-redis sending 1 MiB to a 64 KiB limit) must still get its error.
const (
	lingerTime  = time.Second
	lingerBytes = 64 << 20
)

// client is one connection. Its fields are owned by its serve goroutine;
// while a group of requests runs concurrently, they only read them.
type client struct {
	srv    *Server
	nc     net.Conn
	conn   net.Conn // nc, with the idle timeout applied if there is one
	id     int64
	ctx    context.Context
	cancel context.CancelFunc
	rd     *reader
	out    writer

	readLevel, writeLevel kvsync.Level // zero: the Backend's default
	name, libName, libVer string
	created, active       time.Time
	quit                  bool // QUIT was run: reply and close
	inMulti               bool // a MULTI was refused and no EXEC or DISCARD ended it: refuse the rest (multi.go)

	batch []request
	args  [][]byte // backing array of the batch's arguments
	bufs  []writer // replies of a group run concurrently
}

// request is one parsed request of a batch.
type request struct {
	args [][]byte
	cmd  *command // nil for an unknown command
}

func newClient(s *Server, nc net.Conn, id int64) *client {
	ctx, cancel := context.WithCancel(s.ctx)
	var conn net.Conn = nc
	if s.cfg.IdleTimeout > 0 {
		conn = idleConn{Conn: nc, timeout: s.cfg.IdleTimeout}
	}
	now := time.Now()
	return &client{
		srv: s, nc: nc, conn: conn, id: id, ctx: ctx, cancel: cancel,
		rd:        newReader(conn, s.cfg.MaxRequestSize, s.cfg.MaxArgs),
		readLevel: s.cfg.ReadLevel, writeLevel: s.cfg.WriteLevel,
		created: now, active: now,
	}
}

// serve reads, runs and answers batches of requests until the connection
// ends.
func (c *client) serve() {
	defer c.srv.drop(c)
	defer c.nc.Close()
	defer c.cancel()
	for {
		err := c.readBatch()
		c.active = time.Now()
		c.runBatch()
		perr, _ := err.(*protocolError) // never wrapped
		if perr != nil {
			c.srv.badReqs.Add(1)
			c.out.err("ERR " + perr.Error())
		}
		if err == nil && !c.quit && c.rd.buffered() && len(c.out.b) < maxUnflushed {
			continue // more of the pipeline is read: answer it in the same write
		}
		if c.flush() != nil || err != nil || c.quit {
			if perr != nil {
				c.linger()
			}
			return
		}
	}
}

// maxUnflushed bounds the replies kept before they are written while more
// requests of a pipeline are buffered.
const maxUnflushed = 64 << 10

// readBatch reads one request, then those already buffered behind it (a
// pipeline), up to MaxPipeline requests or MaxRequestSize bytes. An error
// comes with the requests read before it, which are still run.
func (c *client) readBatch() error {
	c.batch, c.args = c.batch[:0], c.args[:0]
	total := 0
	for {
		start := len(c.args)
		args, n, err := c.rd.read(c.args)
		if err != nil {
			c.args = args[:start]
			return err
		}
		c.args = args
		args = args[start:len(args):len(args)]
		c.batch = append(c.batch, request{args: args, cmd: lookup(args[0])})
		total += n
		if !c.rd.buffered() || len(c.batch) >= c.srv.cfg.MaxPipeline || total >= c.srv.cfg.MaxRequestSize {
			return nil
		}
	}
}

// runBatch runs the batch in order, group by group, appending the replies
// to c.out. After a refused MULTI it takes the requests one at a time:
// they are refused without reaching the Backend, and the EXEC or DISCARD
// that ends the refusal takes effect at its exact place in the batch,
// whatever groupEnd would group.
func (c *client) runBatch() {
	c.srv.commands.Add(int64(len(c.batch)))
	for i := 0; i < len(c.batch) && !c.quit; {
		j := i + 1
		if !c.inMulti {
			j = groupEnd(c.batch, i)
		}
		c.runGroup(c.batch[i:j])
		i = j
		if len(c.out.b) >= maxUnflushed && c.flush() != nil {
			c.quit = true // the connection is broken: stop
		}
	}
}

// runGroup runs requests that are independent of each other: alone, or
// each in its own goroutine, replying in order.
func (c *client) runGroup(g []request) {
	if len(g) == 1 {
		c.exec(&c.out, g[0])
		return
	}
	for len(c.bufs) < len(g) {
		c.bufs = append(c.bufs, writer{})
	}
	var wg sync.WaitGroup
	wg.Add(len(g) - 1)
	for k := 1; k < len(g); k++ {
		c.bufs[k].reset()
		go c.execDone(&wg, &c.bufs[k], g[k])
	}
	c.bufs[0].reset()
	c.exec(&c.bufs[0], g[0])
	wg.Wait()
	for k := range g {
		c.out.b = append(c.out.b, c.bufs[k].b...)
		if cap(c.bufs[k].b) > 4*readBufferSize {
			c.bufs[k].b = nil // do not keep a large reply's buffer
		}
	}
}

// exec runs one request, appending its reply to w. After a refused MULTI
// it refuses every request but those that run there (fInMulti).
func (c *client) exec(w *writer, r request) {
	switch {
	case c.inMulti && (r.cmd == nil || r.cmd.flags&fInMulti == 0):
		w.err(inRefusedMulti)
	case r.cmd == nil:
		w.err(unknownCommand(r.args))
	case !r.cmd.arityOK(len(r.args)):
		w.err(wrongArity(r.cmd.name))
	default:
		start := len(w.b)
		r.cmd.run(c, w, r.args)
		if len(w.b)-start > c.srv.cfg.MaxReplySize {
			w.b = w.b[:start]
			w.err(c.replyTooLarge())
		}
	}
}

// replyTooLarge returns the error that replaces a reply beyond MaxReplySize.
func (c *client) replyTooLarge() string {
	return fmt.Sprintf("ERR reply larger than %d bytes: ask for fewer keys or members", c.srv.cfg.MaxReplySize)
}

func (c *client) execDone(wg *sync.WaitGroup, w *writer, r request) {
	defer wg.Done()
	c.exec(w, r)
}

// flush writes the replies out.
func (c *client) flush() error {
	if len(c.out.b) == 0 {
		return nil
	}
	_, err := c.conn.Write(c.out.b)
	if cap(c.out.b) > 4*readBufferSize {
		c.out.b = nil // do not keep a large reply's buffer for an idle connection
	}
	c.out.reset()
	return err
}

// linger half-closes a connection refused for a bad request and discards
// what the client still sends, within lingerTime and lingerBytes, so that
// the client reads the error instead of a reset caused by unread data.
func (c *client) linger() {
	if tc, ok := c.nc.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.CopyN(io.Discard, c.nc, lingerBytes)
}
