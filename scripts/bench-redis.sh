#!/usr/bin/env bash
# Compares a local 3-node Meridian region with a Redis server on the same
# machine, in the same run: redis-benchmark SET and GET, 50 clients, 100-byte
# values, 1M random keys, without pipelining and with -P 16, at consistency
# ONE and QUORUM. Prints throughput, p50 and p99, and the ratio to Redis.
#
#   make bench-redis            # REQUESTS=200000 by default
#
# Needs redis-server and redis-benchmark (apt-get install redis-server redis-tools).
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${REQUESTS:-200000}
NODES=${NODES:-3}
REDIS_IP=127.0.20.1
MERIDIAN_IP=127.0.9.1 # meridian dev --base 8: region 1 on 127.0.9.0/24
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  redis-cli -h $REDIS_IP shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

for tool in redis-server redis-benchmark redis-cli; do
  command -v $tool >/dev/null || { echo "bench-redis: $tool is missing: apt-get install redis-server redis-tools" >&2; exit 1; }
done
make -s build

# bench HOST P: prints "test rps p50 p99" lines
bench() {
  redis-benchmark -h "$1" -t set,get -c 50 -d 100 -r 1000000 -n "$REQUESTS" -P "$2" --csv |
    awk -F'"' 'NR>1 {print $2, $4, $10, $14}'
}

redis-server --bind $REDIS_IP --port 6379 --save '' --appendonly no --daemonize yes --logfile "$work/redis.log"
sleep 0.5
declare -A base
results="$work/results"
for p in 1 16; do
  while read -r test rps p50 p99; do
    base[$test-$p]=$rps
    echo "redis $test 1 $p $rps $p50 $p99" >>"$results"
  done < <(bench $REDIS_IP $p)
done
redis-cli -h $REDIS_IP shutdown nosave >/dev/null 2>&1 || true

for level in ONE QUORUM; do
  dir="$work/meridian-$level"
  ./bin/meridian dev --nodes "$NODES" --base 8 --dir "$dir" -- \
    --read-consistency $level --write-consistency $level >"$work/dev-$level.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 600); do
    grep -q "The cluster is up" "$work/dev-$level.log" && break
    sleep 0.1
  done
  grep -q "The cluster is up" "$work/dev-$level.log" || { cat "$work/dev-$level.log"; exit 1; }
  for p in 1 16; do
    while read -r test rps p50 p99; do
      echo "meridian-$level $test $NODES $p $rps $p50 $p99" >>"$results"
    done < <(bench $MERIDIAN_IP $p)
  done
  kill "${pids[-1]}"
  wait "${pids[-1]}" 2>/dev/null || true
done

printf "\n%-16s %-4s %-5s %-3s %12s %9s %9s %8s\n" SERVER TEST NODES P "REQUESTS/S" "P50 ms" "P99 ms" "RATIO"
while read -r server test nodes p rps p50 p99; do
  ratio=$(awk -v a="$rps" -v b="${base[$test-$p]}" 'BEGIN {printf "%.3f", a/b}')
  printf "%-16s %-4s %-5s %-3s %12s %9s %9s %8s\n" "$server" "$test" "$nodes" "$p" "$rps" "$p50" "$p99" "${ratio}x"
done <"$results"
