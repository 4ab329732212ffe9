# logdiag — the two commands a new machine needs are `make demo` and `make test`.
SWIFT ?= swift
BIN := .build/debug/logdiag
RELEASE_BIN := .build/release/logdiag
SEED := Corpus/kube-proxy/lxd-conntrack-max

.PHONY: deps build release demo test eval bench fuzz clean

# The system libraries: PCRE2 (Debian's libpcre2-dev) and libarchive (libarchive-dev).
deps:
	@pkg-config --exists libpcre2-8 libarchive 2>/dev/null || { \
	  echo "Installing libpcre2-dev and libarchive-dev ..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libpcre2-dev libarchive-dev pkg-config; }

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Runs logdiag on the seed case exactly as `docker logs kube-proxy 2>&1 | logdiag` would.
# logdiag exits 1 because it finds a fatal root cause: that is the expected outcome here.
demo: build
	@echo '$$ cat $(SEED)/*.log | logdiag'
	@cat $(SEED)/*.log | $(BIN); status=$$?; \
	  if [ $$status -ne 1 ]; then echo "demo: expected exit status 1 (a root cause found), got $$status" >&2; exit 1; fi

test: build
	$(SWIFT) test --quiet
	$(BIN) rules check
	$(BIN) eval Corpus --failures-only

eval: build
	$(BIN) eval Corpus

bench: deps
	bash scripts/bench.sh

# The fuzz test runs 2 s inside `make test`; this runs it for FUZZ_SECONDS (default 300).
FUZZ_SECONDS ?= 300
fuzz: build
	LOGDIAG_FUZZ_SECONDS=$(FUZZ_SECONDS) $(SWIFT) test --filter fuzz

clean:
	rm -rf .build .bench-cache
