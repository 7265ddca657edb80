package resp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// readBufferSize is the size of each connection's read buffer, and so the
// longest inline command and the longest RESP header line.
const readBufferSize = 16 << 10

// arenaChunk is the size of the blocks small arguments are carved from.
const arenaChunk = 4 << 10

// protocolError is a request the server refuses to read. The client gets
// "ERR Protocol error: " and the message, and the connection is closed,
// since what follows in the stream cannot be trusted to start a request.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return "Protocol error: " + e.msg }

func protoErrorf(format string, args ...any) error {
	return &protocolError{msg: fmt.Sprintf(format, args...)}
}

// reader reads RESP2 requests, multibulk or inline, refusing from its
// length prefixes any request larger than maxSize bytes or with more than
// maxArgs arguments before reading the request's body.
//
// Arguments are carved from arena blocks that are never reused once handed
// out, so a Backend may keep the bytes of an op after Do returns.
type reader struct {
	br      *bufio.Reader
	maxSize int
	maxArgs int
	arena   []byte
}

func newReader(r io.Reader, maxSize, maxArgs int) *reader {
	return &reader{br: bufio.NewReaderSize(r, readBufferSize), maxSize: maxSize, maxArgs: maxArgs}
}

// buffered reports whether bytes of a next request are already read.
func (r *reader) buffered() bool { return r.br.Buffered() > 0 }

// read appends the arguments of the next non-empty request to args and
// returns args and the request's size in bytes.
func (r *reader) read(args [][]byte) ([][]byte, int, error) {
	for {
		line, err := r.line()
		switch {
		case errors.Is(err, bufio.ErrBufferFull) && len(line) > 0 && line[0] == '*':
			return args, 0, protoErrorf("invalid multibulk length")
		case errors.Is(err, bufio.ErrBufferFull):
			return args, 0, protoErrorf("too big inline request")
		case err != nil:
			return args, 0, err
		}
		n := len(args)
		size := len(line) + 2
		switch {
		case len(line) > 0 && line[0] == '*':
			args, size, err = r.multibulk(line, args)
		case size > r.maxSize:
			return args, size, protoErrorf("request larger than %d bytes", r.maxSize)
		default:
			args, err = r.inline(line, args)
		}
		if err != nil || len(args) > n {
			return args, size, err
		}
	}
}

// multibulk reads the bulk strings announced by header, "*<count>".
func (r *reader) multibulk(header []byte, args [][]byte) ([][]byte, int, error) {
	size := len(header) + 2
	count, ok := parseLen(header[1:])
	switch {
	case !ok:
		return args, size, protoErrorf("invalid multibulk length")
	case count > int64(r.maxArgs):
		return args, size, protoErrorf("more than %d arguments in one request", r.maxArgs)
	}
	for i := int64(0); i < count; i++ {
		line, err := r.line()
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			return args, size, protoErrorf("invalid bulk length")
		case err != nil:
			return args, size, err
		case len(line) == 0 || line[0] != '$':
			got := "\\n"
			if len(line) > 0 {
				got = string(line[:1])
			}
			return args, size, protoErrorf("expected '$', got '%s'", got)
		}
		n, ok := parseLen(line[1:])
		if !ok || n < 0 {
			return args, size, protoErrorf("invalid bulk length")
		}
		size += len(line) + 2
		if n > int64(r.maxSize-size-2) {
			return args, size, protoErrorf("request larger than %d bytes", r.maxSize)
		}
		size += int(n) + 2
		arg, err := r.bulk(int(n))
		if err != nil {
			return args, size, err
		}
		args = append(args, arg)
	}
	return args, size, nil
}

// bulk reads n bytes and the CRLF after them.
func (r *reader) bulk(n int) ([]byte, error) {
	b := r.alloc(n)
	if _, err := io.ReadFull(r.br, b); err != nil {
		return nil, unexpected(err)
	}
	for _, want := range []byte("\r\n") {
		if c, err := r.br.ReadByte(); err != nil {
			return nil, unexpected(err)
		} else if c != want {
			return nil, protoErrorf("bulk string not followed by CRLF")
		}
	}
	return b, nil
}

// line returns the next line without its line ending. It is valid until
// the next read.
func (r *reader) line() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err != nil {
		return line, err
	}
	line = line[:len(line)-1]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, nil
}

// alloc returns n bytes no other argument shares.
func (r *reader) alloc(n int) []byte {
	if n > arenaChunk/4 {
		return make([]byte, n)
	}
	if len(r.arena)+n > cap(r.arena) {
		r.arena = make([]byte, 0, arenaChunk)
	}
	end := len(r.arena) + n
	b := r.arena[len(r.arena):end:end]
	r.arena = r.arena[:end]
	return b
}

// unexpected turns the end of the stream inside a request into
// io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseLen parses a RESP length: an optional minus sign and at most 18
// digits, so that it cannot overflow.
func parseLen(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// inline splits an inline command the way redis-cli and Redis do
// (sdssplitargs): arguments separated by blanks, "double quotes" with
// backslash escapes (\n \r \t \b \a \\ \" \xHH), 'single quotes' with \' only.
func (r *reader) inline(line []byte, args [][]byte) ([][]byte, error) {
	first := len(args)
	for i := 0; ; {
		for i < len(line) && isBlank(line[i]) {
			i++
		}
		if i == len(line) {
			return args, nil
		}
		var arg []byte
		var err error
		arg, i, err = inlineArg(line, i)
		if err != nil {
			return args, err
		}
		if len(args)-first >= r.maxArgs {
			return args, protoErrorf("more than %d arguments in one request", r.maxArgs)
		}
		b := r.alloc(len(arg))
		copy(b, arg)
		args = append(args, b)
	}
}

// inlineArg returns the argument starting at line[i] and the index after it.
func inlineArg(line []byte, i int) ([]byte, int, error) {
	var arg []byte
	var quote byte
	for ; i < len(line); i++ {
		c := line[i]
		switch {
		case quote == 0 && isBlank(c):
			return arg, i, nil
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		case quote == 0:
			arg = append(arg, c)
		case c == quote:
			if i+1 < len(line) && !isBlank(line[i+1]) {
				return nil, i, protoErrorf("unbalanced quotes in request")
			}
			return arg, i + 1, nil
		case c == '\\' && quote == '\'' && i+1 < len(line) && line[i+1] == '\'':
			arg, i = append(arg, '\''), i+1
		case c == '\\' && quote == '"' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]):
			arg, i = append(arg, unhex(line[i+2])<<4|unhex(line[i+3])), i+3
		case c == '\\' && quote == '"' && i+1 < len(line):
			arg, i = append(arg, unescape(line[i+1])), i+1
		default:
			arg = append(arg, c)
		}
	}
	if quote != 0 {
		return nil, i, protoErrorf("unbalanced quotes in request")
	}
	return arg, i, nil
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0 }

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	}
	return c
}
