#!/bin/sh
# test_interrupt.sh: Ctrl-C and SIGTERM stop a run at its next step, save it there, and the
# resumed run ends bitwise equal to an uninterrupted one.
#
# A two-run pipeline on the synthetic data plugin (45 steps an epoch) with a stateful regularizer
# (tests/plugins/ramp_noise.c: a moving average in its checkpointed buffers, three loss terms) is
# trained once without interruption (the reference).  Then, into other results:
#   - at chosen steps (the plugin raises SIGINT where SNM_TEST_INTERRUPT_AT says, as a Ctrl-C
#     would): after step 1 of epoch 1 (no whole epoch saved yet), at the end of epoch 1, after
#     step 16 of epoch 2, and, resumed from there, after step 19 of the same epoch.  Each stop
#     exits 130 with one line saying where it stopped, that it saved there and the command that
#     resumes it; `snm status` says the steps it holds; the mid-epoch file keeps the whole-epoch
#     checkpoint an older snm resumes, equal to the file of the epoch's start (h5diff per
#     object); the printed command resumes it, and the run file ends equal to the reference's in
#     every dataset and attribute but /metrics/seconds (h5diff);
#   - SIGINT after SIGINT at the training thread, every 50 us from the first (after step 16 of
#     epoch 2) until snm exits, so that they fall on the mid-epoch checkpoint being saved: the
#     same line, a whole file, no temporary or lock file, and the resumed run equal the reference;
#   - the same for a semi-supervised run whose epoch is one pass over the unlabelled stream, so
#     that the labelled batches are reshuffled within an epoch (the resume replays the order
#     stream), and for one of fixed-length epochs (train.steps) on a batch-normalised model whose
#     statistics are re-estimated before every evaluation (train.bn_stats);
#   - `snm run` (one process) gets SIGINT from outside, sent to its process group as a terminal's
#     Ctrl-C is, once its log shows epoch 2, and then SIGINT after SIGINT, as fast as the shell
#     sends them, until it exits -- while it saves: exit 130, one line per stopped run, no table,
#     the run file "running", no lock or temporary file, and the resumed runs equal the reference;
#   - `snm run -j 2` gets SIGTERM, sent to the parent alone, which passes it on to its workers and
#     waits for them: exit 143, one line for each of the two runs, no worker left, and the resumed
#     runs equal the reference.
# Prints "test_interrupt: N passed, N failed"; exits 77 without h5dump and h5diff.
set -u
. "${SNM_TEST_SRCDIR:?}/lib.sh"
test_begin interrupt
pid=
bomb=
trap '[ -n "$bomb" ] && kill $bomb 2>/dev/null; [ -n "$pid" ] && kill -9 -$pid 2>/dev/null; rm -rf "$tmp"' EXIT
need_h5tools
# snm in a process group of its own (setsid), with SIGINT at its default disposition: a shell
# without job control starts background commands with SIGINT ignored, and snm keeps an ignored
# SIGINT ignored, as nohup asks
need_setsid
# pipeline NAME: two runs of 90 examples in batches of 2 (45 steps an epoch), 60 epochs
pipeline() {
	cat > "$tmp/$1.yaml" <<EOF
name: it
seed: 13
results: $tmp/$1
defaults:
  data: {type: synthetic, classes: 3, per_class: 40, size: 8}
  model: {type: convnet, preset: custom, layers: [{conv: 3, k: 3, stride: 2, pad: 1}, {fc: 6}]}
  noise: {type: ramp}
  train: {epochs: 60, batch: 2, eval_batch: 16}
grid: {per_class: [30], sets: 2}
experiments:
  - name: base
EOF
}
# semi NAME: one semi-supervised run: 30 labelled examples (15 batches of 2), an epoch of 45 steps
# over the 90 unlabelled ones, so the labelled batches are reshuffled at steps 15 and 30
semi() {
	cat > "$tmp/$1.yaml" <<EOF
name: is
seed: 17
results: $tmp/$1
defaults:
  data: {type: synthetic, classes: 3, per_class: 40, size: 8}
  model: {type: convnet, preset: custom, layers: [{conv: 3, k: 3, stride: 2, pad: 1}, {fc: 6}]}
  noise: {type: semi, rows: 2}
  train: {epochs: 4, batch: 2, eval_batch: 16, unlabelled_batch: 2, epoch: unlabelled}
grid: {per_class: [10], sets: 1}
experiments:
  - name: base
EOF
}
# fixed NAME: the same on a batch-normalised model with 40 steps an epoch (train.steps: the 15
# labelled batches cycle through the subset, reshuffled at steps 15 and 30) and the statistics
# re-estimated over the unlabelled stream before every evaluation (train.bn_stats)
fixed() {
	semi "$1"
	sed -i -e 's/preset: custom, layers:/preset: custom, batchnorm: true, layers:/' \
	       -e 's/epoch: unlabelled}/steps: 40, bn_stats: unlabelled}/' "$tmp/$1.yaml"
}
for ref in ref:pipeline sref:semi fref:fixed; do
	name=${ref%%:*}
	${ref#*:} "$name"
	"$top/snm" run "$tmp/$name.yaml" -j 2 > "$tmp/$name.log" 2>&1 ||
		abort "the uninterrupted run ($name)" "$tmp/$name.log"
done

# same NAME REF FILE: the run file FILE of pipeline NAME equals the reference's (h5diff, the
# seconds aside)
same() {
	h5diff --exclude-path /metrics/seconds "$tmp/$2/$3" "$tmp/$1/$3" > "$tmp/diff.log" 2>&1
	check "$1: $3 equals the uninterrupted run's (h5diff, /metrics/seconds aside)" $? "$tmp/diff.log"
}

# ---- at chosen steps ---------------------------------------------------------------------------
# stop NAME AT ONLY WANT: `snm run` of pipeline NAME, only its runs ONLY, with the regularizer
# raising SIGINT at its calls AT (counted in this process); its line must match WANT
stop() {
	SNM_TEST_INTERRUPT_AT=$2 setsid env --default-signal=INT "$top/snm" run "$tmp/$1.yaml" \
		--only "$3" --log-every 0 > "$tmp/$1.out" 2> "$tmp/$1.err"
	st=$?
	check "$1, SIGINT after call $2: exit 130 and one line: $4" \
		$([ "$st" -eq 130 ] && [ "$(wc -l < "$tmp/$1.err")" -eq 1 ] && grep -q "^snm: $3: interrupted $4; resume with: .*snm run .*$1.yaml --only $3 --log-every 0\$" "$tmp/$1.err"; echo $?) \
		"$tmp/$1.err"
}
status_says() {
	"$top/snm" status "$tmp/$1.yaml" > "$tmp/$1.status" 2>&1
	check "$1: snm status says '$2 $3'" $(grep -q "^$2 *$3\$" "$tmp/$1.status"; echo $?) "$tmp/$1.status"
}

pipeline step
r=it/base/n30/set1
f=$tmp/step/$r.h5
stop step 0 $r 'in epoch 1 after step 1 of 45, saved there (resume goes on with step 2)'
status_says step $r 'resumable: 0/60 epochs done and 1 step of epoch 1'
stop step 43 $r 'before epoch 2 (epoch 1 is saved)'
cp "$f" "$tmp/epoch1.h5"
stop step 15 $r 'in epoch 2 after step 16 of 45, saved there (resume goes on with step 17)'
status_says step $r 'resumable: 1/60 epochs done and 16 steps of epoch 2'
for o in /checkpoint/params /checkpoint/adam_m /checkpoint/adam_v /checkpoint/rng/order \
         /checkpoint/rng/augment /checkpoint/rng/noise /checkpoint/rng/unlabelled /best /metrics/loss \
         /metrics/loss.dev /metrics/test_at_best; do
	h5diff "$tmp/epoch1.h5" "$f" "$o" > "$tmp/diff.log" 2>&1 || { echo "$o differs" >> "$tmp/whole.log"; cat "$tmp/diff.log" >> "$tmp/whole.log"; }
done
touch "$tmp/whole.log"
check "step: the mid-epoch file keeps epoch 1's whole checkpoint (an older snm resumes that)" \
	$([ ! -s "$tmp/whole.log" ] && h5dump -a /epoch "$f" | grep -q '(0): 1$' \
	  && h5dump -a /partial_steps "$f" | grep -q '(0): 16$'; echo $?) "$tmp/whole.log"
stop step 2 $r 'in epoch 2 after step 19 of 45, saved there (resume goes on with step 20)'
"$top/snm" run "$tmp/step.yaml" --only $r > "$tmp/step.resume" 2>&1
check "step: resumed to the end, its log saying from where" $([ $? -eq 0 ] && grep -q "^$r *resumed" "$tmp/step.resume" \
	&& grep -q " $r resumes in epoch 2/60 after step 19\$" "$tmp/step.resume"; echo $?) "$tmp/step.resume"
same step ref $r.h5

# a second SIGINT while the checkpoint is saved, and more: the plugin floods the training thread
# with them from its first until snm exits
pipeline flood
r=it/base/n30/set1
SNM_TEST_INTERRUPT_FLOOD=1 stop flood 60 $r 'in epoch 2 after step 16 of 45, saved there (resume goes on with step 17)'
status_says flood $r 'resumable: 1/60 epochs done and 16 steps of epoch 2'
left=$(find "$tmp/flood" -name '*.tmp' -o -name '*.lock')
check "flood: no temporary or lock file left${left:+: $left}" $([ -z "$left" ]; echo $?) "$tmp/flood.err"
"$top/snm" run "$tmp/flood.yaml" --only $r > "$tmp/flood.resume" 2>&1
check "flood: resumed to the end" $([ $? -eq 0 ] && grep -q "^$r *resumed" "$tmp/flood.resume"; echo $?) \
	"$tmp/flood.resume"
same flood ref $r.h5

# resumed NAME REF RUN: `snm run` of pipeline NAME finishes RUN, its log saying it resumed, and
# the file equals the reference REF's
resumed() {
	"$top/snm" run "$tmp/$1.yaml" > "$tmp/$1.resume" 2>&1
	check "$1: resumed to the end" $([ $? -eq 0 ] && grep -q "^$3 *resumed" "$tmp/$1.resume"; echo $?) \
		"$tmp/$1.resume"
	same "$1" "$2" "$3.h5"
}

semi isemi
r=is/base/n10/set1
stop isemi 20 $r 'in epoch 1 after step 21 of 45, saved there (resume goes on with step 22)'
stop isemi 50 $r 'in epoch 2 after step 27 of 45, saved there (resume goes on with step 28)'
resumed isemi sref $r

fixed ifixed
stop ifixed 30 $r 'in epoch 1 after step 31 of 40, saved there (resume goes on with step 32)'
stop ifixed 25 $r 'in epoch 2 after step 17 of 40, saved there (resume goes on with step 18)'
resumed ifixed fref $r

# ---- from outside -------------------------------------------------------------------------------
# interrupt NAME SIGNAL TARGET JOBS [REPEAT]: starts `snm run` on pipeline NAME in a process group
# of its own, waits until each of its first JOBS runs logged epoch 2, and sends SIGNAL to TARGET
# ("group" or "parent") -- with REPEAT, again and again until snm exits; sets $st to the exit
# status.  stdout in NAME.out, stderr in NAME.err.  Each process holds at its regularizer's call
# 100 (SNM_TEST_HOLD_AT: epoch 3, step 11, until the signal comes): a run lasts about a second,
# and on a loaded machine one finished before the shell sent the signal (a run with no line).
interrupt() {
	SNM_TEST_HOLD_AT=100 setsid env --default-signal=INT "$top/snm" run "$tmp/$1.yaml" -j "$4" --log-every 0 \
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
	if [ $# -ge 5 ]; then
		(while kill -"$2" -$pid 2>/dev/null; do :; done) &
		bomb=$!
	fi
	wait $pid
	st=$?
	[ -n "$bomb" ] && { kill $bomb 2>/dev/null; wait $bomb 2>/dev/null; }
	pid=
	bomb=
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
		same "$1" ref it/base/n30/set$s.h5
	done
}

# the line of a stopped run: where it stopped, what is kept, and the command
line='^snm: it/base/n30/set[12]: interrupted \(in epoch [0-9]* after step [0-9]* of 45, saved there (resume goes on with step [0-9]*)\|before epoch [0-9]* (\(epoch 1 is\|epochs 1-[0-9]* are\) saved)\); resume with: .*snm run .*int.yaml'

pipeline int
interrupt int INT group 1 repeat
check "SIGINT to the process group, again and again: exit 130" $([ "$st" -eq 130 ]; echo $?) "$tmp/int.err"
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

test_end
