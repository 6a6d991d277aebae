#!/bin/sh
# kill9.sh: the long `kill -9` check, never run by `make check` (which kills 5 times): 100 kills
# at random moments of a tiny two-run pipeline, each followed by a check that every run file
# opens, then a last `snm run` and a bitwise comparison with an uninterrupted run
# (tests/test_kill9.sh does the work; about 3 minutes).
#
# Usage: bench/kill9.sh [BUILDDIR] [KILLS]     (BUILDDIR: where snm was built, default .;
#                                               KILLS: default 100)
# Environment: SNM_KILL_SEED replays the moments of an earlier run (it prints its seed).
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-.}" && pwd)
if [ ! -x "$build/snm" ]; then
	echo "kill9.sh: no snm in $build (build first, or name the build directory)" >&2
	exit 2
fi
SNM_TEST_TOPBUILDDIR=$build
SNM_TEST_SRCDIR=$here/../tests     # tests/lib.sh
SNM_PLUGIN_PATH=$build/plugins/models/.libs:$build/plugins/noise/.libs:$build/plugins/data/.libs
SNM_KILLS=${2:-100}
export SNM_TEST_TOPBUILDDIR SNM_TEST_SRCDIR SNM_PLUGIN_PATH SNM_KILLS
exec sh "$here/../tests/test_kill9.sh"
