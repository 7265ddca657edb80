#!/usr/bin/env bash
# Where a replicated write's CPU goes: starts a local 3-node region with
# Go's profiler on, drives it with redis-benchmark (50 clients, 100-byte
# values, 1M random keys, no pipelining), and prints the CPU each node spent
# per request, from /proc, and the share of badger, quic-go, system calls
# and the garbage collector in 5-second CPU profiles of all three nodes,
# which it keeps in PROFILES (default ./profiles) for `go tool pprof`.
#
#   make cpu-profile                        # LEVEL=QUORUM TEST=set REQUESTS=200000
#   LEVEL=ONE TEST=get make cpu-profile
#   COMPARE=a985821 make cpu-profile        # also an earlier build, alternately, in the same run
#
# With COMPARE=<git revision>, that revision is built in a temporary
# worktree and both builds are measured twice, alternately (earlier, this,
# earlier, this), so that their ratio comes from one run on a noisy machine.
#
# Needs redis-benchmark (apt-get install redis-tools).
set -euo pipefail
cd "$(dirname "$0")/.."
LEVEL=${LEVEL:-QUORUM}
TEST=${TEST:-set}
REQUESTS=${REQUESTS:-200000}
PROFILES=${PROFILES:-profiles}
command -v redis-benchmark >/dev/null || { echo "cpu-per-write: redis-benchmark is missing: apt-get install redis-tools" >&2; exit 1; }
make -s build
mkdir -p "$PROFILES"
work=$(mktemp -d)
dev=""
tree=""
cleanup() {
  [ -n "$dev" ] && kill "$dev" 2>/dev/null && wait "$dev" 2>/dev/null || true
  [ -n "$tree" ] && git worktree remove --force "$tree" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${COMPARE:-}" ]; then
  tree="$work/compare"
  git worktree add --detach "$tree" "$COMPARE" >/dev/null
  (cd "$tree" && go build -o "$work/compare-bin/" ./cmd/...)
  for bin in "$work/compare-bin" bin "$work/compare-bin" bin; do
    label="this build ($(git rev-parse --short HEAD), uncommitted changes included)"
    [ "$bin" = bin ] || label="$COMPARE"
    echo "== $label"
    BIN="$bin" PROFILES="$PROFILES" COMPARE= "$0"
  done
  exit 0
fi
BIN=${BIN:-bin}

"$BIN/meridian" dev --nodes 3 --base 8 --dir "$work/dev" -- \
  --read-consistency "$LEVEL" --write-consistency "$LEVEL" --pprof :6060 >"$work/dev.log" 2>&1 &
dev=$!
for _ in $(seq 1 600); do grep -q "The cluster is up" "$work/dev.log" && break; sleep 0.1; done
grep -q "The cluster is up" "$work/dev.log" || { cat "$work/dev.log"; exit 1; }
pids=$(grep -o '"pid": [0-9]*' "$work/dev/cluster.json" | awk '{print $2}')
ticks() { for p in $pids; do awk '{print $14 + $15}' "/proc/$p/stat"; done; }

# Profile 5 seconds of the steady load, after it has run for 3.
(sleep 3; for i in 1 2 3; do
  curl -s -o "$PROFILES/cpu$i.prof" "http://127.0.9.$i:6060/debug/pprof/profile?seconds=5" &
done; wait) &
prof=$!
before=($(ticks))
redis-benchmark -h 127.0.9.1 -t "$TEST" -c 50 -d 100 -r 1000000 -n "$REQUESTS" --csv |
  awk -F'"' 'NR > 1 {printf "%s at %s: %s requests/s, p50 %s ms, p99 %s ms\n", $2, level, $4, $10, $14}' level="$LEVEL"
after=($(ticks))
wait "$prof"

hz=$(getconf CLK_TCK)
total=0
for i in 0 1 2; do
  us=$(awk -v a="${before[$i]}" -v b="${after[$i]}" -v hz="$hz" -v n="$REQUESTS" 'BEGIN {printf "%.1f", (b - a) / hz * 1e6 / n}')
  echo "node $((i + 1)): ${us} us of CPU per request"
  total=$(awk -v t="$total" -v u="$us" 'BEGIN {print t + u}')
done
echo "region: ${total} us of CPU per request"

share() {
  go tool pprof -top -focus="$1" "$BIN/meridiand" "$PROFILES"/cpu{1,2,3}.prof 2>/dev/null |
    sed -n 's/^Showing nodes accounting for [0-9.a-z]*, \([0-9.]*%\) of.*/\1/p' | head -1
}
echo "share of the profiled CPU:"
echo "  badger                  $(share 'dgraph-io')"
echo "  quic-go                 $(share 'quic-go')"
echo "  system calls            $(share 'internal/poll|syscall\.')"
echo "  badger+quic-go+syscalls $(share 'dgraph-io|quic-go|internal/poll|syscall\.')"
echo "  garbage collection      $(share 'gcBgMarkWorker')"
echo "  allocation              $(share 'runtime.mallocgc')"
echo "profiles: $PROFILES/cpu{1,2,3}.prof (go tool pprof -top bin/meridiand $PROFILES/cpu1.prof)"
