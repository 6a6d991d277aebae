#!/bin/sh
# test_reinstall.sh: ./configure --prefix=OTHER in a tree built before, then make install.  libtool
# records a library's libdir when it links it, and loader.c and paper.c are compiled with the
# plugin and data directories, so what records the old prefix must be remade (Makefile.am,
# install-dirs.stamp).  Fast check (make check): the stamp holds this tree's directories, and
# make -n, told that the stamp changed, relinks libsnm, every plugin and snm and recompiles loader.c
# and paper.c -- and nothing else (tape.c stays).  SNM_REINSTALL_FULL=1 also does it for real
# (minutes): the distribution's files (make distdir, into a scratch directory) configured out of
# tree, built and installed with one prefix, configured again with another and installed; that
# snm finds its plugins under the second prefix with the first one removed.
# Prints "test_reinstall: N passed, N failed"; exits 77 without GNU make.
set -u
. "${SNM_TEST_SRCDIR:?}/lib.sh"
test_begin reinstall
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
# make without the make check that runs us (its jobserver, its -k)
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make "$@"; }

if ! make --version 2>/dev/null | grep -q 'GNU Make'; then
	echo "test_reinstall: GNU make not found: skipped"
	exit 77
fi
dirs=$(mk -s -C "$top" -f Makefile -f - print-dirs <<'EOF'
print-dirs:
	@echo '$(prefix) $(exec_prefix) $(bindir) $(libdir) $(pkglibdir) $(pkgdatadir)'
EOF
)
dirs=$(printf '%s\n' "$dirs" | tail -n 1)     # the line itself, after any remaking of the Makefile
check "install-dirs.stamp holds this tree's directories ($dirs)" \
	$([ -n "$dirs" ] && [ "$(cat "$top/install-dirs.stamp")" = "$dirs" ]; echo $?)
mk -C "$top" -n -W install-dirs.stamp src/core/libsnm.la plugins/noise/none.la plugins/data/idx.la \
	plugins/models/convnet.la snm src/run/librun_la-loader.lo paper/libpaper_la-paper.lo src/core/tape.lo \
	> "$tmp/n.log" 2>&1
check "the stamp changed: libsnm, the plugins and snm relink" \
	$(grep -q -- '-o src/core/libsnm.la' "$tmp/n.log" && grep -q -- '-o plugins/noise/none.la' "$tmp/n.log" \
	  && grep -q -- '-o plugins/data/idx.la' "$tmp/n.log" && grep -q -- '-o plugins/models/convnet.la' "$tmp/n.log" \
	  && grep -q -- '-o snm ' "$tmp/n.log"; echo $?) "$tmp/n.log"
check "... loader.c and paper.c recompile, tape.c does not" \
	$(grep -q 'src/run/loader.c' "$tmp/n.log" && grep -q 'paper/paper.c' "$tmp/n.log" \
	  && ! grep -q 'src/core/tape.c' "$tmp/n.log" && ! grep -q 'No rule' "$tmp/n.log"; echo $?) "$tmp/n.log"

if [ "${SNM_REINSTALL_FULL:-0}" = 1 ]; then
	src=$tmp/src
	if ! mk -C "$top" distdir distdir="$src" > "$tmp/dist.log" 2>&1; then
		fail "make distdir"
		sed 's/^/  | /' "$tmp/dist.log" | tail -n 5
	else
		mkdir "$tmp/b"
		( cd "$tmp/b" && "$src/configure" --prefix="$tmp/p1" && mk -j2 && mk install ) > "$tmp/one.log" 2>&1
		check "built and installed with --prefix=p1" $? "$tmp/one.log"
		( cd "$tmp/b" && "$src/configure" --prefix="$tmp/p2" && mk -j2 && mk install ) > "$tmp/two.log" 2>&1
		check "configured again with --prefix=p2 in the same tree: make install succeeds" $? "$tmp/two.log"
		rm -rf "$tmp/p1"
		env -u SNM_PLUGIN_PATH "$tmp/p2/bin/snm" plugins > "$tmp/plugins.log" 2>&1
		check "p2's snm finds its plugins under p2, p1 removed" \
			$([ $? -eq 0 ] && grep -q "$tmp/p2/lib/snm/none.so" "$tmp/plugins.log"; echo $?) "$tmp/plugins.log"
	fi
fi
test_end
