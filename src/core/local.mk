# src/core: libsnm, the library every plugin links -- tensors, the tape, the ops (linear,
# convolution over im2col, activations, losses, arithmetic, batch norm, random ops, scaling),
# snm's own threads, parameters, random streams, the YAML configuration, errors, the regularizer
# helpers, and the Adam optimizer and learning-rate schedules -- and the plugin SDK headers installed under include/snm/.
lib_LTLIBRARIES += src/core/libsnm.la
src_core_libsnm_la_SOURCES = src/core/error.c src/core/tensor.c src/core/tape.c src/core/op.h \
	src/core/optab.c src/core/linear.c src/core/conv.c src/core/im2col.c src/core/im2col.h \
	src/core/act.c src/core/loss.c src/core/arith.c src/core/batchnorm.c src/core/noise.c \
	src/core/scaling.c src/core/param.c src/core/rng.c src/core/par.c src/core/par.h \
	src/core/blas.c src/core/config.c src/core/regularize.c src/core/adam.c src/core/schedule.c
src_core_libsnm_la_LDFLAGS = -version-info $(SNM_LT_VERSION) -no-undefined
src_core_libsnm_la_LIBADD = $(GSL_LIBS) $(OPENBLAS_LIBS) $(YAML_LIBS) $(HDF5_LIBS) $(ZLIB_LIBS) $(LIBM)
snminclude_HEADERS += include/snm/plugin.h include/snm/error.h include/snm/tensor.h \
	include/snm/tape.h include/snm/ops.h include/snm/param.h include/snm/rng.h \
	include/snm/config.h include/snm/regularize.h include/snm/blas.h \
	include/snm/optim.h
