#!/bin/sh
# test_catalogue.sh: a catalogue of bad inputs -- YAML pipelines, configuration values, data files,
# plugins, result files, command-line options, the environment.  In a scratch directory a tiny
# pipeline on the synthetic data plugin is trained once, so that results/ holds a finished run
# file; each case then adds its bad input and runs one snm command there, which must exit with a
# status from 1 to 125 (an error, not a signal), print exactly one line on stderr, that line
# matching the case's pattern (the file with its line and column, or the run file, option or
# variable at fault), and leave every file under results/ as it was: the same entries, modes,
# sizes, times and SHA-256 sums (a run's lock file may come and go, none may stay).
# Cases that cannot be set up here are skipped with the reason: the test plugins of tests/plugins
# (built by make check), and the unreadable files, which root reads anyway.
# Prints the count of cases by category, then "test_catalogue: N passed, N failed[, N skipped]";
# exits non-zero on any failure.
set -u
. "${SNM_TEST_SRCDIR:?}/lib.sh"        # write_idx; the counters and their lines are this test's
top=${SNM_TEST_TOPBUILDDIR:?}
snm=$top/snm
plugs=$top/tests/plugins/.libs
tmp=$(mktemp -d "${TMPDIR:-/tmp}/snm-cat-XXXXXX")
trap 'chmod -R u+rwX "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
passed=0
failed=0
skipped=0
group=""
counts=""
pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }
skip() { skipped=$((skipped + 1)); echo "SKIP: $1"; }

# category NAME: the cases that follow count under NAME in the closing table
category() {
	[ -n "$group" ] && counts="$counts$group $n_group
"
	group=$1
	n_group=0
}

# snapshot: every entry under results/ with its type and mode, every file's size and time, and
# the SHA-256 of every file that can be read
snapshot() {
	(cd "$tmp" && find results -printf '%y %m %p\n' | LC_ALL=C sort \
	 && find results -type f -printf '%s %T@ %p\n' | LC_ALL=C sort \
	 && find results -type f -readable -exec sha256sum {} + | LC_ALL=C sort)
}

# bad NAME PATTERN COMMAND...: COMMAND, run in the scratch directory, fails as a bad input must
bad() {
	name=$1 pat=$2
	shift 2
	n_group=$((n_group + 1))
	snapshot > "$tmp/before"
	(cd "$tmp" && "$@") >"$tmp/out.log" 2>"$tmp/err.log" </dev/null
	st=$?
	snapshot > "$tmp/after"
	why=""
	if [ "$st" -eq 0 ]; then
		why="exit status 0"
	elif [ "$st" -gt 125 ]; then
		why="exit status $st (a signal?)"
	fi
	lines=$(wc -l < "$tmp/err.log")
	[ "$lines" -ne 1 ] && why="${why:+$why; }$lines lines on stderr"
	grep -q -e "$pat" "$tmp/err.log" || why="${why:+$why; }no line matches '$pat'"
	cmp -s "$tmp/before" "$tmp/after" || why="${why:+$why; }results/ changed"
	if [ -z "$why" ]; then
		pass "$name: exit $st, $(cat "$tmp/err.log")"
	else
		fail "$name: $why"
		sed 's/^/  | /' "$tmp/err.log" | head -n 8
		diff "$tmp/before" "$tmp/after" | sed 's/^/  results: /' | head -n 8
	fi
}

# the base pipeline: one run of two short epochs on the synthetic data plugin
cat > "$tmp/p.yaml" <<EOF
name: cat
seed: 3
defaults:
  data: {type: synthetic, classes: 3, per_class: 40, size: 16}
  model: {type: convnet, preset: custom, layers: [{conv: 3, k: 3, stride: 2, pad: 1}, {fc: 6}]}
  noise: {type: none}
  train: {epochs: 2, batch: 8, eval_batch: 16}
grid: {per_class: [10], sets: 1}
experiments:
  - name: base
EOF
run=results/cat/base/n10/set1.h5
if ! (cd "$tmp" && "$snm" run p.yaml --threads 1) >"$tmp/out.log" 2>&1 || [ ! -f "$tmp/$run" ]; then
	fail "the tiny pipeline does not train"
	sed 's/^/  | /' "$tmp/out.log" | tail -n 5
	echo "test_catalogue: $passed passed, $failed failed"
	exit 1
fi
# pipe NAME SED-SCRIPT: NAME.yaml, the base pipeline edited by the sed script
pipe() { sed "$2" "$tmp/p.yaml" > "$tmp/$1.yaml"; }
# put FILE TEXT: FILE with printf's rendering of TEXT
put() { printf -- "$2" > "$tmp/$1"; }

# ---- YAML: the pipeline file itself -----------------------------------------------------------
category "YAML pipelines"
put syntax.yaml 'name: cat\ndefaults: {data: {type: synthetic\nexperiments:\n'
bad "unclosed flow mapping" "^snm: syntax.yaml:3:12: did not find expected ',' or '}'" \
	"$snm" run syntax.yaml
put indent.yaml 'name: cat\ndefaults:\n  data: {type: synthetic}\n model: x\n'
bad "bad indentation" "^snm: indent.yaml:4:2: " "$snm" run indent.yaml
put tab.yaml 'name: cat\n\tseed: 1\n'
bad "tab in the indentation" "^snm: tab.yaml:2:1: .*tab" "$snm" check tab.yaml
put utf8.yaml 'name: cat\377\376\n'
bad "invalid UTF-8" "^snm: utf8.yaml:1:10: invalid leading UTF-8 octet" "$snm" run utf8.yaml
put alias.yaml 'name: &a x\nseed: *b\n'
bad "alias without anchor" "^snm: alias.yaml:2:7: alias '\*b' names no anchor" "$snm" run alias.yaml
put docs.yaml 'name: cat\n---\nname: dog\n'
bad "two YAML documents" "^snm: docs.yaml:2:1: a second YAML document" "$snm" run docs.yaml
put empty.yaml ''
bad "empty file" "^snm: empty.yaml:1:1: a pipeline is a mapping" "$snm" run empty.yaml
put seq.yaml '- name: cat\n- seed: 3\n'
bad "a list, not a mapping" "^snm: seq.yaml:1:1: a pipeline is a mapping .* got a sequence" \
	"$snm" check seq.yaml
