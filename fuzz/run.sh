#!/bin/sh
# fuzz/run.sh: what `make fuzz` runs (fuzz/local.mk passes its settings in the environment):
# builds the libFuzzer harnesses in a build of their own and runs each for FUZZ_SECONDS.
#
#   FUZZ_TOP        the build tree (abs_top_builddir): `make distdir` runs there, and the work
#                   directory is FUZZ_TOP/fuzz-build
#   FUZZ_SRC        the source tree (abs_top_srcdir): the seeds fuzz/corpus/<harness>/ and the
#                   dictionaries fuzz/*.dict
#   FUZZ_CC         the compiler (clang: -fsanitize=fuzzer)
#   FUZZ_SECONDS    seconds per harness
#   FUZZ_HARNESSES  the harnesses' names (fuzz_config ...)
#   FUZZ_JOBS       make -j for the build (default 2)
#   MAKE            make
#
# The build: `make distdir` copies the distributed sources to fuzz-build/src (files whose bytes
# did not change keep their time, so a second `make fuzz` rebuilds only what changed), configured
# out of tree in fuzz-build/obj with FUZZ_CC, -fsanitize=fuzzer-no-link,address,undefined on
# every object (libsnm, librun, libpaper and the plugins too, so libFuzzer sees their coverage and
# the sanitizers their faults; UBSan stops at its first report) and without OpenMP (clang needs
# libomp for it); the harnesses alone link -fsanitize=fuzzer.  A copy, because configure refuses
# to build out of a source tree that is configured in place, as the README's commands leave it.
#
# A run: libFuzzer with -timeout=1 (an input slower than a second is a finding), -rss_limit_mb=2048
# (and so malloc_limit_mb, but for fuzz_runfile: one allocation above 2 GiB is a finding), the
# committed seeds
# fuzz/corpus/<harness>/ read first and left unchanged, new inputs kept in fuzz-build/corpus/
# <harness>/ for the next run, finding inputs written to fuzz-build/crashes/<harness>/, the log in
# fuzz-build/<harness>.log, TMPDIR a directory of its own removed afterwards (the harnesses'
# scratch files, also when a crash left them).  One line per harness: inputs run, inputs per
# second, and what was found: the inputs the harness's log names.  (The run-file readers' probing
# child, which libFuzzer's handlers follow into the fork, leaves there the inputs that crashed
# libhdf5 in it: counted, not findings, as the readers gave their one line for each.)  Exit status
# 1 when any harness found anything (crash, timeout, leak, out of memory) or could not be built or
# run, 0 otherwise.  Leaks inside libhdf5 on damaged files are suppressed (fuzz/lsan.supp), and an
# allocation the system cannot give returns NULL as it does without AddressSanitizer
# (allocator_may_return_null: libhdf5 asking for 28 GB for a forged string fails cleanly, in one
# line); one that it could give but exceeds 2 GiB is still a finding.
set -u
: "${FUZZ_TOP:?}" "${FUZZ_SRC:?}" "${FUZZ_CC:=clang}" "${FUZZ_SECONDS:=60}" "${FUZZ_HARNESSES:?}"
: "${FUZZ_JOBS:=2}" "${MAKE:=make}"
work=$FUZZ_TOP/fuzz-build
san="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
cflags="-g -O1 -fno-omit-frame-pointer $san"
ldflags="-fsanitize=address,undefined"

die() { echo "fuzz: $*"; exit 1; }

case $FUZZ_SECONDS in
	''|*[!0-9]*|0) die "FUZZ_SECONDS must be a whole number of seconds above 0 (got '$FUZZ_SECONDS')" ;;
esac
mkdir -p "$work" || die "cannot make $work"

# ---- the sources: a copy of the distribution, changed files only ------------------------------
rm -rf "$work/dist.new"
( cd "$FUZZ_TOP" && $MAKE distdir distdir="$work/dist.new" ) > "$work/distdir.log" 2>&1 \
	|| { tail -n 20 "$work/distdir.log"; die "make distdir failed (log: $work/distdir.log)"; }
if [ ! -d "$work/src" ]; then
	mv "$work/dist.new" "$work/src" || die "cannot move the sources into $work/src"
else
	( cd "$work/dist.new" && find . -type f ) | while IFS= read -r f; do
		if ! cmp -s "$work/dist.new/$f" "$work/src/$f"; then
			mkdir -p "$(dirname "$work/src/$f")" && cp -p "$work/dist.new/$f" "$work/src/$f" \
				|| { echo "fuzz: cannot copy $f"; exit 1; }
		fi
	done || exit 1
	rm -rf "$work/dist.new"
fi

