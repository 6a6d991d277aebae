#!/bin/sh
# test_shard.sh: `snm run --shard K/N` (Slurm job arrays without MPI) and the cost model's command
# line.  On a small synthetic pipeline of 12 runs: for N = 1..5, `snm check --shard K/N` for every
# K lists every run exactly once over the N shares (and writes nothing); then the three shares of
# N = 3 are trained one after the other: each run is trained exactly once, by its share, the plan
# file is written once under the results directory, and every run file equals a serial run's bit
# for bit (h5diff, /metrics/seconds aside).  `snm check --cost --simulate` prints an estimate per
# run and a schedule line per worker count; bad --shard values are one line and exit 2.
# The calibration goes to a cache of the test's own (SNM_COST_CACHE).
# Prints "test_shard: N passed, N failed"; exits 77 without h5diff.
set -u
. "${SNM_TEST_SRCDIR:?}/lib.sh"
test_begin shard
snm=$top/snm
export SNM_COST_CACHE="$tmp/cost"

if ! command -v h5diff >/dev/null 2>&1; then
	echo "test_shard: h5diff not found (hdf5-tools): skipped"
	exit 77
fi
# pipeline NAME RESULTS: 12 short runs of three sizes and two objectives
pipeline() {
	cat > "$tmp/$1.yaml" <<EOF
name: sh
seed: 5
results: $2
defaults:
  data: {type: synthetic, classes: 3, per_class: 40, size: 16}
  model: {type: convnet, preset: custom, layers: [{conv: 3, k: 3, stride: 2, pad: 1}, {fc: 6}]}
  noise: {type: recon, targets: xz}
  train: {epochs: 6, batch: 8, eval_batch: 16}
grid: {per_class: [5, 10, 20], sets: 2}
experiments:
  - name: base
  - name: ff
    noise: {type: none}
EOF
}
pipeline ref "$tmp/ref"
pipeline sh "$tmp/sh"
"$snm" run "$tmp/ref.yaml" > "$tmp/ref.log" 2>&1
check "the serial reference run" $?  "$tmp/ref.log"
"$snm" check "$tmp/ref.yaml" | grep '^sh/' | awk '{print $1}' | sort > "$tmp/all"
check "12 runs listed" $([ "$(wc -l < "$tmp/all")" -eq 12 ]; echo $?)

for n in 1 2 3 4 5; do
	: > "$tmp/listed"
	k=1
	while [ $k -le $n ]; do
		"$snm" check "$tmp/sh.yaml" --shard $k/$n > "$tmp/c.log" 2>&1 || { cat "$tmp/c.log"; }
		grep '^sh/' "$tmp/c.log" | awk '{print $1}' >> "$tmp/listed"
		k=$((k + 1))
	done
	sort "$tmp/listed" > "$tmp/listed.s"
	check "--shard K/$n, K = 1..$n: every run exactly once" $(cmp -s "$tmp/listed.s" "$tmp/all"; echo $?) "$tmp/c.log"
done
check "snm check --shard writes nothing" $([ ! -e "$tmp/sh" ]; echo $?)

# the three shares of N = 3, trained one after the other
for k in 1 2 3; do
	"$snm" run "$tmp/sh.yaml" --shard $k/3 > "$tmp/run$k.log" 2>&1
	check "snm run --shard $k/3: exit 0" $? "$tmp/run$k.log"
done
cat "$tmp"/run[123].log | grep -E '^sh/[^ ]+ +trained' | awk '{print $1}' | sort > "$tmp/trained"
check "the three shares trained every run exactly once" $(cmp -s "$tmp/trained" "$tmp/all"; echo $?) "$tmp/run1.log"
check "one shard plan, under the results directory" \
	$([ "$(ls "$tmp/sh/.snm-shards" | grep -c -v '\.lock$')" -eq 1 ] && ! ls "$tmp/sh/.snm-shards" | grep -q '\.lock$'; echo $?)
