# tests: one CUnit program per module (tests/test_<module>.c, sharing the harness and the gradient
# checker), the plugins the loader must refuse or that misbehave on purpose (tests/plugins/), and
# the shell tests: the committed results regenerate and verify, every shipped pipeline checks, and
# a plugin builds out of tree against the installed SDK alone.  A test that cannot run here (no
# gnuplot, no curl, no dataset) says why and counts as skipped (exit 77), never as passed.
TEST_LDADD = tests/libharness.la $(RUN_LIBS) $(CUNIT_LIBS)
TEST_CPPFLAGS = $(AM_CPPFLAGS) $(CUNIT_CFLAGS)
check_LTLIBRARIES += tests/libharness.la
tests_libharness_la_SOURCES = tests/harness.c tests/harness.h tests/harness_plugin.c tests/gradcheck.c \
	tests/gradcheck.h
tests_libharness_la_CPPFLAGS = $(TEST_CPPFLAGS)
AM_TESTS_ENVIRONMENT = SNM_PLUGIN_PATH='$(BUILD_PLUGIN_PATH):$(abs_top_builddir)/tests/plugins/.libs'; \
	export SNM_PLUGIN_PATH; SNM_TEST_SRCDIR='$(abs_top_srcdir)/tests'; export SNM_TEST_SRCDIR; \
	SNM_TEST_BUILDDIR='$(abs_top_builddir)/tests'; export SNM_TEST_BUILDDIR; \
	SNM_TEST_TOPBUILDDIR='$(abs_top_builddir)'; export SNM_TEST_TOPBUILDDIR;

# ---- libsnm: the tape, the ops, snm's threads, the configuration -------------------------------
check_PROGRAMS += tests/test_tape tests/test_par tests/test_conv tests/test_ops tests/test_norm \
	tests/test_config tests/test_optim tests/test_fixture tests/test_im2col
tests_test_tape_LDADD = $(TEST_LDADD)
tests_test_tape_CPPFLAGS = $(TEST_CPPFLAGS)
# test_par checks par.h, internal to libsnm: it links libsnm's objects (CORE_LIBS), not libsnm.
tests_test_par_LDADD = tests/libharness.la $(CORE_LIBS) $(CUNIT_LIBS)
tests_test_par_CPPFLAGS = $(TEST_CPPFLAGS)
# test_im2col checks im2col.h, internal too: CORE_LIBS as well.
tests_test_im2col_LDADD = tests/libharness.la $(CORE_LIBS) $(CUNIT_LIBS)
tests_test_im2col_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_conv_LDADD = $(TEST_LDADD)
tests_test_conv_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_ops_LDADD = $(TEST_LDADD)
tests_test_ops_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_norm_LDADD = $(TEST_LDADD)
tests_test_norm_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_config_LDADD = $(TEST_LDADD)
tests_test_config_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_optim_LDADD = $(TEST_LDADD)
tests_test_optim_CPPFLAGS = $(TEST_CPPFLAGS)
# one training step of the paper's MNIST model against a committed PyTorch fixture
tests_test_fixture_LDADD = $(TEST_LDADD)
tests_test_fixture_CPPFLAGS = $(TEST_CPPFLAGS)
TESTS += tests/test_tape tests/test_par tests/test_im2col tests/test_conv tests/test_ops tests/test_norm \
	tests/test_config tests/test_optim tests/test_fixture
EXTRA_DIST += tests/fixtures/yaml tests/fixtures/gen_mnist_step.py tests/fixtures/mnist_step.h5 \
	tests/fixtures/runfile-v1.h5

