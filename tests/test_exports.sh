#!/bin/sh
# test_exports.sh: libsnm exports exactly what its headers promise -- every function declared in
# the installed SDK headers (include/snm/*.h) and in the runner's side of libsnm (src/core/blas.h,
# src/core/optim.h), and nothing else: src/core/libsnm.sym is that list, and the built library's
# dynamic symbol table matches it.  Skipped (77) without nm.
set -u
src=${SNM_TEST_SRCDIR:?}/..
top=${SNM_TEST_TOPBUILDDIR:?}
lib=$top/src/core/.libs/libsnm.so
command -v nm >/dev/null 2>&1 || { echo "test_exports: nm not found; skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/snm-exports-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
verdict() {   # verdict NAME FILE: passes when FILE is empty, else prints it
	if [ -s "$2" ]; then
		failed=$((failed + 1)); echo "FAIL: $1"; sed 's/^/  | /' "$2" | head -n 20
	else
		passed=$((passed + 1)); echo "PASS: $1"
	fi
}
# The functions a header declares: snm_<name>( outside comments and preprocessor lines.
declared() {
	for h in "$@"; do
		${CC:-cc} -fpreprocessed -dD -E -P "$h" 2>/dev/null
	done | awk '/^[[:space:]]*#/ || cont { cont = /\\$/; next } { print }' | grep -o 'snm_[a-z0-9_]*[[:space:]]*(' \
		| sed 's/[[:space:]]*($//' | sort -u
}
# header-only helpers (static inline, e.g. plugin.h's snm_model_encode_post) are defined where they
# are included, not exported
inline_defs() {
	cat "$@" | grep -o 'static inline [^(;]*snm_[a-z0-9_]*(' | grep -o 'snm_[a-z0-9_]*($' | tr -d '(' \
		| sort -u
}
declared "$src"/include/snm/*.h "$src"/src/core/blas.h "$src"/src/core/optim.h > "$tmp/declared.all"
inline_defs "$src"/include/snm/*.h "$src"/src/core/blas.h "$src"/src/core/optim.h > "$tmp/inline"
comm -23 "$tmp/declared.all" "$tmp/inline" > "$tmp/declared"
sort -u "$src/src/core/libsnm.sym" > "$tmp/listed"
comm -3 "$tmp/declared" "$tmp/listed" | sed 's/^\t/listed, not declared: /; t; s/^/declared, not listed: /' \
	> "$tmp/d1"
verdict "src/core/libsnm.sym lists what the headers declare" "$tmp/d1"
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVWiu]$/ { print $3 }' | sed 's/@.*//' | sort -u \
	> "$tmp/exported"
comm -3 "$tmp/listed" "$tmp/exported" | sed 's/^\t/exported, not listed: /; t; s/^/listed, not exported: /' \
	> "$tmp/d2"
verdict "libsnm.so exports exactly src/core/libsnm.sym ($(wc -l < "$tmp/exported") symbols)" "$tmp/d2"
echo "test_exports: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
