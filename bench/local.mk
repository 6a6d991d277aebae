# bench: throughput benchmarks (bench/), never built by `make` or `make check`.
# `make bench` builds every program in BENCHMARKS and runs each in turn with BENCH_FLAGS
# (e.g. make bench BENCH_FLAGS='--threads 1').  A new benchmark: append it to BENCHMARKS and
# give it an _LDADD line.  Right before bench_train, bench/peer.sh times the PyTorch peer
# (PEER_REPS runs of PEER_STEPS steps at 1 and 2 threads; skipped without python3-torch) into
# bench/peer.txt, which bench_train reads for its snm/peer ratios; BENCH_TRAIN_FLAGS go to
# bench_train alone (e.g. make bench BENCH_TRAIN_FLAGS='--steps 10 --reps 10').  After it, the
# ladder's step once more at numeric version 2 (train.numerics: Gaussian noise by the ziggurat).
#
# OpenBLAS's kernel: where the environment pins one (OPENBLAS_CORETYPE, as these machines do:
# Haswell, for old OpenBLAS builds that fail on some newer processors), bench_train runs under the
# pin first, then once more with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, so that OpenBLAS
# picks the kernel for this processor (AVX-512 where it has it, as the peer's oneDNN does).  That
# second run happens only after BENCH_NUMERIC_TESTS -- conv against naive loops, every op's
# gradient check, the PyTorch fixture -- pass under the unpinned kernel; bench_train prints which
# kernel ran.  Tests and CI never unpin it.  make bench BENCH_UNPINNED=no skips the second run.
#
# Then bench/eval_batch.sh times evaluation, the larger part of a run at small per-class sizes,
# at the evaluation batch sizes EVAL_BATCHES and thread counts EVAL_THREADS (about a minute).
# Last, bench/memory.sh: the peak resident memory of a run of each network (MNIST convnet, ladder,
# VAT, CIFAR-10) at MEM_EPOCHS epochs, failing when it grows with the epochs (about a minute).
# bench/kill9.sh (not part of make bench): 100 kill -9 of snm run, then a bitwise comparison.
# bench/cluster.sh (not part of make bench): one process, -j 2 and mpirun -n 2 on a small pipeline.
# bench/cost-check.sh (not part of make bench): the cost model against 24 runs of different shapes.
BENCHMARKS = bench/bench_conv bench/bench_train
EXTRA_PROGRAMS += $(BENCHMARKS)
BENCH_LDADD = $(RUN_LIBS)
# bench_conv times the ops' backward functions (core/op.h, internal to libsnm): libsnm's objects.
bench_bench_conv_LDADD = $(CORE_LIBS)
# bench_train times snm_par_sgemm (core/par.h), compiled in, beside libsnm and the plugins.
bench_bench_train_SOURCES = bench/bench_train.c src/core/par.c
bench_bench_train_CPPFLAGS = $(AM_CPPFLAGS)
bench_bench_train_LDADD = $(BENCH_LDADD)
EXTRA_bench_bench_train_DEPENDENCIES = plugins/models/convnet.la plugins/data/idx.la \
	plugins/noise/none.la plugins/noise/recon.la plugins/noise/random.la plugins/noise/semantic.la \
	plugins/noise/ladder.la plugins/noise/vat.la
BENCH_FLAGS =
BENCH_TRAIN_FLAGS =
PEER_REPS = 3
BENCH_UNPINNED = yes
BENCH_NUMERIC_TESTS = tests/test_conv tests/test_ops tests/test_fixture
PEER_STEPS = 30
EVAL_BATCHES = 50 100 200 500 1000
EVAL_THREADS = 1 2
MEM_EPOCHS = 2 8
EXTRA_DIST += bench/peer.sh bench/eval_batch.sh bench/memory.sh bench/mnist-campaign.sh bench/kill9.sh \
	bench/cluster.sh bench/cost-check.sh bench/cost-check.yaml bench/vat_peer.py
CLEANFILES += $(BENCHMARKS) bench/peer.txt tests/*.unpinned.log

.PHONY: bench
bench: $(BENCHMARKS) $(BENCH_NUMERIC_TESTS) snm$(EXEEXT) $(pkglib_LTLIBRARIES)
	@for p in $(BENCHMARKS); do \
	  extra=; \
	  if test "$$p" = bench/bench_train; then \
	    echo "== bench/peer.sh"; $(SHELL) $(srcdir)/bench/peer.sh bench/peer.txt $(PEER_REPS) $(PEER_STEPS) || exit 1; \
	    extra="$(BENCH_TRAIN_FLAGS)"; \
	  fi; \
	  echo "== $$p $(BENCH_FLAGS) $$extra  (load $$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null))"; \
	  SNM_BENCH_PEER=bench/peer.txt ./$$p $(BENCH_FLAGS) $$extra || exit 1; \
	done
	@echo "== bench/bench_train --only ladder --numerics 2 $(BENCH_FLAGS) $(BENCH_TRAIN_FLAGS)  (train.numerics 2: the Gaussian noise by the ziggurat; load $$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null))"; \
	  ./bench/bench_train --only ladder --numerics 2 $(BENCH_FLAGS) $(BENCH_TRAIN_FLAGS) || exit 1
	@if test "$(BENCH_UNPINNED)" = yes && test -n "$${OPENBLAS_CORETYPE-}"; then \
	  echo "== OpenBLAS unpinned: OPENBLAS_CORETYPE=$$OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset below"; \
	  ok=yes; \
	  for t in $(BENCH_NUMERIC_TESTS); do \
	    ( $(AM_TESTS_ENVIRONMENT) env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ./$$t ) \
	      > $$t.unpinned.log 2>&1 || ok=no; \
	    tail -n 1 $$t.unpinned.log; \
	  done; \
	  if test $$ok = yes; then \
	    echo "== bench/bench_train $(BENCH_FLAGS) $(BENCH_TRAIN_FLAGS), unpinned  (load $$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null))"; \
	    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE SNM_BENCH_PEER=bench/peer.txt \
	      ./bench/bench_train $(BENCH_FLAGS) $(BENCH_TRAIN_FLAGS) || exit 1; \
	  else \
	    echo "the kernel OpenBLAS picks unpinned fails the numeric tests above (see tests/*.unpinned.log): not timed"; \
	  fi; \
	fi
	@echo "== bench/eval_batch.sh  (load $$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null))"; \
	  EVAL_BATCHES="$(EVAL_BATCHES)" EVAL_THREADS="$(EVAL_THREADS)" \
	  $(SHELL) $(srcdir)/bench/eval_batch.sh ./snm$(EXEEXT)
	@echo "== bench/memory.sh  (load $$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null))"; \
	  MEM_EPOCHS="$(MEM_EPOCHS)" $(SHELL) $(srcdir)/bench/memory.sh ./snm$(EXEEXT)
