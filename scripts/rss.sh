#!/usr/bin/env bash
# Loads a local 3-node region with distinct keys (100-byte values, at
# QUORUM, through redis-cli --pipe) and prints each node's resident memory
# after 1M and after 5M keys (KEYS="1000000 5000000"), to show that a node's
# memory is bounded by its caches, not by the number of keys.
#
#   make rss
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${KEYS:-"1000000 5000000"}
work=$(mktemp -d)
dev=""
cleanup() {
  [ -n "$dev" ] && kill "$dev" 2>/dev/null && wait "$dev" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
command -v redis-cli >/dev/null || { echo "rss: redis-cli is missing: apt-get install redis-tools" >&2; exit 1; }
make -s build
./bin/meridian dev --nodes 3 --base 8 --dir "$work/dev" >"$work/dev.log" 2>&1 &
dev=$!
for _ in $(seq 1 600); do grep -q "The cluster is up" "$work/dev.log" && break; sleep 0.1; done
grep -q "The cluster is up" "$work/dev.log" || { cat "$work/dev.log"; exit 1; }
pids=$(grep -o '"pid": [0-9]*' "$work/dev/cluster.json" | awk '{print $2}')
value=$(head -c 100 /dev/zero | tr '\0' 'v')
loaded=0
for target in $KEYS; do
  start=$(date +%s)
  # RESP for SET key:i value, i in [loaded, target)
  awk -v from="$loaded" -v to="$target" -v v="$value" 'BEGIN {
    for (i = from; i < to; i++) { k = "key:" i; printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v }
  }' | redis-cli -h 127.0.9.1 --pipe --pipe-timeout 120 | tail -1
  loaded=$target
  echo "loaded $target keys in $(( $(date +%s) - start ))s; measuring after 30s of quiet"
  sleep 30
  i=0
  for pid in $pids; do
    i=$((i + 1))
    rss=$(awk '/VmRSS/ {print $2}' /proc/"$pid"/status)
    anon=$(awk '/RssAnon/ {print $2}' /proc/"$pid"/status)
    file=$(awk '/RssFile/ {print $2}' /proc/"$pid"/status)
    heap=$(curl -s "http://127.0.9.$i:8080/metrics" | awk '/^go_memstats_heap_inuse_bytes/ {printf "%d", $2/1048576}')
    disk=$(du -sm "$(tr '\0' '\n' </proc/"$pid"/cmdline | awk 'prev=="--data" {print} {prev=$0}')" | cut -f1)
    printf "  node %d: RSS %5d MiB (anonymous %5d, mapped files %5d), Go heap in use %5s MiB, data on disk %5d MiB\n" \
      "$i" $((rss / 1024)) $((anon / 1024)) $((file / 1024)) "$heap" "$disk"
  done
done
