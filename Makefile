# Signet build and test entry points.
#
#   make test    install missing Debian tools, vet, gofmt check, tree check,
#                PDF corpus check, go test, short fuzz pass
#   make build   build bin/signet
#   make bench   run the benchmarks of BENCHMARKS.md (bench/run.sh)
#   make fuzz    run every fuzz target for $(FUZZTIME)
#   make web-vendor  copy PDF.js (npm pdfjs-dist) into internal/web/static/vendor/pdfjs

SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)

GO ?= go
# A count, not a duration: Go 1.26's fuzz coordinator can fail a target with
# "context deadline exceeded" when a duration-based -fuzztime ends while a
# worker is busy (golang/go#75804, fixed in Go 1.27); a count has no deadline.
# make test runs a short pass of every target (10,000 inputs each) within
# CI's budget; `make fuzz FUZZTIME=1000000x` fuzzes for longer.
FUZZTIME ?= 10000x

# Debian packages the tests call out to (independent verifiers, SoftHSM2, benchmarks).
# postgresql provides initdb/pg_ctl for the throwaway clusters of the store tests
# (internal/pgtest); no system cluster is created or started for it.
# gcc and libc6-dev: cgo, for the PKCS#11 backend (keys/pkcs11); without a C
# compiler go builds without cgo and the SoftHSM2 tests would not be compiled.
# nodejs: the Standard Webhooks authors' implementation (npm standardwebhooks,
# NPM_PACKAGES) verifies the webhook signatures in the tests. Debian's npm
# package is installed only when no npm command exists (a nodejs build that
# bundles npm conflicts with it).
# chromium: the web interface's browser tests (internal/web/webtest drives
# /usr/bin/chromium headless over the DevTools protocol).
DEB_PACKAGES := gcc libc6-dev poppler-utils qpdf openssl softhsm2 opensc ghostscript mupdf-tools libnss3-tools time hyperfine postgresql nodejs chromium

# npm packages the tests call out to, installed into SIGNET_NODE_DIR (a cache
# outside the tree; internal/webhook's tests look there). pdfjs-dist is the
# PDF.js that internal/web vendors (PDFJS_VERSION): internal/web's tests
# check that the committed copy is byte for byte the package's.
PDFJS_VERSION := 6.5.438
NPM_PACKAGES := standardwebhooks@1.1.1 pdfjs-dist@$(PDFJS_VERSION)
export SIGNET_NODE_DIR ?= $(HOME)/.cache/signet-node

# Every Fuzz* function in a _test.go file is a fuzz target; `make fuzz`
# finds them all, so a new target runs in CI without being listed here.
# A target whose every input costs public-key work may set its own count
# with a comment on the line above it: `// fuzz-count: 3000x`.

.PHONY: all test deps vet fmtcheck treecheck corpus unit fuzz build bench web-vendor

all: build

test: deps vet fmtcheck treecheck corpus unit fuzz

deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
		dpkg -s "$$p" >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		case " $$missing " in *" postgresql "*) \
			mkdir -p /etc/postgresql-common/createcluster.d && \
			echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/signet-tests.conf;; \
		esac; \
		apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi
	@command -v npm >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends npm; }
	@for p in $(NPM_PACKAGES); do \
		name="$${p%@*}"; version="$${p##*@}"; \
		have=$$(node -p "require('$(SIGNET_NODE_DIR)/node_modules/$$name/package.json').version" 2>/dev/null || true); \
		if [ "$$have" != "$$version" ]; then \
			echo "installing npm $$p into $(SIGNET_NODE_DIR)"; \
			mkdir -p "$(SIGNET_NODE_DIR)" && \
			npm install --no-audit --no-fund --prefix "$(SIGNET_NODE_DIR)" "$$p" || exit 1; \
		fi; \
	done

vet:
	$(GO) vet ./...

fmtcheck:
	@out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# treecheck fails when git tracks a built executable (ELF, Mach-O or PE
