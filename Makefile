# Switchboard. `make run` serves; `make test` runs every test (see README.md).
GO ?= go
FUZZTIME ?= 60s

.PHONY: run build test test-go test-js check-generate vet lint generate fuzz bench bench-quick playground test-wasm test-browser cluster-demo

run: playground
	$(GO) run ./cmd/switchboard

build: playground
	$(GO) build -o bin/switchboard ./cmd/switchboard

test: vet lint check-generate test-go test-js test-wasm test-browser

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1)
	$(GO) vet ./...

# go.mod and go.sum say exactly what the code imports (direct dependencies unmarked), in
# both modules: the root one and bench/'s. staticcheck (pinned in go.mod's tool block) over
# the root module, the js/wasm build of the core, and bench/ (its own module, so the
# binary is built once into bin/ rather than run as bench's go tool).
lint:
	$(GO) mod tidy -diff
	cd bench && $(GO) mod tidy -diff
	$(GO) build -o bin/staticcheck honnef.co/go/tools/cmd/staticcheck
	bin/staticcheck ./...
	GOOS=js GOARCH=wasm bin/staticcheck ./wasm/... ./core/...
	cd bench && ../bin/staticcheck ./...

generate:
	$(GO) generate ./...

# Fails when generated code is stale: regenerates in place, then asks git whether any
# generated file (Go's "// Code generated … DO NOT EDIT." header) changed or appeared.
check-generate: generate
	@stale=$$(git status --porcelain --untracked-files=all | cut -c4- | \
		xargs -r grep -l '^// Code generated .* DO NOT EDIT\.$$' 2>/dev/null); \
	if [ -n "$$stale" ]; then \
		echo 'generated code is stale (run make generate and commit):'; echo "$$stale"; \
		git --no-pager diff --stat -- $$stale; exit 1; fi

test-go:
	$(GO) test -race -count=1 -timeout 8m ./...

# The JS client package (clients/js, also served at /switchboard.js): unit tests with a
# scripted socket, the .d.ts through tsc, and the client against the real binary over
# Node's `ws`. `npm ci` once, when node_modules is missing.
test-js:
	cd clients/js && { test -d node_modules || npm ci --no-audit --no-fund; } && GO="$(GO)" npm test

# The playground's wasm hub: the core compiled for js/wasm (never committed, so never
# stale); cmd/switchboard embeds whatever web/static/playground/ holds when it is built.
# A binary built without it (plain go build / go install) logs "playground off" at start
# and serves a page saying so at /playground/ (web/playground.go says why not committed).
PLAYGROUND := web/static/playground
playground:
	GOOS=js GOARCH=wasm $(GO) build -trimpath -o $(PLAYGROUND)/hub.wasm ./wasm
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" $(PLAYGROUND)/wasm_exec.js

# The core's tests (transcripts included) compiled for js/wasm and run in headless
# Chromium by wasmbrowsertest; ./wasm's verbose run prints the browser's user agent.
WASM_TEST := PATH="$(CURDIR)/scripts/chromium:$$PATH" GOOS=js GOARCH=wasm \
	$(GO) test -count=1 -timeout 8m -exec="env -u GOOS -u GOARCH $(GO) tool wasmbrowsertest"
test-wasm:
	@scripts/install-browser.sh
	GOOS=js GOARCH=wasm $(GO) vet ./wasm/... ./core/...
	$(WASM_TEST) -v ./wasm/...
	$(WASM_TEST) ./core/...

# Browser end-to-end tests (e2e/): the real binary, the chat page, the playground and
# the JS client in Chromium via playwright-core.
test-browser: playground
	@scripts/install-browser.sh --npm
	cd e2e && GO="$(GO)" node --test --test-concurrency=1 tests/

# Runs every fuzz target in turn for FUZZTIME each: all `func FuzzX` in the test files of
# ./fuzz, ./core and ./adapters, found by grep so new targets join without editing this file.
fuzz:
	@set -e; for file in $$(grep -l '^func Fuzz' $$(find fuzz core adapters -name '*_test.go')); do \
		pkg=./$$(dirname $$file); \
		for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
			echo "== $$pkg $$target ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime=$(FUZZTIME) $$pkg; \
		done; \
	done

# Fan-out benchmark (bench/README.md): every scenario against Switchboard (both transports)
# and every peer in one interleaved run, 5 repeats, min/median/max of the valid ones -> bench/results/. Needs taskset.
bench:
	$(GO) build -o bench/bin/switchboard ./cmd/switchboard
	cd bench && $(GO) build -o bin/ ./loadgen ./run ./peers/gorilla ./peers/melody ./peers/gws ./peers/nbio ./peers/centrifuge ./peers/rawepoll
	cd bench && ./bin/run --repeats 5

# The same with small sizes and short steps (a check that everything runs; ~20 minutes).
bench-quick:
	$(GO) build -o bench/bin/switchboard ./cmd/switchboard
	cd bench && $(GO) build -o bin/ ./loadgen ./run ./peers/gorilla ./peers/melody ./peers/gws ./peers/nbio ./peers/centrifuge ./peers/rawepoll
	cd bench && ./bin/run --quick --repeats 5

# A NATS server (adapters/nats/natsd), 5 switchboard processes joined with --nats and one
# bench loadgen per node: ~90,000 connections in rooms spanning every node; prints
# delivered msgs/s, p99 of cross-node room chat, fds per process, the same load on one
# node, and how long a kill -9'd node takes to leave presence. CLUSTER_DEMO_FLAGS: see
# `go run ./adapters/nats/clusterdemo --help`.
cluster-demo:
	$(GO) build -o bin/switchboard ./cmd/switchboard
	$(GO) build -o bin/natsd ./adapters/nats/natsd
	cd bench && $(GO) build -o bin/loadgen ./loadgen
	$(GO) run ./adapters/nats/clusterdemo $(CLUSTER_DEMO_FLAGS)
