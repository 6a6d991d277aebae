# src/run: pipelines (pipeline.c), the plugin loader (loader.c), the trainer (trainer.c) with its
# dataset cache and training subsets, the HDF5 run file and its metrics table, and
# making directories (fs.c).
src_core_libsnm_la_SOURCES += src/run/loader.c src/run/pipeline.c src/run/trainer.c src/run/dataset.c \
	src/run/subset.c src/run/store.c src/run/metrics.c \
	src/run/fs.c src/run/fs.h
src_core_libsnm_la_CPPFLAGS = $(AM_CPPFLAGS) -DSNM_PKGLIBDIR='"$(pkglibdir)"' \
	-DSNM_PKGDATADIR='"$(pkgdatadir)"' -DSNM_BUILD_PLUGIN_PATH='"$(BUILD_PLUGIN_PATH)"' \
	-DSNM_BUILD_DIR='"$(abs_top_builddir)"'
snminclude_HEADERS += include/snm/pipeline.h include/snm/trainer.h include/snm/store.h
