# exportctl — see README.md. `make` builds release binaries, `make test`
# installs what is missing and runs every test, `make demo` renders the
# example jobs through a daemon on ./spool.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/exportctl
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=
SWIFT ?= swift
export PATH := $(PATH):/opt/swift/usr/bin

# Debian 12 packages: the FFmpeg, json-c, libass, fontconfig, libcrypto and libdeflate libraries to build against (and a font), the
# ffmpeg CLI the tests compare with, mandoc for the man page lint, poppler (pdfinfo) for
# the carousel PDFs, and a CJK font so the Chinese text tests run. curl posts https webhooks (at run time);
# python3 and openssl run and certify the webhook receiver of the tests.
BUILD_DEBS = pkg-config libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev libjson-c-dev \
  libass-dev libfontconfig-dev fonts-dejavu-core libssl-dev libdeflate-dev curl
TEST_DEBS = ffmpeg mandoc strace poppler-utils fonts-wqy-microhei python3 openssl
BENCH_DEBS = hyperfine nq valgrind time

RELEASE = $(SWIFT) build -c release --static-swift-stdlib
BIN = .build/release

.PHONY: all build deps test-deps bench-deps test torture demo bench install uninstall clean lint

all: build

build: deps
	$(RELEASE)

# Installs missing Debian packages when root; otherwise prints the exact line.
define need
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "missing packages; run: sudo apt-get install -y $$missing" >&2; exit 1; \
	  fi; \
	fi
endef

deps:
	$(call need,$(BUILD_DEBS))

test-deps: deps
	$(call need,$(TEST_DEBS))

bench-deps: test-deps
	$(call need,$(BENCH_DEBS))

lint: test-deps
	@out=$$(mandoc -Tlint man/exportctl.1 2>&1 | grep -v -e 'STYLE:' -e 'outdated mandoc.db' || true); \
	if [ -n "$$out" ]; then echo "$$out"; exit 1; else echo "mandoc -Tlint man/exportctl.1: clean"; fi

test: test-deps lint
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# The long fault tests: kill -9 across 60 jobs, 20,000 jobs through an inotify overflow.
torture: test-deps
	$(SWIFT) build --build-tests
	EXPORTCTL_TORTURE_JOBS=60 EXPORTCTL_TORTURE_OVERFLOW=20000 \
	  $(SWIFT) test --skip-build --filter 'KillTortureTests|InotifyOverflowTests'

demo: build test-deps
	BIN=$(BIN) sh examples/demo.sh

bench: build bench-deps
	BIN=$(BIN) bench/run

install: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(BIN)/exportctl $(DESTDIR)$(BINDIR)/exportctl
	install -m 755 $(BIN)/exportctl-render $(DESTDIR)$(LIBEXECDIR)/exportctl-render
	install -m 644 man/exportctl.1 $(DESTDIR)$(MANDIR)/man1/exportctl.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/exportctl $(DESTDIR)$(LIBEXECDIR)/exportctl-render $(DESTDIR)$(MANDIR)/man1/exportctl.1

clean:
	rm -rf .build examples/out bench/out