bad "pipeline file missing" "^snm: nonexistent.yaml: cannot open: no such file" \
	"$snm" run nonexistent.yaml
mkdir "$tmp/dir.yaml"
bad "pipeline file is a directory" "^snm: dir.yaml: cannot read: Is a directory" "$snm" run dir.yaml
pipe unknown 's/^seed: 3/seed: 3\nbogus: 1/'
bad "unknown key" "^snm: unknown.yaml:3:1: unknown key 'bogus' in the pipeline" "$snm" run unknown.yaml
pipe misspelt 's/^experiments:/experimets:/'
bad "misspelt key" "^snm: misspelt.yaml:9:1: unknown key 'experimets' .*did you mean 'experiments'" \
	"$snm" run misspelt.yaml
pipe dupkey 's/^seed: 3/seed: 3\nseed: 4/'
bad "duplicate key" "^snm: dupkey.yaml:3:1: duplicate key 'seed' (first at 2:1)" "$snm" run dupkey.yaml
pipe noname 's/  - name: base/  - noise: {type: none}/'
bad "experiment without a name" "^snm: noname.yaml:10:5: missing required key 'name' in an experiment" \
	"$snm" run noname.yaml
pipe badname 's/^name: cat/name: "c a t"/'
bad "pipeline name with spaces" "^snm: badname.yaml:1:7: 'name': " "$snm" run badname.yaml
pipe notype 's/data: {type: synthetic, /data: {/'
bad "section without a type" "^snm: notype.yaml:4:9: the data section needs a 'type'" \
	"$snm" run notype.yaml
pipe noplugin 's/type: synthetic/type: nosuch/'
bad "unknown plugin name" "^snm: noplugin.yaml:4:16: no data plugin named 'nosuch'" \
	"$snm" run noplugin.yaml
pipe wrongkind 's/noise: {type: none}/noise: {type: synthetic}/'
bad "plugin of another kind" "^snm: wrongkind.yaml:6:17: no noise plugin named 'synthetic'" \
	"$snm" run wrongkind.yaml
pipe incmissing 's/^seed: 3/seed: 3\ninclude: [missing.yaml]/'
bad "include of a missing file" "^snm: incmissing.yaml:3:11: cannot open included pipeline './missing.yaml'" \
	"$snm" run incmissing.yaml
pipe incself 's/^seed: 3/seed: 3\ninclude: [incself.yaml]/'
bad "include of itself" "^snm: incself.yaml:3:11: './incself.yaml' includes itself" \
	"$snm" run incself.yaml
put cycle1.yaml 'include: [cycle2.yaml]\n'
put cycle2.yaml 'seed: 1\ninclude: [cycle1.yaml]\n'
bad "include cycle of two files" "^snm: ./cycle2.yaml:2:11: './cycle1.yaml' includes itself" \
	"$snm" run cycle1.yaml
put incbroken.yaml 'include: [syntax.yaml]\n'
bad "include of a broken file" "^snm: incbroken.yaml:1:11: included: ./syntax.yaml:3:12: " \
	"$snm" run incbroken.yaml
pipe incnotlist 's/^seed: 3/seed: 3\ninclude: p.yaml/'
bad "include not a list" "^snm: incnotlist.yaml:3:10: 'include': expected a list of files" \
	"$snm" run incnotlist.yaml
pipe duprun 's/  - name: base/  - name: base\n  - name: base/'
bad "duplicate run key" "^snm: duprun.yaml:11:5: run 'cat/base/n10/set1' is defined twice" \
	"$snm" run duprun.yaml
pipe other 's/epochs: 2/epochs: 3/'
put twoconf.yaml 'include: [p.yaml, other.yaml]\n'
bad "one run key, two configurations" \
	"^snm: ./other.yaml:10:5: run 'cat/base/n10/set1' is defined twice with different configurations (here and at ./p.yaml:8:" \
	"$snm" run twoconf.yaml
pipe expnotlist 's/^experiments:/experiments: 3/; /  - name: base/d'
bad "experiments not a list" "^snm: expnotlist.yaml:9:14: 'experiments': expected a list" \
	"$snm" run expnotlist.yaml
pipe noruns 's/  - name: base/  - name: base\n    grid: {per_class: []}/'
bad "experiment without runs" "^snm: noruns.yaml:11:11: experiment 'base' has no runs" \
	"$snm" run noruns.yaml
pipe secnotmap 's/  train: {epochs: 2, batch: 8, eval_batch: 16}/  train: 2/'
bad "section not a mapping" "^snm: secnotmap.yaml:7:10: 'train': expected a mapping" \
	"$snm" run secnotmap.yaml

# ---- configuration values -----------------------------------------------------------------------
category "configuration values"
pipe epochs_word 's/epochs: 2/epochs: two/'
bad "epochs: two" "^snm: epochs_word.yaml:7:19: 'epochs': expected an integer, got 'two'" \
	"$snm" run epochs_word.yaml
pipe epochs_frac 's/epochs: 2/epochs: 2.5/'
bad "epochs: 2.5" "^snm: epochs_frac.yaml:7:19: 'epochs': expected an integer" "$snm" run epochs_frac.yaml
pipe epochs_list 's/epochs: 2/epochs: [2]/'
bad "epochs: [2]" "^snm: epochs_list.yaml:7:19: 'epochs': expected an integer, got a sequence" \
	"$snm" run epochs_list.yaml
pipe epochs_zero 's/epochs: 2/epochs: 0/'
bad "epochs: 0" "^snm: epochs_zero.yaml:7:19: 'epochs': expected an integer in \[1, 1000000\]" \
	"$snm" run epochs_zero.yaml
pipe lr_neg 's/batch: 8/batch: 8, lr: -1/'
bad "lr: -1" "^snm: lr_neg.yaml:7:36: 'lr': expected a number in (0, inf)" "$snm" run lr_neg.yaml
pipe beta1 's/batch: 8/batch: 8, beta1: 1.0/'
bad "beta1: 1.0" "^snm: beta1.yaml:7:39: 'beta1': expected a number in \[0, 1)" "$snm" run beta1.yaml
pipe schedule 's/batch: 8/batch: 8, schedule: cosine/'
bad "schedule: cosine" "^snm: schedule.yaml:7:42: 'schedule': expected one of const|step|linear" \
	"$snm" run schedule.yaml
