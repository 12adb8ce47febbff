#!/usr/bin/env bash
# bench/run.sh reproduces every figure in BENCHMARKS.md in one run and
# prints a table of them.
#
#   bash bench/run.sh            # from the repository root, or via `make bench`
#
# Environment:
#   BENCH_DIR   work directory (default: a fresh mktemp -d, removed at exit)
#   RUNS        hyperfine runs per command (default 40, at least 20)
#   BIG_RUNS    runs of each 200 MB measurement; the median is reported (default 5)
#   BIG_SIZE    size of the large PDF (default 200MB)
#   GO_COUNT    -count of the Go benchmarks (default 5)
#   GO_PKGS     packages whose Go benchmarks run (default ./...)
#   SHM         a tmpfs directory for the extra "output on tmpfs" rows, which
#               separate signet's own cost from the fsync of its output
#               (default /dev/shm; the rows are skipped if it is not writable)
#   SECTIONS    which sections to run, by number (default "1 2 3 4 5 6"):
#               1 small PDF, 2 large PDF, 3 verify, 4 Go benchmarks,
#               5 start-up (signet --help vs a Go hello-world),
#               6 real sample PDFs (testdata/pdf and pdfcpu's Acroforms2.pdf)
#   STARTUP_RUNS hyperfine runs of section 5 (default 100)
#
# Section 6 fetches pdfcpu v0.15.0 from the Go module proxy (go mod download,
# outside this module: go.mod is not touched) for pkg/testdata/Acroforms2.pdf
# (Apache-2.0), and checks its SHA-256.
#
# Needs: go, hyperfine, pdfsig, certutil, pk12util, openssl, /usr/bin/time,
# sha256sum, awk (`make deps` installs the Debian ones).
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

RUNS=${RUNS:-40}
BIG_RUNS=${BIG_RUNS:-5}
BIG_SIZE=${BIG_SIZE:-200MB}
GO_COUNT=${GO_COUNT:-5}
GO_PKGS=${GO_PKGS:-./...}
SECTIONS=${SECTIONS:-1 2 3 4 5 6}
STARTUP_RUNS=${STARTUP_RUNS:-100}
want() { [[ " $SECTIONS " == *" $1 "* ]]; }
if [ -n "${BENCH_DIR:-}" ]; then
	W=$BENCH_DIR
	mkdir -p "$W"
else
	W=$(mktemp -d)
fi
W=$(cd "$W" && pwd)
SHM=${SHM:-/dev/shm}
if [ -d "$SHM" ] && [ -w "$SHM" ]; then
	SHMW=$(mktemp -d "$SHM/signet-bench.XXXXXX")
else
	SHMW=""
