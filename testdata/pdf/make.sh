#!/usr/bin/env bash
# Regenerates the PDF sample corpus in this directory from Debian tools
# (qpdf, ghostscript, poppler-utils, mupdf-tools, openssl, libnss3-tools)
# and checks that every sample has the structure it is named for.
#
#   testdata/pdf/make.sh          regenerate and verify
#   testdata/pdf/make.sh --check  verify the committed files only
#
# See README.md in this directory for what each file exercises.
set -euo pipefail
cd "$(dirname "$0")"

for tool in qpdf gs pdftocairo mutool pdfsig certutil pk12util openssl; do
	command -v "$tool" >/dev/null || { echo "make.sh: $tool is missing (make deps installs it)" >&2; exit 1; }
done

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

die() { echo "make.sh: $*" >&2; exit 1; }
size() { stat -c %s "$1"; }

# xref_entry OFFSET: one 20-byte classic cross-reference entry (ISO 32000-1 §7.5.4).
xref_entry() { printf '%010d 00000 n \n' "$1"; }

# trailer_value FILE KEY: a trailer entry as qpdf prints it, e.g. "3 0 R".
trailer_value() {
	qpdf --show-object=trailer "$1" | sed -n "s/.*\/$2 \(\[[^]]*\]\|[0-9]* [0-9]* R\|[0-9]*\).*/\1/p"
}

generate() {
	# --- ghostscript.pdf: two pages of text from a PostScript program.
	cat > "$T/doc.ps" <<'EOF'
%!PS-Adobe-3.0
%%Pages: 2
<< /PageSize [595 842] >> setpagedevice
/Helvetica findfont 24 scalefont setfont
72 760 moveto (Signet sample document) show
/Helvetica findfont 12 scalefont setfont
72 730 moveto (Page one. This file exists to be signed in tests.) show
showpage
/Helvetica findfont 12 scalefont setfont
72 760 moveto (Page two. Nothing to see here.) show
showpage
EOF
	gs -q -dSAFER -dBATCH -dNOPAUSE -sDEVICE=pdfwrite -o ghostscript.pdf "$T/doc.ps"

	# --- classic.pdf: classic xref table, no object streams, made by qpdf.
	qpdf --deterministic-id --object-streams=disable --compress-streams=y ghostscript.pdf classic.pdf

	# --- xrefstream.pdf: xref stream, catalog and pages inside object streams.
	qpdf --deterministic-id --object-streams=generate classic.pdf xrefstream.pdf

	# --- linearized.pdf
	qpdf --deterministic-id --linearize classic.pdf linearized.pdf

	# --- cairo.pdf: poppler's cairo backend.
	pdftocairo -pdf classic.pdf cairo.pdf

	# --- mupdf.pdf: mutool create from a content stream.
	cat > "$T/page.txt" <<'EOF'
%%MediaBox 0 0 595 842
%%Font F1 Times-Roman
BT /F1 20 Tf 72 760 Td (Signet sample made by mutool create) Tj ET
EOF
	mutool create -o mupdf.pdf "$T/page.txt"

	make_acroform
	make_emptyform
	make_incremental
	make_hybrid
	make_signed

	# --- Bad inputs.
	qpdf --static-aes-iv --static-id --encrypt u o 256 -- classic.pdf encrypted.pdf
	head -c $(( $(size classic.pdf) / 2 )) classic.pdf > truncated.pdf
	local sx
	sx=$(grep -abo 'startxref' classic.pdf | tail -1 | cut -d: -f1)
	{ head -c "$sx" classic.pdf; printf 'startxref\n987654321\n%%%%EOF\n'; } > broken-xref.pdf
	gs -q -dSAFER -dBATCH -dNOPAUSE -sDEVICE=pnggray -r12 -dFirstPage=1 -dLastPage=1 -o notpdf.pdf classic.pdf
}