# magic) anywhere, or a file larger than TREE_MAX_BYTES outside a testdata
# directory. Build outputs go to bin/ (make build) or a temporary directory
# (bench/run.sh), both outside the tree git tracks.
TREE_MAX_BYTES ?= 5242880

treecheck:
	@git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo "treecheck: not a git checkout" >&2; exit 1; }; \
	export LC_ALL=C; bad=0; \
	while IFS= read -r -d '' f; do \
		[ -f "$$f" ] && [ ! -L "$$f" ] || continue; \
		magic=; IFS= read -r -N 4 magic < "$$f" || true; \
		case "$$magic" in \
		$$'\x7fELF') kind=ELF;; \
		$$'\xfe\xed\xfa'[$$'\xce\xcf'] | [$$'\xce\xcf']$$'\xfa\xed\xfe' | $$'\xca\xfe\xba'[$$'\xbe\xbf']) kind=Mach-O;; \
		MZ*) pe=$$(od -An -tu4 -j 60 -N 4 "$$f" 2>/dev/null | tr -d ' '); \
			[ -n "$$pe" ] && [ "$$(od -An -tx1 -j "$$pe" -N 4 "$$f" 2>/dev/null | tr -d ' \n')" = 50450000 ] && kind=PE || kind=;; \
		*) kind=;; \
		esac; \
		[ -z "$$kind" ] || { echo "treecheck: $$f is a built $$kind executable (build into bin/, which git ignores)" >&2; bad=1; }; \
	done < <(git ls-files -z); \
	big=$$(git ls-files -z | xargs -0 -r stat -c '%s %n' -- 2>/dev/null | \
		awk -v max=$(TREE_MAX_BYTES) '$$1 > max { n = substr($$0, index($$0, " ") + 1); if (("/" n) !~ /\/testdata\//) print n " (" $$1 " bytes)" }'); \
	[ -z "$$big" ] || { echo "treecheck: files over $(TREE_MAX_BYTES) bytes outside testdata:" >&2; echo "$$big" >&2; bad=1; }; \
	exit $$bad

# corpus checks the committed PDF samples (structure, qpdf --check clean).
corpus:
	testdata/pdf/make.sh --check

unit:
	$(GO) test ./...

fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
		dir="./$$(dirname "$${f#./}")"; \
		for name in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' "$$f" | sed 's/^func //'); do \
			n=$$(grep -B1 "^func $$name(" "$$f" | grep -o 'fuzz-count: [0-9]*x' | cut -d' ' -f2); \
			n=$${n:-$(FUZZTIME)}; \
			echo "fuzz $$dir $$name ($$n)"; \
			$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$$n "$$dir"; \
		done; \
	done

build:
	$(GO) build -o bin/signet ./cmd/signet

# bench reproduces every figure in BENCHMARKS.md (whole-process comparisons
# with pdfsig and sha256sum, then the Go benchmarks) and prints a table.
bench: deps
	bash bench/run.sh

# web-vendor copies PDF.js (npm pdfjs-dist, PDFJS_VERSION, as make deps
# installs it) into internal/web/static/vendor/pdfjs/: the module, its
# worker and the licence, committed so that the binary is self-contained.
PDFJS_VENDOR := internal/web/static/vendor/pdfjs
web-vendor: deps
	@src="$(SIGNET_NODE_DIR)/node_modules/pdfjs-dist"; \
	have=$$(node -p "require('$$src/package.json').version"); \
	[ "$$have" = "$(PDFJS_VERSION)" ] || { echo "pdfjs-dist $$have in $$src, want $(PDFJS_VERSION)" >&2; exit 1; }; \
	mkdir -p $(PDFJS_VENDOR) && \
	cp "$$src/build/pdf.min.mjs" "$$src/build/pdf.worker.min.mjs" "$$src/LICENSE" $(PDFJS_VENDOR)/ && \
	echo "copied pdfjs-dist $(PDFJS_VERSION) into $(PDFJS_VENDOR)"
