#!/bin/sh
# eval_batch.sh: what the evaluation batch costs.
#
# Times `snm run` on a pipeline that is almost all evaluation -- Fashion-MNIST, 10 examples per
# class (one training step an epoch), the paper's MNIST network, feed-forward, 6 epochs; every
# epoch evaluates the 10k validation images and, while validation improves, the 10k test images
# -- once for each evaluation batch size and thread count, and prints the run's own seconds and
# its test error.  The error must come out the same at every batch size (the products' shapes
# change with the batch, so a logit may differ in its last bit, but an argmax flip would show
# here); the script exits 1 when it does not, or when a run fails.
#
# Usage: eval_batch.sh SNM [DATA_DIR]      (SNM: the snm command; DATA_DIR: Fashion-MNIST's IDX
#                                           files, /usr/share/datasets/fashion-mnist)
# Environment: EVAL_BATCHES (default "50 100 200 500 1000"), EVAL_THREADS (default "1 2").
snm=${1:?usage: eval_batch.sh SNM [DATA_DIR]}
data=${2:-/usr/share/datasets/fashion-mnist}
batches=${EVAL_BATCHES:-50 100 200 500 1000}
threads=${EVAL_THREADS:-1 2}
case $snm in /*) ;; *) snm=$(pwd)/$snm ;; esac
if ! test -r "$data/train-images-idx3-ubyte.gz" && ! test -r "$data/train-images-idx3-ubyte"; then
	echo "eval_batch.sh: no Fashion-MNIST in $data (dataset-fashion-mnist): not timed"
	exit 0
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/snm-eval.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
status=0
printf '%-8s %-10s %8s  %s\n' threads eval_batch seconds "test error"
for t in $threads; do
	first=
	for b in $batches; do
		cat > "$dir/p.yaml" <<EOF
name: eval
seed: 1
results: $dir/results
defaults:
  data: {type: idx, dir: $data, valid: 10000}
  model: {type: convnet, preset: mnist}
  train: {epochs: 6, batch: 100, lr: 0.005, eval_batch: $b}
grid: {per_class: [10], sets: 1}
experiments:
  - name: ff
    noise: {type: none}
EOF
		rm -rf "$dir/results"
		"$snm" run "$dir/p.yaml" --threads "$t" > "$dir/log" 2>&1
		line=$(grep 'trained: test error' "$dir/log")
		err=$(echo "$line" | sed -n 's/.*test error \([0-9.]*%\).*/\1/p')
		sec=$(echo "$line" | sed -n 's/.*, \([0-9.]*\) s$/\1/p')
		if test -z "$err" || test -z "$sec"; then
			echo "eval_batch.sh: the run at eval_batch $b, --threads $t failed: $(tail -n 1 "$dir/log")"
			status=1
			continue
		fi
		printf '%-8s %-10s %8s  %s\n' "$t" "$b" "$sec" "$err"
		if test -z "$first"; then
			first=$err
		elif test "$err" != "$first"; then
			echo "eval_batch.sh: test error $err at eval_batch $b, $first at the first batch size"
			status=1
		fi
	done
done
exit $status
