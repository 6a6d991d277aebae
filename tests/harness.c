/* harness.c: the shared CUnit runner and small file helpers (see harness.h). */
#include <CUnit/Basic.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "harness.h"

static unsigned n_skipped;          /* tests that called snm_test_skip */
static CU_pTest last_skipped;
static const char *prog_name = "test";

const char *snm_test_prog(void)
{
	return prog_name;
}

void snm_test_skip(const char *why)
{
	CU_pTest t = CU_get_current_test();
	if (t == NULL || t != last_skipped) {
		++n_skipped;
		last_skipped = t;
	}
	printf("\n    SKIPPED: %s\n    ", why);
	fflush(stdout);
}

int snm_test_run(const char *prog, CU_SuiteInfo *suites)
{
	unsigned run, failed, passed;
	prog_name = prog;
	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "%s: cannot initialise CUnit: %s\n", prog, CU_get_error_msg());
		return 1;
	}
	if (CU_register_suites(suites) != CUE_SUCCESS) {
		fprintf(stderr, "%s: cannot register suites: %s\n", prog, CU_get_error_msg());
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS) {
		fprintf(stderr, "%s: CUnit error: %s\n", prog, CU_get_error_msg());
		CU_cleanup_registry();
		return 1;
	}
	run = CU_get_number_of_tests_run();
	failed = CU_get_number_of_tests_failed() + CU_get_number_of_suites_failed();
	passed = run - CU_get_number_of_tests_failed();
	passed = passed > n_skipped ? passed - n_skipped : 0;
	if (n_skipped > 0)
		printf("\n%s: %u passed, %u failed, %u skipped\n", prog, passed, failed, n_skipped);
	else
		printf("\n%s: %u passed, %u failed\n", prog, passed, failed);
	CU_cleanup_registry();
	return failed != 0;
}

char *snm_test_src(char *buf, size_t size, const char *rel)
{
	const char *dir = getenv("SNM_TEST_SRCDIR");
	snprintf(buf, size, "%s/%s", dir ? dir : "tests", rel);
	return buf;
}

char *snm_test_tmpdir(char *buf, size_t size, const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(buf, size, "%s/snm-%s-XXXXXX", tmp ? tmp : "/tmp", tag);
	return mkdtemp(buf);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

int snm_test_rmtree(const char *dir)
{
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int snm_test_files_equal(const char *a, const char *b)
{
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	int eq = fa && fb;
	while (eq) {
		int ca = fgetc(fa), cb = fgetc(fb);
		if (ca != cb)
			eq = 0;
		if (ca == EOF || cb == EOF)
			break;
	}
	if (fa) fclose(fa);
	if (fb) fclose(fb);
	return eq;
}