# ---- the loader, and plugins it must refuse (test-only modules) -------------------------------
# -rpath makes libtool build them shared although they are never installed.
TEST_PLUGIN_LDFLAGS = -module -avoid-version -no-undefined -rpath $(abs_builddir)/tests
check_LTLIBRARIES += tests/plugins/bad_major.la tests/plugins/bad_size.la tests/plugins/no_symbol.la \
	tests/plugins/bad_vtable.la tests/plugins/good_noise.la tests/plugins/nan_noise.la \
	tests/plugins/semi_noise.la tests/plugins/null_method.la tests/plugins/old_minor.la \
	tests/plugins/old_minor1.la tests/plugins/ramp_noise.la tests/plugins/bad_model.la \
	tests/plugins/bad_noise.la tests/plugins/hcp_noise.la tests/plugins/old_model.la \
	tests/plugins/bad_model_vtable.la
tests_plugins_bad_major_la_SOURCES = tests/plugins/bad_major.c
tests_plugins_bad_major_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_bad_size_la_SOURCES = tests/plugins/bad_size.c
tests_plugins_bad_size_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_no_symbol_la_SOURCES = tests/plugins/no_symbol.c
tests_plugins_no_symbol_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_bad_model_vtable_la_SOURCES = tests/plugins/bad_model_vtable.c
tests_plugins_bad_model_vtable_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_bad_vtable_la_SOURCES = tests/plugins/bad_vtable.c
tests_plugins_bad_vtable_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_null_method_la_SOURCES = tests/plugins/null_method.c
tests_plugins_null_method_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_good_noise_la_SOURCES = tests/plugins/good_noise.c
tests_plugins_good_noise_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_good_noise_la_LIBADD = src/core/libsnm.la
tests_plugins_nan_noise_la_SOURCES = tests/plugins/nan_noise.c
tests_plugins_nan_noise_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_nan_noise_la_LIBADD = src/core/libsnm.la
tests_plugins_semi_noise_la_SOURCES = tests/plugins/semi_noise.c tests/plugins/interrupt.h
tests_plugins_semi_noise_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_semi_noise_la_LIBADD = src/core/libsnm.la
tests_plugins_old_minor_la_SOURCES = tests/plugins/old_minor.c
tests_plugins_old_minor_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_old_minor_la_LIBADD = src/core/libsnm.la
tests_plugins_old_minor1_la_SOURCES = tests/plugins/old_minor1.c
tests_plugins_old_minor1_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_old_minor1_la_LIBADD = src/core/libsnm.la
# ABI 1.2: objective_at alone (epoch and step), checkpointed buffers, a custom op
tests_plugins_ramp_noise_la_SOURCES = tests/plugins/ramp_noise.c tests/plugins/interrupt.h
tests_plugins_ramp_noise_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_ramp_noise_la_LIBADD = src/core/libsnm.la
# vib_hcp compiled in, with SNM_TEST_INTERRUPT_AT (test_interrupt_updates.sh)
tests_plugins_hcp_noise_la_SOURCES = tests/plugins/hcp_noise.c tests/plugins/interrupt.h
tests_plugins_hcp_noise_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_hcp_noise_la_LIBADD = $(PLUGIN_LIBADD)
# a model and a regularizer that make the mistake their option names, for `snm check`'s step
tests_plugins_old_model_la_SOURCES = tests/plugins/old_model.c
tests_plugins_old_model_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_old_model_la_LIBADD = src/core/libsnm.la
tests_plugins_bad_model_la_SOURCES = tests/plugins/bad_model.c
tests_plugins_bad_model_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_bad_model_la_LIBADD = src/core/libsnm.la
tests_plugins_bad_noise_la_SOURCES = tests/plugins/bad_noise.c
tests_plugins_bad_noise_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_bad_noise_la_LIBADD = src/core/libsnm.la
check_PROGRAMS += tests/test_plugin
tests_test_plugin_LDADD = $(TEST_LDADD)
tests_test_plugin_CPPFLAGS = $(TEST_CPPFLAGS)
TESTS += tests/test_plugin