same=0
differ=0
for f in $(cd "$tmp/ref" && find . -name '*.h5'); do
	if h5diff --exclude-path /metrics/seconds "$tmp/ref/$f" "$tmp/sh/$f" > /dev/null 2>&1; then
		same=$((same + 1))
	else
		differ=$((differ + 1))
		echo "  differs: $f"
	fi
done
check "every run file equals the serial run's ($same equal, $differ differ)" $([ $same -eq 12 ] && [ $differ -eq 0 ]; echo $?)
"$snm" run "$tmp/sh.yaml" --shard 2/3 > "$tmp/again.log" 2>&1
check "a share run again skips its finished runs" \
	$([ $? -eq 0 ] && ! grep -q ' trained:' "$tmp/again.log" && grep -q 'finished before' "$tmp/again.log"; echo $?) "$tmp/again.log"

# the cost model's command line
"$snm" check "$tmp/sh.yaml" --cost --simulate 1,2,4 > "$tmp/cost.log" 2>&1
check "snm check --cost --simulate: an estimate per run, a schedule line per worker count" \
	$([ $? -eq 0 ] && [ "$(grep -c -E '^sh/[^ ]+ +[0-9.]+ s$' "$tmp/cost.log")" -eq 12 ] \
	  && grep -q 'core-hours at --threads 1' "$tmp/cost.log" \
	  && [ "$(grep -c -E '^ +[124] +[0-9.]+ (s|min|h) +[01]\.[0-9]+' "$tmp/cost.log")" -eq 3 ]; echo $?) "$tmp/cost.log"
check "the calibration cache: 2 step and 1 evaluation entries of this machine" \
	$([ "$(head -n 1 "$tmp/cost")" = "snm-cost 1" ] && [ "$(grep -c '^s ' "$tmp/cost")" -eq 2 ] \
	  && [ "$(grep -c '^e ' "$tmp/cost")" -eq 1 ]; echo $?) "$tmp/cost"
# train.steps: the estimate grows by the same amount with every 300 more steps an epoch (the
# estimates stay below 10 s, printed to the millisecond)
for k in 300 600 900; do
	"$snm" check "$tmp/sh.yaml" --cost --set train.steps=$k --only "sh/ff*/n5/set1" > "$tmp/steps$k.log" 2>&1
done
est() { awk '$1 ~ /^sh\/ff-steps/ && $3 == "s" { print $2 }' "$tmp/steps$1.log"; }
check "snm check --cost with train.steps: linear in the steps an epoch" \
	$(awk -v a="$(est 300)" -v b="$(est 600)" -v c="$(est 900)" \
	    'BEGIN { d1 = b - a; dd = c - b - d1; if (dd < 0) dd = -dd
	            exit !(a != "" && d1 > 0 && dd <= 0.003 + 0.02 * d1) }'; echo $?) \
	"$tmp/steps600.log"
"$snm" status "$tmp/sh.yaml" --cost > "$tmp/status.log" 2>&1
check "snm status --cost: the model beside each run, checked against the measured seconds" \
	$([ $? -eq 0 ] && [ "$(grep -c '; model [0-9]* s, measured [0-9]* s$' "$tmp/status.log")" -eq 12 ] \
	  && grep -q '^cost model against the measured wall seconds of 12 finished runs' "$tmp/status.log"; echo $?) "$tmp/status.log"
for bad in 0/3 4/3 3 a/b 1/0; do
	"$snm" run "$tmp/sh.yaml" --shard "$bad" > "$tmp/bad.out" 2> "$tmp/bad.err"
	check "--shard $bad: exit 2, one line" $([ $? -eq 2 ] && [ "$(wc -l < "$tmp/bad.err")" -eq 1 ]; echo $?) "$tmp/bad.err"
done
echo "x" > "$tmp/cost"
"$snm" check "$tmp/sh.yaml" --cost > "$tmp/badcache.out" 2> "$tmp/badcache.err"
check "a damaged cost cache: exit 1, one line naming it" \
	$([ $? -eq 1 ] && [ "$(wc -l < "$tmp/badcache.err")" -eq 1 ] && grep -q "$tmp/cost:1: not a cost entry" "$tmp/badcache.err"; echo $?) "$tmp/badcache.err"

test_end
