#!/bin/sh
# test_pipelines.sh: every shipped pipeline passes `snm check` (YAML, grid, every plugin option
# against its table, every data set opened, every class large enough, every model and regularizer
# created, one training step of each model and regularizer pair) with the number of runs its
# header promises.  It runs in a scratch directory where
# data/mnist is Debian's Fashion-MNIST (the MNIST format) and data/cifar10 holds files of the
# binary distribution's exact sizes, zero but for the labels.  Last, `snm run` trains a one-run
# pipeline there: nothing on stderr at --threads 1, one warning line when
# the runs at a time times --threads exceed the processors, none when only -j would (one run).
# Then bad command lines (a malformed count, an unknown option, an --only that matches nothing, a
# missing results directory for `snm paper`): one line on stderr each, and nothing overwritten.
# Last, on the synthetic data plugin: a results directory that cannot be made is one error for
# the whole run, and two `snm run` that split a pipeline both exit 0 with every run trained once.
# Prints "test_pipelines: N passed, N failed" and exits non-zero on any failure.
set -u
. "${SNM_TEST_SRCDIR:?}/lib.sh"
test_begin pipe
src=${SNM_TEST_SRCDIR:?}
fashion=${SNM_TEST_FASHION:-/usr/share/datasets/fashion-mnist}

if [ ! -f "$fashion/train-images-idx3-ubyte.gz" ] && [ ! -f "$fashion/train-images-idx3-ubyte" ]; then
	fail "Fashion-MNIST not found in $fashion (./bootstrap installs dataset-fashion-mnist)"
	test_end
fi
mkdir -p "$tmp/data/cifar10"
ln -s "$fashion" "$tmp/data/mnist"
for f in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
	truncate -s 30730000 "$tmp/data/cifar10/$f.bin"    # 10000 records of 3073 bytes
	# labels 0..9 in turn (the check finds a class smaller than per_class), pixels left zero
	perl -e 'open(my $f, "+<", $ARGV[0]) or die "$ARGV[0]: $!";
	         for my $i (0 .. 9999) { seek($f, $i * 3073, 0); print $f chr($i % 10) }' \
		"$tmp/data/cifar10/$f.bin" || fail "cannot write labels into $f.bin"
done

