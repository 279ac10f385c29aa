# despacho — `make help` lists the targets.
GO      ?= go
BIN     := bin/despacho
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.DEFAULT_GOAL := help
.PHONY: help run test build lint fuzz bench-solomon deps-postgres deps-chromium

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

build: ## build bin/despacho
	$(GO) build -o $(BIN) ./cmd/despacho

run: deps-postgres build ## start the service on a private PostgreSQL with demo data; prints the URLs
	$(BIN) serve --demo

test: deps-postgres deps-chromium build ## install what is missing, then run every test (race detector on) on a private PostgreSQL
	$(BIN) testenv -- $(GO) test -race -count=1 -timeout 30m ./...

lint: ## gofmt check and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fuzz: ## run every fuzz target for FUZZTIME each (default 30s)
	@for p in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$p 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$p $$f"; $(BIN) testenv -- $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-30s} $$p || exit 1; \
	  done; done

bench-solomon: build ## solve the 56 Solomon instances (TIME_LIMIT per instance, default 2s) and compare with the best known
	@mkdir -p bench-results
	$(BIN) bench solomon --dir ../shared/bench/solomon --time-limit $${TIME_LIMIT:-2s} --csv bench-results/solomon-$${TIME_LIMIT:-2s}.csv

# PostgreSQL server binaries: installed with apt when missing (as root, or through sudo).
deps-postgres:
	@if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1; then \
	  echo "installing PostgreSQL server binaries (apt-get install postgresql)"; \
	  $(SUDO) apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get -o DPkg::Lock::Timeout=600 install -y -qq postgresql postgresql-contrib >/dev/null; \
	else echo "PostgreSQL server binaries not found: install PostgreSQL 13+ or set DATABASE_URL" >&2; exit 2; fi

# Headless Chromium for the browser tests: installed with apt when missing.
deps-chromium:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Chromium for the browser tests (apt-get install chromium)"; \
	  $(SUDO) apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >/dev/null; \
	else echo "Chromium not found: install it for the browser tests" >&2; exit 2; fi
