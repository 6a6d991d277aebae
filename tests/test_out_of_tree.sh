#!/bin/sh
# test_out_of_tree.sh: installs snm into a staging directory (make install DESTDIR=...), builds
# tests/outoftree/mynoise.c there with only `cc -shared $(pkg-config --cflags --libs snm)`, and
# trains a tiny pipeline that names the new regularizer with the installed `snm` (an ABI 1.2 plugin:
# objective_at alone, its weight ramped by epoch).
# Prints "test_out_of_tree: N passed, N failed" and exits non-zero on any failure.
set -u
top=${SNM_TEST_TOPBUILDDIR:?}
src=${SNM_TEST_SRCDIR:?}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/snm-oot-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
check() {   # check NAME COMMAND...
	name=$1; shift
	if "$@" >"$tmp/out.log" 2>&1; then
		passed=$((passed + 1)); echo "PASS: $name"
	else
		failed=$((failed + 1)); echo "FAIL: $name"; sed 's/^/  | /' "$tmp/out.log" | tail -n 20
	fi
}
finish() { echo "test_out_of_tree: $passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

prefix=$(sed -n 's/^prefix=//p' "$top/snm.pc")
libdir=$(sed -n 's/^libdir=//p' "$top/snm.pc" | sed "s|\${exec_prefix}|$prefix|; s|\${prefix}|$prefix|")
stage=$tmp/stage
check "make install into a staging dir" make -C "$top" install DESTDIR="$stage"
[ "$failed" -eq 0 ] || finish
export PKG_CONFIG_PATH="$stage$libdir/pkgconfig"
pc() { pkg-config --define-variable=prefix="$stage$prefix" "$@" snm; }
check "pkg-config knows snm" pc --exists
mkdir -p "$tmp/plugins"
check "build the plugin with pkg-config only" \
	sh -c "cc -std=c11 -fPIC -shared -o '$tmp/plugins/mynoise.so' '$src/outoftree/mynoise.c' $(pc --cflags --libs)"
export LD_LIBRARY_PATH="$stage$libdir"
# the installed plugins live in $libdir/snm; the staged copy is found through --plugin-path
cat >"$tmp/p.yaml" <<YAML
name: oot
results: $tmp/results
defaults:
  data: {type: synthetic, classes: 3, per_class: 10, size: 8}
  model: {type: convnet, preset: custom, layers: [{conv: 3, k: 3, stride: 2, pad: 1}, {fc: 6}]}
  train: {epochs: 2, batch: 10, lr: 0.01}
grid: {per_class: [5], sets: 1}
experiments:
  - name: mine
    noise: {type: mynoise, weight: 0.05, ramp: 2}
YAML
snm="$stage$prefix/bin/snm"
paths="$tmp/plugins:$stage$libdir/snm"
check "snm plugins lists it" sh -c "SNM_PLUGIN_PATH= '$snm' plugins --plugin-path '$paths' | grep -q 'mynoise.*out of tree'"
check "a pipeline trains with it" sh -c "SNM_PLUGIN_PATH= '$snm' run '$tmp/p.yaml' --plugin-path '$paths'"
check "its terms are in the result file" sh -c "h5dump -H '$tmp/results/oot/mine/n5/set1.h5' | grep -q 'loss.recon'"
finish
