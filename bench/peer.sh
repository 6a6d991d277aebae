#!/bin/sh
# peer.sh: the PyTorch peer's training throughput, for bench_train's ratios.
#
# Runs peers/torch_ref.py (the paper's MNIST network in PyTorch, batch 100) REPS times at 1 and
# at 2 threads and writes, for every thread count and objective, the best examples/s of the
# repetitions to OUT as lines "THREADS METHOD EXAMPLES/S" (the format bench_train reads from
# $SNM_BENCH_PEER).  Without python3-torch, or without the script, it says so and writes an empty
# OUT, so that `make bench` still runs.
#
# Usage: peer.sh OUT [REPS] [STEPS]       (defaults 3, 30; $PEER_PY: the interpreter, /usr/bin/python3;
#                                          $PEER_SCRIPT: torch_ref.py, /work/shared/peers/torch_ref.py)
out=${1:?usage: peer.sh OUT [REPS] [STEPS]}
reps=${2:-3}
steps=${3:-30}
py=${PEER_PY:-/usr/bin/python3}
script=${PEER_SCRIPT:-/work/shared/peers/torch_ref.py}
: > "$out" || exit 1
if ! test -r "$script"; then
	echo "peer.sh: $script not found: no peer figures"
	exit 0
fi
if ! "$py" -c 'import torch' 2>/dev/null; then
	echo "peer.sh: $py cannot import torch (python3-torch): no peer figures"
	exit 0
fi
raw=$(mktemp) || exit 1
trap 'rm -f "$raw"' EXIT
for threads in 1 2; do
	r=1
	while test "$r" -le "$reps"; do
		echo "peer.sh: torch_ref.py --threads $threads --steps $steps (run $r of $reps; load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null))"
		"$py" "$script" --threads "$threads" --steps "$steps" | sed "s/^/$threads /" >> "$raw" || exit 1
		r=$((r + 1))
	done
done
# "T METHOD MS ms/step EX examples/s ..." -> the best EX per (T, METHOD), in first-seen order
awk '{ k = $1 " " $2; if (!(k in best)) order[n++] = k; if ($5 > best[k]) best[k] = $5 }
     END { for (i = 0; i < n; ++i) print order[i], best[order[i]] }' "$raw" > "$out"
echo "peer.sh: best examples/s of $reps runs:"
sed 's/^/  /' "$out"
