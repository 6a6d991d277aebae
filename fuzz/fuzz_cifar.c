/* fuzz_cifar.c: libFuzzer harness of the CIFAR-10 reader, the `cifar10` data plugin
 * (plugins/data/cifar10.c, compiled into this program and reached through its snm_plugin_entry as
 * the runner does).
 *
 * Input: three option bytes, then the six files of a dataset directory cut at each "CIFAR|"
 * (FUZZ_SEP): data_batch_1.bin .. data_batch_5.bin, test_batch.bin, in that order; a file the
 * input lacks is not there.
 *   byte 0   option valid (0..255)
 *   byte 1   option crop, 1 + byte % 32
 *   byte 2   bit 0: a python-pickle "data_batch_1" beside the files (the reader's hint);
 *            bit 1: data_batch_3.bin is a directory, not a file
 * An open that fails must be one line.  An open that succeeds must describe a dataset that
 * reads: info agrees with the options, every split's first and last examples read, with the
 * augmentation stream and without, values in [0, 1] and labels in [0, 10), the labels of every
 * split read, and indices out of range are refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gsl/gsl_rng.h>
#include "snm/plugin.h"
#include "fuzz.h"

#define FUZZ_SEP "CIFAR|"
#define N_FILES 6

extern const snm_plugin snm_plugin_entry;   /* cifar10.c's */

static const char *const name[N_FILES] = { "data_batch_1.bin", "data_batch_2.bin",
                                           "data_batch_3.bin", "data_batch_4.bin",
                                           "data_batch_5.bin", "test_batch.bin" };
static gsl_rng *aug;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if ((aug = gsl_rng_alloc(gsl_rng_mt19937)) == NULL)
		fuzz_die("out of memory");
	(void)fuzz_dir();
	return 0;
}

static void read_some(const snm_data_vt *vt, void *st, const snm_data_info *in, int s, gsl_rng *r)
{
	const size_t D = (size_t)in->d[0] * in->d[1] * in->d[2];
	long idx[2] = { 0, in->n[s] - 1 };
	float *x = malloc(2 * D * sizeof *x);
	int32_t y[2];
	snm_error e;
	if (x == NULL)
		fuzz_die("out of memory");
	snm_error_clear(&e);
	if (vt->read(st, s, idx, 2, r, x, y, &e) != SNM_OK)
		fuzz_die("cifar10: reading split %d failed: %s", s, e.msg);
	for (size_t j = 0; j < 2 * D; ++j)
		if (!(x[j] >= 0.0f && x[j] <= 1.0f))
			fuzz_die("cifar10: a value outside [0, 1]");
	for (int i = 0; i < 2; ++i)
		if (y[i] < 0 || y[i] >= 10)
			fuzz_die("cifar10: label %d outside [0, 10)", y[i]);
	free(x);
}

static void use(const snm_data_vt *vt, void *st, long valid, int crop)
{
	snm_data_info in;
	snm_error e;
	vt->info(st, &in);
	if (in.n_d != 3 || in.d[0] != 3 || in.d[1] != crop || in.d[2] != crop || in.n_classes != 10
	    || in.n[SNM_SPLIT_VALID] != valid || in.n[SNM_SPLIT_TRAIN] < 1 || in.n[SNM_SPLIT_TEST] < 1)
		fuzz_die("cifar10: info does not fit the options (valid %ld, crop %d)", valid, crop);
	for (int s = 0; s < 3; ++s) {
		long bad = in.n[s];
		int32_t *y;
		if (in.n[s] == 0)
			continue;
		gsl_rng_set(aug, 1);
		read_some(vt, st, &in, s, aug);
		read_some(vt, st, &in, s, NULL);
		snm_error_clear(&e);
		if (vt->read(st, s, &bad, 1, NULL, NULL, NULL, &e) == SNM_OK)
			fuzz_die("cifar10: index %ld of split %d read", bad, s);
		fuzz_check_error(e.code, &e, "cifar10 read");
		if ((y = malloc((size_t)in.n[s] * sizeof *y)) == NULL)
			fuzz_die("out of memory");
		snm_error_clear(&e);
		if (vt->labels(st, s, y, &e) != SNM_OK)
			fuzz_die("cifar10: the labels of split %d failed: %s", s, e.msg);
		for (long i = 0; i < in.n[s]; ++i)
			if (y[i] < 0 || y[i] >= 10)
				fuzz_die("cifar10: label %d outside [0, 10)", y[i]);
		free(y);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const snm_data_vt *vt = snm_plugin_entry.vtable;
	fuzz_part part[N_FILES];
	char path[1024], opts_text[1200];
	snm_cfg *opts = NULL;
	snm_error e;
	void *st = (void *)&st;   /* must become NULL on failure */
	size_t n;
	long valid;
	int crop, rc;
	if (size < 3)
		return 0;
	valid = data[0];
	crop = 1 + data[1] % 32;
	n = fuzz_split(data + 3, size - 3, FUZZ_SEP, part, N_FILES);
	fuzz_path(path, sizeof path, "data_batch_3.bin");
	rmdir(path);
	for (size_t k = 0; k < N_FILES; ++k) {
		fuzz_unlink(fuzz_path(path, sizeof path, name[k]));
		if (k < n)
			fuzz_write(path, part[k].data, part[k].size);
	}
	fuzz_path(path, sizeof path, "data_batch_1");
	if (data[2] & 1)
		fuzz_write(path, (const uint8_t *)"", 0);
	else
		fuzz_unlink(path);
	if (data[2] & 2) {
		fuzz_unlink(fuzz_path(path, sizeof path, "data_batch_3.bin"));
		if (mkdir(path, 0700) != 0)
			fuzz_die("cannot make %s", path);
	}
	snprintf(opts_text, sizeof opts_text, "{dir: '%s', valid: %ld, crop: %d}", fuzz_dir(), valid,
	         crop);
	snm_error_clear(&e);
	if (snm_cfg_parse(opts_text, strlen(opts_text), "options", &opts, &e) != SNM_OK
	    || snm_cfg_check(opts, snm_plugin_entry.options, "data 'cifar10'", &e) != SNM_OK)
		fuzz_die("the harness's options do not check: %s", e.msg);
	snm_error_clear(&e);
	rc = vt->open(opts, &st, &e);
	fuzz_check_error(rc, &e, "cifar10 open");
	if (rc != SNM_OK) {
		if (st != NULL)
			fuzz_die("cifar10 open failed but left a state");
	} else {
		use(vt, st, valid, crop);
		vt->close(st);
	}
	snm_cfg_free(opts);
	return 0;
}
