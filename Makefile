# Meridian. `make test` is what CI runs (.ci/run); the README documents every target.
SHELL       := bash
.SHELLFLAGS := -eu -o pipefail -c
GO       ?= go
FUZZTIME ?= 30s
BENCHTIME ?= 1s
TEST_SEEDS ?= 300

.PHONY: all build run test fmt-check vet fuzz bench bench-redis bench-strong rss cpu-profile sim sim-survey clean

all: build

## build: compile every package and put meridiand and meridian in ./bin
build:
	$(GO) build ./...
	@if ls cmd/*/main.go >/dev/null 2>&1; then $(GO) build -o bin/ ./cmd/...; fi

## run: a local cluster of 3 regions of 3 nodes, region r on 127.0.r.1-3 (Redis protocol on port 6379), 40ms between regions; prints how to reach each region; Ctrl-C stops it
NODES ?= 3
REGIONS ?= 3
WAN_DELAY ?= 40ms
STRONG_KEYS ?= lock:=local:r1,acct:=global
run: build
	./bin/meridian dev --regions $(REGIONS) --nodes $(NODES) --wan-delay $(WAN_DELAY) --strong '$(STRONG_KEYS)' --dir .meridian/dev

## test: gofmt check, go vet, every package's tests under the race detector within its time budget, and SEEDS (300) simulation seeds (scripts/test.sh)
test: fmt-check vet
	GO=$(GO) SEEDS=$(TEST_SEEDS) ./scripts/test.sh

fmt-check:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change these files (run gofmt -w):"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

## fuzz: run every fuzz target in turn for FUZZTIME each (default 30s)
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$target for $(FUZZTIME)"; \
	    $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## sim: thousands of seeded whole-cluster simulations (SEEDS, default 2000), one worker per core; prints how long it took; strong keys beside the eventual ones, global ones in runs of three regions (SIMFLAGS, default -global; -strong for homed ones only, empty for eventual keys only)
SEEDS ?= 2000
SIMFLAGS ?= -global
sim:
	$(GO) test -run 'TestSimulation$$' -timeout 0 ./simulations -seeds $(SEEDS) $(SIMFLAGS) -v | grep -v -E '^=== (RUN|PAUSE|CONT)'

## sim-survey: which kinds of violation SEEDS seeds find (FAULTS=crash+power-loss narrows the faults; SIMFLAGS as for sim), without failing
sim-survey:
	$(GO) test -run 'TestSurvey$$' -timeout 0 ./simulations -survey -seeds $(SEEDS) $(if $(FAULTS),-faults $(FAULTS)) $(SIMFLAGS) -v | grep -v -E '^(=== |--- |PASS|ok)'


## bench: Go benchmarks of every package (ns/op, allocs/op)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

## bench-redis: a 3-node region against a Redis server on this machine, redis-benchmark SET/GET, ratios
bench-redis:
	./scripts/bench-redis.sh

## bench-regions: 3 regions x 3 nodes 50ms apart, then one region of 3 nodes in the same run: LOCAL_QUORUM SET/GET p50/p99 (1 client; paced from 5,000/s down to the highest rate below saturation), EACH_QUORUM, replication lag, heal after a 30s partition and catch-up after 2 minutes down (under load), CPU per request; p99 ratios. SHORT=1 shrinks the durations; the partition needs root
bench-regions:
	$(GO) test ./region/devcluster -run '^TestBenchRegionFigures$$' -count=1 -v -timeout 0 -args -bench-regions | grep -v -E '^(=== RUN|--- PASS|PASS$$|ok )'

## bench-strong: strong keys over the Redis protocol: LOCAL_SERIAL SET, GET and CAS beside QUORUM at 1 and 50 clients, CAS contended on one key and spread, SERIAL across 3 regions 50ms apart, and a region cut off (needs root). SHORT=1 shrinks the durations
bench-strong:
	$(GO) test ./region/devcluster -run '^TestBenchStrongFigures$$' -count=1 -v -timeout 0 -args -bench-strong | grep -v -E '^(=== RUN|--- PASS|PASS$$|ok )'

## cpu-profile: CPU per request of each node of a 3-node region under redis-benchmark, and where it goes (LEVEL, TEST, REQUESTS)
cpu-profile:
	./scripts/cpu-per-write.sh

## rss: resident memory of each node of a 3-node region with 1M and 5M keys
rss:
	./scripts/rss.sh

clean:
	rm -rf bin
