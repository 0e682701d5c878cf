# Switchboard. `make run` serves; `make test` runs every test (see README.md).
GO ?= go
FUZZTIME ?= 60s

.PHONY: run build test test-go check-generate vet generate fuzz bench bench-quick

run:
	$(GO) run ./cmd/switchboard

build:
	$(GO) build -o bin/switchboard ./cmd/switchboard

test: vet check-generate test-go

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
