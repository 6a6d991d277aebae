#!/bin/sh
# test_damaged.sh: one damaged run file stops nothing but itself.  A tiny pipeline of three runs
# on the synthetic data plugin is trained; then set 2's file gets one changed byte, and
#   - `snm run` reports it in one line naming the file, leaves it as it was, skips the finished
#     runs and trains the missing one (exit 1: one run could not be taken);
#   - `snm paper` still writes the table, from the two readable runs ("unreadable 1/3" in the
#     cell), and names the damaged file in its note;
#   - `snm compact` writes the good files and reports the bad one in one line;
# and format-1 files (tests/fixtures/runfile-v1.h5, no seal) damaged where libhdf5 1.10.8 crashed
# (a byte of its global heap; a byte of the root's attribute table that makes H5Aiterate2 crash
# inside libhdf5, which the child process that reads each file first meets instead of snm) are
# one line each too.  Closes with "test_damaged: N passed, N failed".
set -u
top=${SNM_TEST_TOPBUILDDIR:?}
src=${SNM_TEST_SRCDIR:?}
snm=$top/snm
tmp=$(mktemp -d "${TMPDIR:-/tmp}/snm-dmg-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
check() {   # check NAME CONDITION-EXIT-STATUS [detail]
	if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "PASS: $1"
	else failed=$((failed + 1)); echo "FAIL: $1${3:+: $3}"; fi
}
# xor FILE OFFSET MASK: byte OFFSET of FILE XORed with MASK, in place
xor() { perl -e 'open(F, "+<", $ARGV[0]) or die; binmode F; seek(F, $ARGV[1], 0); read(F, $b, 1);
                 seek(F, $ARGV[1], 0); print F chr(ord($b) ^ $ARGV[2]); close F' "$1" "$2" "$3"; }
lines() { wc -l < "$1" | tr -d ' '; }

cd "$tmp" || exit 1
cat > p.yaml <<YAML
name: dmg
seed: 5
defaults:
  data: {type: synthetic, classes: 3, per_class: 40, size: 16}
  model: {type: convnet, preset: custom, layers: [{conv: 3, k: 3, stride: 2, pad: 1}, {fc: 6}]}
  noise: {type: none}
  train: {epochs: 2, batch: 8, eval_batch: 16}
grid: {per_class: [10], sets: 3}
experiments:
  - name: base
YAML
cat > spec.yaml <<YAML
std: sample
digits: 2
tables:
  - {id: t, caption: "three sets", layout: mean, pipeline: dmg, columns: [10], sets: 3,
     rows: [{run: base, label: base}]}
YAML
if ! "$snm" run p.yaml --threads 1 > train.log 2>&1; then
	check "the tiny pipeline trains" 1 "$(tail -n 3 train.log)"
	echo "test_damaged: $passed passed, $failed failed"
	exit 1
fi
r=results/dmg/base/n10
size=$(wc -c < $r/set2.h5)
xor $r/set2.h5 $((size / 2)) 255
sha=$(sha256sum $r/set1.h5 $r/set2.h5 $r/set3.h5)

"$snm" run p.yaml --threads 1 > run.out 2> run.err
st=$?
check "snm run: exit 1" $([ $st -eq 1 ]; echo $?) "exit $st"
check "snm run: one line, naming the damaged file and the way out" \
	$([ "$(lines run.err)" -eq 1 ] && grep -q "$r/set2.h5: .*damaged: its contents do not match its seal (SHA-256) (left as it is: move it away to train the run)$" run.err; echo $?) \
	"$(head -n 3 run.err)"
check "snm run: every file as it was" $([ "$(sha256sum $r/set1.h5 $r/set2.h5 $r/set3.h5)" = "$sha" ]; echo $?)
"$snm" run p.yaml --threads 1 --force > runf.out 2> runf.err
st=$?
check "snm run --force: the damaged file is still left as it is, exit 1" \
	$([ $st -eq 1 ] && [ "$(sha256sum $r/set1.h5 $r/set2.h5 $r/set3.h5)" = "$sha" ] \
	  && grep -q "(left as it is: move it away to train the run)$" runf.err; echo $?) "exit $st; $(head -n 3 runf.err)"
check "snm run: no lock or temporary file left" $([ -z "$(find results -name '*.lock' -o -name '*.tmp')" ]; echo $?)

rm $r/set3.h5
"$snm" run p.yaml --threads 1 > run2.out 2> run2.err
st=$?
check "snm run, one run missing: it is trained beside the damaged one" \
	$([ $st -eq 1 ] && [ -f $r/set3.h5 ] && grep -q "dmg/base/n10/set3 *trained" run2.out; echo $?) \
	"exit $st; $(head -n 3 run2.err)"

"$snm" paper --results results --out out --spec spec.yaml --no-figures > paper.out 2> paper.err
st=$?
check "snm paper: the table is written from the readable runs" \
	$([ $st -eq 0 ] && grep -q "^| base | [0-9.]* ([0-9.]*) · \*unreadable 1/3\*" out/t.md; echo $?) \
	"exit $st; $(head -n 3 paper.err)"
check "snm paper: the damaged file is named in one line" \
	$(grep -h "set2.h5" paper.out paper.err | grep -q "damaged"; echo $?)

"$snm" compact --out kept $r/set1.h5 $r/set2.h5 $r/set3.h5 > compact.out 2> compact.err
st=$?
check "snm compact: exit 1, the good files written, one line for the bad" \
	$([ $st -eq 1 ] && [ -f kept/dmg/base/n10/set1.h5 ] && [ -f kept/dmg/base/n10/set3.h5 ] \
	  && [ ! -f kept/dmg/base/n10/set2.h5 ] && [ "$(grep -c set2.h5 compact.err)" -eq 1 ]; echo $?) \
	"exit $st; $(head -n 3 compact.err)"

# format 1: the global heap byte of the issue (0x81e set to 0x01: SIGSEGV in libhdf5), and a byte
# of the root's attribute table (XOR 0x5a at 6464: SIGSEGV in H5Aiterate2), beside a good file
for c in "heap 2078 0x01" "attributes 6464 0x5a"; do
	set -- $c
	mkdir -p "v1-$1"
	cp "$src/fixtures/runfile-v1.h5" "v1-$1/bad.h5"
	cp "$src/fixtures/runfile-v1.h5" "v1-$1/good.h5"
	if [ "$1" = heap ]; then
		perl -e 'open(F, "+<", $ARGV[0]) or die; seek(F, 2078, 0); print F chr(1); close F' "v1-$1/bad.h5"
	else
		xor "v1-$1/bad.h5" "$2" 90
	fi
	"$snm" compact --out "v1-$1/out" "v1-$1/bad.h5" "v1-$1/good.h5" > "v1-$1/out.log" 2> "v1-$1/err.log"
	st=$?
	check "format 1, damaged $1: one line, the good file written" \
		$([ $st -eq 1 ] && [ "$(grep -c 'bad.h5' "v1-$1/err.log")" -eq 1 ] \
		  && [ "$(grep -vc '^snm compact: [0-9]* written' "v1-$1/err.log")" -eq 1 ] \
		  && [ -f "v1-$1/out/quick/feed-forward/n10/set1.h5" ]; echo $?) \
		"exit $st; $(head -n 3 "v1-$1/err.log")"
	grep -h "bad.h5" "v1-$1/err.log"
done
echo "test_damaged: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
