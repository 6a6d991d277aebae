#!/bin/sh
# fuzz/seeds.sh: writes the seed corpora fuzz/corpus/<harness>/ that are in git, from the tests'
# fixtures, the shipped pipelines and small generated files (python3 for the binary ones).  Run
# it from the source tree after a build: fuzz/seeds.sh [BUILDDIR] (default: .); BUILDDIR/snm
# trains the tiny run whose file seeds fuzz_runfile.  Regression inputs (fuzz/corpus/*/regress-*)
# and run files of format 1 (fuzz/corpus/fuzz_runfile/v1-*: written by snm before the seal, which
# this snm cannot write) are kept; every other seed is written again.  Not run by make: the seeds
# are committed.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-.}" && pwd)
out=$src/fuzz/corpus
command -v python3 >/dev/null || { echo "seeds.sh: python3 is needed"; exit 1; }
[ -x "$build/snm" ] || { echo "seeds.sh: no $build/snm: build snm first"; exit 1; }
for h in fuzz_config fuzz_pipeline fuzz_idx fuzz_cifar fuzz_runfile; do
	mkdir -p "$out/$h"
	find "$out/$h" -type f ! -name 'regress-*' ! -name 'v1-*' -exec rm -f {} +
done
sep='
#%%
'

# ---- fuzz_config: the tests' YAML fixtures, the shipped pipelines --------------------------
for f in "$src"/tests/fixtures/yaml/*.yaml "$src"/pipelines/*.yaml; do
	cp "$f" "$out/fuzz_config/$(basename "$f")"
done

# ---- fuzz_pipeline: pipelines of one to three files (cut at "#%%" lines) -----------------------
tiny='name: fz
seed: 1
defaults:
  data: {type: synthetic, classes: 2, per_class: 4, size: 4}
  model: {type: convnet, preset: custom, layers: [{conv: 2, k: 3, stride: 2, pad: 1}, {fc: 3}]}
  noise: {type: none}
  train: {epochs: 2, batch: 4, lr: 0.01, eval_batch: 4}
grid: {per_class: [1, 2], sets: 2, full: true}
experiments:
  - name: e
  - name: r
    noise: {type: recon, targets: xz, weight: 0.03}
    train: {lr: 0.02}
  - name: s
    noise: {type: semantic, weight: 0.03, sd: 0.2}
    grid: {per_class: [3], sets: 1}'
printf '%s\n' "$tiny" > "$out/fuzz_pipeline/tiny.yaml"
printf 'include: [p1.yaml, p2.yaml]%s%s%s%s\n' "$sep" "$tiny" "$sep" \
	"$(sed 's/name: e$/name: e2/' "$out/fuzz_pipeline/tiny.yaml")" > "$out/fuzz_pipeline/include.yaml"
printf 'include: [p1.yaml]\nname: top\n%sinclude: [p0.yaml]\n' "$sep" > "$out/fuzz_pipeline/cycle.yaml"
printf '%s\nsweep: {train.lr: [0.01, 0.001]}\n' "$(sed 's/    grid: {per_class: \[3\], sets: 1}/&\n    sweep: {noise.weight: [0.5, 1], noise.sd: [0.1, 0.2]}/' \
	"$out/fuzz_pipeline/tiny.yaml")" > "$out/fuzz_pipeline/sweep.yaml"
for p in quick mnist-claim pi-mnist ladder mnist-semi; do
	cp "$src/pipelines/$p.yaml" "$out/fuzz_pipeline/$p.yaml"
done
{ printf 'include: [p1.yaml, p2.yaml]%s' "$sep"; cat "$src/pipelines/mnist.yaml"; printf '%s' "$sep"
  cat "$src/pipelines/mnist-claim.yaml"; } > "$out/fuzz_pipeline/mnist-and-claim.yaml"

# ---- fuzz_idx, fuzz_cifar: tiny datasets in the harnesses' layouts ------------------------------
python3 - "$out" <<'EOF'
import gzip, struct, sys
out = sys.argv[1]
def images(n, r, c, k):
    return struct.pack('>IIII', 2051, n, r, c) + bytes((i * 37 + k) % 256 for i in range(n * r * c))
def labels(n, classes):
    return struct.pack('>II', 2049, n) + bytes(i % classes for i in range(n))
def idx(name, flags, valid, classes, files):
    with open(f'{out}/fuzz_idx/{name}', 'wb') as f:
        f.write(bytes([flags, valid, classes]) + b'IDX|'.join(files))
raw = [images(6, 3, 3, 0), labels(6, 3), images(3, 3, 3, 1), labels(3, 3)]
idx('raw', 0x00, 2, 3, raw)
idx('permute', 0x10, 0, 10, [images(4, 2, 5, 2), labels(4, 10), images(2, 2, 5, 3), labels(2, 10)])
idx('gzip', 0x0f, 1, 3, [gzip.compress(b, mtime=0) for b in raw])
idx('mixed', 0x05, 1, 3,
    [gzip.compress(raw[0], mtime=0), raw[1], gzip.compress(raw[2], mtime=0), raw[3]])
def records(n, k):
    return b''.join(bytes([(i + k) % 10]) + bytes((j * 7 + i + k) % 256 for j in range(3072))
                    for i in range(n))
def cifar(name, valid, crop, flags, files):
    with open(f'{out}/fuzz_cifar/{name}', 'wb') as f:
        f.write(bytes([valid, crop - 1, flags]) + b'CIFAR|'.join(files))
cifar('one-each', 0, 24, 0, [records(1, k) for k in range(6)])
cifar('valid-crop32', 1, 32, 0, [records(2, 0)] + [records(1, k) for k in range(1, 6)])
EOF

# ---- fuzz_runfile: a finished tiny run, as trained and as `snm compact` writes it ---------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/snm-seeds.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# the pipeline of fuzz_runfile.c's pipeline_text (keep the two equal)
cat > "$tmp/fz.yaml" <<'EOF'
name: fz
seed: 1
defaults:
  data: {type: synthetic, classes: 2, per_class: 4, size: 4}
  model: {type: convnet, preset: custom, layers: [{fc: 3}]}
  noise: {type: none}
  train: {epochs: 2, batch: 4, lr: 0.01, eval_batch: 4}
grid: {per_class: [1], sets: 1}
experiments:
  - name: e
EOF
( cd "$tmp" && "$build/snm" run fz.yaml --threads 1 > run.log 2>&1 \
  && "$build/snm" compact --out compact results/fz/e/n1/set1.h5 >> run.log 2>&1 ) \
	|| { cat "$tmp/run.log"; exit 1; }
cp "$tmp/results/fz/e/n1/set1.h5" "$out/fuzz_runfile/finished.h5"
cp "$tmp/compact/fz/e/n1/set1.h5" "$out/fuzz_runfile/compact.h5"
du -sh "$out"/*
