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
#include "snm/plugin.h"

int snm_test_run(const char *prog, CU_SuiteInfo *suites);

/* The program name given to snm_test_run ("test" before it is called), for messages. */
const char *snm_test_prog(void);

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

/* The plugin of kind `kind` (SNM_KIND_MODEL, _NOISE, _DATA) named `name`, found on the search path
 * ($SNM_PLUGIN_PATH, then the install directory: snm_plugin_find with no extra directories) and
 * kept open for the rest of the process, so each (kind, name) is looked up once.  NULL when it is
 * not found, after one line "PROG: <the loader's message>" on stderr; NULL as well, with a line,
 * past 16 distinct plugins.  Defined in harness_plugin.c, its own object in libharness.a: only a
 * program that calls it links the loader (librun), so the programs that link libsnm's objects
 * alone (test_par, test_im2col) still link. */
const snm_plugin *snm_test_plugin(int kind, const char *name);

/* A model and a regularizer, each made by its plugin from YAML text, as the plugin tests build
 * them.  The model's parameters and the regularizer's share one registry and one init stream. */
typedef struct snm_test_pair {
	snm_cfg *mcfg, *ncfg;     /* the parsed options ("m.yaml", "n.yaml") */
	snm_params *params;
	gsl_rng *init;            /* snm_rng_new(seed): the model's create draws first, then the noise's */
	snm_model model;
	const snm_noise_vt *nvt;
	void *ns;                 /* the regularizer's state; NULL when its create failed */
	snm_error err;            /* the regularizer's create's error */
	int rc;                   /* the regularizer's create's result */
} snm_test_pair;

/* Zeroes f, then creates model plugin `model` from model_yaml on examples described by `in` and
 * noise plugin `noise` from noise_yaml on that model.  Returns 0 when both plugins were found, both
 * texts parsed and the model was created, whatever the regularizer's create returned (f->rc,
 * f->err: option errors are tested through it); -1 otherwise, after one line "PROG: what failed:
 * message" on stderr.  snm_test_pair_free releases what was made in either case.  In
 * harness_plugin.c, as snm_test_plugin. */
int snm_test_pair_new(snm_test_pair *f, const char *model, const char *model_yaml, const char *noise,
                      const char *noise_yaml, const snm_data_info *in, uint64_t seed);
void snm_test_pair_free(snm_test_pair *f);

/* A pair's objective at its current parameters, as gc_central_param's loss (gradcheck.h): build
 * makes it on tape t (reset first) from the test's own batch, semi-supervised when semi, the
 * noise stream seeded `seed` each time; snm_test_point_loss(point) returns its value, NAN when
 * build returned NULL. */
typedef snm_tensor *(*snm_test_build_fn)(snm_test_pair *f, snm_tape *t, int semi, uint64_t seed,
                                         snm_objective *o);
typedef struct snm_test_point {
	snm_test_build_fn build;
	snm_test_pair *f;
	snm_tape *t;
	int semi;
	uint64_t seed;
	snm_objective o;          /* build's terms, overwritten by every call */
} snm_test_point;

double snm_test_point_loss(void *point);

/* Float comparison used across suites: |a - b| <= atol + rtol |b|. */
#define SNM_ASSERT_CLOSE(a, b, atol, rtol) \
	CU_ASSERT(fabs((double)(a) - (double)(b)) <= (atol) + (rtol) * fabs((double)(b)))

#endif