fi
cleanup() {
	[ -z "${TSAD_PID:-}" ] || kill "$TSAD_PID" 2>/dev/null || true
	[ -z "$SHMW" ] || rm -rf "$SHMW"
	[ -n "${BENCH_DIR:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

for tool in go hyperfine pdfsig certutil pk12util openssl sha256sum awk; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is missing (run make deps)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }

say() { printf '\n== %s\n' "$*" >&2; }

# median prints the median of the numbers on standard input.
median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
# col_median FILE N prints the median of column N of FILE.
col_median() { awk -v c="$2" '{print $c}' "$1" | median; }

# hf_stats FILE.csv NAME prints "mean stddev median" in milliseconds for the
# command NAME of a hyperfine CSV export.
hf_stats() {
	awk -F, -v n="$2" 'NR>1 && $1==n {printf "%.1f %.1f %.1f\n", $2*1000, $3*1000, $4*1000}' "$1"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
say "building signet and the bench tools into $W/bin"
go build -o "$W/bin/" ./cmd/signet ./bench/mkpdf ./bench/mkpki ./bench/tsad ./bench/hello ./bench/hellocgo
SIGNET=$W/bin/signet

say "throwaway PKI (RSA-2048 signer) and NSS database"
"$W/bin/mkpki" -dir "$W/pki" -alg rsa-2048
PKI=$W/pki
rm -rf "$W/nss" && mkdir "$W/nss"
certutil -N -d "sql:$W/nss" --empty-password
pk12util -i "$PKI/signer.p12" -d "sql:$W/nss" -W '' >/dev/null
certutil -M -d "sql:$W/nss" -n "Signet Benchmark Root CA" -t CT,C,C
NSS="sql:$W/nss"
NICK=signet-bench

# pdfsig_valid FILE N checks with pdfsig that FILE holds N signatures, each
# valid and chaining to the trusted root.
pdfsig_valid() {
	local out n
	out=$(pdfsig -nssdir "$NSS" "$1" 2>/dev/null)
	n=$(grep -c 'Signature Validation: Signature is Valid.' <<<"$out" || true)
	if [ "$n" != "$2" ] || [ "$(grep -c 'Certificate is Trusted.' <<<"$out" || true)" != "$2" ]; then
		echo "bench: pdfsig does not find $2 valid, trusted signatures in $1:" >&2
		echo "$out" >&2
		exit 1
	fi
	echo "$2/$2 valid"
}

"$W/bin/mkpdf" -o "$W/small.pdf"
SMALL_BYTES=$(stat -c %s "$W/small.pdf")

# --- 1. small PDF: signet sign vs pdfsig -add-signature ----------------------
if want 1; then
	say "1. small PDF, same RSA-2048 key: signet sign (B-B) vs pdfsig -add-signature"
	SIGN_SIGNET="$SIGNET sign --key $PKI/signer-key.pem --cert $PKI/signer.pem $W/small.pdf $W/small-signet.pdf"
	SIGN_PDFSIG="pdfsig -nssdir $NSS -nick $NICK -add-signature -new-signature-field-name Sig1 $W/small.pdf $W/small-pdfsig.pdf"
	# -N runs the commands without a shell (signet takes a few ms, below what
	# hyperfine can correct shell start-up for); each command's --prepare
	# removes its own output so that pdfsig never finds an existing file.
	SHM_ARGS=()
	if [ -n "$SHMW" ]; then
		# signet fsyncs its output before renaming it into place; pdfsig does
		# not. Writing to tmpfs (where fsync is free) shows signet's own cost.
		SHM_ARGS=(--prepare "rm -f $SHMW/small-signet.pdf" -n signet-tmpfs
			"$SIGNET sign --key $PKI/signer-key.pem --cert $PKI/signer.pem $W/small.pdf $SHMW/small-signet.pdf")
	fi
	hyperfine -N --style basic --warmup 3 --runs "$RUNS" \
		--export-csv "$W/sign-small.csv" \
		--prepare "rm -f $W/small-signet.pdf" -n signet "$SIGN_SIGNET" \
		--prepare "rm -f $W/small-pdfsig.pdf" -n pdfsig "$SIGN_PDFSIG" \
		"${SHM_ARGS[@]}" >&2
	VALID_SIGNET=$(pdfsig_valid "$W/small-signet.pdf" 1)
	VALID_PDFSIG=$(pdfsig_valid "$W/small-pdfsig.pdf" 1)
	# Cross-check: signet verify on both outputs (reported, not required).
	signet_verdict() {
		if "$SIGNET" verify --trust "$PKI/root.pem" "$1" >"$W/verdict.txt" 2>&1; then
			echo valid
		else
			reason=$(grep -m1 'reason:' "$W/verdict.txt" | sed 's/^ *reason: *//')
			echo "NOT valid: ${reason:-see signet verify}"
		fi
	}
	SIGNET_ON_SIGNET=$(signet_verdict "$W/small-signet.pdf")
	SIGNET_ON_PDFSIG=$(signet_verdict "$W/small-pdfsig.pdf")

fi

# --- 2. large PDF: signet sign vs sha256sum ----------------------------------
if want 2; then
	say "2. $BIG_SIZE PDF: signet sign vs sha256sum (median of $BIG_RUNS, page cache warm)"
	"$W/bin/mkpdf" -size "$BIG_SIZE" -o "$W/big.pdf"
	BIG_BYTES=$(stat -c %s "$W/big.pdf")
	SIGN_BIG="$SIGNET sign --key $PKI/signer-key.pem --cert $PKI/signer.pem $W/big.pdf $W/big-signed.pdf"
	SHA_BIG="sha256sum $W/big.pdf"
	# A second floor: OpenSSL's SHA-256 uses the CPU's SHA extensions, as Go's
	# does, where coreutils' sha256sum may not.
	OSSL_BIG="openssl dgst -sha256 $W/big.pdf"
	cat "$W/big.pdf" >/dev/null # warm the page cache once; nothing is dropped later
	: >"$W/big-signet.txt"
	: >"$W/big-sha.txt"
	: >"$W/big-shm.txt"
	: >"$W/big-ossl.txt"
	for _ in $(seq "$BIG_RUNS"); do
		# Interleaved, so that all see the same machine state.
		/usr/bin/time -a -o "$W/big-sha.txt" -f '%e %M' $SHA_BIG >/dev/null
		/usr/bin/time -a -o "$W/big-ossl.txt" -f '%e %M' $OSSL_BIG >/dev/null
		rm -f "$W/big-signed.pdf"
		/usr/bin/time -a -o "$W/big-signet.txt" -f '%e %M' $SIGN_BIG >/dev/null
		if [ -n "$SHMW" ]; then
			rm -f "$SHMW/big-signed.pdf"
			/usr/bin/time -a -o "$W/big-shm.txt" -f '%e %M' \
				"$SIGNET" sign --key "$PKI/signer-key.pem" --cert "$PKI/signer.pem" "$W/big.pdf" "$SHMW/big-signed.pdf" >/dev/null
		fi
	done
	"$SIGNET" verify --trust "$PKI/root.pem" "$W/big-signed.pdf" >/dev/null
	BIG_VALID=$(pdfsig_valid "$W/big-signed.pdf" 1)
	BIG_SIGNET_S=$(col_median "$W/big-signet.txt" 1)
	BIG_SIGNET_KB=$(col_median "$W/big-signet.txt" 2)
	BIG_SHA_S=$(col_median "$W/big-sha.txt" 1)
	BIG_SHA_KB=$(col_median "$W/big-sha.txt" 2)
	BIG_OSSL_S=$(col_median "$W/big-ossl.txt" 1)
	BIG_OSSL_KB=$(col_median "$W/big-ossl.txt" 2)
	BIG_RATIO=$(awk -v a="$BIG_SIGNET_S" -v b="$BIG_SHA_S" 'BEGIN {printf "%.2f", a/b}')
	BIG_OSSL_RATIO=$(awk -v a="$BIG_SIGNET_S" -v b="$BIG_OSSL_S" 'BEGIN {printf "%.2f", a/b}')
	if [ -s "$W/big-shm.txt" ]; then
		BIG_SHM_S=$(col_median "$W/big-shm.txt" 1)
		BIG_SHM_KB=$(col_median "$W/big-shm.txt" 2)
		BIG_SHM_RATIO=$(awk -v a="$BIG_SHM_S" -v b="$BIG_SHA_S" 'BEGIN {printf "%.2f", a/b}')
	fi
	echo "signet sign runs (s KB):       $(tr '\n' ';' <"$W/big-signet.txt")" >&2
	echo "signet sign tmpfs runs (s KB): $(tr '\n' ';' <"$W/big-shm.txt")" >&2
	echo "sha256sum runs (s KB):         $(tr '\n' ';' <"$W/big-sha.txt")" >&2
	echo "openssl dgst runs (s KB):      $(tr '\n' ';' <"$W/big-ossl.txt")" >&2
	rm -f "$W/big.pdf" "$W/big-signed.pdf"
	[ -z "$SHMW" ] || rm -f "$SHMW/big-signed.pdf"

fi

# --- 3. verify a 3-signature B-T file ----------------------------------------
if want 3; then
	say "3. verify a 3-signature PAdES B-T file: signet verify vs pdfsig"
	"$W/bin/tsad" -cert "$PKI/tsa.pem" -key "$PKI/tsa-key.pem" -addr 127.0.0.1:0 >"$W/tsad.url" &
	TSAD_PID=$!
	for _ in $(seq 50); do [ -s "$W/tsad.url" ] && break; sleep 0.1; done
	TSA_URL=$(head -n1 "$W/tsad.url")
	[ -n "$TSA_URL" ] || { echo "bench: tsad did not start" >&2; exit 1; }
	cp "$W/small.pdf" "$W/three-0.pdf"
	for i in 1 2 3; do
		"$SIGNET" sign --key "$PKI/signer-key.pem" --cert "$PKI/signer.pem" --tsa "$TSA_URL" \
			--reason "signature $i of 3" "$W/three-$((i - 1)).pdf" "$W/three-$i.pdf" >/dev/null
	done
	kill "$TSAD_PID" 2>/dev/null || true
	THREE=$W/three-3.pdf
	VALID_THREE=$(pdfsig_valid "$THREE" 3)
	BT_COUNT=$("$SIGNET" verify --trust "$PKI/root.pem" "$THREE" | grep -c 'level: *PAdES-B-T' || true)
	[ "$BT_COUNT" = 3 ] || { echo "bench: $THREE holds $BT_COUNT B-T signatures, not 3" >&2; exit 1; }
	VERIFY_SIGNET="$SIGNET verify --trust $PKI/root.pem $THREE"
	VERIFY_PDFSIG="pdfsig -nssdir $NSS $THREE"
	hyperfine -N --style basic --warmup 3 --runs "$RUNS" \
		--export-csv "$W/verify-three.csv" \
		-n signet "$VERIFY_SIGNET" -n pdfsig "$VERIFY_PDFSIG" >&2

fi

# --- 4. Go benchmarks --------------------------------------------------------
if want 4; then
	say "4. Go benchmarks (go test -bench, -count $GO_COUNT)"
	# shellcheck disable=SC2086 # GO_PKGS may name several packages
	go test -run '^$' -bench . -benchmem -count "$GO_COUNT" $GO_PKGS | tee "$W/gobench.txt" >&2

fi

# --- 5. start-up: signet --help vs a Go hello-world -------------------------
# init_done CMD... prints the milliseconds from process start to the end of
# the last package initialization (GODEBUG=inittrace=1) and the number of
# packages whose initialization ran code.
init_done() {
	GODEBUG=inittrace=1 "$@" 2>&1 >/dev/null | awk '/^init / {t=substr($3, 2)+$5; n++} END {printf "%.2f %d\n", t, n}'
}
if want 5; then
	say "5. start-up: signet --help vs a Go hello-world built the same way"
	hyperfine -N --style basic --warmup 5 --runs "$STARTUP_RUNS" \
		--export-csv "$W/startup.csv" \
		-n hello "$W/bin/hello" -n hello-cgo "$W/bin/hellocgo" -n signet-help "$SIGNET --help" >&2
	for _ in $(seq 21); do init_done "$W/bin/hello"; done >"$W/init-hello.txt"
	for _ in $(seq 21); do init_done "$W/bin/hellocgo"; done >"$W/init-hellocgo.txt"
	for _ in $(seq 21); do init_done "$SIGNET" --help; done >"$W/init-signet.txt"
	read -r H_MEAN H_SD H_MED < <(hf_stats "$W/startup.csv" hello)
	read -r C_MEAN C_SD C_MED < <(hf_stats "$W/startup.csv" hello-cgo)
	read -r G_MEAN G_SD G_MED < <(hf_stats "$W/startup.csv" signet-help)
	C_INIT=$(col_median "$W/init-hellocgo.txt" 1)
	C_PKGS=$(col_median "$W/init-hellocgo.txt" 2)
	C_SIZE=$(stat -c %s "$W/bin/hellocgo")
	H_INIT=$(col_median "$W/init-hello.txt" 1)
	H_PKGS=$(col_median "$W/init-hello.txt" 2)
	G_INIT=$(col_median "$W/init-signet.txt" 1)
	G_PKGS=$(col_median "$W/init-signet.txt" 2)
	H_SIZE=$(stat -c %s "$W/bin/hello")
	G_SIZE=$(stat -c %s "$SIGNET")
fi

# --- 6. real sample PDFs: signet sign vs pdfsig -add-signature --------------
# The samples of testdata/pdf that are valid PDFs, and pdfcpu's Acroforms2.pdf
# (120 KB, AcroForm with many fields), fetched from the Go module proxy.
ACRO_MODULE=github.com/pdfcpu/pdfcpu@v0.15.0
ACRO_SHA256=440fdf28068464d59e8f5c39aec071fb25b359d025aa85703446c8fd73ebc287
REAL_SAMPLES="ghostscript classic xrefstream linearized cairo mupdf acroform emptyform incremental hybrid signed-pdfsig"
if want 6; then
	say "6. real sample PDFs: signet sign vs pdfsig -add-signature"
	mkdir -p "$W/real"
	for s in $REAL_SAMPLES; do cp "testdata/pdf/$s.pdf" "$W/real/$s.pdf"; done
	# Outside this module, so that go.mod and go.sum stay as they are.
	ACRO_DIR=$(cd "$W" && GOFLAGS= go mod download -json "$ACRO_MODULE" | awk -F'"' '$2 == "Dir" {print $4}')
	[ -n "$ACRO_DIR" ] || { echo "bench: go mod download $ACRO_MODULE failed" >&2; exit 1; }
	install -m 0644 "$ACRO_DIR/pkg/testdata/Acroforms2.pdf" "$W/real/Acroforms2.pdf"
	echo "$ACRO_SHA256  $W/real/Acroforms2.pdf" | sha256sum -c --quiet - ||
		{ echo "bench: Acroforms2.pdf does not have the expected SHA-256" >&2; exit 1; }
	# signed-pdfsig.pdf already holds a signature under its own root.
	certutil -A -d "$NSS" -n "corpus signed-pdfsig root" -t CT,C,C -i testdata/pdf/signed-pdfsig-root.pem
	: >"$W/real.txt"
	for s in $REAL_SAMPLES Acroforms2; do
		in=$W/real/$s.pdf
		before=$(pdfsig -nssdir "$NSS" "$in" 2>/dev/null | grep -c 'Signature Validation:' || true)
		args=(--prepare "rm -f $W/real/$s-signet.pdf" -n signet
			"$SIGNET sign --key $PKI/signer-key.pem --cert $PKI/signer.pem $in $W/real/$s-signet.pdf"
			--prepare "rm -f $W/real/$s-pdfsig.pdf" -n pdfsig
			"pdfsig -nssdir $NSS -nick $NICK -add-signature -new-signature-field-name SigBench $in $W/real/$s-pdfsig.pdf")
		if [ -n "$SHMW" ]; then
			args+=(--prepare "rm -f $SHMW/$s-signet.pdf" -n signet-tmpfs
				"$SIGNET sign --key $PKI/signer-key.pem --cert $PKI/signer.pem $in $SHMW/$s-signet.pdf")
		fi
		hyperfine -N --style basic --warmup 3 --runs "$RUNS" --export-csv "$W/real-$s.csv" "${args[@]}" >&2
		pdfsig_valid "$W/real/$s-signet.pdf" $((before + 1)) >/dev/null
		pdfsig_valid "$W/real/$s-pdfsig.pdf" $((before + 1)) >/dev/null
		read -r _ _ RS < <(hf_stats "$W/real-$s.csv" signet)
		read -r _ _ RP < <(hf_stats "$W/real-$s.csv" pdfsig)
		RT=-
		[ -z "$SHMW" ] || read -r _ _ RT < <(hf_stats "$W/real-$s.csv" signet-tmpfs)
		echo "$s $(stat -c %s "$in") $RS $RT $RP" >>"$W/real.txt"
	done
fi

# --- table -------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a/b}'; }
if want 1; then
	read -r S_MEAN S_SD S_MED < <(hf_stats "$W/sign-small.csv" signet)
	if [ -n "$SHMW" ]; then
		read -r T_MEAN T_SD T_MED < <(hf_stats "$W/sign-small.csv" signet-tmpfs)
	fi
	read -r P_MEAN P_SD P_MED < <(hf_stats "$W/sign-small.csv" pdfsig)
fi
if want 3; then
	read -r VS_MEAN VS_SD VS_MED < <(hf_stats "$W/verify-three.csv" signet)
	read -r VP_MEAN VP_SD VP_MED < <(hf_stats "$W/verify-three.csv" pdfsig)
fi

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
echo
echo "Signet benchmarks — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(go env GOVERSION)"
echo "load average at start: $LOAD_START; at end: $LOAD_END"
echo
if want 1; then
	echo "1. Sign a small PDF ($SMALL_BYTES bytes), RSA-2048, whole process, hyperfine $RUNS runs"
	printf '| %-30s | %16s | %10s | %-12s | %s\n' tool "mean ± sd (ms)" "median ms" "pdfsig -v" "signet verify"
	printf '| %-30s | %16s | %10s | %-12s | %s\n' "signet sign (B-B)" "$S_MEAN ± $S_SD" "$S_MED" "$VALID_SIGNET" "$SIGNET_ON_SIGNET"
	if [ -n "$SHMW" ]; then
		printf '| %-30s | %16s | %10s | %-12s | %s\n' "signet sign, output on tmpfs" "$T_MEAN ± $T_SD" "$T_MED" "" ""
	fi
	printf '| %-30s | %16s | %10s | %-12s | %s\n' "pdfsig -add-signature" "$P_MEAN ± $P_SD" "$P_MED" "$VALID_PDFSIG" "$SIGNET_ON_PDFSIG"
	echo "   pdfsig / signet: $(ratio "$P_MED" "$S_MED")x by median, $(ratio "$P_MEAN" "$S_MEAN")x by mean"
	echo
fi
if want 2; then
	echo "2. Sign a $BIG_SIZE PDF ($BIG_BYTES bytes), median of $BIG_RUNS, /usr/bin/time"
	printf '| %-26s | %10s | %14s |\n' tool "wall s" "peak RSS KB"
	printf '| %-26s | %10s | %14s |\n' "signet sign (B-B)" "$BIG_SIGNET_S" "$BIG_SIGNET_KB"
	if [ -n "${BIG_SHM_S:-}" ]; then
		printf '| %-26s | %10s | %14s |\n' "signet sign, output tmpfs" "$BIG_SHM_S" "$BIG_SHM_KB"
	fi
	printf '| %-26s | %10s | %14s |\n' "sha256sum (floor)" "$BIG_SHA_S" "$BIG_SHA_KB"
	printf '| %-26s | %10s | %14s |\n' "openssl dgst -sha256" "$BIG_OSSL_S" "$BIG_OSSL_KB"
	echo "   signet / sha256sum: ${BIG_RATIO}x${BIG_SHM_RATIO:+ (${BIG_SHM_RATIO}x with the output on tmpfs)}; signet / openssl dgst: ${BIG_OSSL_RATIO}x"
	echo "   target <= 2x the floor and <= 65536 KB peak RSS; pdfsig on the signed file: $BIG_VALID"
	echo
fi
if want 3; then
	echo "3. Verify a 3-signature PAdES B-T file ($(stat -c %s "$THREE") bytes, pdfsig: $VALID_THREE), hyperfine $RUNS runs"
	printf '| %-26s | %14s | %10s |\n' tool "mean ± sd (ms)" "median ms"
	printf '| %-26s | %14s | %10s |\n' "signet verify" "$VS_MEAN ± $VS_SD" "$VS_MED"
	printf '| %-26s | %14s | %10s |\n' "pdfsig" "$VP_MEAN ± $VP_SD" "$VP_MED"
	echo "   pdfsig / signet: $(ratio "$VP_MED" "$VS_MED")x by median, $(ratio "$VP_MEAN" "$VS_MEAN")x by mean"
	echo
fi
if want 4; then
	echo "4. Go benchmarks, median of -count $GO_COUNT"
	printf '| %-40s | %12s | %10s | %10s | %10s |\n' package.benchmark ns/op MB/s B/op allocs/op
	awk '/^pkg: / { pkg=$2; sub(/.*\//, "", pkg) }
	/^Benchmark/ {
		name=$1; sub(/-[0-9]+$/, "", name); name=pkg "." name
		ns=""; mbs="-"; bop=""; al=""
		for (i=3; i<NF; i++) {
			if ($(i+1)=="ns/op") ns=$i
			if ($(i+1)=="MB/s") mbs=$i
			if ($(i+1)=="B/op") bop=$i
			if ($(i+1)=="allocs/op") al=$i
		}
		n[name]++; k=name SUBSEP n[name]
		NS[k]=ns; MBS[k]=mbs; BOP[k]=bop; AL[k]=al
		if (!(name in seen)) { seen[name]=1; order[++m]=name }
	}
	function med(arr, name, cnt,   i, j, t, v) {
		for (i=1; i<=cnt; i++) v[i]=arr[name SUBSEP i]
		for (i=1; i<=cnt; i++) for (j=i+1; j<=cnt; j++) if (v[j]+0 < v[i]+0) { t=v[i]; v[i]=v[j]; v[j]=t }
		return v[int((cnt+1)/2)]
	}
	END {
		for (o=1; o<=m; o++) {
			nm=order[o]
			printf "| %-40s | %12s | %10s | %10s | %10s |\n", nm, med(NS, nm, n[nm]), med(MBS, nm, n[nm]), med(BOP, nm, n[nm]), med(AL, nm, n[nm])
		}
	}' "$W/gobench.txt"
fi
if want 5; then
	echo "5. Start-up: signet --help vs a Go hello-world (same go build), hyperfine $STARTUP_RUNS runs"
	printf '| %-14s | %12s | %16s | %10s | %22s | %14s |\n' program "binary bytes" "mean ± sd (ms)" "median ms" "inits done at (ms, med)" "packages w/ init"
	printf '| %-14s | %12s | %16s | %10s | %22s | %14s |\n' hello "$H_SIZE" "$H_MEAN ± $H_SD" "$H_MED" "$H_INIT" "$H_PKGS"
	printf '| %-14s | %12s | %16s | %10s | %22s | %14s |\n' "hello, cgo" "$C_SIZE" "$C_MEAN ± $C_SD" "$C_MED" "$C_INIT" "$C_PKGS"
	printf '| %-14s | %12s | %16s | %10s | %22s | %14s |\n' "signet --help" "$G_SIZE" "$G_MEAN ± $G_SD" "$G_MED" "$G_INIT" "$G_PKGS"
	echo "   signet --help / hello: $(ratio "$G_MED" "$H_MED")x by median; / hello with cgo: $(ratio "$G_MED" "$C_MED")x"
	echo
fi
if want 6; then
	echo "6. Sign real sample PDFs, RSA-2048, whole process, hyperfine $RUNS runs, medians in ms"
	printf '| %-14s | %8s | %8s | %14s | %8s | %14s | %20s |\n' sample bytes signet "signet (tmpfs)" pdfsig "signet/pdfsig" "tmpfs signet/pdfsig"
	while read -r s b rs rt rp; do
		rr=$(awk -v a="$rs" -v b="$rp" 'BEGIN {printf "%.2f", a/b}')
		rtr=-
		[ "$rt" = - ] || rtr=$(awk -v a="$rt" -v b="$rp" 'BEGIN {printf "%.2f", a/b}')
		printf '| %-14s | %8s | %8s | %14s | %8s | %14s | %20s |\n' "$s" "$b" "$rs" "$rt" "$rp" "${rr}x" "${rtr}x"
	done <"$W/real.txt"
	echo "   every output checked with pdfsig: all its signatures valid and trusted"
	echo
fi
