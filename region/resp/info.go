package resp

import (
	"net"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"time"
)

// cmdInfo: INFO [section ...]. With no section, or "default", "all" or
// "everything", every section; an unknown section gives an empty reply.
func cmdInfo(c *client, w *writer, args [][]byte) {
	want := make([]string, 0, len(args)-1)
	for _, a := range args[1:] {
		want = append(want, strings.ToLower(string(a)))
	}
	all := len(want) == 0 || slices.ContainsFunc(want, func(s string) bool {
		return s == "default" || s == "all" || s == "everything"
	})
	var b strings.Builder
	for _, sec := range mergeSections(c.srv.info(), c.srv.backend.Info()) {
		if !all && !slices.Contains(want, strings.ToLower(sec.Name)) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("# " + title(sec.Name) + "\r\n")
		for _, f := range sec.Fields {
			b.WriteString(f.Key + ":" + f.Value + "\r\n")
		}
	}
	w.bulkString(b.String())
}

// info returns the server's own sections.
func (s *Server) info() []InfoSection {
	st := s.Stats()
	_, port, _ := net.SplitHostPort(s.Addr())
	up := int64(time.Since(s.started).Seconds())
	i := strconv.FormatInt
	return []InfoSection{
		{Name: "server", Fields: []InfoField{
			{"redis_version", redisVersion},
			{"redis_mode", "standalone"},
			{"server_name", "meridian"},
			{"tcp_port", port},
			{"uptime_in_seconds", i(up, 10)},
			{"uptime_in_days", i(up/86400, 10)},
		}},
		{Name: "clients", Fields: []InfoField{
			{"connected_clients", i(st.Conns, 10)},
			{"blocked_clients", "0"},
			{"maxclients", strconv.Itoa(s.cfg.MaxConns)},
		}},
		{Name: "memory", Fields: []InfoField{
			{"used_memory", strconv.FormatUint(memoryInUse(), 10)},
		}},
		{Name: "stats", Fields: []InfoField{
			{"total_connections_received", i(st.Accepted, 10)},
			{"total_commands_processed", i(st.Commands, 10)},
			{"rejected_connections", i(st.Rejected, 10)},
			{"protocol_errors", i(st.ProtocolErrors, 10)},
		}},
	}
}

// memoryInUse returns the bytes of memory the Go runtime holds for the
// process, which redis-cli --stat shows as used_memory.
func memoryInUse() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return sample[0].Value.Uint64()
}

// mergeSections appends the Backend's sections to the server's, adding the
// fields of a section both have to the server's one.
func mergeSections(own, more []InfoSection) []InfoSection {
	for _, m := range more {
		i := slices.IndexFunc(own, func(s InfoSection) bool { return strings.EqualFold(s.Name, m.Name) })
		if i < 0 {
			own = append(own, m)
			continue
		}
		own[i].Fields = append(own[i].Fields, m.Fields...)
	}
	return own
}

// title capitalises a section's name, "replication" to "Replication".
func title(name string) string {
	if name == "" {
		return name
	}
	return strings.ToUpper(name[:1]) + name[1:]
}
