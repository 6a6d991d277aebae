#!/bin/sh
# cluster.sh: one machine's processes three ways, on the same small pipeline -- quick.yaml
# (Fashion-MNIST, 3 objectives x 10 and 100 per class x 3 sets = 18 runs) cut to EPOCHS epochs
# (default 3) -- each into a fresh results directory: one process (`snm run`), `snm run -j 2`,
# and `mpirun -n 2 snm run --threads 1` (where snm was built with MPI).  Prints each one's wall
# seconds and checks that the three directories hold the same bits (h5diff, /metrics/seconds
# aside); exits 1 when a run fails or the bits differ.  Not part of make bench: run it on a quiet
# machine, as
#     bench/cluster.sh ./snm            (EPOCHS=3 by default; the cost cache: $SNM_COST_CACHE)
# The mpirun line runs the ranks unbound (--bind-to none) and, as root, with
# OMPI_ALLOW_RUN_AS_ROOT.
snm=${1:?usage: cluster.sh SNM}
epochs=${EPOCHS:-3}
data=/usr/share/datasets/fashion-mnist
top=$(cd "$(dirname "$0")/.." && pwd)
case $snm in /*) ;; *) snm=$(pwd)/$snm ;; esac
if ! test -r "$data/train-images-idx3-ubyte.gz" && ! test -r "$data/train-images-idx3-ubyte"; then
	echo "cluster.sh: no Fashion-MNIST in $data (dataset-fashion-mnist): not timed"
	exit 0
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/snm-cluster.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
status=0
# timed NAME COMMAND...: runs COMMAND in $dir/NAME, prints its wall seconds
timed() {
	name=$1
	shift
	mkdir -p "$dir/$name"
	start=$(date +%s%N)
	(cd "$dir/$name" && "$@" > run.log 2>&1)
	rc=$?
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	printf '%-40s %8.1f s  (exit %d)\n' "$name" "$(echo "$ms" | awk '{ print $1 / 1000 }')" $rc
	[ $rc -eq 0 ] || { status=1; tail -n 5 "$dir/$name/run.log"; }
}
# the calibration first, so that no timing below includes it
"$snm" check "$top/pipelines/quick.yaml" --set train.epochs=$epochs --cost > "$dir/cost.log" 2>&1 \
	|| { cat "$dir/cost.log"; exit 1; }
grep 'core-hours' "$dir/cost.log"
runs=$(grep -c -E '^quick/[^ ]+ +[0-9.]+ s$' "$dir/cost.log")
echo "$runs runs of $epochs epochs, $(nproc) processors, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
timed "one process" "$snm" run "$top/pipelines/quick.yaml" --set train.epochs=$epochs --threads 1
timed "snm run -j 2" "$snm" run "$top/pipelines/quick.yaml" --set train.epochs=$epochs --threads 1 -j 2
if grep -q '^#define SNM_HAVE_MPI 1' "$top/config.h" 2>/dev/null && command -v mpirun >/dev/null; then
	timed "mpirun -n 2 snm run --threads 1" mpirun -n 2 --bind-to none "$snm" run \
		"$top/pipelines/quick.yaml" --set train.epochs=$epochs --threads 1
else
	echo "mpirun -n 2: snm built without MPI, or no mpirun: not timed"
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
for d in "snm run -j 2" "mpirun -n 2 snm run --threads 1"; do
	[ -d "$dir/$d/results" ] || continue
	for f in $(cd "$dir/one process/results" && find . -name '*.h5'); do
		h5diff --exclude-path /metrics/seconds "$dir/one process/results/$f" "$dir/$d/results/$f" \
			> /dev/null 2>&1 || { echo "cluster.sh: $d: $f differs from one process's"; status=1; }
	done
done
[ $status -eq 0 ] && echo "the same bits in the three results directories"
exit $status
