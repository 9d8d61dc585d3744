# Parcours — the one test command is `make test`; CI (.ci/run) calls exactly that.

SHELL       := /bin/bash
.SHELLFLAGS := -o pipefail -c

GO        ?= go
PKGS      ?= ./...
export PARCOURS_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
export PARCOURS_TEST_REDIS_URL    ?= redis://127.0.0.1:6379/15

# staticcheck 2026.1.2 (module version v0.8.2) is the first release that reads Go 1.26;
# go run fetches it through the module proxy and caches the build.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
# -race on every package that runs goroutines of its own (recommender/concurrency_test.go
# only proves something under the race detector). The offline evaluation and the OULAD
# importer are single-goroutine number crunching that the detector slows about tenfold
# (recommender/offline alone took over 25 minutes under -race on the loaded 2-core
# machine), so they run without it; datasets/synth generates in goroutines and keeps it.
RACE          ?= -race
NORACE_PKGS   ?= ./recommender/offline/... ./datasets/oulad/...
RACE_PKGS     ?= $(filter-out $(shell $(GO) list $(NORACE_PKGS) 2>/dev/null),$(shell $(GO) list $(PKGS) 2>/dev/null))

.PHONY: test provision vet lint unit build bench bench-quick bench-scale

## test: provision PostgreSQL + pgvector and Redis, then vet, lint and run every test with -race
test: provision vet lint
	$(GO) test $(RACE) -count=1 -timeout 60m $(RACE_PKGS)
	$(GO) test -count=1 -timeout 30m $(NORACE_PKGS)

provision:
	@bash scripts/provision.sh

vet:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## lint: go.mod and go.sum tidy, staticcheck clean, and api/openapi.json clean under redocly
lint:
	$(GO) mod tidy -diff
	$(GO) run $(STATICCHECK) $(PKGS)
	cd tools/openapi && ./node_modules/.bin/redocly lint --config redocly.yaml ../../api/openapi.json

## unit: the tests without provisioning (integration tests skip when services are absent)
unit:
	$(GO) test -count=1 $(PKGS)

build:
	$(GO) build -o bin/parcours ./cmd/parcours

BENCH_OUT ?= benchmarks/out

## bench-quick: the hot-path benchmarks (kernels, online update, readers, one recommendation); about 2 minutes
bench-quick: provision
	@mkdir -p $(BENCH_OUT)
	$(GO) test -run '^$$' -bench 'Dot300|Search50k' -benchmem -count 3 ./recommender/memstore/ | tee $(BENCH_OUT)/memstore.txt
	$(GO) test -run '^$$' -bench 'ProfileUpdate' -benchmem -count 3 ./benchmarks/ | tee $(BENCH_OUT)/features-update.txt
	$(GO) test -run '^$$' -bench 'ReadGrades|ReadStatements' -benchtime 3x ./datasets/ | tee $(BENCH_OUT)/readers.txt
	$(GO) test -run '^$$' -bench 'Recommend50k/mem|Path10Steps|ClassOverview35' -benchtime 200x ./recommender/ | tee $(BENCH_OUT)/recommend.txt

## bench: everything in benchmarks/RESULTS.md but the 100k generation and 100k recall (see RESULTS.md); under 10 minutes
bench: bench-quick
	$(GO) test -run '^$$' -bench 'Ingest' -benchtime 2x ./recommender/pgstore/ | tee $(BENCH_OUT)/ingest.txt
	$(GO) test -run '^$$' -bench 'Recommend50k' -benchtime 300x ./recommender/ | tee $(BENCH_OUT)/recommend-stores.txt
	PARCOURS_RECALL=10000 $(GO) test -run TestPgRecall -v -timeout 20m ./benchmarks/ | tee $(BENCH_OUT)/recall.txt
	$(GO) test -run '^$$' -bench 'Features100k' -benchtime 1x -timeout 20m ./benchmarks/ | tee $(BENCH_OUT)/features.txt
	PARCOURS_LOAD=1 $(GO) test -count=1 -run TestLoad -v ./api/ | tee $(BENCH_OUT)/load.txt
	PARCOURS_SERVE_LOAD=1 $(GO) test -count=1 -run TestServeLoad -v -timeout 15m ./benchmarks/ | tee $(BENCH_OUT)/serve-load.txt
	$(GO) run ./benchmarks/resultsgen -out $(BENCH_OUT) -results benchmarks/RESULTS.md

PUPILS ?= 413000
SCALE_RATE ?= 2000
SCALE_SECONDS ?= 60

## bench-scale: not in make test. Generate an académie of PUPILS pupils (413000 by default:
## the folder alone 25-40 GB on disk, about 60 kB per pupil, a third of it the hidden
## truth/; hours to ingest on this machine), ingest and refit it into a fresh
## database, serve it from three replicas behind HAProxy and drive a mixed open-loop load
## (90 % pupil reads, 8 % xAPI, 2 % teacher) at SCALE_RATE req/s for SCALE_SECONDS s.
## Smaller: make bench-scale PUPILS=20000. Report in $(BENCH_OUT)/bench-scale.md.
bench-scale: provision
	@mkdir -p $(BENCH_OUT)
	PARCOURS_BENCH_SCALE=1 PUPILS=$(PUPILS) PARCOURS_SCALE_RATE=$(SCALE_RATE) PARCOURS_SCALE_SECONDS=$(SCALE_SECONDS) \
	  $(GO) test -count=1 -run TestBenchScale -v -timeout 0 ./benchmarks/ | tee $(BENCH_OUT)/bench-scale.txt
