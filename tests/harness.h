/* harness.h: the shared CUnit runner of snm's test programs.
 *
 * Every test program ends with `return snm_test_run("test_tape", suites);`: it runs the suites
 * verbosely, prints one closing line "test_tape: N passed, N failed" (tests, not asserts; with
 * ", N skipped" appended when a test skipped), and returns non-zero when any test failed --
 * CU_basic_run_tests() itself only reports framework errors, so the exit status is taken from the
 * failure count.  Skipped tests do not change the exit status. */
#ifndef SNM_TEST_HARNESS_H
#define SNM_TEST_HARNESS_H

#include <CUnit/CUnit.h>
#include <stddef.h>

int snm_test_run(const char *prog, CU_SuiteInfo *suites);

/* Marks the running test as skipped and prints "SKIPPED: why".  Call it before any assertion and
 * return: snm_test_run counts the test as skipped, not passed (CUnit 2.1's own verbose line still
 * ends in "passed"; the closing line is the count). */
void snm_test_skip(const char *why);

/* Path of a file under tests/ in the source tree ($SNM_TEST_SRCDIR, or "tests" when unset),
 * written into buf; returns buf. */
char *snm_test_src(char *buf, size_t size, const char *rel);

/* A fresh empty directory for this test (under $TMPDIR or /tmp), written into buf; returns buf or
 * NULL on failure.  Removed by snm_test_rmtree. */
char *snm_test_tmpdir(char *buf, size_t size, const char *tag);
int snm_test_rmtree(const char *dir);

/* 1 when the two files have identical bytes. */
int snm_test_files_equal(const char *a, const char *b);

/* Float comparison used across suites: |a - b| <= atol + rtol |b|. */
#define SNM_ASSERT_CLOSE(a, b, atol, rtol) \
	CU_ASSERT(fabs((double)(a) - (double)(b)) <= (atol) + (rtol) * fabs((double)(b)))

#endif