pipe linear 's/batch: 8/batch: 8, schedule: linear, lr_decay_start: 5/'
bad "linear decay starting after the last epoch" \
	"^snm: linear.yaml:7:10: cat/base/n10/set1: train: learning-rate schedule: linear decay" \
	"$snm" run linear.yaml
pipe unlabelled 's/batch: 8/batch: 8, epoch: unlabelled/'
bad "epoch: unlabelled without unlabelled data" \
	"^snm: unlabelled.yaml:7:39: cat/base/n10/set1: train.epoch is 'unlabelled' but noise 'none'" \
	"$snm" run unlabelled.yaml
pipe full 's/sets: 1}/sets: 1, full: maybe}/'
bad "full: maybe" "^snm: full.yaml:8:40: 'full': expected true or false, got 'maybe'" "$snm" run full.yaml
pipe sets 's/sets: 1}/sets: 1001}/'
bad "sets: 1001" "^snm: sets.yaml:8:31: 'sets': at most 1000 random sets" "$snm" run sets.yaml
pipe pc_zero 's/per_class: \[10\]/per_class: [0]/'
bad "per_class: [0]" "^snm: pc_zero.yaml:8:20: 'per_class': sizes are >= 1" "$snm" run pc_zero.yaml
pipe pc_scalar 's/per_class: \[10\]/per_class: 10/'
bad "per_class not a list" "^snm: pc_scalar.yaml:8:19: 'per_class': expected a list of sizes" \
	"$snm" run pc_scalar.yaml
pipe pc_big 's/per_class: \[10\]/per_class: [50]/'
bad "per_class above a class's size" \
	"^snm: pc_big.yaml:8:20: cat/base/n50/set1: class 0 has [0-9]* training examples, fewer than per_class 50" \
	"$snm" run pc_big.yaml
pipe seed_big 's/^seed: 3/seed: 99999999999999999999999/'
bad "seed beyond a long" "^snm: seed_big.yaml:2:7: 'seed': expected an integer that fits" \
	"$snm" run seed_big.yaml
pipe seed_neg 's/^seed: 3/seed: -1/'
bad "seed: -1" "^snm: seed_neg.yaml:2:7: 'seed': expected an integer in \[0, inf)" "$snm" run seed_neg.yaml
pipe size 's/size: 16/size: 1/'
bad "plugin option out of range" "^snm: size.yaml:4:60: 'size': expected an integer in \[2, 256\]" \
	"$snm" run size.yaml
pipe colour 's/size: 16/size: 16, colour: red/'
bad "unknown plugin option" "^snm: colour.yaml:4:64: unknown key 'colour' in data 'synthetic'" \
	"$snm" run colour.yaml
pipe nan 's/noise: {type: none}/noise: {type: recon, weight: .nan}/'
bad "weight: .nan" "^snm: nan.yaml:6:32: 'weight': expected a finite number" "$snm" run nan.yaml
pipe targets 's/noise: {type: none}/noise: {type: recon, targets: xq}/'
bad "targets: xq" "^snm: targets.yaml:6:33: 'targets': expected one of x|all|xz" "$snm" run targets.yaml
pipe preset 's/preset: custom/preset: imagenet/'
bad "preset: imagenet" "^snm: preset.yaml:5:34: 'preset': expected one of " "$snm" run preset.yaml
pipe layerkey 's/{fc: 6}/{fc: 6, act: swish}/'
bad "unknown key in a layer" \
	"^snm: cat/base/n10/set1: model 'convnet': layerkey.yaml:5:95: layers\[1\]: unknown key 'act'" \
	"$snm" run layerkey.yaml
pipe kernel 's/k: 3,/k: 40,/'
bad "a kernel larger than its input" \
	"^snm: kernel.yaml:5:10: cat/base/n10/set1: model 'convnet': layer 1: a 40x40 kernel does not fit" \
	"$snm" run kernel.yaml
pipe lastconv 's/layers: \[.*\]}/layers: [{fc: 6}, {conv: 3, k: 3}]}/'
bad "a convolution last" "^snm: cat/base/n10/set1: model 'convnet': lastconv.yaml:5:60: layers\[1\]: " \
	"$snm" run lastconv.yaml
pipe ladder 's/noise: {type: none}/noise: {type: ladder}/'
bad "a regularizer the model does not fit" \
	"^snm: ladder.yaml:6:10: cat/base/n10/set1: noise 'ladder': the model's first layer must be fully connected" \
	"$snm" run ladder.yaml
pipe sweep_map '/^grid:/i sweep: 3'
bad "sweep: not a mapping" "^snm: sweep_map.yaml:8:8: 'sweep': expected a mapping of SECTION.KEY: \[values\]" \
	"$snm" run sweep_map.yaml
pipe sweep_sec '/^grid:/i sweep: {optim.lr: [1]}'
bad "sweep of an unknown section" "^snm: sweep_sec.yaml:8:19: 'sweep': unknown section in 'optim.lr'" \
	"$snm" run sweep_sec.yaml
pipe sweep_list '/^grid:/i sweep: {train.lr: 0.1}'
bad "sweep of one value, not a list" "^snm: sweep_list.yaml:8:19: 'sweep': 'train.lr': expected a list of values" \
	"$snm" run sweep_list.yaml
pipe sweep_twice '/^grid:/i sweep: {train.lr: [0.1, 0.1]}'
bad "sweep of a value twice" "^snm: sweep_twice.yaml:8:25: 'sweep': 'train.lr': the value 0.1 is listed twice" \
	"$snm" run sweep_twice.yaml
pipe sweep_none '/^grid:/i sweep: {noise.sd: [0.1]}'
bad "sweep of a key no experiment takes" \
	"^snm: sweep_none.yaml:8:19: 'sweep': 'noise.sd' applies to no experiment here" "$snm" run sweep_none.yaml
pipe sweep_exp 's/^  - name: base$/  - name: base\n    sweep: {noise.sd: [0.1]}/'
bad "sweep in an experiment of a key its plugin does not take" \
	"^snm: sweep_exp.yaml:11:23: 'sweep': noise 'none' has no option 'sd'" "$snm" run sweep_exp.yaml
