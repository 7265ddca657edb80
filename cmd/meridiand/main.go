// Command meridiand runs one Meridian node. See `meridiand -h` and the
// README for every flag; `meridian dev` starts a local cluster of them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/meridiankv/meridian/region"
	"github.com/meridiankv/meridian/storage"
	kvsync "github.com/meridiankv/meridian/sync"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "meridiand:", err)
		}
		os.Exit(2)
	}
}

// run parses flags, starts the node and serves until SIGINT or SIGTERM;
// SIGHUP reloads the gossip keys.
func run(args []string, stderr io.Writer) error {
	cfg, opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: opts.logLevel}))
	cfg.Logger = logger
	if opts.memoryLimit > 0 {
		debug.SetMemoryLimit(opts.memoryLimit)
	}
	node, err := region.Start(cfg)
	if err != nil {
		return err
	}
	if addr := opts.pprof; addr != "" {
		if strings.HasPrefix(addr, ":") { // ":6060": on the node's own IP, so a dev cluster can share one flag
			host, _, _ := net.SplitHostPort(cfg.HTTPAddr)
			addr = net.JoinHostPort(host, addr[1:])
		}
		// net/http/pprof registers on http.DefaultServeMux.
		go func() { logger.Warn("pprof listener stopped", "err", http.ListenAndServe(addr, nil)) }()
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	sig := <-sigs
	for sig == syscall.SIGHUP { // reload the gossip keys: a key rotation step
		if err := node.ReloadGossipKeys(); err != nil {
			logger.Error("SIGHUP: the gossip keys were not reloaded; the node keeps the keys it had", "err", err)
		}
		sig = <-sigs
	}
	signal.Stop(sigs)
	if sig == syscall.SIGTERM && opts.leaveOnTerm {
		logger.Info("SIGTERM: leaving the region before exiting")
		ctx, cancel := context.WithTimeout(context.Background(), opts.leaveTimeout)
		err := node.Leave(ctx)
		cancel()
		if err != nil {
			logger.Error("leave did not complete; the node stays a member and keeps its data", "err", err)
		}
	}
	logger.Info("stopping", "signal", sig.String())
	return node.Close()
}

type options struct {
	pprof        string
	memoryLimit  int64
	leaveOnTerm  bool
	leaveTimeout time.Duration
	logLevel     slog.Level
}

