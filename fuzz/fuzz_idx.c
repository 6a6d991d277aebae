/* fuzz_idx.c: libFuzzer harness of the IDX reader, the `idx` data plugin (plugins/data/idx.c,
 * compiled into this program and reached through its snm_plugin_entry as the runner does).
 *
 * Input: three option bytes, then the four files of a dataset directory cut at each "IDX|"
 * (FUZZ_SEP): train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
 * t10k-labels-idx1-ubyte, in that order; a file the input lacks is not there.
 *   byte 0   bits 0..3: file k is written as "<name>.gz" (zlib reads raw bytes under that name
 *            too, so a piece may be gzip or not); bit 4: option permute
 *   byte 1   option valid (0..255)
 *   byte 2   option classes (0 stands for 256)
 * An open that fails must be one line.  An open that succeeds must describe a dataset that
 * reads: info agrees with the options, every split's first and last examples read with values in
 * [0, 1] and labels in [0, classes), the labels of every split read, and indices out of range
 * are refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "snm/plugin.h"
#include "fuzz.h"

#define FUZZ_SEP "IDX|"

extern const snm_plugin snm_plugin_entry;   /* idx.c's */

static const char *const base[4] = { "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                     "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" };

/* Reads examples idx[0..n) of split s and checks what comes back. */
static void read_some(const snm_data_vt *vt, void *st, const snm_data_info *in, int s,
                      const long *idx, int n)
{
	const size_t D = (size_t)in->d[0] * in->d[1] * in->d[2];
	float *x = malloc((size_t)n * D * sizeof *x);
	int32_t y[2];
	snm_error e;
	if (x == NULL)
		fuzz_die("out of memory");
	snm_error_clear(&e);
	if (vt->read(st, s, idx, n, NULL, x, y, &e) != SNM_OK)
		fuzz_die("idx: reading split %d failed: %s", s, e.msg);
	for (size_t j = 0; j < (size_t)n * D; ++j)
		if (!(x[j] >= 0.0f && x[j] <= 1.0f))
			fuzz_die("idx: a value outside [0, 1]");
	for (int i = 0; i < n; ++i)
		if (y[i] < 0 || y[i] >= in->n_classes)
			fuzz_die("idx: label %d outside [0, %d)", y[i], in->n_classes);
	free(x);
}

static void use(const snm_data_vt *vt, void *st, long valid, int classes)
{
	snm_data_info in;
	snm_error e;
	vt->info(st, &in);
	if (in.n_d != 3 || in.d[0] != 1 || in.d[1] < 1 || in.d[2] < 1 || in.n_classes != classes
	    || in.n[SNM_SPLIT_VALID] != valid || in.n[SNM_SPLIT_TRAIN] < 1 || in.n[SNM_SPLIT_TEST] < 1)
		fuzz_die("idx: info does not fit the options (valid %ld, classes %d)", valid, classes);
	for (int s = 0; s < 3; ++s) {
		long idx[2] = { 0, in.n[s] - 1 }, bad = in.n[s];
		int32_t *y;
		if (in.n[s] == 0)
			continue;
		read_some(vt, st, &in, s, idx, 2);
		snm_error_clear(&e);
		if (vt->read(st, s, &bad, 1, NULL, NULL, NULL, &e) == SNM_OK)
			fuzz_die("idx: index %ld of split %d read", bad, s);
		fuzz_check_error(e.code, &e, "idx read");
		if ((y = malloc((size_t)in.n[s] * sizeof *y)) == NULL)
			fuzz_die("out of memory");
		snm_error_clear(&e);
		if (vt->labels(st, s, y, &e) != SNM_OK)
			fuzz_die("idx: the labels of split %d failed: %s", s, e.msg);
		for (long i = 0; i < in.n[s]; ++i)
			if (y[i] < 0 || y[i] >= classes)
				fuzz_die("idx: label %d outside [0, %d)", y[i], classes);
		free(y);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const snm_data_vt *vt = snm_plugin_entry.vtable;
	fuzz_part part[4];
	char path[1024], opts_text[1200];
	snm_cfg *opts = NULL;
	snm_error e;
	void *st = (void *)&st;   /* must become NULL on failure */
	size_t n;
	long valid;
	int classes, permute, rc;
	if (size < 3)
		return 0;
	valid = data[1];
	classes = data[2] ? data[2] : 256;
	permute = (data[0] >> 4) & 1;
	n = fuzz_split(data + 3, size - 3, FUZZ_SEP, part, 4);
	for (size_t k = 0; k < 4; ++k) {
		char gz[64];
		snprintf(gz, sizeof gz, "%s.gz", base[k]);
		fuzz_unlink(fuzz_path(path, sizeof path, base[k]));
		fuzz_unlink(fuzz_path(path, sizeof path, gz));
		if (k < n)
			fuzz_write(fuzz_path(path, sizeof path, (data[0] >> k) & 1 ? gz : base[k]), part[k].data,
			           part[k].size);
	}
	snprintf(opts_text, sizeof opts_text, "{dir: '%s', valid: %ld, classes: %d, permute: %s, "
	         "permute_seed: 7}", fuzz_dir(), valid, classes, permute ? "true" : "false");
	snm_error_clear(&e);
	if (snm_cfg_parse(opts_text, strlen(opts_text), "options", &opts, &e) != SNM_OK
	    || snm_cfg_check(opts, snm_plugin_entry.options, "data 'idx'", &e) != SNM_OK)
		fuzz_die("the harness's options do not check: %s", e.msg);
	snm_error_clear(&e);
	rc = vt->open(opts, &st, &e);
	fuzz_check_error(rc, &e, "idx open");
	if (rc != SNM_OK) {
		if (st != NULL)
			fuzz_die("idx open failed but left a state");
	} else {
		use(vt, st, valid, classes);
		vt->close(st);
	}
	snm_cfg_free(opts);
	return 0;
}
