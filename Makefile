# Switchboard. `make run` serves; `make test` runs every test (see README.md).
GO ?= go
FUZZTIME ?= 60s

.PHONY: run build test test-go check-generate vet generate fuzz bench bench-quick playground test-wasm test-browser

run: playground
	$(GO) run ./cmd/switchboard

build: playground
	$(GO) build -o bin/switchboard ./cmd/switchboard

test: vet check-generate test-go test-wasm test-browser

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1)
	$(GO) vet ./...

generate:
	$(GO) generate ./...

# Fails when generated code is stale.
check-generate:
	@tmp=$$(mktemp -d); cp -r core $$tmp/; $(GO) generate ./core/... ; \
	if ! git diff --quiet --no-index $$tmp/core core 2>/dev/null; then echo 'generated code is stale: run make generate'; diff -r $$tmp/core core | head -20; rm -rf $$tmp; exit 1; fi; rm -rf $$tmp

test-go:
	$(GO) test -race -count=1 -timeout 8m ./...

# The playground's wasm hub: the core compiled for js/wasm (never committed, so never
# stale); cmd/switchboard embeds whatever web/static/playground/ holds when it is built.
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
	$(WASM_TEST) -v ./wasm/...
	$(WASM_TEST) ./core/...

# Browser end-to-end tests (e2e/): the real binary, the chat page, the playground and
# the JS client in Chromium via playwright-core.
test-browser: playground
	@scripts/install-browser.sh --npm
	cd e2e && GO="$(GO)" node --test --test-concurrency=1 tests/
