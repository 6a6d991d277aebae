# src/cmd: the `snm` command -- snm.c (options, dispatch, run, check, plugins) and one file per
# other subcommand (compact, verify, fetch, paper), the argument checks they share (args.c),
# whole run files (runfile.c) and the dataset fetcher (fetcher.c).
snminclude_HEADERS += include/snm/fetch.h
src_core_libsnm_la_SOURCES += src/cmd/fetcher.c
bin_PROGRAMS += snm
snm_SOURCES = src/cmd/snm.c src/cmd/args.c src/cmd/args.h src/cmd/compact.c src/cmd/verify.c \
	src/cmd/fetch.c src/cmd/paper.c src/cmd/runfile.c src/cmd/runfile.h
snm_CPPFLAGS = $(AM_CPPFLAGS) $(CRYPTO_CFLAGS)
snm_LDADD = src/core/libsnm.la $(GSL_LIBS) $(OPENBLAS_LIBS) $(CRYPTO_LIBS)
