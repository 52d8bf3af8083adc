# facilityd — make build | make demo | make test
GO       ?= go
BIN      := bin
INFLUXD  := $(BIN)/influxd
STATICCHECK := $(BIN)/staticcheck
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: build demo test test-short influxd bench fuzz vet clean

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

bench:
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
