# src/cmd: the `snm` command -- snm.c (options, dispatch) and one file per subcommand (run, check,
# plugins, compact, verify, fetch, paper, status, report), what they share (cmd.h: check.c's run
# selection and error line; args.c: argument checks; help.c: the help texts), what snm run shows
# while it trains (console.c), whole run files (runfile.c), the dataset fetcher (fetcher.c:
# curl, tar, checksums), the cost model's estimates, schedules and shard plans (plan.c), and
# mpirun's ranks (mpi.c, where configure found MPI).
bin_PROGRAMS += snm
snm_SOURCES = src/cmd/snm.c src/cmd/cmd.h src/cmd/run.c src/cmd/console.c src/cmd/console.h \
	src/cmd/check.c src/cmd/plugins.c src/cmd/help.c src/cmd/help.h \
	src/cmd/args.c src/cmd/args.h src/cmd/compact.c src/cmd/verify.c \
	src/cmd/fetch.c src/cmd/fetcher.c src/cmd/fetcher.h src/cmd/paper.c src/cmd/runfile.c \
	src/cmd/runfile.h src/cmd/status.c src/cmd/report.c src/cmd/plan.c
snm_CPPFLAGS = $(AM_CPPFLAGS) $(CRYPTO_CFLAGS) $(MPI_CFLAGS)
snm_LDADD = paper/libpaper.la $(RUN_LIBS) $(ZLIB_LIBS) $(CRYPTO_LIBS) $(MPI_LIBS)
# mpirun -n N snm run: only where configure found MPI (--without-mpi: not built)
if SNM_MPI
snm_SOURCES += src/cmd/mpi.c
endif
