#!/bin/sh
# test_status.sh: `snm status` shows every state a run can be in, and `snm report` tabulates a
# small pipeline.  A tiny pipeline on the synthetic data plugin (9 runs: base and other at 10 and
# 20 per class on two sets, one slow run of 3000 epochs) goes through:
#   - nothing run: every run "not started", no estimate;
#   - two runs trained: "finished" with the test error `snm run` printed, and an estimate (the
#     experiment's other size first, the size next, then any run; the slow run's and the other
#     sizes' epochs scaled by their work); with --only, the matching runs' lines and summary (and
#     no match: one error line);
#   - the estimate of an IDX pipeline: a larger size's epochs priced higher than the measured
#     ones; with its data gone, the epochs unscaled and a line saying why;
#   - a link loop in a run file's place: "failed" with the reason; a FIFO as a lock file: read
#     without blocking (a stale lock naming no process);
#   - the slow run trained in the background: "running, pid <its pid>"; after kill -9 "resumable"
#     with its epochs done and the stale lock it left;
#   - a lock held the way snm holds it (flock, its pid in the file) by another process: "running"
#     with that pid, then a stale lock once it is gone; a lock file that names a live process not
#     holding it is a stale lock too (where /proc/locks can be read);
#   - `snm report`: the Markdown table's cells (mean (std) and n, bold, missing and unfinished
#     cells naming their runs), CSV, LaTeX, and PNG/PDF curves when gnuplot is installed;
#   - another run's file in a run's place, and a damaged file: "failed" with the reason;
#   - the noise plugin "rebuilt" (a copy first on --plugin-path, one byte appended): the finished
#     runs flagged "made by other code: noise none changed" in status, in `snm run` (skipped) and
#     in the report (a marked cell, a note under the table, the CSV's other_code); the unfinished
#     run refused by status and by `snm run`, naming the plugin;
#   - the pipeline edited (one experiment's learning rate): its runs "refused", naming the key and
#     both values, in status, in the report's cells and in `snm run`'s one error line;
#   - `snm run --force`: the run retrained, the old file kept beside it as
#     <run>.superseded-<config hash>.h5 (said in one line), which status, `snm compact DIR` and
#     `snm paper`'s list of unused run files pass over;
#   - `snm paper` names the run under --results that its spec does not use;
#   - a run whose learning rate makes its loss diverge: `snm run` says why and that the file marks
#     it failed; `snm status` "failed" with why (not resumable); `snm run` again refuses it with
#     the reason, training nothing; the report names it; --force retrains it, keeping the file.
# Closes with "test_status: N passed, N failed[, N skipped]".
set -u
. "${SNM_TEST_SRCDIR:?}/lib.sh"        # write_idx; the counters and their lines are this test's
top=${SNM_TEST_TOPBUILDDIR:?}
snm=$top/snm
tmp=$(mktemp -d "${TMPDIR:-/tmp}/snm-status-XXXXXX")
holder=
cleanup() {
	[ -n "$holder" ] && kill "$holder" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
passed=0
failed=0
skipped=0
check() {   # check NAME CONDITION-EXIT-STATUS [detail]
	if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "PASS: $1"
	else failed=$((failed + 1)); echo "FAIL: $1${3:+: $3}"; fi
}
skip() { skipped=$((skipped + 1)); echo "SKIP: $1"; }
finish() {
	echo "test_status: $passed passed, $failed failed$([ "$skipped" -gt 0 ] && echo ", $skipped skipped")"
	[ "$failed" -eq 0 ]
	exit $?
}
# xor FILE OFFSET MASK: byte OFFSET of FILE XORed with MASK, in place
xor() { perl -e 'open(F, "+<", $ARGV[0]) or die; binmode F; seek(F, $ARGV[1], 0); read(F, $b, 1);
                 seek(F, $ARGV[1], 0); print F chr(ord($b) ^ $ARGV[2]); close F' "$1" "$2" "$3"; }
# line KEY: the line of status.out for run KEY
line() { grep "^$1 " status.out; }
status() { "$snm" status p.yaml > status.out 2> status.err; echo $? > status.rc; }

cd "$tmp" || exit 1
cat > p.yaml <<YAML
name: st
seed: 3
defaults:
  data: {type: synthetic, classes: 3, per_class: 40, size: 16}
  model: {type: convnet, preset: custom, layers: [{conv: 3, k: 3, stride: 2, pad: 1}, {fc: 6}]}
  noise: {type: none}
  train: {epochs: 2, batch: 8, eval_batch: 16}
grid: {per_class: [10, 20], sets: 2}
experiments:
  - name: base
    train: {lr: 0.005}
  - name: other
    noise: {type: recon, targets: xz}
  - name: slow
    grid: {per_class: [10], sets: 1}
    train: {epochs: 3000}
YAML

# ---- nothing run ----------------------------------------------------------------------------------
status
check "nothing run: exit 0, nine runs not started, no estimate" \
	$([ "$(cat status.rc)" -eq 0 ] && [ "$(grep -c ' not started$' status.out)" -eq 9 ] \
	  && grep -q "^9 runs: 0 finished, 0 running, 0 resumable, 9 not started, 0 refused, 0 failed$" status.out \
	  && grep -q "^left: 9 runs, 3016 epochs; no estimate: no run of this pipeline has a measured epoch yet$" status.out \
	  && [ ! -s status.err ]; echo $?) "$(cat status.out status.err | tail -n 4)"

# ---- finished -------------------------------------------------------------------------------------
if ! "$snm" run p.yaml --only 'st/base/n10/*' --threads 1 > run.log 2>&1; then
	check "two runs train" 1 "$(tail -n 3 run.log)"
	finish
fi
err1=$(sed -n 's|^st/base/n10/set1 *trained: test error \([0-9.]*\)%.*|\1|p' run.log)
err2=$(sed -n 's|^st/base/n10/set2 *trained: test error \([0-9.]*\)%.*|\1|p' run.log)
ep1=$(sed -n 's|^st/base/n10/set1 *trained: .* at epoch \([0-9]*\) .*|\1|p' run.log)
status
check "finished: the test error snm run printed, at its best epoch" \
	$(line st/base/n10/set1 | grep -q "  finished: test error $err1% at best epoch $ep1/2$" \
	  && line st/base/n10/set2 | grep -q "  finished: test error $err2% at best epoch [12]/2$"; echo $?) \
	"$(line st/base/n10/set1) (snm run: $err1% at epoch $ep1)"
check "finished: the summary counts them, the estimate names its basis" \
	$(grep -q "^9 runs: 2 finished, 0 running, 0 resumable, 7 not started, 0 refused, 0 failed$" status.out \
	  && grep -q "^left: 7 runs, 3012 epochs, about [0-9.]* core-hours ([0-9]* core-[a-z]*), from the seconds per epoch x threads of 2 measured runs (matched 2 by experiment at other sizes, 3 by size only, 2 by any run), 5 scaled from runs of other sizes$" status.out; echo $?) \
	"$(tail -n 2 status.out)"

# ---- a run file that cannot be looked at, a lock file that is a FIFO (read without blocking) ------
mkdir -p odd/st/base/n20 odd/st/other/n10
ln -s set1.h5 odd/st/base/n20/set1.h5
mkfifo odd/st/other/n10/set1.h5.lock
timeout 60 "$snm" status p.yaml --results odd > odd.out 2> odd.err
st=$?
check "a link loop at a run file is a failed run with the reason; a FIFO lock file blocks nothing" \
	$([ $st -eq 0 ] && grep -q "^st/base/n20/set1 *failed: odd/st/base/n20/set1.h5: Too many levels of symbolic links$" odd.out \
	  && grep -q "^st/other/n10/set1 *not started; stale lock (it names no process)$" odd.out; echo $?) \
	"exit $st; $(cat odd.out odd.err | head -n 4)"

# ---- --only: the matching runs' lines, their summary; the estimate's basis stays every run -------
"$snm" status p.yaml --only 'st/base/*' > only.out 2> only.err
st=$?
check "--only: the matching runs alone, counted in the summary, estimated from every measured run" \
	$([ $st -eq 0 ] && [ "$(grep -c '^st/' only.out)" -eq 4 ] && ! grep -q '^st/other' only.out \
	  && grep -q '^st/base/n10/set1  finished' only.out \
	  && grep -q "^4 runs: 2 finished, 0 running, 0 resumable, 2 not started, 0 refused, 0 failed$" only.out \
	  && grep -q "^left: 2 runs, 4 epochs, about [0-9.]* core-hours ([0-9]* core-[a-z]*), from the seconds per epoch x threads of 2 measured runs (matched 2 by experiment at other sizes), 2 scaled from runs of other sizes$" only.out \
	  && [ ! -s only.err ]; echo $?) "exit $st; $(cat only.out only.err | tail -n 3)"
"$snm" status p.yaml --only 'st/other/*' > only.out 2> only.err
st=$?
check "--only: runs with none measured among them, estimated from the others; lines padded to the selected keys" \
	$([ $st -eq 0 ] && [ "$(grep -c '^st/other/' only.out)" -eq 4 ] \
	  && grep -q '^st/other/n10/set1  not started$' only.out \
	  && grep -q "^left: 4 runs, 8 epochs, about [0-9.]* core-hours ([0-9]* core-[a-z]*), from the seconds per epoch x threads of 2 measured runs (matched 2 by size only, 2 by any run), 2 scaled from runs of other sizes$" only.out \
	  && [ ! -s only.err ]; echo $?) "exit $st; $(cat only.out only.err | tail -n 3)"
"$snm" status p.yaml --only 'st/base/*' --cost > only.out 2> only.err
st=$?
check "--only with --cost: the selected runs' lines, then the model's line (uncalibrated here)" \
	$([ $st -eq 0 ] && [ "$(grep -c '^st/' only.out)" -eq 4 ] \
	  && grep -q "^cost model: no finished run trained at 1 thread to check it against$" only.out; echo $?) \
	"exit $st; $(cat only.out only.err | tail -n 3)"
"$snm" status p.yaml --only 'st/nope/*' > only.out 2> only.err
st=$?
check "--only matching no run: exit 1, one line naming the pattern" \
	$([ $st -eq 1 ] && [ "$(wc -l < only.err)" -eq 1 ] && grep -q "'st/nope/\*' matches none" only.err \
	  && [ ! -s only.out ]; echo $?) "exit $st; $(cat only.err)"
"$snm" status p.yaml --only 'st/base/n10/*' --only 'st/other/n20/set2' > only.out 2> only.err
st=$?
check "--only twice: the runs matching either pattern" \
	$([ $st -eq 0 ] && [ "$(grep -c '^st/' only.out)" -eq 3 ] && grep -q '^st/base/n10/set2 ' only.out \
	  && grep -q '^st/other/n20/set2 ' only.out && grep -q "^3 runs: " only.out; echo $?) \
	"exit $st; $(cat only.out only.err | tail -n 4)"
"$snm" status p.yaml --only 'st/base/*' --only 'st/nope/*' > only.out 2> only.err
st=$?
check "--only twice, the second matching no run: exit 1, one line naming it" \
	$([ $st -eq 1 ] && [ "$(wc -l < only.err)" -eq 1 ] && grep -q "'st/nope/\*' matches none" only.err \
	  && [ ! -s only.out ]; echo $?) "exit $st; $(cat only.err)"

# ---- the estimate across sizes: scaled by the work of an epoch, which needs the data ---------------
# in a directory of its own (its results stay out of the pipeline's above): small IDX files (90
# training and 30 test images of 4x4, 3 classes, 15 for validation); one run of 5 a class
# measured (two steps of 8 rows an epoch), 19 more of 5 and 20 of 25 a class (ten steps) left
mkdir -p sz/idxdata
write_idx sz/idxdata
cat > sz/idx.yaml <<YAML
name: sz
defaults:
  data: {type: idx, dir: idxdata, valid: 15, classes: 3}
  model: {type: convnet, preset: custom, layers: [{fc: 6}]}
  noise: {type: none}
  train: {epochs: 2000, batch: 8, eval_batch: 16}
grid: {per_class: [5, 25], sets: 20}
experiments:
  - name: e
YAML
# the core-seconds of the estimate in FILE's "left:" line (printed as core-seconds or core-minutes)
core_of() { sed -n 's/^left: .*core-hours (\([0-9]*\) core-seconds).*/\1/p
                    s/^left: .*core-hours (\([0-9]*\) core-minutes).*/\1 60/p' "$1" \
            | awk 'NF == 1 { print $1 } NF == 2 { print $1 * $2 }'; }
if ! (cd sz && "$snm" run idx.yaml --only 'sz/e/n5/set1' --threads 1) > idxrun.log 2>&1; then
	check "an IDX run trains" 1 "$(tail -n 3 idxrun.log)"
else
	(cd sz && "$snm" status idx.yaml) > idx.out 2> idx.err
	check "across sizes: the experiment's other size, scaled by the work of an epoch" \
		$(grep -q "^left: 39 runs, 78000 epochs, about .* from the seconds per epoch x threads of 1 measured run (matched 19 by experiment and size, 20 by experiment at other sizes), 20 scaled from runs of other sizes$" idx.out \
		  && [ ! -s idx.err ]; echo $?) "$(cat idx.out idx.err | tail -n 2)"
	mv sz/idxdata sz/gone
	(cd sz && "$snm" status idx.yaml) > gone.out 2> gone.err
	st=$?
	check "across sizes, the data gone: exit 0, the epochs unscaled, one line saying why" \
		$([ $st -eq 0 ] && grep -q "^left: 39 runs, 78000 epochs, about .* (matched 19 by experiment and size, 20 by any run)$" gone.out \
		  && grep -q "^(epochs of other sizes not scaled: .*idxdata.*)$" gone.out && [ ! -s gone.err ]; echo $?) \
		"exit $st; $(cat gone.out gone.err | tail -n 2)"
	mv sz/gone sz/idxdata
	big=$(core_of idx.out)
	flat=$(core_of gone.out)
	check "across sizes: epochs of 25 a class priced above those of 5 ($big against $flat core-seconds)" \
		$([ -n "$big" ] && [ -n "$flat" ] && [ "$big" -gt "$flat" ]; echo $?) "$big, $flat"
fi

# ---- running (a real snm run), then resumable after kill -9 -----------------------------------------
"$snm" run p.yaml --only 'st/slow/*' --threads 1 > slow.log 2>&1 &
pid=$!
seen=
i=0
while [ $i -lt 300 ]; do
	status
	if line st/slow/n10/set1 | grep -q "  running, pid $pid: [1-9][0-9]*/3000 epochs done$"; then
		seen=$(line st/slow/n10/set1)
		break
	fi
	sleep 0.2
	i=$((i + 1))
done
check "running: snm run's pid and the epochs it has done" $([ -n "$seen" ]; echo $?) \
	"$(line st/slow/n10/set1)"
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
status
check "resumable after kill -9: its epochs done, and the stale lock it left" \
	$(line st/slow/n10/set1 | grep -q "  resumable: [1-9][0-9]*/3000 epochs done; stale lock (left by pid $pid, which holds it no more)$" \
	  && grep -q "^9 runs: 2 finished, 0 running, 1 resumable, 6 not started, 0 refused, 0 failed$" status.out; echo $?) \
	"$(line st/slow/n10/set1)"
done_epochs=$(line st/slow/n10/set1 | sed -n 's|.*resumable: \([0-9]*\)/3000.*|\1|p')
check "the estimate counts the resumable run's epochs left" \
	$(grep -q "^left: 7 runs, $((3000 - done_epochs + 12)) epochs, about " status.out; echo $?) "$(tail -n 1 status.out)"

# ---- a lock held as snm holds it, by another process ----------------------------------------------------
lock=results/st/other/n20/set2.h5.lock
mkdir -p results/st/other/n20
perl -e 'use Fcntl ":flock"; open(my $f, ">>", $ARGV[0]) or die; flock($f, LOCK_EX) or die;
         truncate($f, 0); syswrite($f, "$$\n"); sleep 120' "$lock" &
holder=$!
i=0
while [ $i -lt 100 ] && [ "$(cat "$lock" 2>/dev/null)" != "$holder" ]; do sleep 0.1; i=$((i + 1)); done
status
check "running: the lock's holder named" \
	$(line st/other/n20/set2 | grep -q "  running, pid $holder: 0/2 epochs done$" \
	  && grep -q "^9 runs: 2 finished, 1 running, 1 resumable, 5 not started, 0 refused, 0 failed$" status.out; echo $?) \
	"$(line st/other/n20/set2)"
kill "$holder"
wait "$holder" 2>/dev/null
status
check "the holder gone: not started, with a stale lock" \
	$(line st/other/n20/set2 | grep -q "  not started; stale lock (left by pid $holder, which holds it no more)$"; echo $?) \
	"$(line st/other/n20/set2)"
holder=
if [ -r /proc/locks ]; then
	echo $$ > results/st/other/n20/set1.h5.lock       # a live process, which holds no lock
	status
	check "a lock file naming a live process that does not hold it: stale" \
		$(line st/other/n20/set1 | grep -q "  not started; stale lock (left by pid $$, which holds it no more)$"; echo $?) \
		"$(line st/other/n20/set1)"
	rm -f results/st/other/n20/set1.h5.lock
else
	skip "a lock file naming a live process that does not hold it (no /proc/locks)"
fi

# ---- snm report ---------------------------------------------------------------------------------------
"$snm" report p.yaml --out rep > report.out 2> report.err
st=$?
mean=$(awk -v a="$err1" -v b="$err2" 'BEGIN { printf "%.2f", (a + b) / 2 }')
check "report: exit 0, the table on stdout and in results.md" \
	$([ $st -eq 0 ] && [ -f rep/results.md ] && grep -q "^| experiment | 10 | 20 |$" report.out \
	  && grep -q "^| experiment | 10 | 20 |$" rep/results.md; echo $?) "exit $st; $(head -n 3 report.err)"
check "report: a finished cell is mean (std) over its sets with n, bold as its column's best" \
	$(grep -q "^| base | \*\*$mean ([0-9.]*)\*\*, n=2 | \*missing: st/base/n20/set1, st/base/n20/set2\* |$" rep/results.md; echo $?) \
	"$(grep '^| base' rep/results.md) (mean of $err1 and $err2: $mean)"
check "report: missing and unfinished cells name their runs; a cell outside the grid is empty" \
	$(grep -q "^| other | \*missing: st/other/n10/set1, st/other/n10/set2\* | \*missing: st/other/n20/set1, st/other/n20/set2\* |$" rep/results.md \
	  && grep -q "^| slow | \*unfinished: st/slow/n10/set1\* | – |$" rep/results.md; echo $?) \
	"$(grep '^| other\|^| slow' rep/results.md)"
check "report: CSV with every cell, LaTeX with the bold cell" \
	$(grep -q "^st/base,base,10,2,2,0,0,0,0,[0-9.]*,[0-9.]*,1,,0$" rep/results.csv \
	  && grep -q "^st/slow,slow,10,1,0,0,1,0,0,,,0,st/slow/n10/set1,0$" rep/results.csv \
	  && [ "$(wc -l < rep/results.csv)" -eq 6 ] \
	  && grep -q "\\\\textbf{$mean" rep/results.tex && grep -q "^\\\\bottomrule" rep/results.tex; echo $?) \
	"$(head -n 3 rep/results.csv)"
if command -v gnuplot >/dev/null 2>&1; then
	ok=0
	for f in curves-valid curves-test; do
		[ "$(head -c 4 rep/$f.png | od -An -c | tr -d ' ')" = "211PNG" ] || ok=1
		[ "$(head -c 4 rep/$f.pdf)" = "%PDF" ] || ok=1
	done
	check "report: learning curves as PNG and PDF" $ok "$(ls rep)"
else
	skip "report: learning curves (gnuplot not installed)"
	check "report: without gnuplot, a note per figure and no figure" \
		$([ "$(grep -c 'gnuplot not found' report.out)" -eq 2 ] && [ ! -f rep/curves-valid.png ]; echo $?)
fi
"$snm" report p.yaml --out rep2 --no-figures > report2.out 2>&1
check "report --no-figures: the tables only" \
	$([ -f rep2/results.md ] && [ -f rep2/results.csv ] && [ -f rep2/results.tex ] \
	  && [ -z "$(find rep2 -name '*.png' -o -name '*.pdf')" ]; echo $?) "$(ls rep2)"

# ---- failed --------------------------------------------------------------------------------------------
r=results/st/base/n10
cp $r/set2.h5 set2.keep
cp $r/set1.h5 $r/set2.h5
status
check "failed: another run's file in the run's place" \
	$(line st/base/n10/set2 | grep -q "  failed: $r/set2.h5 holds run 'st/base/n10/set1', not this one$" \
	  && grep -q "^9 runs: 1 finished, 0 running, 1 resumable, 6 not started, 0 refused, 1 failed$" status.out \
	  && grep -q "; refused and failed runs not counted$" status.out; echo $?) "$(line st/base/n10/set2)"
cp set2.keep $r/set2.h5
size=$(wc -c < $r/set2.h5)
xor $r/set2.h5 $((size / 2)) 255
status
check "failed: a damaged file, with the reader's reason" \
	$(line st/base/n10/set2 | grep -q "  failed: .*$r/set2.h5.*damaged" && [ "$(cat status.rc)" -eq 0 ]; echo $?) \
	"$(line st/base/n10/set2)"
"$snm" report p.yaml --out rep3 --no-figures > report3.out 2>&1
check "report: a failed run is named in its cell and in a note" \
	$(grep -q "^| base | \*\*$err1\*\*, n=1 · \*failed: st/base/n10/set2\* |" rep3/results.md \
	  && grep -q "^note: st/base/n10/set2: failed: .*damaged" report3.out; echo $?) \
	"$(grep '^| base' rep3/results.md)"
cp set2.keep $r/set2.h5

# ---- made by other code ----------------------------------------------------------------------------
# The runs so far were trained with the build's noise plugin `none`.  A byte-identical copy of it
# first on the search path is the same code; the copy "rebuilt" (other bytes, still loadable) is
# other code: the finished runs stay finished, flagged; the unfinished one is refused.
mkdir plug
cp "$top/plugins/noise/.libs/none.so" plug/none.so
"$snm" status p.yaml --plugin-path plug > status.out 2> status.err
check "code: a byte-identical copy of the plugin is the same code" \
	$(line st/base/n10/set1 | grep -q "  finished: test error $err1% at best epoch $ep1/2$" \
	  && grep -q "^9 runs: 2 finished, 0 running, 1 resumable, " status.out; echo $?) "$(line st/base/n10/set1)"
cat plug/none.so > plug/none.new && printf '\0' >> plug/none.new && mv plug/none.new plug/none.so
"$snm" status p.yaml --plugin-path plug > status.out 2> status.err
check "code: finished runs of other code stay finished, flagged with the plugin that changed" \
	$(line st/base/n10/set1 | grep -q "  finished: test error $err1% at best epoch $ep1/2; made by other code: noise none changed; \`snm verify\` checks it$" \
	  && grep -q "^9 runs: 2 finished (2 made by other code), 0 running, 0 resumable, 6 not started, 1 refused, 0 failed$" status.out; echo $?) \
	"$(line st/base/n10/set1)"
check "code: an unfinished run of other code is refused, naming the plugin" \
	$(line st/slow/n10/set1 | grep -q "  refused: unfinished, made by other code (noise none changed); snm run --force retrains it; stale lock"; echo $?) \
	"$(line st/slow/n10/set1)"
"$snm" run p.yaml --plugin-path plug --only 'st/base/n10/*' > run2.out 2> run2.err
st=$?
check "code: snm run skips the finished runs of other code, saying so" \
	$([ $st -eq 0 ] && grep -q "^st/base/n10/set1 *finished before, made by other code (noise none changed; \`snm verify\` checks it): test error $err1%$" run2.out \
	  && [ ! -s run2.err ]; echo $?) "exit $st; $(head -n 2 run2.out run2.err)"
"$snm" run p.yaml --plugin-path plug --only 'st/slow/*' > run2.out 2> run2.err
st=$?
check "code: snm run refuses to resume a run of other code, in one line naming the plugin" \
	$([ $st -eq 1 ] && [ "$(wc -l < run2.err)" -eq 1 ] \
	  && grep -q "^snm: results/st/slow/n10/set1.h5: unfinished, made by other code (noise none changed): this code does not resume it; use --force to retrain it$" run2.err; echo $?) \
	"exit $st; $(cat run2.err)"
"$snm" report p.yaml --plugin-path plug --out rep5 --no-figures > report5.out 2>&1
check "code: the report marks the cell and names the runs under the table and in notes" \
	$(grep -q "^| base | \*\*$mean ([0-9.]*)\*\*, n=2 † | \*missing: st/base/n20/set1, st/base/n20/set2\* |$" rep5/results.md \
	  && grep -q "^† 2 finished runs made by other code than the plugins and libsnm found now (\`snm verify RUNFILE\` checks them): st/base/n10/set1 (noise none changed), st/base/n10/set2 (noise none changed).$" rep5/results.md \
	  && grep -q "^st/base,base,10,2,2,0,0,0,0,[0-9.]*,[0-9.]*,1,,2$" rep5/results.csv \
	  && grep -q "dagger" rep5/results.tex \
	  && [ "$(grep -c '^note: st/base/n10/set[12]: finished, made by other code (noise none changed)' report5.out)" -eq 2 ]; echo $?) \
	"$(grep '^| base\|^†' rep5/results.md)"

# ---- refused -----------------------------------------------------------------------------------------
sed 's/train: {lr: 0.005}/train: {lr: 0.004}/' p.yaml > p2.yaml && mv p2.yaml p.yaml
status
check "refused: the pipeline edited, the changed key named with both values" \
	$(line st/base/n10/set1 | grep -q "  refused: made by another configuration (train.lr 0.005 -> 0.004); snm run --force retrains it$" \
	  && line st/base/n10/set2 | grep -q "  refused: " \
	  && grep -q "^9 runs: 0 finished, 0 running, 1 resumable, 6 not started, 2 refused, 0 failed$" status.out; echo $?) \
	"$(line st/base/n10/set1)"
"$snm" report p.yaml --out rep4 --no-figures > report4.out 2>&1
check "report: refused runs are left out and named" \
	$(grep -q "^| base | \*refused: st/base/n10/set1, st/base/n10/set2\* |" rep4/results.md \
	  && [ "$(grep -c '^note: st/base/n10/set[12]: made by another configuration (train.lr 0.005 -> 0.004)' report4.out)" -eq 2 ]; echo $?) \
	"$(grep '^| base' rep4/results.md)"

"$snm" run p.yaml --only 'st/base/n10/set1' > run3.out 2> run3.err
st=$?
check "refused: snm run names the changed key in one line; its table counts the file as missing" \
	$([ $st -eq 1 ] && [ "$(wc -l < run3.err)" -eq 1 ] \
	  && grep -q "^st/base  *missing$" run3.out \
	  && grep -q "^snm: $r/set1.h5: made by another configuration (train.lr 0.005 -> 0.004; config hash [0-9a-f]\{16\}, now [0-9a-f]\{16\}): use --force to retrain it$" run3.err; echo $?) \
	"exit $st; $(cat run3.err)"

# ---- --force keeps the superseded file ----------------------------------------------------------------
old_hash=$(sed -n 's/.*config hash \([0-9a-f]*\),.*/\1/p' run3.err)
cp $r/set1.h5 set1.before
"$snm" run p.yaml --only 'st/base/n10/set1' --force > run3.out 2> run3.err
st=$?
kept=$r/set1.superseded-$old_hash.h5
check "--force: the run retrained, the old file kept beside it under its config hash, said in one line" \
	$([ $st -eq 0 ] && grep -q "^st/base/n10/set1 *--force: the file it replaces is kept as $kept$" run3.out \
	  && grep -q "^st/base/n10/set1 *trained: " run3.out && [ -f "$kept" ] && [ -f $r/set1.h5 ] \
	  && cmp -s "$kept" set1.before; echo $?) \
	"exit $st; $(cat run3.out run3.err | head -n 3); $(ls $r)"
status
check "--force: status reads the run's own file and passes over the superseded one" \
	$(line st/base/n10/set1 | grep -q "  finished: test error " \
	  && grep -q "^9 runs: 1 finished, 0 running, 1 resumable, 6 not started, 1 refused, 0 failed$" status.out; echo $?) \
	"$(line st/base/n10/set1); $(grep '^9 runs' status.out)"
"$snm" compact --out comp results > compact.out 2> compact.err
check "--force: snm compact of the directory passes over the superseded file" \
	$(grep -q "^snm compact: 2 written, 0 failed, 1 unfinished passed over, 1 superseded passed over$" compact.out \
	  && [ -z "$(find comp -name '*superseded*')" ] && [ -f comp/st/base/n10/set1.h5 ]; echo $?) \
	"$(tail -n 1 compact.out) $(cat compact.err)"
"$snm" compact --out comp "$kept" > compact.out 2> compact.err
st=$?
check "--force: snm compact refuses a superseded file named directly (it would take its run's place)" \
	$([ $st -eq 1 ] && grep -q "^snm compact: $kept: a superseded run file" compact.err; echo $?) "exit $st; $(cat compact.err)"

# ---- snm paper: the runs it does not use --------------------------------------------------------------------
cat > spec.yaml <<YAML
tables:
  - {id: t, caption: "base", layout: mean, pipeline: st, columns: [10], sets: 2, rows: [{run: base}]}
YAML
"$snm" paper --spec spec.yaml --results results --out pout --no-figures > paper.out 2>&1
check "snm paper names the run files under --results that it did not use (a superseded file is none)" \
	$(grep -q "^not used: 1 run file under results that no table or figure of the spec reads: st/slow/n10/set1 (snm report PIPELINE tabulates any pipeline)$" paper.out; echo $?) \
	"$(grep -i 'not used' paper.out)"

# ---- a run whose loss diverges: failed, with why, never resumable -----------------------------------------
# lr 1e39: the first Adam step overflows float, the second step's loss is not finite
cat > dv.yaml <<YAML
name: dv
seed: 3
results: dvres
defaults:
  data: {type: synthetic, classes: 3, per_class: 40, size: 16}
  model: {type: convnet, preset: custom, layers: [{conv: 3, k: 3, stride: 2, pad: 1}, {fc: 6}]}
  noise: {type: none}
  train: {epochs: 2, batch: 8, eval_batch: 16}
grid: {per_class: [10], sets: 1}
experiments:
  - name: diverge
    train: {lr: 1e39}
  - name: fine
YAML
"$snm" run dv.yaml > dv.out 2> dv.err
st=$?
check "diverging lr: snm run exits 1, says why and that the file marks it failed, trains the other run" \
	$([ $st -eq 1 ] && grep -q "^snm: dv/diverge/n10/set1: epoch 1 step 2: term 'ce' is not finite; marked failed in its file, .*snm run retrains it only with --force$" dv.err \
	  && grep -q "^dv/fine/n10/set1 *trained" dv.out; echo $?) "exit $st; $(cat dv.err)"
"$snm" status dv.yaml > status.out 2> status.err
check "diverging lr: snm status says failed, with why, not resumable" \
	$(line dv/diverge/n10/set1 | grep -q "  failed: epoch 1 step 2: term 'ce' is not finite; snm run --force retrains it$" \
	  && grep -q "^2 runs: 1 finished, 0 running, 0 resumable, 0 not started, 0 refused, 1 failed$" status.out; echo $?) \
	"$(cat status.out)"
"$snm" run dv.yaml > dv.out 2> dv.err
st=$?
check "diverging lr: snm run again refuses it with the reason (trains nothing), exit 1" \
	$([ $st -eq 1 ] && [ "$(wc -l < dv.err)" -eq 1 ] \
	  && grep -q "^snm: dvres/dv/diverge/n10/set1.h5: failed before (dv/diverge/n10/set1: epoch 1 step 2: term 'ce' is not finite): not retrained; use --force to retrain it from scratch$" dv.err \
	  && ! grep -q "starts" dv.out; echo $?) "exit $st; $(cat dv.err)"
"$snm" report dv.yaml --out dvrep --no-figures > dvrep.out 2>&1
check "diverging lr: the report names the failed run in its cell" \
	$(grep -q "^| diverge | \*failed: dv/diverge/n10/set1\* |" dvrep/results.md; echo $?) "$(grep diverge dvrep/results.md)"
"$snm" run dv.yaml --force > dv.out 2> dv.err
st=$?
check "diverging lr: --force retrains it (failing again), keeping the failed file beside" \
	$([ $st -eq 1 ] && grep -q "^dv/diverge/n10/set1 *--force: the file it replaces is kept as dvres/dv/diverge/n10/set1.superseded-" dv.out \
	  && [ "$(ls dvres/dv/diverge/n10/ | grep -c superseded)" -eq 1 ]; echo $?) "exit $st; $(cat dv.out dv.err)"

# ---- errors ----------------------------------------------------------------------------------------------
"$snm" status nope.yaml > e.out 2> e.err
st=$?
check "status of a pipeline that cannot be loaded: exit 1, one line" \
	$([ $st -eq 1 ] && [ "$(wc -l < e.err)" -eq 1 ] && [ ! -s e.out ]; echo $?) "exit $st; $(cat e.err)"
"$snm" report nope.yaml > e.out 2> e.err
st=$?
check "report of a pipeline that cannot be loaded: exit 1, one line" \
	$([ $st -eq 1 ] && [ "$(wc -l < e.err)" -eq 1 ]; echo $?) "exit $st; $(cat e.err)"
"$snm" status > e.out 2> e.err
st=$?
check "status without a pipeline: exit 2" $([ $st -eq 2 ] && [ "$(wc -l < e.err)" -eq 1 ]; echo $?) "exit $st"
finish