pipe sweep_value '/^grid:/i sweep: {train.lr: [0.1, -1]}'
bad "sweep of a value out of range" "^snm: sweep_value.yaml:8:25: 'lr': expected a number in (0, inf), got '-1'" \
	"$snm" run sweep_value.yaml

# ---- data files ---------------------------------------------------------------------------------
category "data files"
# small IDX files (MNIST's format: 90 training and 30 test images of 4x4, 3 classes) and CIFAR-10
# binary batches of 20 records each, then one defect per copy
mkdir -p "$tmp/data/idx" "$tmp/data/cifar"
write_idx "$tmp/data/idx" && perl -e 'for my $b (qw(data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch)) {
             open(my $f, ">", "$ARGV[0]/$b.bin") or die "$ARGV[0]/$b.bin: $!"; binmode $f;
             print $f join("", map { chr($_ % 10) . ("\0" x 3072) } 0 .. 19); close $f;
         }' "$tmp/data/cifar" || fail "cannot write the data files"
cat > "$tmp/idx.yaml" <<EOF
name: cat
defaults:
  data: {type: idx, dir: data/idx, valid: 15, classes: 3}
  model: {type: convnet, preset: custom, layers: [{fc: 6}]}
  noise: {type: none}
  train: {epochs: 1, batch: 8, eval_batch: 16}
grid: {per_class: [5], sets: 1}
experiments:
  - name: idx
EOF
sed 's/type: idx, dir: data\/idx, valid: 15, classes: 3/type: cifar10, dir: data\/cifar, valid: 20/;
     s/per_class: \[5\]/per_class: [2]/; s/name: idx/name: cifar/' "$tmp/idx.yaml" > "$tmp/cifar.yaml"
# copy KIND NAME: data/NAME, a copy of data/KIND, and NAME.yaml reading it
copy() {
	cp -r "$tmp/data/$1" "$tmp/data/$2"
	sed "s#dir: data/$1#dir: data/$2#" "$tmp/$1.yaml" > "$tmp/$2.yaml"
}
# poke FILE OFFSET PERL-EXPR: the bytes of the expression written at OFFSET of data/FILE
poke() {
	perl -e 'open(my $f, "+<", $ARGV[0]) or die "$ARGV[0]: $!"; binmode $f; seek($f, $ARGV[1], 0);
	         print $f eval $ARGV[2]' "$tmp/data/$1" "$2" "$3"
}
if (cd "$tmp" && "$snm" check idx.yaml && "$snm" check cifar.yaml) >"$tmp/out.log" 2>&1; then
	pass "the good data files check"
else
	fail "the good data files do not check:"
	sed 's/^/  | /' "$tmp/out.log" | tail -n 5
fi
copy idx trunc
head -c 100 "$tmp/data/idx/train-images-idx3-ubyte" > "$tmp/data/trunc/train-images-idx3-ubyte"
bad "IDX images truncated" \
	"^snm: trunc.yaml:3:9: data 'idx': idx: data/trunc/train-images-idx3-ubyte: truncated data" \
	"$snm" run trunc.yaml
copy idx header
head -c 6 "$tmp/data/idx/train-images-idx3-ubyte" > "$tmp/data/header/train-images-idx3-ubyte"
bad "IDX header truncated" "^snm: header.yaml:3:9: .*data/header/train-images-idx3-ubyte: truncated IDX header" \
	"$snm" run header.yaml
copy idx magic
poke magic/train-images-idx3-ubyte 0 'pack("N", 2052)'
bad "IDX wrong magic" "^snm: magic.yaml:3:9: .*data/magic/train-images-idx3-ubyte: not an IDX images file" \
	"$snm" run magic.yaml
copy idx swapped
cp "$tmp/data/idx/train-labels-idx1-ubyte" "$tmp/data/swapped/train-images-idx3-ubyte"
bad "IDX labels in place of images" \
	"^snm: swapped.yaml:3:9: .*data/swapped/train-images-idx3-ubyte: holds labels (magic 2049), expected images" \
	"$snm" run swapped.yaml
copy idx more
poke more/train-labels-idx1-ubyte 4 'pack("N", 91)'
bad "IDX count above the file's" \
	"^snm: more.yaml:3:9: .*data/more/train-labels-idx1-ubyte: truncated data: the header promises 91 labels" \
	"$snm" run more.yaml
copy idx fewer
poke fewer/train-labels-idx1-ubyte 4 'pack("N", 89)'
bad "IDX count below the file's" \
	"^snm: fewer.yaml:3:9: .*data/fewer/train-labels-idx1-ubyte: unexpected bytes after the 89 labels" \
	"$snm" run fewer.yaml
copy idx counts
head -c 68 "$tmp/data/idx/train-labels-idx1-ubyte" > "$tmp/data/counts/train-labels-idx1-ubyte"
poke counts/train-labels-idx1-ubyte 4 'pack("N", 60)'
bad "IDX labels and images of different counts" \
	"^snm: counts.yaml:3:9: .*data/counts/train-labels-idx1-ubyte: holds 60 labels but .* holds 90 images" \
	"$snm" run counts.yaml
copy idx label
poke label/train-labels-idx1-ubyte 10 'chr(7)'
bad "IDX label out of range" \
	"^snm: label.yaml:3:9: .*data/label/train-labels-idx1-ubyte: label 7 of example 2 is outside \[0, 3)" \
	"$snm" run label.yaml
copy idx shape
poke shape/t10k-images-idx3-ubyte 8 'pack("N2", 2, 8)'
bad "IDX test images of another shape" \
	"^snm: shape.yaml:3:9: .*data/shape/t10k-images-idx3-ubyte: images are 2x8 but .* has 4x4" \
	"$snm" run shape.yaml
copy idx gzip
gzip -c "$tmp/data/idx/train-images-idx3-ubyte" | head -c 60 > "$tmp/data/gzip/train-images-idx3-ubyte.gz"
rm "$tmp/data/gzip/train-images-idx3-ubyte"
bad "IDX gzip stream cut short" \
	"^snm: gzip.yaml:3:9: .*data/gzip/train-images-idx3-ubyte.gz: corrupt gzip stream" \
	"$snm" run gzip.yaml
