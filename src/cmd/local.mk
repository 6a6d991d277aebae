# src/cmd: the `snm` command -- snm.c (options, dispatch, run, check, plugins) and one file per
# other subcommand (compact, verify, fetch, paper), the argument checks they share (args.c),
# whole run files (runfile.c) and the dataset fetcher (fetcher.c: curl, tar, checksums).
bin_PROGRAMS += snm
snm_SOURCES = src/cmd/snm.c src/cmd/args.c src/cmd/args.h src/cmd/compact.c src/cmd/verify.c \
	src/cmd/fetch.c src/cmd/fetcher.c src/cmd/fetcher.h src/cmd/paper.c src/cmd/runfile.c \
	src/cmd/runfile.h
snm_CPPFLAGS = $(AM_CPPFLAGS) $(CRYPTO_CFLAGS)
snm_LDADD = paper/libpaper.la $(RUN_LIBS) $(ZLIB_LIBS) $(CRYPTO_LIBS)