# make_acroform writes a one-page PDF by hand with an AcroForm holding a
# text field and an unsigned signature field (/FT /Sig without /V), computing
# the cross-reference offsets as it writes, then lets qpdf normalize it.
make_acroform() {
	local f="$T/acroform-raw.pdf" off=()
	: > "$f"
	printf '%%PDF-1.7\n%%\342\343\317\323\n' >> "$f"
	obj() { off[$1]=$(size "$f"); printf '%d 0 obj\n%s\nendobj\n' "$1" "$2" >> "$f"; }
	obj 1 '<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R 6 0 R] /DA (/Helv 0 Tf 0 g) /DR << /Font << /Helv 7 0 R >> >> >> >>'
	obj 2 '<< /Type /Pages /Kids [3 0 R] /Count 1 >>'
	obj 3 '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 7 0 R >> >> /Annots [5 0 R 6 0 R] >>'
	local content='BT /F1 18 Tf 72 760 Td (Signet form sample: name field and signature field) Tj ET'
	obj 4 "$(printf '<< /Length %d >>\nstream\n%s\nendstream' $(( ${#content} + 1 )) "$content")"
	obj 5 '<< /Type /Annot /Subtype /Widget /FT /Tx /T (Name) /V (Ada Lovelace) /DA (/Helv 12 Tf 0 g) /Rect [72 680 300 700] /F 4 /P 3 0 R >>'
	obj 6 '<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /Rect [72 560 300 640] /F 4 /P 3 0 R >>'
	obj 7 '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>'
	local xref i
	xref=$(size "$f")
	{
		printf 'xref\n0 8\n0000000000 65535 f \n'
		for i in 1 2 3 4 5 6 7; do xref_entry "${off[$i]}"; done
		printf 'trailer\n<< /Size 8 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n' "$xref"
	} >> "$f"
	qpdf --check "$f" >/dev/null || die "hand-written acroform source is not clean"
	qpdf --deterministic-id --object-streams=disable "$f" acroform.pdf
}

# make_emptyform writes a one-page PDF by hand whose catalog holds a direct
# AcroForm dictionary with an empty /Fields array and no field at all, then
# lets qpdf normalize it. poppler's pdfsig -add-signature, given such a file,
# puts the new signature field in the page's /Annots and leaves /Fields
# empty (the pades tests sign it so at test time).
make_emptyform() {
	local f="$T/emptyform-raw.pdf" off=()
	: > "$f"
	printf '%%PDF-1.7\n%%\342\343\317\323\n' >> "$f"
	obj() { off[$1]=$(size "$f"); printf '%d 0 obj\n%s\nendobj\n' "$1" "$2" >> "$f"; }
	obj 1 '<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [] >> >>'
	obj 2 '<< /Type /Pages /Kids [3 0 R] /Count 1 >>'
	obj 3 '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>'
	local content='BT /F1 18 Tf 72 760 Td (Signet sample: an AcroForm without fields) Tj ET'
	obj 4 "$(printf '<< /Length %d >>\nstream\n%s\nendstream' $(( ${#content} + 1 )) "$content")"
	obj 5 '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>'
	local xref i
	xref=$(size "$f")
	{
		printf 'xref\n0 6\n0000000000 65535 f \n'
		for i in 1 2 3 4 5; do xref_entry "${off[$i]}"; done
		printf 'trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n' "$xref"
	} >> "$f"
	qpdf --check "$f" >/dev/null || die "hand-written emptyform source is not clean"
	qpdf --deterministic-id --object-streams=disable "$f" emptyform.pdf
}

# make_incremental appends one revision to classic.pdf that replaces its
# document information dictionary, with its own xref section and /Prev.
make_incremental() {
	cp classic.pdf incremental.pdf
	local info root size id prev o x
	info=$(trailer_value classic.pdf Info | cut -d' ' -f1)
	root=$(trailer_value classic.pdf Root)
	size=$(trailer_value classic.pdf Size)
	id=$(trailer_value classic.pdf ID)
	prev=$(tail -c 40 classic.pdf | sed -n '/startxref/{n;p}')
	[ -n "$info" ] && [ -n "$root" ] && [ -n "$size" ] && [ -n "$id" ] && [ -n "$prev" ] || die "cannot read the trailer of classic.pdf"
	o=$(size incremental.pdf)
	printf '%d 0 obj\n<< /Title (Signet incremental sample) /Producer (Signet corpus make.sh) /ModDate (D:20260101000000Z) >>\nendobj\n' "$info" >> incremental.pdf
	x=$(size incremental.pdf)
	{
		printf 'xref\n%d 1\n' "$info"
		xref_entry "$o"
		printf 'trailer\n<< /Size %d /Root %s /Info %d 0 R /ID %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n' "$size" "$root" "$info" "$id" "$prev" "$x"
	} >> incremental.pdf
}

