# Parcours — the one test command is `make test`; CI (.ci/run) calls exactly that.

GO        ?= go
PKGS      ?= ./...
export PARCOURS_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
export PARCOURS_TEST_REDIS_URL    ?= redis://127.0.0.1:6379/15

.PHONY: test provision vet unit build bench bench-quick fuzz

## test: provision PostgreSQL + pgvector and Redis, then vet and run every test
test: provision vet
	$(GO) test -count=1 -timeout 25m $(PKGS)

provision:
	@bash scripts/provision.sh

vet:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## unit: the tests without provisioning (integration tests skip when services are absent)
unit:
	$(GO) test -count=1 $(PKGS)

build:
	$(GO) build -o bin/parcours ./cmd/parcours
