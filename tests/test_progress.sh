#!/bin/sh
# test_progress.sh: what `snm run` shows while it trains.  A tiny two-run pipeline on the
# synthetic data plugin is trained with -j 2 into a log (stdout and stderr in one file, no
# terminal): every epoch of both runs has its timestamped line with --log-every 0, in order per
# run, with a start line and a pipeline line per run; with the default --log-every (60 s) a fast
# run logs its first and last epochs only; a rerun logs no epochs.  On a terminal (script(1), when
# installed) the status lines are drawn, erased and followed by the table.
# Prints "test_progress: N passed, N failed".
set -u
. "${SNM_TEST_SRCDIR:?}/lib.sh"
test_begin progress

cat > "$tmp/p.yaml" <<EOF
name: pg
seed: 5
results: $tmp/results
defaults:
  data: {type: synthetic, classes: 3, per_class: 40, size: 8}
  model: {type: convnet, preset: custom, layers: [{conv: 3, k: 3, stride: 2, pad: 1}, {fc: 6}]}
  noise: {type: none}
  train: {epochs: 6, batch: 8, eval_batch: 16}
grid: {per_class: [10], sets: 2}
experiments:
  - name: ff
EOF
ts='[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'

# epochs KEY LOG: the epoch numbers of KEY's epoch lines, in the order of the log
epochs() { sed -n "s|^$ts $1 epoch \([0-9]*\)/6 loss [0-9.]* valid [0-9.]*% best [0-9.]*% [0-9.e+-]* s/epoch\$|\1|p" "$2" | tr '\n' ' '; }

"$top/snm" run "$tmp/p.yaml" -j 2 --log-every 0 > "$tmp/log" 2>&1
st=$?
check "-j 2 into a log: exit 0, the table" \
	$([ $st -eq 0 ] && grep -q '^2 runs selected, all finished$' "$tmp/log"; echo $?) "$tmp/log"
for s in 1 2; do
	got=$(epochs "pg/ff/n10/set$s" "$tmp/log")
	check "set$s: a timestamped line for every epoch, in order (got: $got)" \
		$([ "$got" = "1 2 3 4 5 6 " ]; echo $?) "$tmp/log"
	check "set$s: its start line, then its epochs, then its result" \
		$(awk -v k="pg/ff/n10/set$s" '
			$2 == k && $3 == "starts:" { s = NR }
			$2 == k && $3 == "epoch" && $4 == "1/6" { e = NR }
			$2 == k && $3 == "epoch" && $4 == "6/6" { l = NR }
			$1 == k && $2 == "trained:" { r = NR }
			END { exit !(s && s < e && e < l && l < r) }' "$tmp/log"; echo $?) "$tmp/log"
done
check "a pipeline line after each run, 2/2 last" \
	$([ "$(grep -c "^$ts p.yaml: [12]/2 runs done, elapsed [0-9hms]*, ETA [0-9hms?]*\$" "$tmp/log")" -eq 2 ] \
	  && grep "runs done" "$tmp/log" | tail -n 1 | grep -q " 2/2 runs done"; echo $?) "$tmp/log"
check "nothing on stderr" \
	$(rm -rf "$tmp/results"; "$top/snm" run "$tmp/p.yaml" -j 2 2> "$tmp/err" > "$tmp/log60"; [ ! -s "$tmp/err" ]; echo $?) \
	"$tmp/err"
for s in 1 2; do
	got=$(epochs "pg/ff/n10/set$s" "$tmp/log60")
	check "set$s, --log-every 60: the first and last epochs (got: $got)" \
		$([ "$got" = "1 6 " ]; echo $?) "$tmp/log60"
done
"$top/snm" run "$tmp/p.yaml" -j 2 > "$tmp/again" 2>&1
check "a rerun: finished before, no epoch lines" \
	$([ "$(grep -c 'finished before' "$tmp/again")" -eq 2 ] && ! grep -q " epoch " "$tmp/again"; echo $?) \
	"$tmp/again"
"$top/snm" run "$tmp/p.yaml" --log-every x > "$tmp/bad" 2>&1
check "--log-every x: usage error, one line" \
	$([ $? -eq 2 ] && [ "$(wc -l < "$tmp/bad")" -eq 1 ] && grep -q "^snm: --log-every: expected a whole number" "$tmp/bad"; echo $?) \
	"$tmp/bad"

if command -v script >/dev/null 2>&1; then
	rm -rf "$tmp/results"
	script -qec "'$top/snm' run '$tmp/p.yaml' -j 2" /dev/null > "$tmp/tty" 2>&1 </dev/null
	st=$?
	esc=$(printf '\033')
	check "on a terminal: the workers' and the pipeline's status lines, erased, then the table" \
		$([ $st -eq 0 ] && grep -q "\[1\] pg/ff/n10/set1  " "$tmp/tty" && grep -q "\[2\] pg/ff/n10/set2  " "$tmp/tty" \
		  && grep -q "p.yaml: 0/2 runs done" "$tmp/tty" && grep -q "${esc}\[A${esc}\[K" "$tmp/tty" \
		  && grep -q '^2 runs selected, all finished' "$tmp/tty" && ! grep -q "^$ts " "$tmp/tty"; echo $?) "$tmp/tty"
else
	echo "SKIP: on a terminal: script(1) not installed"
fi
test_end
