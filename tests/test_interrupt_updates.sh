#!/bin/sh
# test_interrupt_updates.sh: Ctrl-C in the middle of an epoch of a regularizer with updates of its
# own (ABI 1.3: vib_hcp's d_a, d_c and cls, three Adam states), and the resumed run ends bitwise
# equal to an uninterrupted one.
#
# One semi-supervised run of vib_hcp with D_a and D_c on vibnet and the synthetic data (78
# unlabelled examples, 6 a step: 13 steps an epoch, each with three updates), through the test
# plugin hcp_int (tests/plugins/hcp_noise.c: vib_hcp itself, raising SIGINT at the steps
# SNM_TEST_INTERRUPT_AT names), is trained once without interruption (the reference).  Then:
# stopped after step 5 of epoch 1 (no whole epoch yet), at the end of epoch 1, after step 4 of
# epoch 2 and, resumed from there, after step 7: each stop exits 130 with the line saying where;
# the mid-epoch files hold every update's Adam state twice -- as the epoch's start left it
# (/checkpoint/optim/<update>/{m,v}, step.<update>: equal to the file of the epoch's end, h5diff)
# and after the steps done (/checkpoint/partial/optim/<update>/{m,v}, partial_step.<update>);
# resumed to the end, the run file equals the reference's in every dataset and attribute but
# /metrics/seconds (h5diff).
# Prints "test_interrupt_updates: N passed, N failed"; exits 77 without h5dump and h5diff.
set -u
. "${SNM_TEST_SRCDIR:?}/lib.sh"
test_begin intupd
need_h5tools
need_setsid
pipeline() {
	cat > "$tmp/$1.yaml" <<EOT
name: iv
seed: 7
results: $tmp/$1
defaults:
  data: {type: synthetic, classes: 3, per_class: 30, size: 8}
  model: {type: vibnet, latent: linear, a_dim: 12, hidden: 8}
  noise: {type: hcp_int, alpha_c: 0.005, alpha_a: 0.0005}
  train: {epochs: 3, batch: 6, unlabelled_batch: 6, epoch: unlabelled, lr: 0.001, eval_batch: 16}
grid: {per_class: [4], sets: 1}
experiments:
  - name: base
EOT
}
r=iv/base/n4/set1
pipeline ref
"$top/snm" run "$tmp/ref.yaml" > "$tmp/ref.log" 2>&1 || abort "the uninterrupted run" "$tmp/ref.log"

# stop AT WANT: `snm run` of pipeline int with SIGINT at step AT of the process; its line: WANT
stop() {
	SNM_TEST_INTERRUPT_AT=$1 setsid env --default-signal=INT "$top/snm" run "$tmp/int.yaml" \
		--log-every 0 > "$tmp/int.out" 2> "$tmp/int.err"
	st=$?
	check "SIGINT at step $1 of the process: exit 130 and one line: $2" \
		$([ "$st" -eq 130 ] && [ "$(wc -l < "$tmp/int.err")" -eq 1 ] && grep -q "^snm: $r: interrupted $2; resume with: " "$tmp/int.err"; echo $?) \
		"$tmp/int.err"
}
# attr NAME: the root integer NAME of the run file
attr() { h5dump -a "/$1" "$f" 2>/dev/null | sed -n 's/^ *(0): \([0-9-]*\)$/\1/p'; }

pipeline int
f=$tmp/int/$r.h5
stop 4 'in epoch 1 after step 5 of 13, saved there (resume goes on with step 6)'
ok=0
for u in d_a d_c; do
	for g in /checkpoint/optim/$u/m /checkpoint/optim/$u/v /checkpoint/partial/optim/$u/m /checkpoint/partial/optim/$u/v; do
		h5dump -n "$f" 2>/dev/null | grep -q " $g\$" || { echo "no group $g" >> "$tmp/e1.log"; ok=1; }
	done
	[ "$(attr step.$u)" = 0 ] && [ "$(attr partial_step.$u)" = 5 ] || { echo "$u: step $(attr step.$u), partial $(attr partial_step.$u)" >> "$tmp/e1.log"; ok=1; }
done
touch "$tmp/e1.log"
check "epoch 1, step 5: every update's Adam state at the epoch's start (step 0) and after step 5" $ok "$tmp/e1.log"
stop 7 'before epoch 2 (epoch 1 is saved)'
cp "$f" "$tmp/epoch1.h5"
stop 3 'in epoch 2 after step 4 of 13, saved there (resume goes on with step 5)'
ok=0
for o in /checkpoint/params /checkpoint/adam_m /checkpoint/adam_v /checkpoint/optim/d_a/m \
         /checkpoint/optim/d_a/v /checkpoint/optim/d_c/m /checkpoint/optim/d_c/v /checkpoint/rng/order \
         /checkpoint/rng/augment /checkpoint/rng/noise /checkpoint/rng/unlabelled /best; do
	h5diff "$tmp/epoch1.h5" "$f" "$o" > "$tmp/diff.log" 2>&1 || { echo "$o differs" >> "$tmp/whole.log"; cat "$tmp/diff.log" >> "$tmp/whole.log"; ok=1; }
done
for u in d_a d_c; do
	[ "$(attr step.$u)" = 13 ] && [ "$(attr partial_step.$u)" = 17 ] || { echo "$u: step $(attr step.$u), partial $(attr partial_step.$u)" >> "$tmp/whole.log"; ok=1; }
done
[ "$(attr step)" = 13 ] && [ "$(attr partial_steps)" = 4 ] || { echo "step $(attr step), partial_steps $(attr partial_steps)" >> "$tmp/whole.log"; ok=1; }
touch "$tmp/whole.log"
check "epoch 2, step 4: the whole-epoch checkpoint, every Adam state included, is epoch 1's; the partial ones after step 17" \
	$ok "$tmp/whole.log"
h5diff "$tmp/epoch1.h5" "$f" /checkpoint/optim/d_a/m /checkpoint/partial/optim/d_a/m > /dev/null 2>&1
check "epoch 2, step 4: d_a's partial moments have moved on from epoch 1's (h5diff finds differences)" \
	$([ $? -eq 1 ]; echo $?) "$tmp/int.err"
stop 2 'in epoch 2 after step 7 of 13, saved there (resume goes on with step 8)'
"$top/snm" run "$tmp/int.yaml" > "$tmp/resume.log" 2>&1
check "resumed to the end" $([ $? -eq 0 ] && grep -q "^$r *resumed" "$tmp/resume.log"; echo $?) "$tmp/resume.log"
h5diff --exclude-path /metrics/seconds "$tmp/ref/$r.h5" "$f" > "$tmp/diff.log" 2>&1
check "the resumed run file equals the uninterrupted run's (h5diff, /metrics/seconds aside)" $? "$tmp/diff.log"
test_end
