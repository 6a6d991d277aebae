#!/bin/sh
# test_location.sh: the code a run records -- the SHA-256 of libsnm's and each plugin's file
# (src/run/identity.h) -- does not depend on where the tree was built, so that a run made by a
# build of the same code elsewhere (another clone, another cluster node, the installed copy) is
# not taken for other code.  Fast check (make check): libsnm and every plugin have no RUNPATH or
# RPATH and contain neither the build nor the source directory's path (configure.ac's
# -ffile-prefix-map; plugins/local.mk links libsnm as -lsnm).  SNM_LOCATION_FULL=1 also builds the
# distribution's files (make distdir) in two directories of different names and lengths and
# compares the files themselves (minutes).  In a sanitizer build (CI's ASan and UBSan build) the
# path check is skipped, saying so: GCC writes each source file's path into the sanitizers'
# diagnostic data unmapped, so such a build is location-bound (it makes no results worth keeping).
# Prints "test_location: N passed, N failed[, N skipped]"; exits 77 without readelf, or when a
# check was skipped and none failed.
set -u
. "${SNM_TEST_SRCDIR:?}/lib.sh"
test_begin location
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
command -v readelf > /dev/null 2>&1 || { echo "test_location: readelf not found (binutils); skipped"; exit 77; }
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make "$@"; }

builddir=$(cd "$top" && pwd -P)
srcdir=$(cd "$SNM_TEST_SRCDIR/.." && pwd -P)
# the shared objects of a tree whose hashes make a run's code: libsnm and the shipped plugins
objects() {
	ls "$1"/src/core/.libs/libsnm.so.*.*.* "$1"/plugins/data/.libs/*.so \
	   "$1"/plugins/models/.libs/*.so "$1"/plugins/noise/.libs/*.so 2>/dev/null
}
objects "$builddir" > "$tmp/objects"
check "libsnm and the plugins are built ($(wc -l < "$tmp/objects") files)" \
	$([ "$(wc -l < "$tmp/objects")" -ge 10 ]; echo $?)

: > "$tmp/paths"
while read -r f; do
	readelf -d "$f" | grep -E '\((RUNPATH|RPATH)\)' | sed "s|^|$f: |" >> "$tmp/paths"
done < "$tmp/objects"
check "none has a RUNPATH or RPATH" $([ ! -s "$tmp/paths" ]; echo $?) "$tmp/paths"

sanitized=0
if command -v nm > /dev/null 2>&1; then
	while read -r f; do
		nm -D "$f" 2>/dev/null | grep -q -E ' U __(asan|ubsan)_' && sanitized=1
	done < "$tmp/objects"
fi
: > "$tmp/names"
[ "$sanitized" -eq 1 ] || while read -r f; do
	for d in "$builddir" "$srcdir"; do
		n=$(grep -c -a -F "$d/" "$f")
		[ "$n" -eq 0 ] || echo "$f: $n lines name $d/" >> "$tmp/names"
		n=$(strings -a "$f" 2>/dev/null | grep -c -x -F "$d")
		[ "$n" -eq 0 ] || echo "$f: names $d" >> "$tmp/names"
	done
done < "$tmp/objects"
skipped=0
if [ "$sanitized" -eq 1 ]; then
	skipped=1
	echo "SKIP: the paths in libsnm and the plugins: a sanitizer build (its diagnostics name each source file)"
else
	check "none contains the build or the source directory's path" $([ ! -s "$tmp/names" ]; echo $?) \
		"$tmp/names"
fi

if [ "${SNM_LOCATION_FULL:-0}" = 1 ]; then
	dist=$tmp/dist
	if ! mk -C "$top" distdir distdir="$dist" > "$tmp/distdir.log" 2>&1; then
		abort "make distdir" "$tmp/distdir.log"
	fi
	for d in "$tmp/a" "$tmp/a-much-longer-directory-name/b"; do
		mkdir -p "$d" && cp -R "$dist/." "$d/"
		if ! (cd "$d" && ./configure --quiet && mk -j2 > build.log 2>&1) > "$tmp/build.log" 2>&1; then
			cat "$d/build.log" >> "$tmp/build.log" 2>/dev/null
			abort "configure and make in $d" "$tmp/build.log"
		fi
	done
	(cd "$tmp/a" && objects . | xargs sha256sum) > "$tmp/a.sums"
	(cd "$tmp/a-much-longer-directory-name/b" && objects . | xargs sha256sum) > "$tmp/b.sums"
	diff "$tmp/a.sums" "$tmp/b.sums" > "$tmp/sums.diff"
	check "the same files built in two directories are byte for byte equal ($(wc -l < "$tmp/a.sums") files)" \
		$([ -s "$tmp/a.sums" ] && [ ! -s "$tmp/sums.diff" ]; echo $?) "$tmp/sums.diff"
fi
if [ "$skipped" -gt 0 ]; then
	echo "$test_name: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ] && exit 77
	exit 1
fi
test_end
