#!/bin/sh
# test_verify.sh: a committed result verifies.  One small run committed under results/ (quick.yaml's
# feed-forward, n=10, set 1, on Debian's Fashion-MNIST, compact) retrains to the same bits:
# `snm verify` says "bitwise equal" and exits 0.  Bits depend on the OpenBLAS kernel, so the same
# run is committed once per kernel it was recorded under: results/quick/feed-forward/n10/set1.h5
# (Cooperlake) and results/verify/<core>/quick/feed-forward/n10/set1.h5 (Haswell, ...).  Each is
# retrained (the one of the kernel OPENBLAS_CORETYPE names first) until one verifies; one
# recorded under this machine's kernel that differs fails; where every one names another kernel
# than this machine's OpenBLAS runs, the test is skipped (exit 77, saying both), not passed;
# skipped too when the tree has no results/ (a distribution tarball).
# And a run of numeric version 2 (train.numerics: Gaussian noise by GSL's ziggurat), trained here
# on the synthetic data, verifies bitwise equal, its file recording numerics 2.  A verification
# interrupted by SIGINT stops at the step: exit 130, one line, its scratch directory removed.
# Prints "test_verify: N passed, N failed[, N skipped]" and exits non-zero on a failure.
set -u
. "${SNM_TEST_SRCDIR:?}/lib.sh"
test_begin verify
src=${SNM_TEST_SRCDIR:?}/..
skipped=0
skip() { skipped=$((skipped + 1)); echo "SKIP: $1"; }

cat > "$tmp/num.yaml" <<YAML
name: num
seed: 3
results: $tmp/num-results
defaults:
  data: {type: synthetic, classes: 3, per_class: 30, size: 8}
  model: {type: convnet, preset: custom, layers: [{conv: 3, k: 3, stride: 2, pad: 1}, {fc: 6}]}
  noise: {type: random, sd: 0.5}
  train: {epochs: 2, batch: 8, eval_batch: 16, numerics: 2}
grid: {per_class: [4], sets: 1}
experiments: [{name: r}]
YAML
num=$tmp/num-results/num/r/n4/set1.h5
if ! "$top/snm" run "$tmp/num.yaml" --threads 1 > "$tmp/num-run.log" 2>&1; then
	fail "a numerics-2 run trains"
	tail -n 5 "$tmp/num-run.log"
else
	if ! command -v h5dump > /dev/null 2>&1; then
		skip "the numerics attribute: no h5dump (hdf5-tools)"
	elif h5dump -a numerics "$num" 2>/dev/null | grep -q "(0): 2$"; then
		pass "the numerics-2 run's file records numerics 2"
	else
		fail "the numerics-2 run's file records numerics 2"
		h5dump -a numerics "$num" 2>&1 | tail -n 5
	fi
	if (cd "$tmp" && "$top/snm" verify "$num") > "$tmp/num-verify.log" 2>&1 \
	   && grep -q "bitwise equal" "$tmp/num-verify.log" \
	   && grep -q "retraining (1 thread, numerics 2)" "$tmp/num-verify.log"; then
		pass "snm verify of a numerics-2 run: retrained at numerics 2, bitwise equal"
	else
		fail "snm verify of a numerics-2 run"
		cat "$tmp/num-verify.log"
	fi
fi

# Interrupted: a run of the test regularizer ramp (tests/plugins) verified while it raises SIGINT
# at its third call, in epoch 2 (SNM_TEST_INTERRUPT_AT): exit 130, one line, the scratch directory under
# $TMPDIR removed and the second file not retrained; with --keep the partial file stays, named.
sed -e 's/noise: {type: random, sd: 0.5}/noise: {type: ramp}/' -e 's/numerics: 2}/numerics: 1}/' \
    -e 's/epochs: 2,/epochs: 4,/' -e "s|num-results|ramp-results|" "$tmp/num.yaml" > "$tmp/ramp.yaml"
ramp=$tmp/ramp-results/num/r/n4/set1.h5
if ! "$top/snm" run "$tmp/ramp.yaml" --threads 1 > "$tmp/ramp-run.log" 2>&1; then
	fail "a run of the test regularizer ramp trains"
	tail -n 5 "$tmp/ramp-run.log"
