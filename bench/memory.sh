#!/bin/sh
# memory.sh: peak resident memory of a run of each network, and whether it grows over epochs.
#
# For each network -- the MNIST convnet (semantic objective), the ladder network and VAT's (fully
# connected, batch norm, their mnist-semi.yaml rows with 100 labelled + 100 unlabelled rows a
# step), all on Fashion-MNIST at 100 per class, and the CIFAR-10 network (semantic) on random bytes
# in CIFAR-10's binary format (6 files of 2000 records, ten random images repeated, made here) -- `snm run` trains once for
# SHORT epochs and once for LONG epochs (10 steps an epoch; every epoch evaluates the validation
# split), one thread, and /usr/bin/time reports each run's peak resident set.  The runs are the
# same but for their length, so a peak that rises with the epochs is memory that grows with them:
# the script prints both peaks and their difference, and exits 1 when the longer run's peak is
# more than 5% above the shorter's (or a run fails).
#
# Usage: memory.sh SNM [DATA_DIR]   (SNM: the snm command; DATA_DIR: Fashion-MNIST's IDX files)
# Environment: MEM_EPOCHS (default "2 8": SHORT LONG).
snm=${1:?usage: memory.sh SNM [DATA_DIR]}
data=${2:-/usr/share/datasets/fashion-mnist}
set -- ${MEM_EPOCHS:-2 8}
short=$1 long=$2
case $snm in /*) ;; *) snm=$(pwd)/$snm ;; esac
if ! test -x /usr/bin/time; then
	echo "memory.sh: no /usr/bin/time (Debian package time): not measured"
	exit 0
fi
if ! test -r "$data/train-images-idx3-ubyte.gz" && ! test -r "$data/train-images-idx3-ubyte"; then
	echo "memory.sh: no Fashion-MNIST in $data (dataset-fashion-mnist): not measured"
	exit 0
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/snm-mem.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/cifar"
# ten records, labels 0..9 and random pixels, repeated to 2000 records a file
for l in 0 1 2 3 4 5 6 7 8 9; do
	printf "\\$(printf %03o $l)"
	head -c 3072 /dev/urandom
done > "$dir/ten" || exit 1
i=0
while test $i -lt 200; do cat "$dir/ten"; i=$((i + 1)); done > "$dir/cifar/data_batch_1.bin"
for f in data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
	cp "$dir/cifar/data_batch_1.bin" "$dir/cifar/$f.bin" || exit 1
done
fashion="{type: idx, dir: $data, valid: 10000}"
semantic="{type: semantic, weight: 0.03, perturbed_weight: 1, sd: 0.2}"
status=0
printf '%-8s %14s %14s %10s\n' network "peak KB, $short ep" "peak KB, $long ep" growth
for net in mnist ladder vat cifar10; do
	case $net in
	mnist) d=$fashion m="{type: convnet, preset: mnist}" n=$semantic u= ;;
	ladder) d=$fashion
		m="{type: convnet, preset: custom, batchnorm: true, layers: [{fc: 1000}, {fc: 500}, {fc: 250}, {fc: 250}, {fc: 250}]}"
		n="{type: ladder, unlabelled: true, lambdas: [1000, 10, 0.1, 0.1, 0.1, 0.1, 0.1]}"
		u=", unlabelled_batch: 100" ;;
	vat) d=$fashion
		m="{type: convnet, preset: custom, batchnorm: true, layers: [{fc: 1200}, {fc: 1200}], bn_eps: 1e-6}"
		n="{type: vat, epsilon: 0.3, xi: 1e-6, power_iterations: 1, unlabelled: true}"
		u=", unlabelled_batch: 100" ;;
	cifar10) d="{type: cifar10, dir: $dir/cifar, valid: 2000, crop: 24}"
		m="{type: convnet, preset: cifar10}" n=$semantic u= ;;
	esac
	peaks=
	for e in $short $long; do
		cat > "$dir/p.yaml" <<EOF
name: mem
seed: 1
results: $dir/results
defaults:
  data: $d
  model: $m
  train: {epochs: $e, batch: 100, lr: 0.002$u}
grid: {per_class: [100], sets: 1}
experiments:
  - name: $net
    noise: $n
EOF
		rm -rf "$dir/results"
		if ! /usr/bin/time -f '%M' -o "$dir/kb" "$snm" run "$dir/p.yaml" --threads 1 > "$dir/log" 2>&1; then
			echo "memory.sh: the $net run of $e epochs failed: $(tail -n 1 "$dir/log")"
			status=1
			continue 2
		fi
		peaks="$peaks $(tail -n 1 "$dir/kb")"
	done
	set -- $peaks
	printf '%-8s %14s %14s %9s%%\n' $net $1 $2 $(awk -v a=$1 -v b=$2 'BEGIN { printf "%+.1f", 100 * (b - a) / a }')
	if awk -v a=$1 -v b=$2 'BEGIN { exit !(b > 1.05 * a) }'; then
		echo "memory.sh: $net: the peak grows with the epochs ($1 KB at $short, $2 KB at $long)"
		status=1
	fi
done
exit $status
