package region

import (
	"errors"
	"time"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/region/membership"
	kvsync "github.com/meridiankv/meridian/sync"
	"github.com/meridiankv/meridian/wire"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the node's Prometheus metrics, registered on the node's own
// registry (several nodes may share a process in tests).
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

var opNames = map[wire.OpKind]string{
	wire.OpGet: "get", wire.OpPut: "put", wire.OpDelete: "delete", wire.OpIncr: "incr",
	wire.OpAdd: "sadd", wire.OpRemove: "srem", wire.OpInspect: "inspect",
}

func newMetrics(reg *prometheus.Registry, n *Node) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meridian_requests_total",
			Help: "Client operations by operation, consistency level and result (ok, rejected, unavailable, timeout, wrong_type, error).",
		}, []string{"op", "level", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "meridian_request_duration_seconds",
			Help:    "Latency of client operations by operation and consistency level.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"op", "level"}),
	}
	reg.MustRegister(m.requests, m.latency, collector{n},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observe records an operation that took d.
func (m *metrics) observe(op wire.Op, d time.Duration, r kvsync.Response) {
	lvl := kvsync.DefaultLevel
	if op.Level != 0 {
		lvl = kvsync.Level(op.Level)
	}
	name := opNames[op.Kind]
	m.latency.WithLabelValues(name, lvl.String()).Observe(d.Seconds())
	m.requests.WithLabelValues(name, lvl.String(), result(r.Err)).Inc()
}

func result(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, kvsync.ErrRejected):
		return "rejected"
	case errors.Is(err, crdt.ErrWrongType):
		return "wrong_type"
	case errors.Is(err, kvsync.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, kvsync.ErrUnknownOutcome):
		return "timeout"
	}
	return "error"
}

// collector exports the state machine's counters and the cluster view at
// scrape time.
type collector struct{ n *Node }

var (
	descHints     = prometheus.NewDesc("meridian_hints_pending", "Hints this node holds for a replica that could not take a write.", []string{"target"}, nil)
	descOwnership = prometheus.NewDesc("meridian_ring_ownership", "Fraction of keys each member is primary for, in this node's ring.", []string{"member"}, nil)
	descUp        = prometheus.NewDesc("meridian_member_up", "1 when the failure detector sees the member alive.", []string{"member", "health", "status"}, nil)
	descTaken     = prometheus.NewDesc("meridian_states_taken_total", "States taken from other nodes, by the kind of message that carried them (write, hint, replay, handoff, repair; a node of an older build sends them all as write).", []string{"kind"}, nil)
)

// counters are the state machine's counters, exported as they are.
var counters = []struct {
	desc *prometheus.Desc
	get  func(kvsync.Stats) int64
}{
	{counter("meridian_writes_coordinated_total", "Writes this node coordinated."), func(s kvsync.Stats) int64 { return s.Coordinated }},
	{counter("meridian_requests_forwarded_total", "Requests forwarded to a key's coordinator."), func(s kvsync.Stats) int64 { return s.Forwarded }},
	{counter("meridian_replica_writes_total", "Writes merged from other nodes."), func(s kvsync.Stats) int64 { return s.ReplicaWrites }},
	{counter("meridian_read_repairs_total", "Stale replicas sent the merged state after a read."), func(s kvsync.Stats) int64 { return s.ReadRepairs }},
	{counter("meridian_request_timeouts_total", "Requests answered with a timeout."), func(s kvsync.Stats) int64 { return s.Timeouts }},
	{counter("meridian_hints_stored_total", "Hints written for unreachable replicas."), func(s kvsync.Stats) int64 { return s.HintsStored }},
	{counter("meridian_hints_replayed_total", "Hints replayed to their returning target."), func(s kvsync.Stats) int64 { return s.HintsSent }},
	{counter("meridian_hints_dropped_total", "Hints refused for lack of disk budget."), func(s kvsync.Stats) int64 { return s.HintsDropped }},
	{counter("meridian_handoff_pushed_total", "Keys pushed to all their new owners after a ring change."), func(s kvsync.Stats) int64 { return s.HandoffPushed }},
	{counter("meridian_handoff_dropped_total", "Keys handed off and then dropped here."), func(s kvsync.Stats) int64 { return s.HandedOff }},
	{counter("meridian_anti_entropy_exchanges_total", "Merkle-tree exchanges started."), func(s kvsync.Stats) int64 { return s.AE.Exchanges }},
	{counter("meridian_anti_entropy_in_sync_total", "Exchanges that found the trees equal."), func(s kvsync.Stats) int64 { return s.AE.InSync }},
	{counter("meridian_anti_entropy_segments_total", "Differing segments compared key by key."), func(s kvsync.Stats) int64 { return s.AE.Segments }},
	{counter("meridian_anti_entropy_repairs_total", "States shipped by anti-entropy to repair a peer."), func(s kvsync.Stats) int64 { return s.AE.KeysSent }},
	{counter("meridian_commit_errors_total", "Batches storage failed to commit."), func(s kvsync.Stats) int64 { return s.CommitErrors }},
	{counter("meridian_sloppy_writes_total", "Writes acknowledged with a fallback standing in for an owner that was down, or without first reading a quorum of owners: the guarantees of their level hold once hints are handed back."), func(s kvsync.Stats) int64 { return s.SloppyWrites }},
	{counter("meridian_actor_epochs_total", "New actor epochs taken while running (after dropping handed-off keys); each start without a clean shutdown takes one too."), func(s kvsync.Stats) int64 { return s.EpochBumps }},
}

func counter(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }

func (c collector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c collector) Collect(ch chan<- prometheus.Metric) {
	info, st := c.n.Cluster(), c.n.Stats()
	for _, m := range info.Members {
		ch <- prometheus.MustNewConstMetric(descHints, prometheus.GaugeValue, float64(m.HintsPending), m.ID)
		ch <- prometheus.MustNewConstMetric(descOwnership, prometheus.GaugeValue, m.Ownership, m.ID)
		up := 0.0
		if m.Health == membership.Alive {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up, m.ID, m.Health.String(), m.Status.String())
	}
	for _, x := range counters {
		ch <- prometheus.MustNewConstMetric(x.desc, prometheus.CounterValue, float64(x.get(st)))
	}
	tk := st.Taken
	for kind, v := range map[wire.MsgType]int64{wire.MsgWrite: tk.Writes, wire.MsgHint: tk.Hints, wire.MsgReplay: tk.Replays,
		wire.MsgHandoff: tk.Handoffs, wire.MsgRepair: tk.Repairs} {
		ch <- prometheus.MustNewConstMetric(descTaken, prometheus.CounterValue, float64(v), kind.String())
	}
}
