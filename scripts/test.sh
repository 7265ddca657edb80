#!/usr/bin/env bash
# make test: every package's tests under the race detector, each package
# within a time budget of its own, so that `make test` stays under 15
# minutes on a 2-core machine as the packages grow. A budget is go test's
# -timeout, which applies to each package's test binary: a package that
# overruns fails with a stack dump of where it was.
#
# The simulator runs twice: 20 seeds under the race detector, and SEEDS
# (default 300) seeds without it, spread over the cores; both with strong
# keys beside the eventual ones (-global: homed ones, and global ones in
# runs of three regions). It is one
# goroutine per seed, so the race detector has nothing to find in a run;
# it would only make the 300 seeds five times slower.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
SEEDS=${SEEDS:-300}

# Budgets, per package; the others get $default. Measured here (2 cores,
# under -race, with other work running) at about a third of these.
default=2m
declare -A budget=(
  [./crdt]=3m
  [./ring]=3m
  [./sync]=4m
  [./wire]=4m
  [./storage]=3m
  [./region/devcluster]=6m
)
sim_budget=5m

declare -A groups=()
for pkg in $($GO list ./... | sed "s|^github.com/meridiankv/meridian|.|; s|^\.$|./|"); do
  [ "$pkg" = ./simulations ] && continue
  b=${budget[$pkg]:-$default}
  groups[$b]+=" $pkg"
done
status=0
for b in $(printf '%s\n' "${!groups[@]}" | sort); do
  echo "== go test -race -timeout $b:${groups[$b]}"
  $GO test -race -timeout "$b" ${groups[$b]} || status=1
done
echo "== simulations: 20 seeds under -race, then $SEEDS seeds (budget $sim_budget each)"
$GO test -race -short -timeout "$sim_budget" ./simulations -global || status=1
out=$(mktemp)
if $GO test -timeout "$sim_budget" ./simulations -run 'TestSimulation$' -seeds "$SEEDS" -global -v >"$out" 2>&1; then
  grep -E 'seeds passed|^ok' "$out" || true
else
  status=1
  grep -v -E '^=== (RUN|PAUSE|CONT)' "$out"
fi
rm -f "$out"
exit $status
