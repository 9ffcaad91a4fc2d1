# gnomon — see README.md. `make run` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
GO      ?= go
BIN     := bin
PKGS    := ./...
FUZZTIME ?= 60s
export PATH := $(PATH):/usr/local/go/bin

.PHONY: all build run test unit interop peers vet fuzz bench bench-ntp bench-ptp soak clean

all: build

# CGO_ENABLED=0: gnomond changes its capabilities on every thread
# (syscall.AllThreadsSyscall), which a cgo binary cannot (internal/privdrop).
build:
	CGO_ENABLED=0 $(GO) build -o $(BIN)/ ./cmd/...

# Starts gnomond in the foreground on the embedded default configuration:
# it serves NTP on an unprivileged loopback port, reads the host clock and
# never adjusts it. The log says how to query it.
run: build
	$(BIN)/gnomond

# Everything: static checks, unit tests (with the race detector), and the
# interop tests against real chronyd/ntpdig in network namespaces (root only;
# they skip loudly otherwise, and fail instead when GNOMON_REQUIRE_INTEROP=1).
test: peers vet unit interop

peers:
	@if [ "$$(id -u)" = 0 ]; then bash scripts/install-peers.sh; \
	else echo "make test: not root: peers not installed, interop tests will skip"; fi

vet:
	@fmt=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$fmt" ]; then echo "gofmt needed:"; echo "$$fmt"; exit 1; fi
	$(GO) vet $(PKGS)

# Some packages run twice: with -race, and without it and cgo, as gnomond
# is built: the zero-allocation tests of the packet paths skip under the race
# detector (it allocates), and internal/privdrop's every-thread drop needs a
# build without cgo (-race uses cgo).
NORACE_PKGS := ./internal/privdrop/ ./hwts/ ./ntp/... ./ptp/... ./cmdmon/wire/
unit:
	$(GO) test -race -count=1 -timeout 10m $$($(GO) list $(PKGS) | grep -v /interop)
	CGO_ENABLED=0 $(GO) test -count=1 -timeout 10m $(NORACE_PKGS)

interop: build
	$(GO) test -count=1 -timeout 15m -v ./interop/...

# Each fuzz target for FUZZTIME (default 60 s).
fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# Side-by-side NTP server benchmark in a fresh pair of network namespaces
# (root): gnomond vs chronyd vs facebook/time ntpresponder.
bench-ntp: build
	bash scripts/bench-ntp.sh

# Side-by-side PTP grandmaster capacity in a fresh pair of network namespaces
# (root): gnomond vs facebook/time ptp4u, most clients served at 1 Hz with
# <= 0.1 % loss, and server CPU per client-second (about 10 minutes).
bench-ptp: build
	bash scripts/bench-ptp.sh

# gnomond at 80 % of its measured max rate for SOAK_DURATION (default 600 s)
# under mixed basic, interleaved, NTS, MAC and malformed clients, in fresh
# network namespaces (root); samples RSS, goroutines and fds; fails on any
# wrong reply, RSS growth >= 5 % after warm-up, goroutine growth or a
# restart. Not part of `make test`.
soak: build
	bash scripts/soak.sh

clean:
	rm -rf $(BIN)
