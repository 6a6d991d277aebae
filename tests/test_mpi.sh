#!/bin/sh
# test_mpi.sh: `mpirun -n 3 snm run` on one machine (oversubscribed).  A small synthetic pipeline
# of 8 runs: trained by three ranks, every run is trained exactly once and equals a serial run's
# file bit for bit (h5diff, /metrics/seconds aside), with no lock or temporary file left; then the
# same pipeline into another directory, the job killed mid-way (SIGTERM to mpirun, which passes it
# on: each rank stops at its next step; then SIGKILL to one rank, which makes mpirun end the job,
# as a lost node would), and the same command run again: it finishes, and every file equals the
# serial run's.  Exits 77 where snm was built without MPI or mpirun is missing (CI installs Open
# MPI); mpirun runs as root with OMPI_ALLOW_RUN_AS_ROOT.
# Prints "test_mpi: N passed, N failed" (", 1 skipped" when skipped).
set -u
. "${SNM_TEST_SRCDIR:?}/lib.sh"
test_begin mpi
snm=$top/snm

if ! grep -q '^#define SNM_HAVE_MPI 1' "$top/config.h" 2>/dev/null; then
	echo "SKIP: snm was built without MPI (configure found no Open MPI, or --without-mpi)"
	echo "test_mpi: 0 passed, 0 failed, 1 skipped"
	exit 77
fi
if ! command -v mpirun >/dev/null 2>&1 || ! command -v h5diff >/dev/null 2>&1; then
	echo "SKIP: mpirun (openmpi-bin) or h5diff (hdf5-tools) not found"
	echo "test_mpi: 0 passed, 0 failed, 1 skipped"
	exit 77
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 SNM_COST_CACHE="$tmp/cost"
# Open MPI's own allocations that live until exit are not snm's: no leak check under mpirun
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0"
mpi="mpirun -n 3 --oversubscribe --bind-to none"

# pipeline NAME RESULTS EPOCHS: 8 runs of two sizes and two objectives
pipeline() {
	cat > "$tmp/$1.yaml" <<EOF
name: mp
seed: 7
results: $2
defaults:
  data: {type: synthetic, classes: 3, per_class: 40, size: 16}
  model: {type: convnet, preset: custom, layers: [{conv: 3, k: 3, stride: 2, pad: 1}, {fc: 6}]}
  noise: {type: recon, targets: xz}
  train: {epochs: $3, batch: 8, eval_batch: 16}
grid: {per_class: [10, 20], sets: 2}
experiments:
  - name: base
  - name: ff
    noise: {type: none}
EOF
}
# same DIR_A DIR_B: every run file of A equals B's (h5diff, seconds aside); prints the count
same() {
	n=0
	for f in $(cd "$1" && find . -name '*.h5' | sort); do
		h5diff --exclude-path /metrics/seconds "$1/$f" "$2/$f" > /dev/null 2>&1 || { echo "  differs: $f" >&2; return 1; }
		n=$((n + 1))
	done
	[ $n -eq 8 ]
}
pipeline ref "$tmp/ref" 40
pipeline mpi "$tmp/mpi" 40
"$snm" run "$tmp/ref.yaml" > "$tmp/ref.log" 2>&1
check "the serial reference run" $? "$tmp/ref.log"
"$snm" check "$tmp/ref.yaml" | grep '^mp/' | awk '{print $1}' | sort > "$tmp/all"

$mpi "$snm" run "$tmp/mpi.yaml" > "$tmp/mpi.log" 2>&1
check "mpirun -n 3 snm run: exit 0, the table, all finished" \
	$([ $? -eq 0 ] && grep -q '^8 runs selected, all finished' "$tmp/mpi.log"; echo $?) "$tmp/mpi.log"
grep -E '^mp/[^ ]+ +trained' "$tmp/mpi.log" | awk '{print $1}' | sort > "$tmp/trained"
check "every run trained exactly once" $(cmp -s "$tmp/trained" "$tmp/all"; echo $?) "$tmp/mpi.log"
check "every run file equals the serial run's" $(same "$tmp/ref" "$tmp/mpi"; echo $?)
check "no lock or temporary file left" \
	$([ -z "$(find "$tmp/mpi" -name '*.lock' -o -name '*.tmp*')" ]; echo $?)
$mpi "$snm" run "$tmp/mpi.yaml" > "$tmp/again.log" 2>&1
check "run again: every run skipped as finished" \
	$([ $? -eq 0 ] && [ "$(grep -c 'finished before' "$tmp/again.log")" -eq 8 ]; echo $?) "$tmp/again.log"

# killed mid-way, then the same command again (400 epochs a run: the job must still be training
# when the signal lands, also on a quiet machine where 80 were done in about a second)
pipeline ref2 "$tmp/ref2" 400
pipeline killed "$tmp/killed" 400
start=$(date +%s%N)
"$snm" run "$tmp/ref2.yaml" > "$tmp/ref2.log" 2>&1
check "the serial reference of the longer runs" $? "$tmp/ref2.log"
span=$(( ($(date +%s%N) - start) / 1000000 ))
delay=$(awk -v t="$span" 'BEGIN { printf "%.3f", t / 3 / 1000 / 2 }')
# the kills wait for the job to be training (mpirun's start-up alone can outlast a fixed delay on a
# quiet machine, and the job then finishes before the signal): the first run file, or a rank
$mpi "$snm" run "$tmp/killed.yaml" > "$tmp/kill1.log" 2>&1 &
pid=$!
i=0
while [ -z "$(find "$tmp/killed" -name '*.h5' 2>/dev/null | head -n 1)" ] && [ $i -lt 2000 ]; do
	sleep 0.01; i=$((i + 1))
done
sleep "$(awk -v d="$delay" 'BEGIN { printf "%.3f", d / 4 }')"
kill -TERM $pid 2>/dev/null
wait $pid
st1=$?
unfinished=0
for f in $(find "$tmp/killed" -name '*.h5'); do
	h5dump -a /status "$f" 2>/dev/null | grep -q '"running"' && unfinished=$((unfinished + 1))
done
done1=$(find "$tmp/killed" -name '*.h5' | wc -l)
check "SIGTERM to mpirun after $delay s: the job stops (status $st1), $done1 files, $unfinished unfinished" \
	$([ $st1 -ne 0 ] && [ $((8 - done1 + unfinished)) -gt 0 ]; echo $?) "$tmp/kill1.log"
$mpi "$snm" run "$tmp/killed.yaml" > "$tmp/kill2.log" 2>&1 &
pid=$!
i=0
while [ -z "$(pgrep -P $pid -f 'snm run')" ] && [ $i -lt 2000 ]; do
	sleep 0.01; i=$((i + 1))
done
rank=$(pgrep -P $pid -f 'snm run' | tail -n 1)
[ -n "$rank" ] && kill -KILL $rank 2>/dev/null
wait $pid
st2=$?
check "SIGKILL to one rank (pid ${rank:-none}): the job ends (status $st2)" $([ $st2 -ne 0 ]; echo $?) "$tmp/kill2.log"
$mpi "$snm" run "$tmp/killed.yaml" > "$tmp/kill3.log" 2>&1
check "the same command again finishes" \
	$([ $? -eq 0 ] && grep -q '^8 runs selected, all finished' "$tmp/kill3.log"; echo $?) "$tmp/kill3.log"
check "every run file equals an uninterrupted run's" $(same "$tmp/ref2" "$tmp/killed"; echo $?)

test_end
