#!/bin/bash
# mnist-campaign.sh: the MNIST replication (the MNIST issue) in priority order, resumable: every
# step is an `snm run` that skips finished runs and resumes unfinished ones from their checkpoints,
# so rerunning this script after any stop continues where it stopped.
#
#   cd WORKDIR && SNM=/path/to/snm P=/path/to/pipelines nohup bash mnist-campaign.sh > campaign.log 2>&1 &
#
# WORKDIR holds data/mnist (`snm fetch mnist`) and gets results/.  On a fresh machine first copy
# the repository's committed results into it (`cp -r REPO/results WORKDIR/`): `snm run` skips a
# finished run whose compact file is there, so only the missing runs train.  Keep what finished with
#   snm compact --out REPO/results WORKDIR/results --keep-best 'mnist/proposed-base/n100/set1' \
#                --keep-best 'mnist/proposed-base/n2000/set1'
# then `make paper-tables` in the repository.  JOBS (default 2) runs at a time, 1 thread each.
SNM=${SNM:-snm}
P=${P:-pipelines}
JOBS=${JOBS:-2}
run() { echo "== $(date -u +%FT%TZ) $*"; "$SNM" run "$@" --threads 1 -j "$JOBS"; echo "== rc=$? $(date -u +%FT%TZ)"; }
# 1. the rows of the claim at 10 and 100 per class, sets 1..3 (mnist.yaml), with proposed-base-denoise
run "$P/mnist.yaml" --only 'mnist/[fp]*/n10/*'
run "$P/mnist.yaml" --only 'mnist/[fp]*/n100/*'
# 2. the claim on ten sets, set by set, so that a stop leaves every row on the same sets
for k in 1 2 3 4 5 6 7 8 9 10; do run "$P/mnist-claim.yaml" --only "mnist/*/n100/set$k"; done
# 3. the figures' network on one worker, the ablation of semantic's open choices (100 per class)
#    on the others, then the claim's sets at 10 per class
( JOBS=1 run "$P/mnist.yaml" --only 'mnist/proposed-base/n2000/set1' ) &
for k in 1 2 3 4 5; do JOBS=$((JOBS > 1 ? JOBS - 1 : 1)) run "$P/mnist-ablation.yaml" --only "mnist/*/n100/set$k"; done
wait
for k in 1 2 3 4 5 6 7 8 9 10; do run "$P/mnist-claim.yaml" --only "mnist/*/n10/set$k"; done
run "$P/mnist.yaml" --only 'mnist/proposed-base/n2000/set2'
# 4. the rest of Table 1/3 at 20..200 (the claim's rows, and semantic-grad beside them)
for n in 20 50 200; do run "$P/mnist.yaml" --only "mnist/[fp]*/n$n/*"; done
for n in 20 50 200; do run "$P/mnist.yaml" --only "mnist/semantic-grad/n$n/*"; done
# 5. PI-MNIST and semantic-grad on it, then Table 2 (ladder) set by set, then the recon rows of Table 1/3 at 10..200
for k in 1 2 3; do run "$P/pi-mnist.yaml" --only "*/set$k"; done
run "$P/pi-mnist.yaml"
for k in 1 2 3; do run "$P/pi-mnist-ablation.yaml" --only "*/set$k"; done
for k in 1 2 3; do for n in 10 20 50 100 200; do run "$P/ladder.yaml" --only "ladder/*/n$n/set$k"; done; done  # with the -bn rows
for n in 10 20 50 100 200; do run "$P/mnist.yaml" --only "mnist/recon-*/n$n/*"; done
run "$P/mnist-recon-all.yaml"      # recon-all with the hidden layers' weight 0.003, 10-200 per class
# 5a. the large sizes of the claim's rows (the MNIST issue asks them before the comparison checks)
for n in 500 1000 2000; do for e in feed-forward proposed-base perturb-random perturb-semantic semantic-grad; do
	run "$P/mnist.yaml" --only "mnist/$e/n$n/*"; done; done
run "$P/mnist.yaml" --only 'mnist/p*/full'
run "$P/mnist.yaml" --only 'mnist/semantic-grad/full'
run "$P/mnist.yaml" --only 'mnist/feed-forward/full'
# 5b. the comparison regularizers' checks at 100 labels (the comparison issue): the ladder and the
#     adversarial ladder of seed 002 on the same labelled sets, VAT (takerum's recipe at 1000 labels,
#     the later paper's network at 100, takerum's at 100), close-to-clean, the Gamma-model
run "$P/mnist-semi.yaml" --only 'mnist-semi/ladder/n10/*'
run "$P/advladder.yaml" --only 'mnist-semi/adv-t21/n10/*'
run "$P/mnist-semi.yaml" --only 'mnist-semi/vat-1000/n100/*'
run "$P/mnist-semi.yaml" --only 'mnist-semi/vat-tpami/n10/*'
run "$P/mnist-semi.yaml" --only 'mnist-semi/vat-tpami-bn/n10/*'
run "$P/mnist-semi.yaml" --only 'mnist-semi/vat-tpami-tf/n10/*'
run "$P/mnist-semi.yaml" --only 'mnist-semi/vat/n10/*'
run "$P/mnist-semi.yaml" --only 'mnist-semi/c2c/n10/*'
run "$P/mnist-semi.yaml" --only 'mnist-semi/gamma/n10/*'
# 6. everything else
run "$P/mnist.yaml"
run "$P/ladder.yaml"
run "$P/mnist-semi.yaml"
run "$P/advladder.yaml"
