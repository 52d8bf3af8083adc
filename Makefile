# facilityd — make build | make demo | make test
GO       ?= go
BIN      := bin
INFLUXD  := $(BIN)/influxd
STATICCHECK := $(BIN)/staticcheck
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: build demo test test-short influxd bench bench-all fuzz vet clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN)/facilityd ./daemon

# InfluxDB 1.8.10 built from the Go module proxy (about a minute, once).
influxd: $(INFLUXD)
$(INFLUXD):
	GOBIN=$(abspath $(BIN)) $(GO) install github.com/influxdata/influxdb/cmd/influxd@v1.8.10

# staticcheck from the Go module proxy (once), run by make vet.
$(STATICCHECK):
	GOBIN=$(abspath $(BIN)) $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2

# The demo building: influxd, the simulator and the daemon on loopback.
demo: build influxd
	./scripts/demo.sh

# Every test, including the integration tests against a real influxd, with
# the race detector.
test: influxd vet
	$(GO) test -race -count=1 -timeout 20m ./...

test-short:
	$(GO) test -short ./...

vet: $(STATICCHECK)
	$(GO) vet ./...
	$(STATICCHECK) ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

# The ingest hot paths (issue 16), one line each with the figures that
# matter; BENCHTIME (1s) per benchmark. bench-all runs every benchmark,
# InfluxDB's throughput and replay included (minutes).
BENCHTIME ?= 1s
BENCH_HOT := \
	./drivers/modbus:'^Benchmark(Transport|PollTwoSpans|PollMeter|200MetersOneGateway|Sim200Meters)$$' \
	./drivers/mqtt:'^Benchmark(Parse|ParseWaterMeters)$$' \
	./internal/mqttconn:'^Benchmark(Acks|InboundQoS1)$$' \
	./store:'^Benchmark(WriterIngest|LivePut1000Meters|GzipBatch)$$' \
	./app:'^Benchmark(RuleHandoff|Ingest1000Meters)$$'
bench:
	@for pb in $(BENCH_HOT); do \
	  $(GO) test -run '^$$' -bench "$${pb#*:}" -benchtime $(BENCHTIME) -benchmem "$${pb%%:*}" || exit 1; \
	done | awk '/^Benchmark/ { n = $$1; sub(/^Benchmark/, "", n); sub(/-[0-9]+$$/, "", n); \
	    m = ""; for (i = 3; i < NF; i += 2) m = m sprintf("%s %s, ", $$i, $$(i+1)); \
	    printf "%-26s %s\n", n, substr(m, 1, length(m) - 2); next } \
	  /^(FAIL|---|panic)/ { print }'

bench-all:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Each fuzz test for FUZZTIME (10s) on top of its corpus; crashers land in
# the package's testdata/fuzz, to be kept as corpus entries once fixed.
FUZZTIME ?= 10s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "$$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf $(BIN)/facilityd .demo
