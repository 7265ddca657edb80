package resp

import (
	"strconv"
	"strings"
)

// writer appends RESP2 replies to a buffer.
type writer struct{ b []byte }

func (w *writer) reset() { w.b = w.b[:0] }

// status appends a simple string reply, "+OK".
func (w *writer) status(s string) {
	w.b = append(w.b, '+')
	w.b = appendLine(w.b, s)
	w.b = append(w.b, '\r', '\n')
}

// err appends an error reply. msg starts with its code ("ERR", "WRONGTYPE");
// line breaks in it become spaces.
func (w *writer) err(msg string) {
	w.b = append(w.b, '-')
	w.b = appendLine(w.b, msg)
	w.b = append(w.b, '\r', '\n')
}

// int appends an integer reply.
func (w *writer) int(n int64) {
	w.b = append(w.b, ':')
	w.b = strconv.AppendInt(w.b, n, 10)
	w.b = append(w.b, '\r', '\n')
}

// bulk appends a bulk string reply.
func (w *writer) bulk(p []byte) {
	w.b = append(w.b, '$')
	w.b = strconv.AppendInt(w.b, int64(len(p)), 10)
	w.b = append(w.b, '\r', '\n')
	w.b = append(w.b, p...)
	w.b = append(w.b, '\r', '\n')
}

// bulkString appends a bulk string reply.
func (w *writer) bulkString(s string) {
	w.b = append(w.b, '$')
	w.b = strconv.AppendInt(w.b, int64(len(s)), 10)
	w.b = append(w.b, '\r', '\n')
	w.b = append(w.b, s...)
	w.b = append(w.b, '\r', '\n')
}

// bulkInt appends n as a bulk string, the way GET returns a counter.
func (w *writer) bulkInt(n int64) {
	var buf [20]byte
	w.bulk(strconv.AppendInt(buf[:0], n, 10))
}

// null appends the null bulk string, "$-1".
func (w *writer) null() { w.b = append(w.b, "$-1\r\n"...) }

// array appends the header of an array of n elements.
func (w *writer) array(n int) {
	w.b = append(w.b, '*')
	w.b = strconv.AppendInt(w.b, int64(n), 10)
	w.b = append(w.b, '\r', '\n')
}

// appendLine appends s with CR and LF replaced by spaces, so that a status
// or error reply stays on one line.
func appendLine(b []byte, s string) []byte {
	if !strings.ContainsAny(s, "\r\n") {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}
