#!/bin/sh
# test_kill9.sh: `kill -9` at random moments.  A tiny two-run pipeline on the synthetic data plugin
# is trained once without interruption (the reference), then again into another results
# directory where `snm run` is killed with SIGKILL after a random delay, SNM_KILLS times (default
# 5), each kill followed by a check that every run file there still opens (h5dump reads its
# status), and the next `snm run` resuming; a last `snm run` finishes.  Then every run file equals
# the reference bit for bit in every dataset and attribute but /metrics/seconds (h5diff), and no
# temporary or lock file is left.  bench/kill9.sh runs it with 100 kills.
# Environment: SNM_KILLS (default 5), SNM_KILL_SEED (default: the time; printed, to replay a run).
# Prints "test_kill9: N passed, N failed" and exits 77 without h5dump and h5diff.
set -u
. "${SNM_TEST_SRCDIR:?}/lib.sh"
test_begin kill9
kills=${SNM_KILLS:-5}
seed=${SNM_KILL_SEED:-$(date +%s)}

need_h5tools
# pipeline NAME RESULTS: two runs of 100 short epochs each (a save after every epoch)
pipeline() {
	cat > "$tmp/$1.yaml" <<EOF
name: k9
seed: 11
results: $2
defaults:
  data: {type: synthetic, classes: 3, per_class: 40, size: 16}
  model: {type: convnet, preset: custom, layers: [{conv: 3, k: 3, stride: 2, pad: 1}, {fc: 6}]}
  noise: {type: recon, targets: xz}
  train: {epochs: 100, batch: 8, eval_batch: 16}
grid: {per_class: [10], sets: 2}
experiments:
  - name: base
EOF
}
pipeline ref "$tmp/ref"
pipeline killed "$tmp/killed"
start=$(date +%s%N)
"$top/snm" run "$tmp/ref.yaml" >"$tmp/ref.log" 2>&1 || abort "the uninterrupted run" "$tmp/ref.log"
span=$(( ($(date +%s%N) - start) / 1000000 ))   # ms the whole pipeline takes; kills fall within it
echo "seed $seed, $kills kills, each within $span ms"

opened=0
broken=0
k=1
while [ $k -le "$kills" ]; do
	delay=$(awk -v s="$seed" -v k="$k" -v t="$span" \
		'BEGIN { srand(s + 7919 * k); printf "%.3f", rand() * t / 1000 }')
	"$top/snm" run "$tmp/killed.yaml" >"$tmp/kill.log" 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	for f in "$tmp"/killed/k9/base/n10/set*.h5; do
		[ -f "$f" ] || continue
		if h5dump -a /status "$f" >/dev/null 2>&1; then
			opened=$((opened + 1))
		else
			broken=$((broken + 1))
			echo "kill $k after $delay s: $f does not open"
		fi
	done
	k=$((k + 1))
done
if [ "$broken" -eq 0 ]; then
	pass "$kills kills: every run file opened after each ($opened opened, 0 broken)"
else
	fail "$kills kills: $broken run files did not open ($opened did)"
fi
if "$top/snm" run "$tmp/killed.yaml" >"$tmp/last.log" 2>&1 \
   && grep -q "^2 runs selected, all finished$" "$tmp/last.log"; then
	pass "the run after the last kill finishes the pipeline"
else
	fail "the run after the last kill"
	sed 's/^/  | /' "$tmp/last.log" | tail -n 5
fi
for s in 1 2; do
	f=k9/base/n10/set$s.h5
	if h5diff --exclude-path /metrics/seconds "$tmp/ref/$f" "$tmp/killed/$f" >"$tmp/diff.log" 2>&1; then
		pass "$f equals the uninterrupted run's (h5diff, /metrics/seconds aside)"
	else
		fail "$f differs from the uninterrupted run's"
		sed 's/^/  | /' "$tmp/diff.log" | head -n 10
	fi
done
left=$(find "$tmp/killed" -name '*.tmp' -o -name '*.lock')
if [ -z "$left" ]; then
	pass "no temporary or lock file left"
else
	fail "left behind: $left"
fi
test_end
