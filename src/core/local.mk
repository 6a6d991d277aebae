# src/core: libsnm, the library every plugin links, and the plugin SDK -- the headers installed
# under include/snm/ (plugin.h and what it includes, regularize.h).  libsnm holds tensors, the tape,
# the ops (linear, convolution over im2col, activations, losses, arithmetic, batch norm, random
# ops, scaling), snm's own threads, parameters, random streams, the YAML configuration, errors,
# the regularizer helpers, and the Adam optimizer and learning-rate schedules.
#
# What libsnm exports is listed in src/core/libsnm.sym: the functions the SDK headers declare, and
# the runner's side of libsnm -- the thread count and OpenBLAS's configuration (blas.h) and Adam
# and the schedules (optim.h), which live here because they run on libsnm's own threads (par.h) --
# declared in headers that are not installed.  tests/test_exports.sh checks the list against the
# headers.  Everything else (the op modules' backward functions, par.h, im2col.h, vec.h) is
# internal; the programs that test or time those internals (test_par, bench_conv) link the same
# objects as the convenience library libsnmcore.la, all symbols visible, instead of libsnm.
noinst_LTLIBRARIES += src/core/libsnmcore.la
src_core_libsnmcore_la_SOURCES = src/core/error.c src/core/tensor.c src/core/tape.c src/core/op.h \
	src/core/optab.c src/core/linear.c src/core/conv.c src/core/im2col.c src/core/im2col.h \
	src/core/act.c src/core/custom.c src/core/loss.c src/core/arith.c src/core/batchnorm.c \
	src/core/noise.c src/core/scaling.c src/core/param.c src/core/rng.c src/core/par.c src/core/par.h \
	src/core/blas.c src/core/blas.h src/core/config.c src/core/regularize.c src/core/objective.c \
	src/core/adversarial.c \
	src/core/adam.c src/core/schedule.c src/core/optim.h src/core/vec.h
lib_LTLIBRARIES += src/core/libsnm.la
src_core_libsnm_la_SOURCES =
src_core_libsnm_la_LDFLAGS = -version-info $(SNM_LT_VERSION) -no-undefined \
	-export-symbols $(srcdir)/src/core/libsnm.sym
src_core_libsnm_la_LIBADD = src/core/libsnmcore.la $(GSL_LIBS) $(OPENBLAS_LIBS) $(YAML_LIBS) $(LIBM)
EXTRA_src_core_libsnm_la_DEPENDENCIES = src/core/libsnm.sym
# The white-box programs' libraries: libsnm's objects, all of them visible.
CORE_LIBS = src/core/libsnmcore.la $(GSL_LIBS) $(OPENBLAS_LIBS) $(YAML_LIBS) $(LIBM)
EXTRA_DIST += src/core/libsnm.sym
snminclude_HEADERS += include/snm/plugin.h include/snm/error.h include/snm/tensor.h \
	include/snm/tape.h include/snm/ops.h include/snm/param.h include/snm/rng.h \
	include/snm/config.h include/snm/regularize.h