# ---- the plugins, loaded from the build tree through the loader -------------------------------
# test_data and test_cifar write their data files themselves; test_perturb reads
# tests/fixtures/mnist_step.h5; test_compare and test_ladder train through the plugins;
# test_advladder checks the adversarial ladder's perturbations and gradients.
check_PROGRAMS += tests/test_data tests/test_cifar tests/test_models tests/test_perturb \
	tests/test_compare tests/test_ladder tests/test_advladder
tests_test_data_LDADD = $(TEST_LDADD) $(ZLIB_LIBS)
tests_test_data_CPPFLAGS = $(TEST_CPPFLAGS)
EXTRA_tests_test_data_DEPENDENCIES = plugins/data/idx.la plugins/data/synthetic.la
tests_test_cifar_LDADD = $(TEST_LDADD)
tests_test_cifar_CPPFLAGS = $(TEST_CPPFLAGS)
EXTRA_tests_test_cifar_DEPENDENCIES = plugins/data/cifar10.la
tests_test_models_LDADD = $(TEST_LDADD)
tests_test_models_CPPFLAGS = $(TEST_CPPFLAGS)
EXTRA_tests_test_models_DEPENDENCIES = plugins/models/convnet.la plugins/noise/none.la \
	plugins/noise/recon.la
tests_test_perturb_LDADD = $(TEST_LDADD)
tests_test_perturb_CPPFLAGS = $(TEST_CPPFLAGS)
EXTRA_tests_test_perturb_DEPENDENCIES = plugins/models/convnet.la plugins/noise/recon.la \
	plugins/noise/random.la plugins/noise/semantic.la plugins/noise/denoise.la
tests_test_compare_LDADD = $(TEST_LDADD)
tests_test_compare_CPPFLAGS = $(TEST_CPPFLAGS)
EXTRA_tests_test_compare_DEPENDENCIES = plugins/models/convnet.la plugins/noise/vat.la \
	plugins/noise/c2c.la
tests_test_ladder_LDADD = $(TEST_LDADD)
tests_test_ladder_CPPFLAGS = $(TEST_CPPFLAGS)
EXTRA_tests_test_ladder_DEPENDENCIES = plugins/models/convnet.la plugins/noise/ladder.la \
	plugins/data/synthetic.la
tests_test_advladder_LDADD = $(TEST_LDADD)
tests_test_advladder_CPPFLAGS = $(TEST_CPPFLAGS)
EXTRA_tests_test_advladder_DEPENDENCIES = plugins/models/convnet.la plugins/noise/ladder.la \
	plugins/noise/advladder.la
TESTS += tests/test_data tests/test_cifar tests/test_models tests/test_perturb tests/test_compare \
	tests/test_ladder tests/test_advladder

# ---- the run layer: the store, the trainer on tiny pipelines, overrides and sweeps -------------
check_PROGRAMS += tests/test_store tests/test_runner tests/test_override
tests_test_store_LDADD = $(TEST_LDADD)
tests_test_store_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_runner_LDADD = $(TEST_LDADD)
tests_test_runner_CPPFLAGS = $(TEST_CPPFLAGS)
EXTRA_tests_test_runner_DEPENDENCIES = plugins/data/synthetic.la plugins/models/convnet.la \
	plugins/noise/none.la plugins/noise/recon.la tests/plugins/nan_noise.la tests/plugins/semi_noise.la \
	tests/plugins/ramp_noise.la tests/plugins/old_minor.la tests/plugins/old_minor1.la \
	plugins/models/vibnet.la plugins/noise/vib_hcp.la
tests_test_override_LDADD = $(TEST_LDADD)
tests_test_override_CPPFLAGS = $(TEST_CPPFLAGS)
EXTRA_tests_test_override_DEPENDENCIES = plugins/data/synthetic.la plugins/models/convnet.la \
	plugins/noise/none.la plugins/noise/recon.la
