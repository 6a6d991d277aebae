# lib.sh: the start, the counting and the end that shell tests share.  A test sources it first:
#
#     set -u
#     . "${SNM_TEST_SRCDIR:?}/lib.sh"
#     test_begin progress
#     ...
#     check "what it shows" $? "$tmp/log"
#     test_end
#
# test_begin TAG: sets test_name (the script's name less .sh: it starts the summary and skip lines),
#   top (the build tree, $SNM_TEST_TOPBUILDDIR), tmp (a new directory snm-TAG-XXXXXX under
#   $TMPDIR or /tmp, removed on exit by the EXIT trap set here: a test that needs more in its trap
#   replaces it, keeping the rm -rf "$tmp"), and the counters passed and failed at 0.
# pass WHAT, fail WHAT: count WHAT as passed or failed and print "PASS: WHAT" or "FAIL: WHAT".
# check WHAT RC [LOG]: pass WHAT when RC is 0; else fail it and show the last 8 lines of LOG.
# abort WHAT LOG: fail WHAT, show the last 5 lines of LOG and end the test (test_end): for a step
#   that the rest of the test needs.
# need_h5tools: exits 77 (skipped), saying so, without h5dump and h5diff (hdf5-tools).
# need_setsid: the same without setsid or env --default-signal (coreutils 8.31).
# test_end: prints "NAME: N passed, N failed" and exits 0 when none failed, 1 otherwise.
# write_idx DIR: small IDX files in DIR (MNIST's format and names: 90 training and 30 test images
#   of 4x4, pixel i of the split (7 i) mod 256, labels i mod 3), for the `idx` data plugin.
# A test with counters of its own may source this file for its helpers alone and define its own
#   pass, fail and check after it.

test_begin() {
	test_name=${0##*/}
	test_name=${test_name%.sh}
	top=${SNM_TEST_TOPBUILDDIR:?}
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/snm-$1-XXXXXX") || exit 1
	trap 'rm -rf "$tmp"' EXIT
	passed=0
	failed=0
}

pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }
check() {
	if [ "$2" -eq 0 ]; then
		pass "$1"
	else
		fail "$1"
		if [ -n "${3:-}" ]; then sed 's/^/  | /' "$3" | tail -n 8; fi
	fi
}

abort() {
	fail "$1"
	sed 's/^/  | /' "$2" | tail -n 5
	test_end
}

need_h5tools() {
	if ! command -v h5dump >/dev/null 2>&1 || ! command -v h5diff >/dev/null 2>&1; then
		echo "$test_name: h5dump or h5diff not found (hdf5-tools): skipped"
		exit 77
	fi
}

need_setsid() {
	if ! command -v setsid >/dev/null 2>&1 || ! env --default-signal=INT true 2>/dev/null; then
		echo "$test_name: setsid or env --default-signal (coreutils 8.31) not found: skipped"
		exit 77
	fi
}

test_end() {
	echo "$test_name: $passed passed, $failed failed"
	[ "$failed" -eq 0 ] && exit 0
	exit 1
}

write_idx() {
	perl -e 'sub put { open(my $f, ">", $_[0]) or die "$_[0]: $!"; binmode $f; print $f $_[1]; close $f }
	         for my $s (["train", 90], ["t10k", 30]) {
	             my ($p, $n) = @$s;
	             put("$ARGV[0]/$p-images-idx3-ubyte", pack("N4", 2051, $n, 4, 4)
	                 . join("", map { chr(($_ * 7) % 256) } 0 .. $n * 16 - 1));
	             put("$ARGV[0]/$p-labels-idx1-ubyte", pack("N2", 2049, $n)
	                 . join("", map { chr($_ % 3) } 0 .. $n - 1));
	         }' "$1"
}
