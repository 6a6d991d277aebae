#!/bin/sh
# test_diskfull.sh: a checkpoint that cannot be written.  A tiny run on the synthetic data plugin is
# killed (-9) after its first checkpoint, then resumed where its next save must fail: the results
# on a full 6 MiB tmpfs (ENOSPC), past `ulimit -f` (EFBIG: snm ignores SIGXFSZ), on that tmpfs
# remounted read-only (EROFS).  Each time: exit status 1 (not a signal), one line on stderr naming
# the run file and the reason, the previous checkpoint unchanged, no temporary file left; once the
# disk has room again, the run resumes and finishes.  Mounting needs root (or a user namespace):
# where it is refused, the tmpfs cases are skipped; EACCES cannot be tested as root (root writes
# through mode 555).
# Prints "test_diskfull: N passed, N failed" and exits 77 when it can set none of it up.
set -u
top=${SNM_TEST_TOPBUILDDIR:?}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/snm-full-XXXXXX")
mounted=0
cleanup() {
	[ "$mounted" -eq 1 ] && umount "$tmp/full" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
passed=0
failed=0
ran=0
pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }

# pipeline RESULTS: the one-run pipeline file, results under RESULTS
pipeline() {
	cat > "$tmp/p.yaml" <<EOF
name: full
seed: 7
results: $1
defaults:
  data: {type: synthetic, classes: 3, per_class: 40, size: 16}
  model: {type: convnet, preset: custom, layers: [{conv: 3, k: 3, stride: 2, pad: 1}, {fc: 6}]}
  noise: {type: ramp}
  train: {epochs: 400, batch: 8, eval_batch: 16}
grid: {per_class: [10], sets: 1}
experiments:
  - name: base
EOF
}

# checkpoint RESULTS: a "running" run file there (snm run killed after its first save, held at
# the first step of epoch 2 by the test regularizer ramp: SNM_TEST_HOLD_AT, tests/plugins/
# interrupt.h, so that a loaded machine cannot let it run on); 0 on success
checkpoint() {
	file=$1/full/base/n10/set1.h5
	pipeline "$1"
	rm -f "$tmp/held"
	SNM_TEST_HOLD_AT=4 SNM_TEST_HOLD_SAY=$tmp/held "$top/snm" run "$tmp/p.yaml" >/dev/null 2>&1 &
	pid=$!
	i=0
	while [ ! -f "$tmp/held" ] && [ $i -lt 6000 ]; do
		sleep 0.01
		i=$((i + 1))
	done
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	rm -f "$file.tmp" "$file.lock"    # what a kill leaves, not what this test looks at
	[ -f "$file" ] && h5dump -a /status "$file" 2>/dev/null | grep -q '"running"'
}

# expect NAME REASON: the last snm run (status in $rc, stderr in err.log) failed as it should
expect() {
	ran=$((ran + 1))
	if [ "$rc" -eq 1 ] && [ "$(wc -l < "$tmp/err.log")" -eq 1 ] \
	   && grep -q "set1\.h5.*: $2\$" "$tmp/err.log"; then
		pass "$1: exit 1, one line naming the file: $2"
	else
		fail "$1: exit status $rc (1 expected), stderr:"
		sed 's/^/  | /' "$tmp/err.log"
	fi
	if [ "$(md5sum < "$file")" = "$sum" ]; then
		pass "$1: the previous checkpoint is unchanged"
	else
		fail "$1: the previous checkpoint changed"
	fi
	left=$(ls "$(dirname "$file")" | grep '\.tmp$')
	if [ -z "$left" ]; then
		pass "$1: no temporary file left"
	else
		fail "$1: left behind: $left"
	fi
}

if ! command -v h5dump >/dev/null 2>&1; then
	echo "test_diskfull: h5dump not found (hdf5-tools): skipped"
	exit 77
fi

# ENOSPC and EROFS on a 6 MiB tmpfs
mkdir "$tmp/full"
if mount -t tmpfs -o size=6m tmpfs "$tmp/full" 2>/dev/null; then
	mounted=1
	if checkpoint "$tmp/full"; then
		sum=$(md5sum < "$file")
		dd if=/dev/zero of="$tmp/full/filler" bs=64k >/dev/null 2>&1
		"$top/snm" run "$tmp/p.yaml" >"$tmp/out.log" 2>"$tmp/err.log"
		rc=$?
		expect "disk full" "No space left on device"
		rm -f "$tmp/full/filler"
		if mount -o remount,ro "$tmp/full" 2>/dev/null; then
			"$top/snm" run "$tmp/p.yaml" >"$tmp/out.log" 2>"$tmp/err.log"
			rc=$?
			expect "read-only" "Read-only file system"
			mount -o remount,rw "$tmp/full"
		else
			echo "SKIP: read-only: cannot remount the tmpfs read-only"
		fi
		"$top/snm" run "$tmp/p.yaml" >"$tmp/out.log" 2>"$tmp/err.log"
		rc=$?
		if [ "$rc" -eq 0 ] && grep -q 'resumed' "$tmp/out.log" && [ ! -s "$tmp/err.log" ]; then
			pass "with room again, the run resumes from the kept checkpoint and finishes"
		else
			fail "with room again: exit status $rc"
			sed 's/^/  | /' "$tmp/out.log" "$tmp/err.log" | tail -n 5
		fi
	else
		fail "no running checkpoint on the tmpfs to start from"
	fi
else
	echo "SKIP: disk full, read-only: cannot mount a tmpfs here"
fi

# EFBIG: past `ulimit -f` (in blocks of 512 or 1024 bytes: the run file is over 100 KiB)
if checkpoint "$tmp/big"; then
	sum=$(md5sum < "$file")
	(ulimit -f 40 && exec "$top/snm" run "$tmp/p.yaml") >"$tmp/out.log" 2>"$tmp/err.log"
	rc=$?
	expect "ulimit -f" "File too large"
else
	fail "no running checkpoint to start from"
fi

echo "test_diskfull: $passed passed, $failed failed"
[ "$ran" -eq 0 ] && exit 77
[ "$failed" -eq 0 ]
