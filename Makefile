# Kontor — developer tasks. `make` lists them.
#
# CGO_ENABLED=1 is required: the embedded state store and the staging
# transforms use DuckDB (github.com/duckdb/duckdb-go, cgo; a C compiler
# must be installed). The first build links DuckDB and takes ~20-60 s.

export CGO_ENABLED := 1

GO       ?= go
KONTOR   := bin/kontor
# FUZZTIME is an execution count ("30000x"), not a duration: with a duration,
# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline
# exceeded" when -fuzztime expires while a worker is busy on a loaded
# machine (golang/go#75804, fixed in Go 1.27); a count has no deadline to
# race. 30000 executions take 1-30 s per target here.
FUZZTIME ?= 30000x
ROWS     ?= 1000000

.DEFAULT_GOAL := help
.PHONY: help build plugins test test-race bench lint fuzz-short run-example generate check-generated clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/kontor
	$(GO) build -o $(KONTOR) ./cmd/kontor

plugins: ## build the example external plugin into bin/plugins/ (kontor-plugin-example)
	$(GO) build -o bin/plugins/kontor-plugin-example ./plugins/example

test: build plugins ## go vet, go test ./..., kontor lint pipelines/ and kontor test pipelines/
	$(GO) vet ./...
	$(GO) test ./...
	$(KONTOR) lint --plugin-dir bin/plugins pipelines/
	$(KONTOR) test --plugin-dir bin/plugins pipelines/

test-race: ## go test -race ./...
	$(GO) test -race ./...

bench: build ## Go benchmarks (large sizes: pain.008 1M, DATEV 1M), then the 1,000,000-row end-to-end run (rows/s, peak RSS)
	KONTOR_BENCH_LARGE=1 $(GO) test -run=NONE -bench=. -benchmem ./...
	ROWS=$(ROWS) KONTOR=$(KONTOR) ./.ci/bench
	$(MAKE) bench-state

bench-state: ## state/staging at scale: dedup 1M vs a 5M ledger, reconcile 100k vs 1M orders (time, peak RSS, ratio vs raw DuckDB SQL)
	$(GO) run ./engine/staging/internal/statebench

lint: ## gofmt -l must be empty; go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fuzz-short: ## run every Fuzz target for FUZZTIME (default 30000x executions) each
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test -run=NONE -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg; \
	  done; \
	done

run-example: build ## run pipelines/abo-export.yaml (state in .kontor/, output in out/); WARNING (exit 3) is expected
	$(KONTOR) run pipelines/abo-export.yaml --report out/abo-export.report.json || test $$? -eq 3
	@echo "output: out/ (clean CSV, rejects, run report); history: $(KONTOR) history pipelines/abo-export.yaml"

generate: ## go generate ./... (function docs, IBAN registry, plugin protocol: needs protoc, see plugins/sdk/proto/v1/generate.sh)
	$(GO) generate ./...

check-generated: generate ## fail if generated files are out of date (changed or new files after go generate)
	git diff --exit-code
	@out=$$(git status --porcelain --untracked-files=all -- engine plugins docs cmd); if [ -n "$$out" ]; then echo "go generate left files that are not committed:"; echo "$$out"; exit 1; fi

clean: ## remove bin/, out/ and .kontor/ (local state!)
	rm -rf bin out .kontor
