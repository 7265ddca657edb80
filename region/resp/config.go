package resp

import (
	"errors"
	"fmt"
	"net"
	"time"

	kvsync "github.com/meridiankv/meridian/sync"
)

// Config configures a Server. Start from DefaultConfig: a zero field means
// a default only where its comment says so, and Validate refuses the others.
type Config struct {
	// Addr is the TCP address to listen on, host:port. Port 0 picks a free
	// port (Server.Addr reports it). Required; the default is
	// "127.0.0.1:6379".
	Addr string

	// MaxRequestSize bounds one request in bytes, RESP framing included
	// (a SET of a 1 MiB value takes 1 MiB plus the key plus about 40 bytes).
	// A request that declares a larger size is refused from its length
	// prefix, before its body is read: the client gets "ERR Protocol error:
	// request larger than N bytes" and the connection is closed. It also
	// bounds the bytes of a pipeline buffered at once. Default 2 MiB; must be
	// at least 1 KiB.
	MaxRequestSize int

	// MaxArgs bounds the arguments of one request, the command name
	// included: the keys of one MGET or DEL, the members of one SADD. A
	// larger multibulk count is refused the same way. Default 10,001 (one
	// command name and the sync package's default MaxElements); must be at
	// least 3.
	MaxArgs int

	// MaxReplySize bounds one reply in bytes. A command whose reply would be
	// larger (an MGET of many large values, the SMEMBERS of a huge set) gets
	// "ERR reply larger than N bytes" instead; MGET stops reading once it
	// is reached. Default 64 MiB; must be at least MaxRequestSize, so that
	// whatever can be written can be read back.
	MaxReplySize int

	// MaxConns bounds the connections open at once. A connection beyond it
	// gets "ERR max number of clients reached" and is closed. Default
	// 10,000; must be positive.
	MaxConns int

	// IdleTimeout closes a connection that sends no byte for this long, or
	// does not take its replies for this long. Zero means never.
	// Default 5 minutes.
	IdleTimeout time.Duration

	// MaxPipeline bounds the requests of one pipeline read and run at once.
	// Consecutive requests of a pipeline none of which writes a key another
	// touches are issued to the Backend concurrently and answered in order;
	// 1 runs every request alone, one after another. Default 64; must be
	// positive.
	MaxPipeline int

	// ReadLevel and WriteLevel are the consistency levels a new connection
	// starts with, until it sends CONSISTENCY. Zero means the Backend's
	// default (kvsync.DefaultLevel), and the Op then carries Level 0.
	ReadLevel, WriteLevel kvsync.Level
}

// DefaultConfig returns the defaults, listening on the Redis port of the
// loopback interface.
func DefaultConfig() Config {
	return Config{
		Addr:           "127.0.0.1:6379",
		MaxRequestSize: 2 << 20,
		MaxArgs:        10_001,
		MaxReplySize:   64 << 20,
		MaxConns:       10_000,
		IdleTimeout:    5 * time.Minute,
		MaxPipeline:    64,
	}
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	check := func(bad bool, format string, args ...any) {
		if bad {
			errs = append(errs, fmt.Errorf("resp: "+format, args...))
		}
	}
	_, _, err := net.SplitHostPort(c.Addr)
	check(err != nil, "Config.Addr = %q: want host:port (%v)", c.Addr, err)
	check(c.MaxRequestSize < 1<<10, "Config.MaxRequestSize = %d: must be at least 1024 bytes", c.MaxRequestSize)
	check(c.MaxArgs < 3, "Config.MaxArgs = %d: must be at least 3 (SET key value)", c.MaxArgs)
	check(c.MaxReplySize < max(c.MaxRequestSize, 1<<10), "Config.MaxReplySize = %d: must be at least 1024 bytes and MaxRequestSize (%d)", c.MaxReplySize, c.MaxRequestSize)
	check(c.MaxConns < 1, "Config.MaxConns = %d: must be positive", c.MaxConns)
	check(c.IdleTimeout < 0, "Config.IdleTimeout = %s: must not be negative (zero means never)", c.IdleTimeout)
	check(c.MaxPipeline < 1, "Config.MaxPipeline = %d: must be positive (1 runs requests one at a time)", c.MaxPipeline)
	check(c.ReadLevel != 0 && !c.ReadLevel.Valid(), "Config.ReadLevel = %s: not a consistency level", c.ReadLevel)
	check(c.WriteLevel != 0 && !c.WriteLevel.Valid(), "Config.WriteLevel = %s: not a consistency level", c.WriteLevel)
	return errors.Join(errs...)
}
