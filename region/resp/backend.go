package resp

import (
	"context"

	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
)

// Backend is the node behind the endpoint. All its methods must be safe for
// concurrent use: the server calls them from every connection at once, and
// from several goroutines of one connection for pipelines and multi-key
// commands.
type Backend interface {
	// Do runs op and blocks until it is answered or ctx ends. ctx is the
	// connection's: Server.Close cancels it. A client that hangs up is
	// noticed at the connection's next read, once its requests in flight
	// are answered, so the Backend's own per-request timeout bounds them.
	//
	// The byte slices of op are never modified by the server, before or
	// after Do returns, so Do may keep them (for a write still in flight
	// when it answers with a timeout). The slice op.Elems is the op's own.
	//
	// For a write, Response.State is the key's state after it and
	// Response.Changed what it changed: members added by OpAdd or removed by
	// OpRemove, 1 if OpDelete removed a live value. For OpGet, State is the
	// merged state of the replicas read. Response.Err is nil or an error
	// the client sees as "ERR " plus its text, except that errors matching
	// crdt.ErrWrongType and crdt.ErrOverflow get Redis's own texts.
	Do(ctx context.Context, op wire.Op) kvsync.Response

	// Info returns the sections INFO prints after the server's own
	// ("server", "clients", "memory" and "stats", whose fields come first
	// when the Backend returns a section of the same name), such as
	// "cluster" and "replication". It is called once per INFO command.
	Info() []InfoSection
}

// InfoSection is one section of INFO's reply.
type InfoSection struct {
	// Name names the section in lower case, such as "replication". INFO
	// matches it case-insensitively and prints it as "# Replication".
	Name string
	// Fields are printed in order as "key:value" lines. Neither may hold a
	// line break; a key should not hold a colon.
	Fields []InfoField
}

// InfoField is one line of an InfoSection.
type InfoField struct {
	Key, Value string
}