copy idx missing
rm "$tmp/data/missing/t10k-labels-idx1-ubyte"
bad "IDX file missing" \
	"^snm: missing.yaml:3:9: .*data/missing/t10k-labels-idx1-ubyte: no such file" "$snm" run missing.yaml
sed 's#dir: data/idx#dir: data/nonexistent#' "$tmp/idx.yaml" > "$tmp/nodir.yaml"
bad "data directory missing" \
	"^snm: nodir.yaml:3:9: .*data/nonexistent/train-images-idx3-ubyte: no such file" "$snm" run nodir.yaml
sed 's#valid: 15#valid: 95#' "$tmp/idx.yaml" > "$tmp/valid_big.yaml"
bad "valid above the training split" \
	"^snm: valid_big.yaml:3:9: data 'idx': idx: option 'valid' (95) must be less than the 90" \
	"$snm" run valid_big.yaml
sed 's#valid: 15#valid: 0#' "$tmp/idx.yaml" > "$tmp/valid_zero.yaml"
bad "no validation split" \
	"^snm: valid_zero.yaml:3:43: cat/idx/n5/set1: data 'idx' has 0 validation and 30 test examples" \
	"$snm" run valid_zero.yaml
if [ "$(id -u)" -eq 0 ]; then
	skip "IDX file unreadable: root reads it anyway"
else
	copy idx unreadable
	chmod 000 "$tmp/data/unreadable/train-images-idx3-ubyte"
	bad "IDX file unreadable" \
		"^snm: unreadable.yaml:3:9: .*data/unreadable/train-images-idx3-ubyte: .*Permission denied" \
		"$snm" run unreadable.yaml
fi
copy cifar ctrunc
truncate -s 30000 "$tmp/data/ctrunc/data_batch_3.bin"
bad "CIFAR-10 batch truncated" \
	"^snm: ctrunc.yaml:3:9: .*data/ctrunc/data_batch_3.bin: 30000 bytes is not a whole number of 3073-byte records" \
	"$snm" run ctrunc.yaml
copy cifar cempty
: > "$tmp/data/cempty/data_batch_1.bin"
bad "CIFAR-10 batch empty" "^snm: cempty.yaml:3:9: .*data/cempty/data_batch_1.bin: empty file" \
	"$snm" run cempty.yaml
copy cifar clabel
poke clabel/test_batch.bin 3073 'chr(12)'
bad "CIFAR-10 label out of range" \
	"^snm: clabel.yaml:3:9: .*data/clabel/test_batch.bin: label 12 of record 1 is outside \[0, 10)" \
	"$snm" run clabel.yaml
copy cifar cmissing
rm "$tmp/data/cmissing/data_batch_5.bin"
bad "CIFAR-10 batch missing" "^snm: cmissing.yaml:3:9: .*data/cmissing/data_batch_5.bin: no such file" \
	"$snm" run cmissing.yaml

# ---- plugins ------------------------------------------------------------------------------------
category "plugins"
if [ ! -f "$plugs/bad_major.so" ]; then
	for p in badmajor badsize badvtable nullmethod testnoise; do
		skip "plugin $p: no $plugs/*.so (make check builds the test plugins)"
	done
else
	pipe badmajor 's/noise: {type: none}/noise: {type: badmajor}/'
	bad "plugin of a future ABI" \
		"^snm: badmajor.yaml:6:17: .*bad_major.so: built for plugin ABI 2.0, this snm has ABI " \
		env SNM_PLUGIN_PATH="$plugs" "$snm" run badmajor.yaml
	pipe badsize 's/noise: {type: none}/noise: {type: badsize}/'
	bad "plugin entry too short" "^snm: badsize.yaml:6:17: .*bad_size.so: plugin entry is [0-9]* bytes" \
		"$snm" run --plugin-path "$plugs" badsize.yaml
	pipe badvtable 's/noise: {type: none}/noise: {type: badvtable}/'
	bad "plugin vtable too short" \
		"^snm: badvtable.yaml:6:17: .*bad_vtable.so: noise vtable of plugin 'badvtable' is [0-9]* bytes" \
		env SNM_PLUGIN_PATH="$plugs" "$snm" check badvtable.yaml
	pipe nullmethod 's/noise: {type: none}/noise: {type: nullmethod}/'
	bad "plugin method missing" \
		"^snm: nullmethod.yaml:6:17: .*null_method.so: noise plugin 'nullmethod' has no objective method" \
		env SNM_PLUGIN_PATH="$plugs" "$snm" run nullmethod.yaml
	pipe testnoise 's/noise: {type: none}/noise: {type: testnoise, bogus: 1}/'
	bad "option unknown to a plugin's table" \
		"^snm: testnoise.yaml:6:28: unknown key 'bogus' in noise 'testnoise'" \
		env SNM_PLUGIN_PATH="$plugs" "$snm" run testnoise.yaml
fi
# Plugin mistakes that only training meets: `snm check` takes one training step of each model and
# regularizer pair (src/run/trystep.h) and names the plugin; tests/plugins/bad_model.c and
# bad_noise.c make the mistake their option names, nan_noise.c a NaN loss.
if [ ! -f "$plugs/bad_model.so" ] || [ ! -f "$plugs/bad_noise.so" ]; then
	skip "plugin mistakes at the first step: no $plugs/bad_model.so (make check builds the test plugins)"
