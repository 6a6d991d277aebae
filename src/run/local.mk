# src/run: what opens and trains runs, linked into the `snm` command and the tests (a convenience
# library, never installed): pipelines (pipeline.c; their --set overrides and sweeps' values,
# override.c), the plugin loader (loader.c), the dataset
# cache (dataset.c), training subsets (subset.c), an opened run (run.c: data, subset, mean, model
# and regularizer, for the trainer and the paper stage), the trainer (trainer.c) and a run's lock
# file (lock.c), the HDF5 run file (store.c, its seal in seal.c, the child that reads a file first
# in probe.c) and its metrics table (metrics.c), where a run stands from its files (state.c, for
# `snm status`), the keys by which two configurations differ (cfgdiff.c), the code that made a run
# (identity.c: its plugins' and libsnm's SHA-256), a superseded run file kept beside (supersede.c),
# one training step of a run's plugins for `snm check` and its timing (trystep.c), the updates of
# a training step and their Adam states (steps.c), the cost model (cost.c: runs' shapes, the
# calibration cache, schedules, the time left), and the helpers the paper
# stage and the command share: directories (fs.c) and running another program (spawn.c).
noinst_LTLIBRARIES += src/run/librun.la
src_run_librun_la_SOURCES = src/run/loader.c src/run/loader.h src/run/pipeline.c src/run/pipeline.h \
	src/run/override.c src/run/override.h \
	src/run/dataset.c src/run/dataset.h src/run/subset.c src/run/subset.h src/run/run.c \
	src/run/run.h src/run/trainer.c \
	src/run/trainer.h src/run/store.c src/run/store.h src/run/seal.c src/run/seal.h src/run/probe.c src/run/probe.h src/run/metrics.c src/run/metrics.h \
	src/run/fs.c src/run/fs.h src/run/spawn.c src/run/spawn.h src/run/lock.c src/run/lock.h \
	src/run/state.c src/run/state.h src/run/cfgdiff.c src/run/cfgdiff.h src/run/identity.c \
	src/run/identity.h src/run/supersede.c src/run/supersede.h src/run/trystep.c src/run/trystep.h \
	src/run/steps.c src/run/steps.h src/run/cost.c src/run/cost.h
src_run_librun_la_CPPFLAGS = $(AM_CPPFLAGS) -DSNM_PKGLIBDIR='"$(pkglibdir)"' \
	-DSNM_BUILD_PLUGIN_PATH='"$(BUILD_PLUGIN_PATH)"' -DSNM_BUILD_DIR='"$(abs_top_builddir)"' \
	$(CRYPTO_CFLAGS)
# What a program that links librun links besides.
RUN_LIBS = src/run/librun.la src/core/libsnm.la $(HDF5_LIBS) $(YAML_LIBS) $(GSL_LIBS) \
	$(OPENBLAS_LIBS) $(CRYPTO_LIBS) $(LIBM)
