# logdiag — the two commands a new machine needs are `make demo` and `make test`.
SWIFT ?= swift
BIN := .build/debug/logdiag
RELEASE_BIN := .build/release/logdiag
SEED := Corpus/kube-proxy/lxd-conntrack-max

.PHONY: deps build release demo test eval bench fuzz clean install uninstall man completions dist deb package-test

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
	rm -rf .build .bench-cache .build-dist dist

# ---------------------------------------------------------------- installing and packaging
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := $(shell sed -n 's/.*static let current = "\(.*\)"/\1/p' Sources/LogModel/Render/CIRenderers.swift)
ARCH := $(shell uname -m)
DIST_BIN := .build-dist/release/logdiag
GEN := .build-gen

# The man page from swift-argument-parser's generator (the command's own help, never by hand).
man: release
	$(SWIFT) package --disable-sandbox plugin generate-manual --date $$(date -u +%Y-%m-%d) >/dev/null
	mkdir -p $(GEN) && cp .build/plugins/GenerateManual/outputs/logdiag/logdiag.1 $(GEN)/logdiag.1

completions: release
	mkdir -p $(GEN)
	$(RELEASE_BIN) --generate-completion-script bash > $(GEN)/logdiag.bash
	$(RELEASE_BIN) --generate-completion-script zsh > $(GEN)/_logdiag
	$(RELEASE_BIN) --generate-completion-script fish > $(GEN)/logdiag.fish

# Installs the release binary, the man page, completions and the kubectl plugin link.
install: release man completions
	bash scripts/install-files.sh "$(DESTDIR)$(PREFIX)" $(RELEASE_BIN) $(GEN)

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/logdiag $(DESTDIR)$(PREFIX)/bin/kubectl-logdiag \
	  $(DESTDIR)$(PREFIX)/share/man/man1/logdiag.1 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/logdiag \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_logdiag \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/logdiag.fish

# A release binary that needs no Swift toolchain: the Swift runtime and Foundation static.
dist: deps man completions
	bash scripts/dist.sh $(VERSION) $(ARCH) $(GEN)

deb: dist
	bash scripts/deb.sh $(VERSION) $(ARCH) $(GEN)

# The tarball and the .deb on a Debian root file system without Swift (debootstrap, chroot), and
# the container image when a Docker daemon runs.
package-test: deb
	bash scripts/package-test.sh $(VERSION) $(ARCH)
