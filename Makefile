# Signet build and test entry points.
#
#   make test    install missing Debian tools, vet, gofmt check, PDF corpus check,
#                go test, short fuzz pass
#   make build   build bin/signet
#   make bench   run the benchmarks of BENCHMARKS.md (bench/run.sh)
#   make fuzz    run every fuzz target for $(FUZZTIME)

SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)

GO ?= go
# A count, not a duration: Go 1.26's fuzz coordinator can fail a target with
# "context deadline exceeded" when a duration-based -fuzztime ends while a
# worker is busy (golang/go#75804, fixed in Go 1.27); a count has no deadline.
FUZZTIME ?= 30000x

# Debian packages the tests call out to (independent verifiers, SoftHSM2, benchmarks).
# postgresql provides initdb/pg_ctl for the throwaway clusters of the store tests
# (internal/pgtest); no system cluster is created or started for it.
# gcc and libc6-dev: cgo, for the PKCS#11 backend (keys/pkcs11); without a C
# compiler go builds without cgo and the SoftHSM2 tests would not be compiled.
DEB_PACKAGES := gcc libc6-dev poppler-utils qpdf openssl softhsm2 opensc ghostscript mupdf-tools libnss3-tools time hyperfine postgresql

# Every Fuzz* function in a _test.go file is a fuzz target; `make fuzz`
# finds them all, so a new target runs in CI without being listed here.

.PHONY: all test deps vet fmtcheck corpus unit fuzz build bench

all: build

test: deps vet fmtcheck corpus unit fuzz

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

vet:
	$(GO) vet ./...

fmtcheck:
	@out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# corpus checks the committed PDF samples (structure, qpdf --check clean).
corpus:
	testdata/pdf/make.sh --check

unit:
	$(GO) test ./...

fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
		dir="./$$(dirname "$${f#./}")"; \
		for name in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' "$$f" | sed 's/^func //'); do \
			echo "fuzz $$dir $$name ($(FUZZTIME))"; \
			$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) "$$dir"; \
		done; \
	done

build:
	$(GO) build -o bin/signet ./cmd/signet

# bench reproduces every figure in BENCHMARKS.md (whole-process comparisons
# with pdfsig and sha256sum, then the Go benchmarks) and prints a table.
bench: deps
	bash bench/run.sh
