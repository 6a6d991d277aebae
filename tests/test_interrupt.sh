#!/bin/sh
# test_interrupt.sh: Ctrl-C and SIGTERM.  A two-run pipeline on the synthetic data plugin (many
# steps per epoch) is trained once without interruption (the reference).  Then, into other
# results: `snm run` (one process) gets SIGINT, sent to its process group as a terminal's Ctrl-C
# is, once its log shows epoch 2: it exits 130 with one line per stopped run saying where it
# stopped and the command that resumes it, leaves the run file "running" and no lock or
# temporary file; `snm run -j 2` gets SIGTERM, sent to the parent alone, which passes it on to
# its workers and waits for them: exit 143, one line for each of the two runs.  Each time, the
# printed command resumes the pipeline, and every run file then equals the reference bit for bit
# in every dataset and attribute but /metrics/seconds (h5diff).
# Prints "test_interrupt: N passed, N failed"; exits 77 without h5dump and h5diff.
set -u
top=${SNM_TEST_TOPBUILDDIR:?}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/snm-interrupt-XXXXXX")
pid=
trap '[ -n "$pid" ] && kill -9 -$pid 2>/dev/null; rm -rf "$tmp"' EXIT
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }
check() { if [ "$2" -eq 0 ]; then pass "$1"; else fail "$1"; sed 's/^/  | /' "$3" | tail -n 8; fi; }

if ! command -v h5dump >/dev/null 2>&1 || ! command -v h5diff >/dev/null 2>&1; then
	echo "test_interrupt: h5dump or h5diff not found (hdf5-tools): skipped"
	exit 77
fi
# snm in a process group of its own (setsid), with SIGINT at its default disposition: a shell
# without job control starts background commands with SIGINT ignored, and snm keeps an ignored
# SIGINT ignored, as nohup asks
if ! command -v setsid >/dev/null 2>&1 || ! env --default-signal=INT true 2>/dev/null; then
	echo "test_interrupt: setsid or env --default-signal (coreutils 8.31) not found: skipped"
	exit 77
fi
# pipeline NAME: two runs of 90 examples in batches of 2 (45 steps an epoch), 60 epochs
pipeline() {
	cat > "$tmp/$1.yaml" <<EOF
name: it
seed: 13
results: $tmp/$1
defaults:
  data: {type: synthetic, classes: 3, per_class: 40, size: 8}
  model: {type: convnet, preset: custom, layers: [{conv: 3, k: 3, stride: 2, pad: 1}, {fc: 6}]}
  noise: {type: recon, targets: xz}
  train: {epochs: 60, batch: 2, eval_batch: 16}
grid: {per_class: [30], sets: 2}
experiments:
  - name: base
EOF
}
pipeline ref
if ! "$top/snm" run "$tmp/ref.yaml" -j 2 > "$tmp/ref.log" 2>&1; then
	fail "the uninterrupted run"
	sed 's/^/  | /' "$tmp/ref.log" | tail -n 5
	echo "test_interrupt: $passed passed, $failed failed"
	exit 1
fi

# interrupt NAME SIGNAL TARGET JOBS: starts `snm run` on pipeline NAME in a process group of its
# own, waits until each of its first JOBS runs logged epoch 2, and sends SIGNAL to TARGET ("group"
# or "parent"); sets $st to the exit status.  stdout in NAME.out, stderr in NAME.err.
interrupt() {
	setsid env --default-signal=INT "$top/snm" run "$tmp/$1.yaml" -j "$4" --log-every 0 \
		> "$tmp/$1.out" 2> "$tmp/$1.err" &
	pid=$!
	i=0
	while [ $i -lt 600 ]; do     # 30 s at most
		n=$(cat "$tmp/$1.out" 2>/dev/null | grep -c ' epoch 2/60 ')
		[ "$n" -ge "$4" ] && break
		sleep 0.05
		i=$((i + 1))
	done
	if [ "$3" = group ]; then kill -"$2" -$pid; else kill -"$2" $pid; fi
	wait $pid
	st=$?
	pid=
}

# resumed NAME: runs the command the first interrupt line names; then each run file equals the
# reference's
resumed() {
	cmd=$(sed -n 's/^snm: .*; resume with: //p' "$tmp/$1.err" | head -n 1)
	(eval "$cmd") > "$tmp/$1.resume" 2>&1
	check "$1: the printed command resumes the pipeline ($cmd)" \
		$([ $? -eq 0 ] && grep -q "^it/base/n30/set1 *resumed" "$tmp/$1.resume" \
		  && grep -q '^2 runs selected, all finished$' "$tmp/$1.resume"; echo $?) "$tmp/$1.resume"
	for s in 1 2; do
		f=it/base/n30/set$s.h5
		h5diff --exclude-path /metrics/seconds "$tmp/ref/$f" "$tmp/$1/$f" > "$tmp/diff.log" 2>&1
		check "$1: $f equals the uninterrupted run's (h5diff, /metrics/seconds aside)" $? "$tmp/diff.log"
	done
}

# the line of a stopped run: where it stopped, what is kept, and the command
line='^snm: it/base/n30/set[12]: interrupted \(in epoch [0-9]* after step [0-9]* of 45 (\(nothing is saved yet\|epoch 1 is saved\|epochs 1-[0-9]* are saved\); epoch [0-9]* starts again on resume)\|before epoch [0-9]* (\(epoch 1 is\|epochs 1-[0-9]* are\) saved)\); resume with: .*snm run .*int.yaml'

pipeline int
interrupt int INT group 1
check "SIGINT to the process group: exit 130" $([ "$st" -eq 130 ]; echo $?) "$tmp/int.err"
check "SIGINT: one line, where the run stopped and how to resume it" \
	$([ "$(wc -l < "$tmp/int.err")" -eq 1 ] && grep -q "$line" "$tmp/int.err"; echo $?) "$tmp/int.err"
check "SIGINT: no table after the interruption" $(! grep -q 'runs selected' "$tmp/int.out"; echo $?) "$tmp/int.out"
check "SIGINT: the run file says running" \
	$(h5dump -a /status "$tmp/int/it/base/n30/set1.h5" 2>/dev/null | grep -q '"running"'; echo $?) "$tmp/int.err"
left=$(find "$tmp/int" -name '*.tmp' -o -name '*.lock')
check "SIGINT: no temporary or lock file left${left:+: $left}" $([ -z "$left" ]; echo $?) "$tmp/int.err"
resumed int

pipeline term
line=$(printf '%s' "$line" | sed 's/int\.yaml/term.yaml/')
interrupt term TERM parent 2
check "-j 2, SIGTERM to the parent alone: exit 143" $([ "$st" -eq 143 ]; echo $?) "$tmp/term.err"
check "-j 2, SIGTERM: one line for each of the two runs" \
	$([ "$(wc -l < "$tmp/term.err")" -eq 2 ] && [ "$(grep -c "$line" "$tmp/term.err")" -eq 2 ] \
	  && grep -q "set1: interrupted" "$tmp/term.err" && grep -q "set2: interrupted" "$tmp/term.err"; echo $?) \
	"$tmp/term.err"
check "-j 2, SIGTERM: no worker left" $(! pgrep -f "$tmp/term.yaml" >/dev/null; echo $?) "$tmp/term.err"
resumed term

echo "test_interrupt: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