else
	# mistake KIND MISTAKE PATTERN [COMMAND]: the base pipeline with the model or the regularizer
	# making MISTAKE, refused by `snm check` (or COMMAND: run) with one line matching PATTERN
	mistake() {
		if [ "$1" = model ]; then
			pipe "m_$2" "s/model: {type: convnet.*$/model: {type: badmodel, mistake: $2}/"
		else
			pipe "m_$2" "s/noise: {type: none}/noise: {type: badnoise, mistake: $2}/"
		fi
		bad "$1 plugin mistake: $2 (snm ${4:-check})" "$3" \
			env SNM_PLUGIN_PATH="$plugs" "$snm" "${4:-check}" "m_$2.yaml"
	}
	at="one training step on 4 examples"
	mistake model null_state \
		"^snm: m_null_state.yaml:5:10: cat/base/n10/set1: model 'badmodel': create succeeded but left no state (NULL)$"
	mistake model null_state \
		"^snm: m_null_state.yaml:5:10: cat/base/n10/set1: model 'badmodel': create succeeded but left no state (NULL)$" run
	mistake model create_silent \
		"^snm: m_create_silent.yaml:5:10: cat/base/n10/set1: model 'badmodel': create failed (returned 2) without saying why$"
	mistake model logits \
		"^snm: m_logits.yaml:5:10: cat/base/n10/set1: model 'badmodel': $at: classify gives logits of shape (4,4), not (4, 3) for 3 classes$"
	mistake model z_shape \
		"^snm: m_z_shape.yaml:5:10: cat/base/n10/set1: model 'badmodel': $at: encode gives z of shape (4,2,2) for 4 examples, not (4, Z)$"
	mistake model nan_z "^snm: m_nan_z.yaml:5:10: cat/base/n10/set1: model 'badmodel': $at: encode gives a z that is not finite"
	mistake noise create_fails \
		"^snm: m_create_fails.yaml:6:10: cat/base/n10/set1: noise 'badnoise': badnoise: this regularizer refuses to be created$"
	mistake noise create_silent \
		"^snm: m_create_silent.yaml:6:10: cat/base/n10/set1: noise 'badnoise': create failed (returned 5) without saying why$"
	mistake noise no_loss "^snm: m_no_loss.yaml:6:10: cat/base/n10/set1: noise 'badnoise': $at: the objective returned no loss$"
	mistake noise vector_loss \
		"^snm: m_vector_loss.yaml:6:10: cat/base/n10/set1: noise 'badnoise': $at: the objective's loss has shape (4,3), not one element"
	mistake noise shapes "^snm: m_shapes.yaml:6:10: cat/base/n10/set1: noise 'badnoise': $at: add: a (4,6) and b (4,1,16,16) differ"
	mistake noise unnamed_term \
		"^snm: m_unnamed_term.yaml:6:10: cat/base/n10/set1: noise 'badnoise': $at: the objective's loss term 1 has no name$"
	mistake noise fail_silently \
		"^snm: m_fail_silently.yaml:6:10: cat/base/n10/set1: noise 'badnoise': $at: the objective failed (returned 2) without saying why$"
	mistake noise nan_grad \
		"^snm: m_nan_grad.yaml:6:10: cat/base/n10/set1: noise 'badnoise': $at: the gradient of parameter 'enc\.[a-z0-9.]*' is not finite$"
	pipe m_nan 's/noise: {type: none}/noise: {type: nan, after: 0}/'
	bad "noise plugin mistake: a NaN loss (snm check)" \
		"^snm: m_nan.yaml:6:10: cat/base/n10/set1: noise 'nan': $at: the loss is not finite (term 'ce')$" \
		env SNM_PLUGIN_PATH="$plugs" "$snm" check m_nan.yaml
fi
mkdir "$tmp/junk"
echo 'not a shared object' > "$tmp/junk/junk.so"
pipe junk 's/noise: {type: none}/noise: {type: junk}/'
bad "a file that is no plugin on the path" "^snm: junk.yaml:6:17: no noise plugin named 'junk' (searched: junk:" \
	"$snm" run --plugin-path junk junk.yaml

# ---- result files -------------------------------------------------------------------------------
category "result files"
# damaged NAME: results/NAME/ to hold a copy of the run file, and r_NAME.yaml writing there
damaged() {
	mkdir -p "$tmp/results/$1/cat/base/n10"
	pipe "r_$1" "s#^seed: 3#seed: 3\nresults: results/$1#"
}
damaged truncated
head -c 4096 "$tmp/$run" > "$tmp/results/truncated/cat/base/n10/set1.h5"
bad "run file truncated" "^snm: results/truncated/cat/base/n10/set1.h5: " "$snm" run r_truncated.yaml
bad "run file truncated, -j 2" "^snm: results/truncated/cat/base/n10/set1.h5: " \
	"$snm" run r_truncated.yaml -j 2
damaged text
echo 'not a run file' > "$tmp/results/text/cat/base/n10/set1.h5"
bad "run file not HDF5" "^snm: results/text/cat/base/n10/set1.h5: " "$snm" run r_text.yaml
damaged empty
: > "$tmp/results/empty/cat/base/n10/set1.h5"
bad "run file empty" "^snm: results/empty/cat/base/n10/set1.h5: " "$snm" run r_empty.yaml
damaged format
perl -0777 -pe 's/snm-run/xyz-run/g' "$tmp/$run" > "$tmp/results/format/cat/base/n10/set1.h5"
bad "run file of another format" "^snm: results/format/cat/base/n10/set1.h5: " "$snm" run r_format.yaml
damaged dir
mkdir "$tmp/results/dir/cat/base/n10/set1.h5"
bad "a directory in the way of the run file" \
	"^snm: results/dir/cat/base/n10/set1.h5: a directory is in the way" "$snm" run r_dir.yaml
damaged otherrun
cp "$tmp/$run" "$tmp/results/otherrun/cat/base/n10/set2.h5"
sed -i 's/sets: 1}/sets: 2}/' "$tmp/r_otherrun.yaml"
bad "another run's file in place" \
	"^snm: results/otherrun/cat/base/n10/set2.h5: made by another configuration" \
	"$snm" run r_otherrun.yaml --only 'cat/base/n10/set2'
bad "the configuration changed (no --force)" \
	"^snm: $run: made by another configuration .*use --force" "$snm" run other.yaml
if [ "$(id -u)" -eq 0 ]; then
	skip "run file unreadable: root reads it anyway"
else
	damaged unreadable
	cp "$tmp/$run" "$tmp/results/unreadable/cat/base/n10/set1.h5"
	chmod 000 "$tmp/results/unreadable/cat/base/n10/set1.h5"
	bad "run file unreadable" "^snm: results/unreadable/cat/base/n10/set1.h5: " "$snm" run r_unreadable.yaml
fi
damaged changed
perl -0777 -pe 's/epochs: 2, batch: 8/epochs: 2, batch: 9/g' "$tmp/$run" \
	> "$tmp/results/changed/cat/base/n10/set1.h5"