# ---- configure (again when the compiler or the flags changed) and build -----------------------
stamp="$FUZZ_CC | $cflags | $ldflags"
old_stamp=$(cat "$work/obj/fuzz-configure.stamp" 2>/dev/null)
if [ ! -f "$work/obj/Makefile" ] || [ "$old_stamp" != "$stamp" ]; then
	rm -rf "$work/obj"
	mkdir -p "$work/obj" || die "cannot make $work/obj"
	echo "fuzz: configuring the fuzzing build in $work/obj ($FUZZ_CC, $san)"
	( cd "$work/obj" && ../src/configure --disable-openmp CC="$FUZZ_CC" CFLAGS="$cflags" \
	  LDFLAGS="$ldflags" ) > "$work/configure.log" 2>&1 \
		|| { tail -n 20 "$work/configure.log"; die "configure failed (log: $work/configure.log)"; }
	echo "$stamp" > "$work/obj/fuzz-configure.stamp"
fi
targets=""
for h in $FUZZ_HARNESSES; do targets="$targets fuzz/$h"; done
echo "fuzz: building$targets"
$MAKE -C "$work/obj" -j"$FUZZ_JOBS" $targets > "$work/build.log" 2>&1 \
	|| { tail -n 30 "$work/build.log"; die "the build failed (log: $work/build.log)"; }

# ---- the runs ------------------------------------------------------------------------------------
found=0
for h in $FUZZ_HARNESSES; do
	seeds=$FUZZ_SRC/fuzz/corpus/$h
	corpus=$work/corpus/$h
	crashes=$work/crashes/$h
	scratch=$work/tmp/$h
	log=$work/$h.log
	case $h in
		fuzz_config|fuzz_pipeline) dict=$FUZZ_SRC/fuzz/yaml.dict ;;
		*) dict=$FUZZ_SRC/fuzz/${h#fuzz_}.dict ;;
	esac
	[ -f "$dict" ] && dictopt="-dict=$dict" || dictopt=""
	# libhdf5 asks for gigabytes it never touches for some forged run files (a local heap's size,
	# say): lazy, harmless without the sanitizers (the read fails on the next check, at 18 MB),
	# and not snm's to bound; for that harness only the resident size (rss_limit) counts
	limits="-rss_limit_mb=2048"
	[ "$h" = fuzz_runfile ] && limits="$limits -malloc_limit_mb=65536"
	[ -d "$seeds" ] || { echo "fuzz: $h: no seeds in $seeds"; found=1; continue; }
	rm -rf "$crashes" "$scratch"
	mkdir -p "$corpus" "$crashes" "$scratch" || die "cannot make the directories of $h"
	# (in a subshell whose stderr is dropped: the shell's own "Aborted" when a harness aborts)
	( TMPDIR=$scratch OPENBLAS_NUM_THREADS=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		LSAN_OPTIONS=suppressions="$FUZZ_SRC/fuzz/lsan.supp":print_suppressions=0 \
		ASAN_OPTIONS=allocator_may_return_null=1 \
		"$work/obj/fuzz/$h" -max_total_time="$FUZZ_SECONDS" -timeout=1 $limits \
		-print_final_stats=1 -close_fd_mask=1 -artifact_prefix="$crashes/" $dictopt \
		"$corpus" "$seeds" < /dev/null > "$log" 2>&1 ) 2>/dev/null
	rc=$?
	rm -rf "$scratch"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	units=$(ls "$corpus" | wc -l)
	# the harness's own findings are the inputs its log names; other files there were written by
	# a child process of the readers (the run-file readers' probe: libhdf5 crashed in the child,
	# libFuzzer's handlers, inherited, kept the input, and the reader gave its one line)
	artifacts=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log")
	children=$(ls "$crashes" | wc -l)
	for a in $artifacts; do [ -f "$a" ] && children=$((children - 1)); done
	[ "$children" -gt 0 ] && note=", $children crashing libhdf5 in the readers' probing child" \
		|| note=""
	if [ "$rc" -eq 0 ] && [ -z "$artifacts" ]; then
		echo "fuzz: $h: ${execs:-?} inputs in ${secs:-?} s (${rate:-?}/s), corpus $units inputs$note," \
			"nothing found"
		continue
	fi
	found=1
	echo "fuzz: $h: FOUND after ${execs:-?} inputs (exit status $rc; log: $log)"
	grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz: )|runtime error|ALARM: working on the last Unit' "$log" \
		| head -n 4 | sed 's/^/fuzz:     /'
	for a in $artifacts; do echo "fuzz:     input: $a"; done
	[ -n "$artifacts" ] || echo "fuzz:     (no input was kept: see the log)"
done
if [ "$found" -ne 0 ]; then
	echo "fuzz: FAILED: a harness found something or did not run (reproduce: $work/obj/fuzz/<harness>" \
		"<input>)"
	exit 1
fi
echo "fuzz: every harness ran $FUZZ_SECONDS s and found nothing"
