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
	{counter("meridian_strong_rounds_total", "Consensus rounds on strong keys decided by this node as proposer."), func(s kvsync.Stats) int64 { return s.Strong.Rounds }},
	{counter("meridian_strong_fast_rounds_total", "Of the rounds decided here, those decided with an accept alone (the next prepare rode on the previous accept)."), func(s kvsync.Stats) int64 { return s.Strong.FastPath }},
	{counter("meridian_strong_operations_total", "Operations on strong keys the rounds decided here decided (several per round under load)."), func(s kvsync.Stats) int64 { return s.Strong.Ops }},
	{counter("meridian_strong_lost_attempts_total", "Rounds given up on and tried again: a higher ballot (contention), refusals, or acceptors silent past the attempt's timeout."), func(s kvsync.Stats) int64 { return s.Strong.Lost }},
	{counter("meridian_strong_promised_total", "Prepares this node promised as an acceptor of strong keys."), func(s kvsync.Stats) int64 { return s.Strong.Promised }},
	{counter("meridian_strong_accepted_total", "Accepts this node took as an acceptor of strong keys."), func(s kvsync.Stats) int64 { return s.Strong.Accepted }},
	{counter("meridian_strong_refusals_total", "Prepares and accepts this node refused as an acceptor: a higher ballot promised, views or declarations that differ, keys not settled yet."), func(s kvsync.Stats) int64 { return s.Strong.Refusals }},
	{counter("meridian_strong_settled_total", "Strong keys this node settled before completing a ring change, or after gaining them in one."), func(s kvsync.Stats) int64 { return s.Settled }},
	{counter("meridian_sloppy_writes_total", "Writes acknowledged with a fallback standing in for an owner that was down, or without first reading a quorum of owners: the guarantees of their level hold once hints are handed back."), func(s kvsync.Stats) int64 { return s.SloppyWrites }},
	{counter("meridian_actor_epochs_total", "New actor epochs taken while running (after dropping handed-off keys); each start without a clean shutdown takes one too."), func(s kvsync.Stats) int64 { return s.EpochBumps }},
}

func counter(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }

// The replication from this node's region (label from) to each other
// region (label to).
func regionPair(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, []string{"from", "to"}, nil)
}

var (
	descRegionUp           = regionPair("meridian_region_link_up", "1 when the other region answered this node lately, 0 when its link is down.")
	descRegionLag          = regionPair("meridian_region_lag_seconds", "Age of the oldest write this node owes the region and it has not acknowledged; 0 when none.")
	descRegionPending      = regionPair("meridian_region_pending_deltas", "Writes this node owes the region.")
	descRegionPendingBytes = regionPair("meridian_region_pending_bytes", "Bytes of the writes this node owes the region, estimated from the outbox's mean.")
	descRegionShipped      = regionPair("meridian_region_shipped_deltas_total", "Writes the region took from this node.")
	descRegionShippedBytes = regionPair("meridian_region_shipped_bytes_total", "Bytes of keys and deltas the region took from this node.")
	descRegionResent       = regionPair("meridian_region_resent_batches_total", "Batches sent again after a timeout or a refusal.")
	descRegionDropped      = regionPair("meridian_region_dropped_deltas_total", "Writes given up on when the backlog for the region passed --max-outbox-bytes: anti-entropy repairs the region.")
	descShipsTaken         = counter("meridian_region_ships_taken_total", "Writes other regions shipped here that this node kept for its region's owners.")
	descShipsRefused       = counter("meridian_region_ships_refused_total", "Writes other regions shipped here that this node refused (its hint budget was full): they are sent again.")
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	prometheus.DescribeByCollect(c, ch)
	// The regions may be known only later: describe their metrics anyway.
	for _, d := range []*prometheus.Desc{descRegionUp, descRegionLag, descRegionPending, descRegionPendingBytes,
		descRegionShipped, descRegionShippedBytes, descRegionResent, descRegionDropped} {
		ch <- d
	}
}

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
	for name, rs := range st.Regions {
		up := 0.0
		if rs.Up {
			up = 1
		}
		for _, g := range []struct {
			d *prometheus.Desc
			t prometheus.ValueType
			v float64
		}{
			{descRegionUp, prometheus.GaugeValue, up},
			{descRegionLag, prometheus.GaugeValue, rs.Lag.Seconds()},
			{descRegionPending, prometheus.GaugeValue, float64(rs.Pending)},
			{descRegionPendingBytes, prometheus.GaugeValue, float64(rs.PendingBytes)},
			{descRegionShipped, prometheus.CounterValue, float64(rs.Shipped)},
			{descRegionShippedBytes, prometheus.CounterValue, float64(rs.ShippedBytes)},
			{descRegionResent, prometheus.CounterValue, float64(rs.Resent)},
			{descRegionDropped, prometheus.CounterValue, float64(rs.Dropped)},
		} {
			ch <- prometheus.MustNewConstMetric(g.d, g.t, g.v, c.n.cfg.Region, name)
		}
	}
	ch <- prometheus.MustNewConstMetric(descShipsTaken, prometheus.CounterValue, float64(st.ShipsTaken))
	ch <- prometheus.MustNewConstMetric(descShipsRefused, prometheus.CounterValue, float64(st.ShipsRefused))
	tk := st.Taken
	for kind, v := range map[wire.MsgType]int64{wire.MsgWrite: tk.Writes, wire.MsgHint: tk.Hints, wire.MsgReplay: tk.Replays,
		wire.MsgHandoff: tk.Handoffs, wire.MsgRepair: tk.Repairs} {
		ch <- prometheus.MustNewConstMetric(descTaken, prometheus.CounterValue, float64(v), kind.String())
	}
}