# (the seal of format 2 finds the edit before verify compares the config with its hash)
bad "verify: a config changed in the file" \
	"^snm verify: results/changed/cat/base/n10/set1.h5: damaged: its contents do not match its seal" \
	"$snm" verify results/changed/cat/base/n10/set1.h5
bad "verify: run file truncated" "^snm verify: results/truncated/cat/base/n10/set1.h5: " \
	"$snm" verify results/truncated/cat/base/n10/set1.h5
bad "verify: run file not HDF5" "^snm verify: results/text/cat/base/n10/set1.h5: " \
	"$snm" verify results/text/cat/base/n10/set1.h5
bad "verify: run file of another format" "^snm verify: results/format/cat/base/n10/set1.h5: " \
	"$snm" verify results/format/cat/base/n10/set1.h5
bad "verify: a directory" "^snm verify: results/dir/cat/base/n10/set1.h5: " \
	"$snm" verify results/dir/cat/base/n10/set1.h5
bad "compact: run file truncated" "^snm compact: results/truncated/cat/base/n10/set1.h5: " \
	"$snm" compact --out results results/truncated/cat/base/n10/set1.h5
bad "compact: run file of another format" "^snm compact: results/format/cat/base/n10/set1.h5: " \
	"$snm" compact --out results results/format/cat/base/n10/set1.h5
damaged fifo
mkfifo "$tmp/results/fifo/cat/base/n10/set1.h5"
bad "compact: a FIFO in the run file's place (read without waiting for a writer)" \
	"^snm compact: results/fifo/cat/base/n10/set1.h5: not a regular file" \
	timeout 60 "$snm" compact --out cmp results/fifo/cat/base/n10/set1.h5
bad "verify: a FIFO in the run file's place" "^snm verify: results/fifo/cat/base/n10/set1.h5: not a regular file" \
	timeout 60 "$snm" verify results/fifo/cat/base/n10/set1.h5
rm -f "$tmp/results/fifo/cat/base/n10/set1.h5"
bad "compact: --out through a run file" \
	"^snm compact: $run: cannot create directory: a file of that name is in the way" \
	"$snm" compact --out "$run" "$run"
bad "paper: --results is a run file" "^snm paper: results directory '$run': not a directory" \
	"$snm" paper --results "$run" --out pout --no-figures
put spec_syntax.yaml 'tables:\n  - id: x\n    rows: [\n'
bad "paper: table spec with a YAML error" "^snm paper: spec_syntax.yaml:4:1: " \
	"$snm" paper --results results --out pout --no-figures --spec spec_syntax.yaml
put spec_key.yaml 'tables:\n  - id: x\n    bogus: 1\n'
bad "paper: table spec with an unknown key" "^snm paper: spec_key.yaml:3:5: unknown key 'bogus' in table" \
	"$snm" paper --results results --out pout --no-figures --spec spec_key.yaml
put spec_empty.yaml 'tables: []\n'
bad "paper: --only names no table" "^snm paper: spec_empty.yaml: no table or figure has the id 'nosuch'" \
	"$snm" paper --results results --out pout --no-figures --spec spec_empty.yaml --only nosuch
bad "paper: --out through a run file" "^snm paper: $run: cannot create directory: a file of that name" \
	"$snm" paper --results results --out "$run/tables" --no-figures --spec spec_empty.yaml

# ---- options ------------------------------------------------------------------------------------
category "options"
bad "run --threads 0" "^snm: --threads: expected a whole number from 1 to 1024, got '0'$" \
	"$snm" run p.yaml --threads 0
bad "run --threads 2000" "^snm: --threads: expected a whole number from 1 to 1024, got '2000'$" \
	"$snm" run p.yaml --threads 2000
bad "run --threads without a value" "^snm: --threads needs a value" "$snm" run p.yaml --threads
bad "run -j abc" "^snm: -j: expected a whole number from 1 to 256, got 'abc'$" "$snm" run p.yaml -j abc
bad "run -j 0" "^snm: -j: expected a whole number from 1 to 256, got '0'$" "$snm" run p.yaml -j 0
bad "run --only without a value" "^snm: --only needs a value" "$snm" run p.yaml --only
bad "run --only matching nothing" "^snm: --only 'cat/nomatch/\*' matches none of the 1 runs of p.yaml" \
	"$snm" run p.yaml --only 'cat/nomatch/*'
bad "run --set without a value" "^snm: --set needs a value" "$snm" run p.yaml --set
bad "run --set without =" "^snm: --set train.lr: expected SECTION.KEY=VALUE, e.g. train.lr=0.001$" \
	"$snm" run p.yaml --set train.lr
bad "run --set of an unknown section" "^snm: --set optim.lr=1: unknown section 'optim' (data, model, noise or train)$" \
	"$snm" run p.yaml --set optim.lr=1
bad "run --set of a plugin that does not exist: the argument named, the search path without empty parts" \
	"^snm: --set model.type=nope: no model plugin named 'nope' (searched: [^:]" "$snm" run p.yaml --set model.type=nope
bad "run --set of a key no plugin takes" \
	"^snm: --set noise.sd=0.1: no noise plugin of this pipeline (none) has an option 'sd'" \
	"$snm" run p.yaml --set noise.sd=0.1
bad "run --set of a value out of range" "^snm: --set train.lr=-1: 'lr': expected a number in (0, inf), got '-1'$" \
	"$snm" run p.yaml --set train.lr=-1
bad "run --set of a value that is not YAML" "^snm: --set train.lr=\[1: the value is not YAML: " \
	"$snm" run p.yaml --set 'train.lr=[1'
bad "check --set of a key twice" "^snm: --set train.lr=2: train.lr is set twice (also by --set train.lr=1)$" \
	"$snm" check p.yaml --set train.lr=1 --set train.lr=2
pipe swept '/^grid:/i sweep: {train.lr: [0.1, 0.2]}'
bad "run --set of a swept key" "^snm: --set train.lr=1: the pipeline sweeps train.lr (swept.yaml:8:19)" \
	"$snm" run swept.yaml --set train.lr=1
bad "run --log-every -1" "^snm: --log-every: expected a whole number from 0 to 86400, got '-1'$" \
	"$snm" run p.yaml --log-every -1
