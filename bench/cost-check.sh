#!/bin/sh
# cost-check.sh: the cost model (snm check --cost) against measured wall times: calibrates, trains
# bench/cost-check.yaml's 24 runs of different shapes in one process at --threads 1 into a fresh
# directory, then prints `snm status --cost`'s per-run lines and its closing comparison (median
# and range of model / measured).  Not part of make bench: run it on a quiet machine, as
#     bench/cost-check.sh ./snm        (about 3 minutes here; the cost cache: $SNM_COST_CACHE)
snm=${1:?usage: cost-check.sh SNM}
top=$(cd "$(dirname "$0")/.." && pwd)
case $snm in /*) ;; *) snm=$(pwd)/$snm ;; esac
if ! test -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz; then
	echo "cost-check.sh: no Fashion-MNIST (dataset-fashion-mnist): not run"
	exit 0
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/snm-cost-check.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
p=$top/bench/cost-check.yaml
"$snm" check "$p" --cost > "$dir/cost.log" 2>&1 || { cat "$dir/cost.log"; exit 1; }
grep 'core-hours' "$dir/cost.log"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
(cd "$dir" && "$snm" run "$p" --threads 1 > run.log 2>&1) || { tail -n 5 "$dir/run.log"; exit 1; }
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
(cd "$dir" && "$snm" status "$p" --cost)