# make_hybrid writes a hybrid-reference file (ISO 32000-1 §7.5.8.4) by
# hand: the catalog, page tree, page and font live in an object stream; a
# classic xref table lists only the uncompressed objects; the trailer's /XRefStm points at an xref stream that gives
# their object-stream locations.
make_hybrid() {
	local f=hybrid.pdf off=()
	: > "$f"
	printf '%%PDF-1.5\n%%\342\343\317\323\n' >> "$f"
	# Object stream 6 holds objects 1, 2, 3 and 5.
	local o1='<< /Type /Catalog /Pages 2 0 R >>'
	local o2='<< /Type /Pages /Kids [3 0 R] /Count 1 >>'
	local o3='<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>'
	local o5='<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'
	local body="$o1 $o2 $o3 $o5"
	local p1=0 p2=$(( ${#o1} + 1 ))
	local p3=$(( p2 + ${#o2} + 1 ))
	local p5=$(( p3 + ${#o3} + 1 ))
	local header="1 $p1 2 $p2 3 $p3 5 $p5"
	local first=$(( ${#header} + 1 ))
	local objstm="$header $body"
	off[4]=$(size "$f")
	local content='BT /F1 18 Tf 72 760 Td (Signet hybrid-reference sample) Tj ET'
	printf '4 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n' $(( ${#content} + 1 )) "$content" >> "$f"
	off[6]=$(size "$f")
	printf '6 0 obj\n<< /Type /ObjStm /N 4 /First %d /Length %d >>\nstream\n%s\nendstream\nendobj\n' "$first" "${#objstm}" "$objstm" >> "$f"
	# Xref stream 7: W [1 2 1], entries for objects 1-3 and 5 (type 2) and
	# for itself (type 1).
	off[7]=$(size "$f")
	local e
	e() { printf "\\x$(printf %02x "$1")\\x$(printf %02x $(( $2 >> 8 )))\\x$(printf %02x $(( $2 & 255 )))\\x$(printf %02x "$3")"; }
	{
		printf '7 0 obj\n<< /Type /XRef /Size 8 /W [1 2 1] /Index [1 3 5 1 7 1] /Length 20 >>\nstream\n'
		e 2 6 0; e 2 6 1; e 2 6 2; e 2 6 3; e 1 "${off[7]}" 0
		printf '\nendstream\nendobj\n'
	} >> "$f"
	local xref i
	xref=$(size "$f")
	{
		printf 'xref\n0 1\n0000000000 65535 f \n4 1\n'
		xref_entry "${off[4]}"
		printf '6 2\n'
		xref_entry "${off[6]}"
		xref_entry "${off[7]}"
		printf 'trailer\n<< /Size 8 /Root 1 0 R /XRefStm %d >>\nstartxref\n%d\n%%%%EOF\n' "${off[7]}" "$xref"
	} >> "$f"
}

# make_signed signs acroform.pdf's empty field with pdfsig (poppler + NSS) using a
# throwaway RSA root and signer; only the signed PDF and the root
# certificate are kept.
make_signed() {
	local d="$T/pki" db="$T/nss"
	mkdir -p "$d" "$db"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/root.key" -out "$d/root.pem" -days 3650 \
		-subj '/CN=Signet Corpus pdfsig Root' -addext 'basicConstraints=critical,CA:TRUE' \
		-addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -keyout "$d/signer.key" -out "$d/signer.csr" \
		-subj '/CN=Signet Corpus pdfsig Signer' 2>/dev/null
	printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=emailProtection\n' > "$d/ext"
	openssl x509 -req -in "$d/signer.csr" -CA "$d/root.pem" -CAkey "$d/root.key" -CAcreateserial \
		-days 3650 -extfile "$d/ext" -out "$d/signer.pem" 2>/dev/null
	openssl pkcs12 -export -inkey "$d/signer.key" -in "$d/signer.pem" -certfile "$d/root.pem" \
		-name signer -passout pass:corpus -out "$d/signer.p12"
	certutil -N -d "sql:$db" --empty-password
	pk12util -i "$d/signer.p12" -d "sql:$db" -W corpus >/dev/null
	certutil -A -d "sql:$db" -n root -t 'CT,C,C' -i "$d/root.pem"
	# -add-signature would embed a 200+ KB font for the new field's
	# appearance; signing the existing empty field of acroform.pdf does not.
	pdfsig -nssdir "sql:$db" -nick signer -sign Signature1 \
		-reason 'Signet corpus sample' acroform.pdf signed-pdfsig.pdf 2>&1 | grep -v '^NSS_Shutdown' || true
	[ -s signed-pdfsig.pdf ] || die "pdfsig did not sign acroform.pdf"
	cp "$d/root.pem" signed-pdfsig-root.pem
	pdfsig -nssdir "sql:$db" signed-pdfsig.pdf 2>/dev/null | grep 'Signature is Valid.' >/dev/null || die "pdfsig does not validate signed-pdfsig.pdf"
}

# check_clean FILE: qpdf --check passes with no warnings (exit 0).
check_clean() {
	local out
	out=$(qpdf --check "$1" 2>&1) || die "qpdf --check $1 failed:
$out"
	grep -qi 'warning' <<<"$out" && die "qpdf --check $1 warns:
$out"
	return 0
}

# in_objstm FILE OBJ: object OBJ lives in an object stream.
# (Output is captured first: grep -q in a pipeline would SIGPIPE qpdf under pipefail.)
in_objstm() { local x; x=$(qpdf --show-xref "$1"); grep -q "^$2/0: compressed" <<<"$x"; }

verify() {
	local f
	for f in classic xrefstream linearized ghostscript cairo mupdf acroform emptyform incremental hybrid signed-pdfsig; do
		check_clean "$f.pdf"
		[ "$(size "$f.pdf")" -lt 51200 ] || die "$f.pdf is larger than 50 KB"
	done

	grep -aq '^xref$' classic.pdf || die "classic.pdf has no classic xref table"
	grep -aq '/ObjStm' classic.pdf && die "classic.pdf has object streams"

	grep -aq '^xref$' xrefstream.pdf && die "xrefstream.pdf has a classic xref table"
	grep -aq '/XRef' xrefstream.pdf || die "xrefstream.pdf has no xref stream"
	local root pages
	root=$(trailer_value xrefstream.pdf Root | cut -d' ' -f1)
	pages=$(qpdf --show-object="$root" xrefstream.pdf | sed -n 's/.*\/Pages \([0-9]*\) 0 R.*/\1/p')
	in_objstm xrefstream.pdf "$root" || die "xrefstream.pdf: catalog $root is not in an object stream"
	in_objstm xrefstream.pdf "$pages" || die "xrefstream.pdf: page tree $pages is not in an object stream"
	local page
	for page in $(qpdf --show-pages xrefstream.pdf | sed -n 's/^page [0-9]*: \([0-9]*\) 0 R$/\1/p'); do
		in_objstm xrefstream.pdf "$page" || die "xrefstream.pdf: page $page is not in an object stream"
	done

	local lin
	lin=$(qpdf --check-linearization linearized.pdf 2>&1) || die "linearized.pdf: $lin"
	grep -x 'linearized.pdf: no linearization errors' <<<"$lin" >/dev/null || die "linearized.pdf is not linearized: $lin"
	grep -aq 'Ghostscript' ghostscript.pdf || die "ghostscript.pdf was not made by Ghostscript"
	[ "$(qpdf --show-npages ghostscript.pdf)" = 2 ] || die "ghostscript.pdf does not have 2 pages"
	grep -aq 'cairo' cairo.pdf || die "cairo.pdf was not made by cairo"

	grep -aq '/FT /Sig' acroform.pdf || die "acroform.pdf has no signature field"
	grep -aq '/FT /Tx' acroform.pdf || die "acroform.pdf has no text field"
	grep -aq '/AcroForm' acroform.pdf || die "acroform.pdf has no AcroForm"

	qpdf --show-object="$(trailer_value emptyform.pdf Root | cut -d' ' -f1)" emptyform.pdf |
		grep -F '/AcroForm << /Fields [ ] >>' >/dev/null || die "emptyform.pdf has no direct AcroForm with an empty /Fields"
	grep -aq '/Annots' emptyform.pdf && die "emptyform.pdf has annotations"

	[ "$(grep -ac '^startxref' incremental.pdf)" = 2 ] || die "incremental.pdf does not have two revisions"
	grep -aq '/Prev' incremental.pdf || die "incremental.pdf has no /Prev"
	qpdf --show-object="$(trailer_value incremental.pdf Info | cut -d' ' -f1)" incremental.pdf |
		grep 'Signet incremental sample' >/dev/null || die "incremental.pdf's update is not in effect"

	grep -aq '/XRefStm' hybrid.pdf || die "hybrid.pdf has no /XRefStm"
	in_objstm hybrid.pdf 1 || die "hybrid.pdf: catalog is not in an object stream"
	mutool info hybrid.pdf >/dev/null 2>&1 || die "mutool cannot read hybrid.pdf"
	pdfinfo hybrid.pdf >/dev/null 2>&1 || die "pdfinfo cannot read hybrid.pdf"

	pdfsig signed-pdfsig.pdf 2>/dev/null | grep 'Signature #1' >/dev/null || die "signed-pdfsig.pdf has no signature"

	grep -aq '/Encrypt' encrypted.pdf || die "encrypted.pdf is not encrypted"
	qpdf --check truncated.pdf >/dev/null 2>&1 && die "truncated.pdf passes qpdf --check"
	tail -c 30 broken-xref.pdf | grep -a 987654321 >/dev/null || die "broken-xref.pdf keeps its startxref"
	head -c 8 notpdf.pdf | grep -a PNG >/dev/null || die "notpdf.pdf is not a PNG"
	echo "make.sh: corpus verified"
}

if [ "${1:-}" != "--check" ]; then
	generate
fi
verify