# pipeline, runs: 9 rows x (8 sizes x 3 sets + full) = 225 (mnist: 10 rows, 250); pi-mnist 6 x (2 x 3 + 1);
# ladder 5 x 25; fashion-semi 4 rows x 3 sets; mnist-semi 10 rows x 3 sets + 6 full runs (36);
# advladder 3 rows x 3 sets + 6 full runs (15); mnist-claim 5 rows x 2 sizes x 10 sets, 30 of
# them mnist.yaml's own runs (sets 1..3); mnist-ablation 5 rows x 5 sets; pi-mnist-ablation 2 rows x 2 x 3;
# vib 12 rows x (2 sizes x 3 sets + full); mnist-recon-all 2 rows x 5 sizes x 3 sets;
# all = 250 + 225 + 42 + 12 + 125 + (100 - 30) + 25 - 5 + 36 + 15 + 84 + 30 (mnist-claim.yaml has mnist.yaml's
# 30 runs of sets 1..3, mnist-ablation.yaml has 5 runs of semantic-grad of which sets 1..3 are
# mnist.yaml's and 4..5 mnist-claim.yaml's)
for spec in all:909 cifar10:225 fashion:225 fashion-semi:12 ladder:125 mnist:250 mnist-semi:36 \
            advladder:15 pi-mnist:42 quick:18 mnist-claim:100 mnist-ablation:25 pi-mnist-ablation:12 vib:84 \
            mnist-recon-all:30; do
	name=${spec%%:*}
	runs=${spec#*:}
	file=$src/../pipelines/$name.yaml
	if (cd "$tmp" && "$top/snm" check "$file") >"$tmp/out.log" 2>&1 \
	   && tail -n 1 "$tmp/out.log" | grep -q ": ok, $runs runs\$" \
	   && grep -q ": one training step of each of its [1-9][0-9]* model and regularizer pairs* on 4 examples: ok\$" \
	      "$tmp/out.log"; then
		pass "snm check pipelines/$name.yaml ($runs runs, one training step of each model and regularizer)"
	else
		fail "snm check pipelines/$name.yaml ($runs runs expected)"
		sed 's/^/  | /' "$tmp/out.log" | tail -n 5
	fi
done
# and no pipeline is left out of the list above
for file in "$src"/../pipelines/*.yaml; do
	name=$(basename "$file" .yaml)
	case " all advladder cifar10 fashion fashion-semi ladder mnist mnist-semi pi-mnist quick mnist-claim mnist-ablation pi-mnist-ablation vib mnist-recon-all " in
	*" $name "*) ;;
	*) fail "pipelines/$name.yaml is not checked by this test" ;;
	esac
done

# snm run and the processors: one tiny run, trained at --threads 1, then afresh at more threads
# than processors (afresh: a build without OpenMP refuses a finished run at another count)
cat > "$tmp/tiny.yaml" <<EOF
name: tiny
defaults:
  data: {type: idx, dir: data/mnist, valid: 100}
  model: {type: convnet, preset: mnist}
  train: {epochs: 1, batch: 10}
grid: {per_class: [1], sets: 1}
experiments:
  - name: ff
    noise: {type: none}
EOF
cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
over=$((cpus + 1))
snm_run() {   # snm run tiny.yaml ARGS: stdout to out.log, stderr to err.log; its exit status
	(cd "$tmp" && env -u OMP_WAIT_POLICY "$top/snm" run tiny.yaml "$@") \
		>"$tmp/out.log" 2>"$tmp/err.log"
}
show() { sed 's/^/  | /' "$tmp/out.log" "$tmp/err.log" | tail -n 5; }
if snm_run --threads 1 && grep -q "tiny/ff/n1/set1 .* trained:" "$tmp/out.log" \
   && ! [ -s "$tmp/err.log" ]; then
	pass "snm run --threads 1: trains, nothing on stderr"
else
	fail "snm run --threads 1: trains, nothing on stderr"; show
fi
# batches larger than the data: the buffers are the data's size, not the batch's (10^10 rows of
# 784 floats failed for memory)
if snm_run --threads 1 --set train.batch=10000000000 --set train.eval_batch=10000000000 \
   && grep -q "^tiny/ff-batch10000000000-eval_batch10000000000/n1/set1 *trained:" "$tmp/out.log"; then
	pass "snm run with train.batch and eval_batch 10^10 on a tiny set: trains"
else
	fail "snm run with train.batch and eval_batch 10^10 on a tiny set: trains"; show
fi
warning="^snm: warning: 1 run at a time x $over threads on $cpus processors: "
rm -rf "$tmp/results"
if snm_run --threads "$over" && grep -q "tiny/ff/n1/set1 .* trained:" "$tmp/out.log" \
   && [ "$(wc -l < "$tmp/err.log")" -eq 1 ] && grep -q "$warning" "$tmp/err.log"; then
	pass "snm run --threads $over on $cpus processors: one warning line"
else
	fail "snm run --threads $over on $cpus processors: one warning line"; show
fi
# -j counts only the runs there are: one run, -j $over, --threads $cpus fits the processors
rm -rf "$tmp/results"
if snm_run -j "$over" --threads "$cpus" && grep -q "tiny/ff/n1/set1 .* trained:" "$tmp/out.log" \
   && ! [ -s "$tmp/err.log" ]; then
	pass "snm run -j $over --threads $cpus with one run: nothing on stderr"
else
	fail "snm run -j $over --threads $cpus with one run: nothing on stderr"; show
fi
# bad command lines: one line on stderr, status 2 (usage) or 1, nothing trained, nothing written
one_line_err() {   # WANT_STATUS PATTERN ARGS...: snm ARGS in $tmp; status and one matching line
	want=$1 pat=$2
	shift 2
	(cd "$tmp" && "$top/snm" "$@") >"$tmp/out.log" 2>"$tmp/err.log"
	st=$?
	if [ "$st" -eq "$want" ] && [ "$(wc -l < "$tmp/err.log")" -eq 1 ] && grep -q "$pat" "$tmp/err.log"
	then
		pass "snm $*: status $want, one line"
	else
		fail "snm $*: status $st (want $want), stderr:"; show
	fi
}
one_line_err 2 "^snm: --threads: expected a whole number from 1 to 1024, got '1abc'$" \
	run tiny.yaml --threads 1abc
one_line_err 2 "^snm: -j: expected a whole number" run tiny.yaml -j 99999999999
# a pipeline read from a pipe: realpath has no name for it, the file is there all the same
if (cd "$tmp" && cat tiny.yaml | "$top/snm" check /dev/stdin) > "$tmp/pipe.log" 2>&1 \
   && grep -q "^/dev/stdin: ok, 1 runs$" "$tmp/pipe.log"; then
	pass "snm check /dev/stdin (a pipeline from a pipe)"
else
	fail "snm check /dev/stdin (a pipeline from a pipe):"; sed 's/^/  | /' "$tmp/pipe.log" | tail -n 3
fi
one_line_err 2 "^snm: unknown option '--bogus' (snm --help)$" run tiny.yaml --bogus
one_line_err 2 "^snm paper: --threads: expected a whole number from 1 to 1024, got '0'$" \
	paper --threads 0
one_line_err 2 "^snm: unexpected argument 'x' ('plugins' takes none)$" plugins x
one_line_err 2 "^snm fetch: --from= needs a value" fetch cifar10 --from=
one_line_err 1 "^snm: --only 'tiny/nomatch/\*' matches none of the 1 runs of tiny.yaml" \
	run tiny.yaml --only 'tiny/nomatch/*'
one_line_err 1 "^snm: --only 'tiny/nomatch/\*' matches none of the 1 runs of tiny.yaml" \
	run tiny.yaml --only 'tiny/*' --only 'tiny/nomatch/*'
# what only the plugins know is checked before any run trains: a class smaller than per_class,
# a model option that its create method refuses (in the second experiment, after a good one)
sed 's/^grid: {per_class: \[1\], sets: 1}/grid: {per_class: [1, 7000], sets: 1}/' \
	"$tmp/tiny.yaml" > "$tmp/big.yaml"
printf '  - name: bad\n    noise: {type: none}\n    model: {type: convnet, preset: custom, layers: [{fc: 0}]}\n' \
	> "$tmp/badexp.yaml"
sed 's/^name: tiny/name: tinybad/' "$tmp/tiny.yaml" | cat - "$tmp/badexp.yaml" > "$tmp/badlayer.yaml"
rm -rf "$tmp/results"
one_line_err 1 "^snm: big.yaml:6:23: tiny/ff/n7000/set1: class 0 has [0-9]* training examples, fewer than per_class 7000$" \
	run big.yaml
one_line_err 1 "^snm: tinybad/bad/n1/set1: model 'convnet': badlayer.yaml:12:58: layers\[0\]: " \
	run badlayer.yaml
sed 's/valid: 100}/valid: 0}/' "$tmp/tiny.yaml" > "$tmp/novalid.yaml"
one_line_err 1 "^snm: novalid.yaml:3:45: tiny/ff/n1/set1: data 'idx' has 0 validation and 10000 test examples; " \
	check novalid.yaml
if [ -e "$tmp/results" ]; then
	fail "snm run trained before its check failed: $(find "$tmp/results" -type f | head -n 1)"
else
	pass "snm run with a run its check refuses trains nothing"
fi
mkdir -p "$tmp/pout"
echo keep > "$tmp/pout/table1-mnist.md"
one_line_err 1 "^snm paper: results directory 'resluts': " \
	paper --results resluts --out pout --no-figures --spec "$src/../paper/tables.yaml"
if [ "$(cat "$tmp/pout/table1-mnist.md")" = keep ]; then
	pass "snm paper with a missing results directory leaves the tables in --out alone"
else
	fail "snm paper with a missing results directory rewrote pout/table1-mnist.md"
fi
# A results "directory" that is a file: the error is printed once, with the first run's key, and
# counted for the others; no run leaves a lock file (there is no directory to hold one).
cat > "$tmp/split.yaml" <<EOF
name: split
results: splitres
defaults:
  data: {type: synthetic, classes: 3, per_class: 40, size: 16}
  model: {type: convnet, preset: custom, layers: [{conv: 3, k: 3, stride: 2, pad: 1}, {fc: 6}]}
  noise: {type: none}
  train: {epochs: 100, batch: 8, eval_batch: 16}
grid: {per_class: [10], sets: 4}
experiments:
  - name: base
EOF
echo file > "$tmp/splitres"
(cd "$tmp" && "$top/snm" run split.yaml) >"$tmp/out.log" 2>"$tmp/err.log"
st=$?
if [ "$st" -eq 1 ] && [ "$(wc -l < "$tmp/err.log")" -eq 2 ] \
   && grep -q "^snm: split/base/n10/set1: splitres: cannot create directory: a file of that name is in the way$" \
	"$tmp/err.log" && grep -q "^snm: the same error for 3 more runs$" "$tmp/err.log"; then
	pass "snm run with a file as results directory: the error once, with the run key"
else
	fail "snm run with a file as results directory: status $st, stderr:"; show
fi
rm -f "$tmp/splitres"
# Two snm run that split a pipeline: the second finds set1 locked by the first (which trains only
# set1), trains the others, waits, and reports set1 as finished by another process; both exit 0,
# and no run is trained twice.  The first holds at its first step (the test regularizer ramp's
# SNM_TEST_HOLD_AT, tests/plugins/interrupt.h) until the second has begun set2: a run lasts under
# a second, and on a loaded machine set1 could otherwise finish before the second looks at it.
# waitfile FILE: up to 60 s for FILE to appear
waitfile() { i=0; while [ ! -e "$1" ] && [ $i -lt 6000 ]; do sleep 0.01; i=$((i + 1)); done; }
sed -i 's/noise: {type: none}/noise: {type: ramp}/' "$tmp/split.yaml"
(cd "$tmp" && SNM_TEST_HOLD_AT=0 SNM_TEST_HOLD_SAY="$tmp/held" SNM_TEST_HOLD_UNTIL="$tmp/go" \
	"$top/snm" run split.yaml --only 'split/base/n10/set1') >"$tmp/out1.log" 2>&1 &
pid=$!
waitfile "$tmp/held"
(cd "$tmp" && "$top/snm" run split.yaml) >"$tmp/out.log" 2>"$tmp/err.log" &
pid2=$!
waitfile "$tmp/splitres/split/base/n10/set2.h5"
touch "$tmp/go"
wait $pid2
st=$?
wait $pid
st1=$?
trained=$(cat "$tmp/out1.log" "$tmp/out.log" | grep -c ' trained: ')
if [ "$st" -eq 0 ] && [ "$st1" -eq 0 ] && [ "$trained" -eq 4 ] && ! [ -s "$tmp/err.log" ] \
   && grep -q "^split/base/n10/set1 .* finished by another process: " "$tmp/out.log" \
   && grep -q "^4 runs selected, all finished$" "$tmp/out.log" \
   && [ -z "$(find "$tmp/splitres" -name '*.lock')" ]; then
	pass "two snm run splitting a pipeline: both exit 0, each run trained once, no lock left"
else
	fail "two snm run splitting a pipeline: status $st1 and $st, $trained trained, output:"
	sed 's/^/  | /' "$tmp/out1.log" "$tmp/out.log" "$tmp/err.log" | tail -n 12
fi
test_end
