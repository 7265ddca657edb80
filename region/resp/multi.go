package resp

// How the endpoint refuses transactions is described in doc.go; the
// choices behind it:
//
//   - After MULTI, only EXEC, DISCARD, QUIT and MULTI itself run (fInMulti).
//     PING and HELLO are refused like the rest: Redis queues them and
//     answers them only inside EXEC's reply, which an aborted transaction
//     does not have, and a connection command (HELLO SETNAME, CLIENT,
//     CONSISTENCY, SELECT) must not change the connection as part of a
//     transaction that is not applied. QUIT closes the connection, as the
//     client asked, whatever state it is in. RESET is not a Meridian
//     command; inside, it is refused like any unknown command.
//   - A command is refused with the same text whether it is known or not,
//     so that a client reading its errors learns that nothing ran and why.
//   - go-redis reads only MULTI's reply when MULTI fails and returns that
//     error; its pool then finds the replies left unread and closes the
//     connection, so the next command is not answered with a stale reply.
//     redis-py reads every reply and raises MULTI's error.

// The replies of a refused transaction. Redis's own texts where it has one.
const (
	multiRefused = "ERR MULTI is not supported by Meridian: it has no MULTI/EXEC transactions; " +
		"the commands that follow are refused, none applied, until EXEC or DISCARD"
	inRefusedMulti = "ERR command refused, not applied: it follows a MULTI that Meridian refused (it has no transactions); " +
		"end it with EXEC or DISCARD, then send the command without MULTI"
	execAbort    = "EXECABORT Transaction discarded because of previous errors."
	execAlone    = "ERR EXEC without MULTI"
	discardAlone = "ERR DISCARD without MULTI"
	nestedMulti  = "ERR MULTI calls can not be nested"
	watchRefused = "ERR WATCH is not supported by Meridian: it has no optimistic transactions; " +
		"for a read-modify-write that loses no concurrent write, use the HTTP API with X-Meridian-Context"
	unwatchRefused = "ERR UNWATCH is not supported by Meridian: it has no WATCH, so no key is ever watched"
)

// cmdMulti refuses MULTI and makes the connection refuse what follows, or
// refuses a nested MULTI, which leaves the refusal as it is.
func cmdMulti(c *client, w *writer, args [][]byte) {
	if c.inMulti {
		w.err(nestedMulti)
		return
	}
	c.inMulti = true
	w.err(multiRefused)
}

// cmdExec ends the refusal with EXECABORT: nothing was applied.
func cmdExec(c *client, w *writer, args [][]byte) {
	if !c.inMulti {
		w.err(execAlone)
		return
	}
	c.inMulti = false
	w.err(execAbort)
}

// cmdDiscard ends the refusal with OK.
func cmdDiscard(c *client, w *writer, args [][]byte) {
	if !c.inMulti {
		w.err(discardAlone)
		return
	}
	c.inMulti = false
	w.status("OK")
}

// cmdWatch refuses WATCH; unlike MULTI, it leaves the connection as it was.
func cmdWatch(c *client, w *writer, args [][]byte) { w.err(watchRefused) }

// cmdUnwatch refuses UNWATCH.
func cmdUnwatch(c *client, w *writer, args [][]byte) { w.err(unwatchRefused) }
