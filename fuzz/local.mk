# fuzz: libFuzzer harnesses of every reader of outside bytes -- the YAML parser (fuzz_config),
# the pipeline loader with its includes (fuzz_pipeline), the IDX and CIFAR-10 data plugins
# (fuzz_idx, fuzz_cifar) and the run-file readers (fuzz_runfile) -- never built by `make` or
# `make check`.  `make fuzz [FUZZ_SECONDS=60]` builds them with clang, -fsanitize=fuzzer and
# AddressSanitizer and UBSan, in a build of their own (fuzz-build/, made by fuzz/run.sh from a
# copy of the distribution), runs each for FUZZ_SECONDS seconds from its seeds in fuzz/corpus/
# <harness>/, prints the inputs run and what was found, and fails on any crash, timeout (an input
# slower than 1 s), leak or allocation above 2 GiB.  Without a clang that links -fsanitize=fuzzer
# (configure's check; FUZZ_CC picks another compiler) it says it skips and exits 0.
# A new harness: fuzz/fuzz_<name>.c, its four lines below, its seeds in fuzz/corpus/fuzz_<name>/.
FUZZ_HARNESSES = fuzz/fuzz_config fuzz/fuzz_pipeline fuzz/fuzz_idx fuzz/fuzz_cifar fuzz/fuzz_runfile
EXTRA_PROGRAMS += $(FUZZ_HARNESSES)
FUZZ_COMMON = fuzz/fuzz.c fuzz/fuzz.h
# -no-install: no libtool wrapper script, the program itself (libFuzzer re-reads its argv[0]).
FUZZ_LINK_FLAGS = -no-install -fsanitize=fuzzer
fuzz_fuzz_config_SOURCES = fuzz/fuzz_config.c $(FUZZ_COMMON)
fuzz_fuzz_config_LDADD = $(RUN_LIBS)
fuzz_fuzz_config_LDFLAGS = $(FUZZ_LINK_FLAGS)
# the plugins' own option tables check the sections, from the build's plugin directories
fuzz_fuzz_pipeline_SOURCES = fuzz/fuzz_pipeline.c $(FUZZ_COMMON)
fuzz_fuzz_pipeline_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_PLUGIN_PATH='"$(BUILD_PLUGIN_PATH)"'
fuzz_fuzz_pipeline_LDADD = $(RUN_LIBS)
fuzz_fuzz_pipeline_LDFLAGS = $(FUZZ_LINK_FLAGS)
EXTRA_fuzz_fuzz_pipeline_DEPENDENCIES = $(pkglib_LTLIBRARIES)
# the data plugins are compiled in (per-target flags give their objects names of their own)
fuzz_fuzz_idx_SOURCES = fuzz/fuzz_idx.c plugins/data/idx.c $(FUZZ_COMMON)
fuzz_fuzz_idx_CPPFLAGS = $(AM_CPPFLAGS)
fuzz_fuzz_idx_LDADD = $(RUN_LIBS) $(ZLIB_LIBS)
fuzz_fuzz_idx_LDFLAGS = $(FUZZ_LINK_FLAGS)
fuzz_fuzz_cifar_SOURCES = fuzz/fuzz_cifar.c plugins/data/cifar10.c $(FUZZ_COMMON)
fuzz_fuzz_cifar_CPPFLAGS = $(AM_CPPFLAGS)
fuzz_fuzz_cifar_LDADD = $(RUN_LIBS)
fuzz_fuzz_cifar_LDFLAGS = $(FUZZ_LINK_FLAGS)
# the seeds' pipeline (for snm_run_state_read) needs the plugins too
fuzz_fuzz_runfile_SOURCES = fuzz/fuzz_runfile.c $(FUZZ_COMMON)
fuzz_fuzz_runfile_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_PLUGIN_PATH='"$(BUILD_PLUGIN_PATH)"'
fuzz_fuzz_runfile_LDADD = paper/libpaper.la $(RUN_LIBS)
fuzz_fuzz_runfile_LDFLAGS = $(FUZZ_LINK_FLAGS)
EXTRA_fuzz_fuzz_runfile_DEPENDENCIES = $(pkglib_LTLIBRARIES)

FUZZ_SECONDS = 60
FUZZ_JOBS = 2
EXTRA_DIST += fuzz/run.sh fuzz/seeds.sh fuzz/lsan.supp fuzz/yaml.dict fuzz/idx.dict fuzz/cifar.dict \
	fuzz/runfile.dict fuzz/corpus
CLEANFILES += $(FUZZ_HARNESSES)
.PHONY: fuzz
if SNM_FUZZ
fuzz:
	@FUZZ_TOP='$(abs_top_builddir)' FUZZ_SRC='$(abs_top_srcdir)' FUZZ_CC='$(FUZZ_CC)' \
	  FUZZ_SECONDS='$(FUZZ_SECONDS)' FUZZ_JOBS='$(FUZZ_JOBS)' \
	  FUZZ_HARNESSES='$(notdir $(FUZZ_HARNESSES))' MAKE='$(MAKE)' $(SHELL) '$(srcdir)/fuzz/run.sh'
else
fuzz:
	@echo "fuzz: SKIPPED: no compiler here links -fsanitize=fuzzer (configure tried FUZZ_CC='$(FUZZ_CC)';"
	@echo "fuzz: install clang (Debian: apt-get install clang, as ./bootstrap does) and run ./configure again)"
endif
clean-local:
	rm -rf fuzz-build