bad "run --bogus" "^snm: unknown option '--bogus'" "$snm" run p.yaml --bogus
bad "run -x" "^snm: unknown option '-x'" "$snm" run p.yaml -x
bad "run with two pipelines" "^snm: unexpected argument 'other.yaml'" "$snm" run p.yaml other.yaml
bad "run without a pipeline" "^snm: 'run' needs a pipeline file" "$snm" run
bad "check without a pipeline" "^snm: 'check' needs a pipeline file" "$snm" check
bad "check of a missing file" "^snm: nonexistent.yaml: cannot open: no such file" \
	"$snm" check nonexistent.yaml
bad "unknown command" "^snm: unknown command 'train'" "$snm" train p.yaml
bad "plugins with an argument" "^snm: unexpected argument 'x' ('plugins' takes none)" "$snm" plugins x
bad "plugins --plugin-path without a value" "^snm: --plugin-path needs a value" \
	"$snm" plugins --plugin-path
bad "paper of a missing results directory" "^snm paper: results directory 'nonexistent': " \
	"$snm" paper --results nonexistent --out pout --no-figures
bad "status of a missing results directory" "^snm: results directory 'nonexistent': " \
	"$snm" status p.yaml --results nonexistent
bad "report of a missing results directory" "^snm: results directory 'nonexistent': " \
	"$snm" report p.yaml --results nonexistent --out rout --no-figures
bad "report --results is a run file" "^snm: results directory '$run': not a directory" \
	"$snm" report p.yaml --results "$run" --out rout --no-figures
bad "paper of a missing table spec" "^snm paper: nonexistent.yaml: cannot open" \
	"$snm" paper --results results --out pout --no-figures --spec nonexistent.yaml
bad "paper --bogus" "^snm paper: unknown option '--bogus'" "$snm" paper --bogus
bad "paper --threads x" "^snm paper: --threads: expected a whole number" "$snm" paper --threads x
bad "paper with an argument" "^snm paper: unexpected argument 'results'" "$snm" paper results
bad "compact of a missing file" "^snm compact: nonexistent.h5: " \
	"$snm" compact --out results nonexistent.h5
bad "compact without a file" "^snm compact: no run file given" "$snm" compact --out results
bad "compact --out without a value" "^snm compact: --out needs a value" "$snm" compact "$run" --out
bad "compact --out ''" "^snm compact: --out needs a directory" "$snm" compact --out '' "$run"
bad "compact --bogus" "^snm compact: unknown option '--bogus'" "$snm" compact --bogus "$run"
bad "verify of a missing file" "^snm verify: nonexistent.h5: " "$snm" verify nonexistent.h5
bad "verify without a file" "^snm verify: no run file given" "$snm" verify
bad "verify --threads x" "^snm verify: --threads: expected a whole number from 1 to 1024, got 'x'$" \
	"$snm" verify --threads x "$run"
bad "verify --bogus" "^snm verify: unknown option '--bogus'" "$snm" verify --bogus "$run"
bad "verify --keep ''" "^snm verify: --keep needs a directory" "$snm" verify --keep '' "$run"
bad "fetch without a dataset" "^snm fetch: which dataset? mnist, fashion-mnist or cifar10" "$snm" fetch
bad "fetch of an unknown dataset" "^snm fetch: unknown dataset 'mnist2'" "$snm" fetch mnist2
bad "fetch --from a missing directory" "^snm: fetch mnist: nonexistent: no such directory" \
	"$snm" fetch mnist --from nonexistent --data fetched
bad "fetch --from without a value" "^snm fetch: --from needs a value" "$snm" fetch mnist --from
bad "fetch --bogus" "^snm fetch: unknown option '--bogus'" "$snm" fetch mnist --bogus
bad "fetch of two datasets" "^snm fetch: unexpected argument 'cifar10'" "$snm" fetch mnist cifar10

# ---- the environment ----------------------------------------------------------------------------
category "environment"
pipe envplugin 's/noise: {type: none}/noise: {type: testnoise}/'
bad "SNM_PLUGIN_PATH without the plugin named" \
	"^snm: envplugin.yaml:6:17: no noise plugin named 'testnoise' (searched: nonexistent:" \
	env SNM_PLUGIN_PATH=nonexistent "$snm" run envplugin.yaml
if [ -f "$plugs/bad_major.so" ]; then
	pipe envbad 's/noise: {type: none}/noise: {type: badmajor}/'
	bad "SNM_PLUGIN_PATH with a broken plugin of the name" "^snm: envbad.yaml:6:17: .*bad_major.so: " \
		env SNM_PLUGIN_PATH="nonexistent:$plugs" "$snm" check envbad.yaml
else
	skip "SNM_PLUGIN_PATH with a broken plugin: no $plugs/bad_major.so"
fi
pipe infile 's#^seed: 3#seed: 3\nresults: results/cat/base/n10/set1.h5/more#'
bad "results directory under a run file" \
	"^snm: $run: cannot create directory: a file of that name is in the way" \
	"$snm" run infile.yaml
if [ "$(id -u)" -eq 0 ]; then
	# root writes through any mode: a directory that procfs refuses to make
	pipe unwritable 's#^seed: 3#seed: 3\nresults: /proc/snm-catalogue#'
	bad "results directory that cannot be made" \
		"^snm: cat/base/n10/set1: /proc/snm-catalogue: cannot create directory: " "$snm" run unwritable.yaml
else
	mkdir "$tmp/results/readonly"
	chmod 555 "$tmp/results/readonly"
	pipe unwritable 's#^seed: 3#seed: 3\nresults: results/readonly#'
	bad "results directory not writable" \
		"^snm: cat/base/n10/set1: results/readonly/cat: cannot create directory: Permission denied" \
		"$snm" run unwritable.yaml
fi
bad "TMPDIR missing (verify's scratch directory)" \
	"^snm verify: nonexistent: cannot make a scratch directory there: No such file or directory" \
	env TMPDIR=nonexistent "$snm" verify "$run"

category ""
echo "cases by category:"
printf '%s' "$counts" | sed 's/^/  /'
if [ "$skipped" -gt 0 ]; then
	echo "test_catalogue: $passed passed, $failed failed, $skipped skipped"
else
	echo "test_catalogue: $passed passed, $failed failed"
fi
[ "$passed" -eq 0 ] && [ "$failed" -eq 0 ] && exit 77
[ "$failed" -eq 0 ]