TESTS += tests/test_store tests/test_runner tests/test_override
# the adversarial regularizers' losses and the updates of a training step (run/steps.h)
check_PROGRAMS += tests/test_vib
tests_test_vib_LDADD = $(TEST_LDADD)
tests_test_vib_CPPFLAGS = $(TEST_CPPFLAGS)
EXTRA_tests_test_vib_DEPENDENCIES = plugins/models/vibnet.la plugins/noise/vib_hcp.la \
	plugins/noise/vib_lp.la
TESTS += tests/test_vib
# the code that made a run (its plugins' and libsnm's SHA-256) and the superseded run file
# the cost model's schedules and calibration cache
check_PROGRAMS += tests/test_cost
tests_test_cost_LDADD = $(TEST_LDADD)
tests_test_cost_CPPFLAGS = $(TEST_CPPFLAGS)
TESTS += tests/test_cost
check_PROGRAMS += tests/test_identity
tests_test_identity_LDADD = $(TEST_LDADD)
tests_test_identity_CPPFLAGS = $(TEST_CPPFLAGS)
EXTRA_tests_test_identity_DEPENDENCIES = plugins/data/synthetic.la plugins/models/convnet.la \
	plugins/noise/none.la
TESTS += tests/test_identity

# ---- the paper stage and the command's subcommands, called in-process -------------------------
# test_paper writes run files itself and trains one tiny run on the synthetic data plugin;
# test_fetch builds mirrors itself (IDX files through zlib, a CIFAR tarball and fake npm tarballs
# through tar, fake `curl` and `npm` scripts on PATH) and opens what it installed with the idx and
# cifar10 plugins; test_runfile: compact run files, `snm compact` and `snm verify`.
check_PROGRAMS += tests/test_paper tests/test_fetch tests/test_runfile
tests_test_paper_SOURCES = tests/test_paper.c src/cmd/paper.c src/cmd/args.c src/cmd/help.c
tests_test_paper_LDADD = tests/libharness.la paper/libpaper.la $(RUN_LIBS) $(CUNIT_LIBS) $(ZLIB_LIBS)
tests_test_paper_CPPFLAGS = $(TEST_CPPFLAGS)
EXTRA_tests_test_paper_DEPENDENCIES = plugins/data/synthetic.la plugins/models/convnet.la \
	plugins/noise/recon.la
tests_test_fetch_SOURCES = tests/test_fetch.c src/cmd/fetch.c src/cmd/fetcher.c src/cmd/help.c
tests_test_fetch_LDADD = $(TEST_LDADD) $(ZLIB_LIBS)
tests_test_fetch_CPPFLAGS = $(TEST_CPPFLAGS)
EXTRA_tests_test_fetch_DEPENDENCIES = plugins/data/idx.la plugins/data/cifar10.la
tests_test_runfile_SOURCES = tests/test_runfile.c src/cmd/runfile.c src/cmd/runfile.h
tests_test_runfile_LDADD = $(TEST_LDADD) $(CRYPTO_LIBS)
tests_test_runfile_CPPFLAGS = $(TEST_CPPFLAGS) $(CRYPTO_CFLAGS)
EXTRA_tests_test_runfile_DEPENDENCIES = snm$(EXEEXT) plugins/data/synthetic.la \
	plugins/models/convnet.la plugins/noise/recon.la
TESTS += tests/test_paper tests/test_fetch tests/test_runfile