else
	mkdir "$tmp/vt"
	(cd "$tmp" && TMPDIR=$tmp/vt SNM_TEST_INTERRUPT_AT=2 "$top/snm" verify "$ramp" "$ramp") \
		> "$tmp/vint.out" 2> "$tmp/vint.err"
	st=$?
	if [ "$st" -eq 130 ] && [ "$(grep -c . "$tmp/vint.err")" -eq 2 ] \
	   && grep -q "^snm verify: num/r/n4/set1: retraining (1 thread, numerics 1)$" "$tmp/vint.err" \
	   && grep -q "^snm verify: num/r/n4/set1: interrupted after 1 of 4 epochs: not verified$" "$tmp/vint.err" \
	   && [ ! -s "$tmp/vint.out" ] && [ -z "$(ls -A "$tmp/vt")" ]; then
		pass "snm verify interrupted: exit 130, one line, the scratch directory removed, no second file"
	else
		fail "snm verify interrupted (exit $st; scratch: $(ls -A "$tmp/vt" | tr '\n' ' '))"
		cat "$tmp/vint.out" "$tmp/vint.err"
	fi
	(cd "$tmp" && SNM_TEST_INTERRUPT_AT=2 "$top/snm" verify --keep "$tmp/kept" "$ramp") \
		> "$tmp/vkeep.out" 2> "$tmp/vkeep.err"
	st=$?
	kept=$tmp/kept/num/r/n4/set1.h5
	if [ "$st" -eq 130 ] && [ -f "$kept" ] \
	   && grep -q "^snm verify: num/r/n4/set1: interrupted after 1 of 4 epochs: not verified (the partial retraining is kept as $kept)$" "$tmp/vkeep.err"; then
		pass "snm verify --keep interrupted: the partial file kept and named"
	else
		fail "snm verify --keep interrupted (exit $st)"
		cat "$tmp/vkeep.out" "$tmp/vkeep.err"
	fi
fi

run=results/quick/feed-forward/n10/set1.h5
if [ ! -d "$src/results" ]; then
	skip "no results/ in $src (not a git checkout)"
elif [ ! -f "$src/$run" ]; then
	fail "$run is not committed"
else
	verified= others= first= rest=
	# The recording of the kernel OPENBLAS_CORETYPE names, if any, first: one retraining, not two.
	for f in "$run" $(cd "$src" && ls results/verify/*/quick/feed-forward/n10/set1.h5 2>/dev/null); do
		core=${f#results/verify/}; core=${core%%/*}
		if [ -n "${OPENBLAS_CORETYPE:-}" ] && [ "$f" != "$run" ] &&
		   [ "$(echo "$core" | tr A-Z a-z)" = "$(echo "$OPENBLAS_CORETYPE" | tr A-Z a-z)" ]; then
			first="$first $f"
		else
			rest="$rest $f"
		fi
	done
	for f in $first $rest; do
		(cd "$src" && "$top/snm" verify "$f") >"$tmp/verify.log" 2>&1
		st=$?
		# "DIFFERS: ...; other build: recorded by snm V (GSL ...; OpenBLAS CONFIG), retrained by snm V (...)"
		rec=$(sed -n 's/.*recorded by snm [^ ]* (.*OpenBLAS \(.*\)), retrained by .*/\1/p' "$tmp/verify.log")
		here=$(sed -n 's/.*retrained by snm [^ ]* (.*OpenBLAS \(.*\))$/\1/p' "$tmp/verify.log")
		if [ "$st" -eq 0 ] && grep -q "bitwise equal" "$tmp/verify.log"; then
			verified=$f
			break
		elif [ "$st" -eq 1 ] && [ -n "$rec" ] && [ "$rec" != "$here" ]; then
			others="$others${others:+; }$f: OpenBLAS $rec"
		else
			fail "snm verify $f (exit status $st):"
			cat "$tmp/verify.log"
			verified=failed
			break
		fi
	done
	if [ -n "$verified" ] && [ "$verified" != failed ]; then
		pass "snm verify $verified: bitwise equal"
	elif [ -z "$verified" ]; then
		skip "snm verify: every committed recording is of another kernel ($others), here $here (bits depend on the kernel)"
	fi
fi

if [ "$skipped" -gt 0 ]; then
	echo "test_verify: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ] && exit 77
else
	echo "test_verify: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