func parseFlags(args []string, stderr io.Writer) (region.Config, options, error) {
	host, _ := os.Hostname()
	cfg := region.DefaultConfig(host)
	var o options
	fs := flag.NewFlagSet("meridiand", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: meridiand --id ID --data DIR --tls-dir DIR [flags]\n\nRuns one Meridian node. Flags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.ID, "id", cfg.ID, "node id, unique in the region")
	fs.StringVar(&cfg.Region, "region", cfg.Region, "region name")
	fs.StringVar(&cfg.DataDir, "data", "", "data directory (required)")
	fs.StringVar(&cfg.TLSDir, "tls-dir", "", "directory with ca.crt, ID.crt and ID.key for mutual TLS between nodes (required; meridian dev makes them)")
	fs.StringVar(&cfg.GossipKeyFile, "gossip-key", "", "file with the cluster's gossip keys, base64, one per line, the first one used to encrypt (default TLS-DIR/gossip.key; meridian dev makes it, `meridian gossip-key` prints a new key; SIGHUP reloads it)")
	fs.StringVar(&cfg.RESPAddr, "resp", cfg.RESPAddr, "Redis-protocol listen address")
	fs.StringVar(&cfg.HTTPAddr, "http", cfg.HTTPAddr, "HTTP/JSON listen address")
	fs.StringVar(&cfg.PeerAddr, "peer", cfg.PeerAddr, "QUIC listen address for node-to-node traffic (outgoing traffic leaves from its IP)")
	fs.StringVar(&cfg.GossipAddr, "gossip", cfg.GossipAddr, "memberlist gossip listen address (UDP and TCP)")
	join := fs.String("join", "", "comma-separated gossip addresses of nodes already in the region (empty: a new region, or a restart)")
	wanJoin := fs.String("wan-join", "", "comma-separated peer (QUIC) addresses of nodes of other regions, to join their cluster (empty: only the regions this region already knows)")
	fs.DurationVar(&cfg.WANDelay, "wan-delay", cfg.WANDelay, "delay every message to another region by this much, one way (demos and tests on one machine)")
	fs.DurationVar(&cfg.WANJitter, "wan-jitter", cfg.WANJitter, "add up to this much random delay to --wan-delay")
	fs.Int64Var(&cfg.MaxOutboxBytes, "max-outbox-bytes", cfg.MaxOutboxBytes, "disk kept for writes owed to a region that cannot be reached; beyond it they are dropped and anti-entropy repairs the region after the heal")
	strong := fs.String("strong", "", "strong keys, decided by consensus: comma-separated PREFIX=local:REGION (its home region; LOCAL_SERIAL) or PREFIX=global (every region, at least 3; SERIAL); PREFIX alone is local to the region named local. The same on every node")
	fs.IntVar(&cfg.Replicas, "replicas", cfg.Replicas, "copies of each key (N)")
	fs.IntVar(&cfg.VNodes, "vnodes", cfg.VNodes, "virtual nodes: this node's weight in the ring")
	syncMode := fs.String("sync", "batched", "when writes reach the disk: always (fsync every commit before acknowledging) or batched (fsync every --sync-interval; a crash of the process loses nothing, a power loss up to one interval)")
	fs.DurationVar(&cfg.SyncInterval, "sync-interval", cfg.SyncInterval, "fsync period under --sync batched")
	readLevel := fs.String("read-consistency", "LOCAL_QUORUM", "consistency of reads that do not choose one: LOCAL_ONE, LOCAL_QUORUM (this region), ONE, QUORUM, EACH_QUORUM, ALL (every region)")
	writeLevel := fs.String("write-consistency", "LOCAL_QUORUM", "consistency of writes that do not choose one")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", cfg.RequestTimeout, "how long a coordinator waits for replicas")
	fs.DurationVar(&cfg.ReadRetryAfter, "read-retry-after", cfg.ReadRetryAfter, "how long a read waits for the replicas its level needs before it asks the others too")
	fs.IntVar(&cfg.MaxKeySize, "max-key-size", cfg.MaxKeySize, "largest key, bytes")
	fs.IntVar(&cfg.MaxValueSize, "max-value-size", cfg.MaxValueSize, "largest value or set member, bytes")
	fs.DurationVar(&cfg.AntiEntropyInterval, "anti-entropy-interval", cfg.AntiEntropyInterval, "how often to compare Merkle trees with a peer (0 disables)")
	fs.Int64Var(&cfg.MaxHintBytes, "max-hint-bytes", cfg.MaxHintBytes, "disk budget for hints kept for unreachable replicas")
	fs.DurationVar(&cfg.RegionAntiEntropyInterval, "region-anti-entropy-interval", cfg.RegionAntiEntropyInterval, "how often to compare Merkle trees with a node of another region, besides right after a link comes back (0 disables; needs --anti-entropy-interval above 0)")
	fs.DurationVar(&cfg.ProbeInterval, "probe-interval", cfg.ProbeInterval, "failure-detection probe period")
	fs.DurationVar(&cfg.ProbeTimeout, "probe-timeout", cfg.ProbeTimeout, "failure-detection probe timeout")
	fs.IntVar(&cfg.SuspicionMult, "suspicion-mult", cfg.SuspicionMult, "suspicion timeout = mult x log10(nodes) x probe interval; a node is routed around once declared dead")
	fs.DurationVar(&cfg.DeadTimeout, "dead-timeout", cfg.DeadTimeout, "remove a node dead this long for good and re-replicate its ranges, while more than half of the region is alive here (0: only on 'meridian node remove')")
	fs.BoolVar(&o.leaveOnTerm, "leave-on-term", false, "on SIGTERM, hand all data off and leave the region before exiting")
	fs.DurationVar(&o.leaveTimeout, "leave-timeout", 10*time.Minute, "how long --leave-on-term may take")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	fs.Int64Var(&o.memoryLimit, "memory-limit", 1<<30, "soft limit of the Go heap in bytes (GOMEMLIMIT): the garbage collector works harder near it (0: none)")
	fs.StringVar(&o.pprof, "pprof", "", "serve Go's profiler (net/http/pprof) on this address, such as 127.0.0.1:6060, or :6060 for the --http host (empty: off)")
	if err := fs.Parse(args); err != nil {
		return cfg, o, err
	}
	if fs.NArg() > 0 {
		return cfg, o, fmt.Errorf("unexpected argument %q: every setting is a flag (see meridiand -h)", fs.Arg(0))
	}
	var errs []error
	if *join != "" {
		cfg.Join = strings.Split(*join, ",")
	}
	if *wanJoin != "" {
		cfg.WANJoin = strings.Split(*wanJoin, ",")
	}
	if decl, err := kvsync.ParseDeclaration(*strong); err != nil {
		errs = append(errs, fmt.Errorf("--strong %q: %w", *strong, err))
	} else {
		cfg.Strong = decl
	}
	for _, l := range []struct {
		flag, value string
		dst         *kvsync.Level
	}{{"read-consistency", *readLevel, &cfg.ReadLevel}, {"write-consistency", *writeLevel, &cfg.WriteLevel}} {
		if lvl, err := kvsync.ParseLevel(l.value); err == nil {
			*l.dst = lvl
		} else {
			errs = append(errs, fmt.Errorf("--%s %q: use ONE, QUORUM, ALL, LOCAL_ONE, LOCAL_QUORUM or EACH_QUORUM", l.flag, l.value))
		}
	}
	switch *syncMode {
	case "always":
		cfg.Sync = storage.SyncAlways
	case "batched":
		cfg.Sync = storage.SyncBatched
	default:
		errs = append(errs, fmt.Errorf("--sync %q: use always or batched", *syncMode))
	}
	if err := o.logLevel.UnmarshalText([]byte(*level)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level %q: use debug, info, warn or error", *level))
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return cfg, o, fmt.Errorf("bad flags (see meridiand -h):\n%w", errors.Join(errs...))
	}
	return cfg, o, nil
}