# ---- shell tests --------------------------------------------------------------------------------
# tests/lib.sh: the start (scratch directory, counters), PASS/FAIL lines and summary that the
# shell tests source.
EXTRA_DIST += tests/lib.sh
# The committed results: the tables regenerate unchanged, and one committed run verifies.  Every
# shipped pipeline passes `snm check`, with its number of runs.
TESTS += tests/test_results.sh tests/test_verify.sh tests/test_pipelines.sh
EXTRA_DIST += tests/test_results.sh tests/test_verify.sh tests/test_pipelines.sh
# A checkpoint that cannot be written (disk full, ulimit -f, read-only): one line, exit 1, the
# previous checkpoint kept.
TESTS += tests/test_diskfull.sh
EXTRA_DIST += tests/test_diskfull.sh
# kill -9 at 5 random moments of a tiny pipeline, then bitwise equal to an uninterrupted run
# (bench/kill9.sh: 100 kills).
TESTS += tests/test_kill9.sh
EXTRA_DIST += tests/test_kill9.sh
# A catalogue of bad inputs (pipelines, configuration values, data files, plugins, result files,
# options, the environment): each one error line naming the file and line or the field, a non-zero
# exit status, and no file under results/ changed.  One damaged run file stops nothing but itself:
# snm run, snm paper and snm compact go on with the others (test_damaged.sh).
TESTS += tests/test_catalogue.sh tests/test_damaged.sh
EXTRA_DIST += tests/test_catalogue.sh tests/test_damaged.sh
# Where each run of a tiny pipeline stands, in every state (`snm status`: finished, running under
# a real `snm run` and under another lock holder, resumable after kill -9, not started, refused
# with the changed key named, failed), and its results table and curves (`snm report`).
TESTS += tests/test_status.sh
EXTRA_DIST += tests/test_status.sh
# beyond one machine: --shard K/N covers every run once, the cost model's command line
# (test_shard.sh); mpirun -n 3 trains every run once, bitwise as a serial run, and resumes a
# killed job (test_mpi.sh; skipped without MPI)
TESTS += tests/test_shard.sh tests/test_mpi.sh
EXTRA_DIST += tests/test_shard.sh tests/test_mpi.sh
# What snm run shows while it trains: per-epoch lines in a log with -j 2, status lines on a
# terminal; SIGINT and SIGTERM stop the runs at a step, say how to resume, and the resumed runs
# end bitwise equal to uninterrupted ones.
TESTS += tests/test_progress.sh tests/test_interrupt.sh
EXTRA_DIST += tests/test_progress.sh tests/test_interrupt.sh
# The same for a regularizer with updates of its own (vib_hcp's three Adam states, through the
# test plugin hcp_int): stopped mid-epoch and resumed, bitwise equal to an uninterrupted run.
TESTS += tests/test_interrupt_updates.sh
EXTRA_DIST += tests/test_interrupt_updates.sh
# ./configure --prefix=OTHER in a built tree: what records the old directories is remade
# (SNM_REINSTALL_FULL=1: two real installs of the distribution's files, minutes).
TESTS += tests/test_reinstall.sh
EXTRA_DIST += tests/test_reinstall.sh
# A run's code identity (the SHA-256 of libsnm and the plugins) does not depend on where the tree
# was built: no RUNPATH, no build or source path in those files (SNM_LOCATION_FULL=1: two builds
# of the distribution's files in two directories compared byte for byte, minutes).
TESTS += tests/test_location.sh
EXTRA_DIST += tests/test_location.sh
# The help texts, the man page and the README agree.
TESTS += tests/test_help.sh
EXTRA_DIST += tests/test_help.sh
# libsnm exports what its headers declare, and nothing else.
TESTS += tests/test_exports.sh
EXTRA_DIST += tests/test_exports.sh

# Out of tree: install into a staging dir, build a plugin with pkg-config only, run it.
TESTS += tests/test_out_of_tree.sh
EXTRA_DIST += tests/test_out_of_tree.sh tests/outoftree/mynoise.c
# `make install` relinked the plugins inside the build tree (libtool, before plugins/local.mk linked
# libsnm past it), pulling them from under any test that loaded them at that moment (seen under
# make -j2 check); it still writes into the build tree (snm.pc, libtool's files): this test runs
# after all others.
# (through a variable, so that Automake adds this prerequisite to its own rule, not replaces it)
OOT_LOG = tests/test_out_of_tree.sh.log
$(OOT_LOG): $(filter-out $(OOT_LOG),$(TEST_LOGS))
