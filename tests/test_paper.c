/* test_paper.c: the paper stage.  Tables: run files written here with snm_store_save in the
 * trainer's layout, the stage run on the real paper/tables.yaml, and the cells read back from the
 * CSV and compared with means and standard deviations computed here by plain loops; the
 * "missing k/n" and "unfinished k/n" marks, the best-in-column mark (ties, incomplete cells
 * excluded), the per-set layout, the population std, spec errors at file:line:col, the command.
 * Paired comparisons: runs with known errors, the paired t interval against closed-form t
 * quantiles, the verdict only where it excludes 0, n over the sets where both runs are finished
 * (n = 1 without an interval, n = 0 naming the missing runs), the summary sentences, the
 * ablation rows, and their spec errors.
 * Figures: one tiny proposed-base run trained on the synthetic data plugin; the rebuilt network
 * reproduces the run's recorded training error (so the subset, its mean and the weights are the
 * trainer's), the perturbations have the noise they should; every PNG is decoded here (zlib +
 * PNG filters) and checked for its size and for content (distinct colours, the colours the
 * figure draws with); without gnuplot the figures are one note each and the tables still come.
 * t-SNE: PCA against a power iteration, determinism per seed, and separation of Gaussian
 * clusters (nearest-neighbour label agreement) by the exact and the Barnes-Hut variants. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <gsl/gsl_randist.h>
#include "harness.h"
#include "paper/paper.h"
#include "run/pipeline.h"
#include "run/run.h"
#include "snm/rng.h"
#include "run/store.h"
#include "run/trainer.h"
#include "paper/tsne.h"

int snm_cmd_paper(int argc, char **argv);

static char tmp[512], results[600], out[600], spec_real[600];

/* ---- small helpers --------------------------------------------------------------------------- */

static void mkdirs(const char *path)
{
	char p[1024];
	snprintf(p, sizeof p, "%s", path);
	for (char *s = p + 1; *s; ++s)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0777);
			*s = '/';
		}
	mkdir(p, 0777);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;
	long n;
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n + 1);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	if (b)
		b[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return b;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static int exists(const char *dir, const char *name)
{
	char p[1200];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

/* Saves results/<key>.h5 in the trainer's layout: the strings status, config ("{}") and run_key,
 * the n_int integers named in_names, and the metrics m (freed here).  what names the caller in the
 * line a failure prints. */
static void save_run(const char *what, const char *key, const char *status, snm_metrics *m, int n_int,
                     const char *const *int_names, const int64_t *int_values)
{
	const char *sn[] = { "status", "config", "run_key" };
	const char *sv[3] = { status, "{}", key };
	char path[1200], dir[1200];
	snm_store_run run;
	snm_error e;
	snprintf(path, sizeof path, "%s/%s.h5", results, key);
	snprintf(dir, sizeof dir, "%s", path);
	*strrchr(dir, '/') = '\0';
	mkdirs(dir);
	memset(&run, 0, sizeof run);
	run.n_str = 3;
	run.str_names = sn;
	run.str_values = sv;
	run.n_int = n_int;
	run.int_names = int_names;
	run.int_values = int_values;
	run.metrics = m;
	if (snm_store_save(path, &run, &e) != SNM_OK)
		fprintf(stderr, "%s %s: %s\n", what, key, e.msg);
	snm_metrics_free(m);
}

/* A run file with metrics of epochs 1..3, a valid error per epoch, best_valid_error, test_error
 * and test_at_best (the result at the last row), and seed_subset (none when it is < 0). */
static void write_run_seed(const char *key, const char *status, double result, int64_t seed_subset)
{
	const char *cols[] = { "epoch", "valid_error", "best_valid_error", "test_error", "test_at_best" };
	const char *in[] = { "seed_subset" };
	const int64_t iv[1] = { seed_subset };
	snm_metrics *m = snm_metrics_new(5, cols, NULL);
	for (int i = 0; i < 3; ++i) {
		double row[5] = { i + 1, 60 - 10 * i + result / 10, 60 - 10 * i + result / 10, i == 2 ? result : NAN, result };
		snm_metrics_append(m, row, NULL);
	}
	save_run("write_run", key, status, m, seed_subset < 0 ? 0 : 1, in, iv);
}

/* As the trainer draws it, the training subset of a run depends on its set, not its experiment:
 * every fabricated run of set k has seed_subset 1000 + k (a full run 0). */
static void write_run(const char *key, const char *status, double result)
{
	const char *set = strstr(key, "/set");
	write_run_seed(key, status, result, set ? 1000 + atoi(set + 4) : 0);
}

/* Notes and written files of one stage run. */
enum { LOG_MAX = 128 };
typedef struct log {
	int wrote, notes;
	char text[LOG_MAX][400];
	int n;
} log_t;

static void collect(void *ctx, int kind, const char *text)
{
	log_t *l = ctx;
	if (kind == SNM_PAPER_WROTE)
		l->wrote++;
	else
		l->notes++;
	if (l->n < LOG_MAX)
		snprintf(l->text[l->n++], sizeof l->text[0], "%s %s", kind == SNM_PAPER_WROTE ? "wrote" : "note", text);
}

static int log_count(const log_t *l, const char *needle)
{
	int n = 0;
	for (int i = 0; i < l->n; ++i)
		n += strstr(l->text[i], needle) != NULL;
	return n;
}

/* How many times needle occurs in text. */
static int count_of(const char *text, const char *needle)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		++n;
	return n;
}

/* o for one stage run of spec on the run files under res, writing into outdir, every note and
 * written file collected into *lg (zeroed first). */
static void stage_opts(snm_paper_opts *o, const char *spec, const char *res, const char *outdir,
                       log_t *lg)
{
	memset(o, 0, sizeof *o);
	memset(lg, 0, sizeof *lg);
	o->spec = spec;
	o->results = res;
	o->out = outdir;
	o->note = collect;
	o->ctx = lg;
}

/* ---- CSV ------------------------------------------------------------------------------------- */

enum { C_TABLE, C_BLOCK, C_ROW, C_LABEL, C_COLUMN, C_RUNS, C_FIN, C_ABSENT, C_UNFIN, C_BAD, C_MEAN,
       C_STD, C_PMEAN, C_PSTD, C_DIFF, C_BEST, C_N };

/* The line of out/<id>.csv with n_fields fields whose field cols[i] is vals[i] for every i < n,
 * split into f (quotes as the stage writes them); 0 when found. */
static int csv_find(const char *id, int n_fields, int n, const int *cols, const char *const *vals,
                    char f[][128])
{
	char path[1200], line[2048];
	FILE *fp;
	snprintf(path, sizeof path, "%s/%s.csv", out, id);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, fp)) {
		int k = 0, q = 0, match = 1;
		size_t j = 0;
		line[strcspn(line, "\n")] = '\0';
		for (char *s = line;; ++s) {
			if (*s == '"' && !q) { q = 1; continue; }
			if (*s == '"' && q) {
				if (s[1] == '"') { if (j < 127) f[k][j++] = '"'; ++s; continue; }
				q = 0;
				continue;
			}
			if ((*s == ',' && !q) || *s == '\0') {
				f[k][j] = '\0';
				j = 0;
				if (++k == n_fields || *s == '\0')
					break;
				continue;
			}
			if (j < 127)
				f[k][j++] = *s;
		}
		for (int i = 0; i < n && k == n_fields; ++i)
			match = match && strcmp(f[cols[i]], vals[i]) == 0;
		if (k == n_fields && match) {
			fclose(fp);
			return 0;
		}
	}
	fclose(fp);
	return -1;
}

/* The fields of the CSV line of (block, row, column) of a mean/sets table; 0 when found. */
static int csv_cell(const char *id, const char *block, const char *row, const char *column, char f[C_N][128])
{
	const int cols[3] = { C_BLOCK, C_ROW, C_COLUMN };
	const char *const vals[3] = { block, row, column };
	return csv_find(id, C_N, 3, cols, vals, f);
}

static double num(const char *s)
{
	return *s ? strtod(s, NULL) : NAN;
}

/* mean and sample / population std by plain loops (the reference for GSL's). */
static double ref_mean(const double *v, int n)
{
	double s = 0;
	for (int i = 0; i < n; ++i)
		s += v[i];
	return s / n;
}

static double ref_std(const double *v, int n, int population)
{
	double m = ref_mean(v, n), s = 0;
	for (int i = 0; i < n; ++i)
		s += (v[i] - m) * (v[i] - m);
	return sqrt(s / (population ? n : n - 1));
}

/* ---- PNG ------------------------------------------------------------------------------------- */

typedef struct image {
	int w, h;
	unsigned char *rgb;        /* w*h*3 */
} image;

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c)
{
	int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Decodes an 8-bit, non-interlaced PNG (grey, RGB, grey+alpha or RGBA) into RGB; 0 on success. */
static int png_read(const char *path, image *img)
{
	size_t len, pos = 8, n_idat = 0;
	unsigned char *f = (unsigned char *)slurp(path, &len), *idat = NULL, *raw = NULL;
	int w = 0, h = 0, depth = 0, ctype = -1, inter = 0, ch, rc = -1;
	static const unsigned char sig[8] = { 137, 'P', 'N', 'G', 13, 10, 26, 10 };
	memset(img, 0, sizeof *img);
	if (f == NULL || len < 8 || memcmp(f, sig, 8) != 0)
		goto done;
	idat = malloc(len);
	while (pos + 12 <= len) {
		uint32_t n = be32(f + pos);
		const unsigned char *type = f + pos + 4, *d = f + pos + 8;
		if (pos + 12 + n > len)
			goto done;
		if (!memcmp(type, "IHDR", 4)) {
			w = (int)be32(d);
			h = (int)be32(d + 4);
			depth = d[8];
			ctype = d[9];
			inter = d[12];
		} else if (!memcmp(type, "IDAT", 4)) {
			memcpy(idat + n_idat, d, n);
			n_idat += n;
		} else if (!memcmp(type, "IEND", 4)) {
			break;
		}
		pos += 12 + n;
	}
	ch = ctype == 0 ? 1 : ctype == 2 ? 3 : ctype == 4 ? 2 : ctype == 6 ? 4 : 0;
	if (w <= 0 || h <= 0 || depth != 8 || ch == 0 || inter != 0)
		goto done;
	{
		size_t stride = (size_t)w * ch;
		uLongf rl = (uLongf)(h * (stride + 1));
		raw = malloc(rl);
		if (uncompress(raw, &rl, idat, (uLong)n_idat) != Z_OK || rl != (uLongf)(h * (stride + 1)))
			goto done;
		img->rgb = malloc((size_t)w * h * 3);
		for (int y = 0; y < h; ++y) {
			unsigned char *row = raw + (size_t)y * (stride + 1) + 1;
			const unsigned char *up = y ? raw + (size_t)(y - 1) * (stride + 1) + 1 : NULL;
			int ft = row[-1];
			for (size_t i = 0; i < stride; ++i) {
				int a = i >= (size_t)ch ? row[i - ch] : 0, b = up ? up[i] : 0, c = up && i >= (size_t)ch ? up[i - ch] : 0;
				switch (ft) {
				case 0: break;
				case 1: row[i] = (unsigned char)(row[i] + a); break;
				case 2: row[i] = (unsigned char)(row[i] + b); break;
				case 3: row[i] = (unsigned char)(row[i] + (a + b) / 2); break;
				case 4: row[i] = (unsigned char)(row[i] + paeth(a, b, c)); break;
				default: goto done;
				}
			}
			for (int x = 0; x < w; ++x) {
				const unsigned char *p = row + (size_t)x * ch;
				unsigned char *q = img->rgb + ((size_t)y * w + x) * 3;
				int alpha = ch == 4 ? p[3] : ch == 2 ? p[1] : 255;
				for (int k = 0; k < 3; ++k) {
					int v = ch >= 3 ? p[k] : p[0];
					q[k] = (unsigned char)((v * alpha + 255 * (255 - alpha)) / 255);   /* over white */
				}
			}
		}
	}
	img->w = w;
	img->h = h;
	rc = 0;
done:
	free(f), free(idat), free(raw);
	return rc;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Distinct colours, the share of the most common one, and the pixels within L1 distance 60 of
 * colour `want` (lines and marks are antialiased: only their cores have the exact colour). */
static void colours(const image *img, int *distinct, double *top_share, long *n_want, uint32_t want)
{
	size_t n = (size_t)img->w * img->h, run = 1, top = 0;
	uint32_t *v = malloc(n * sizeof *v);
	*n_want = 0;
	for (size_t i = 0; i < n; ++i) {
		const unsigned char *p = img->rgb + 3 * i;
		v[i] = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
		*n_want += abs(p[0] - (int)(want >> 16 & 255)) + abs(p[1] - (int)(want >> 8 & 255))
		           + abs(p[2] - (int)(want & 255)) <= 60;
	}
	qsort(v, n, sizeof *v, cmp_u32);
	*distinct = n > 0;
	for (size_t i = 1; i <= n; ++i) {
		if (i < n && v[i] == v[i - 1]) {
			++run;
			continue;
		}
		if (run > top)
			top = run;
		run = 1;
		if (i < n)
			++*distinct;
	}
	*top_share = n ? (double)top / (double)n : 1;
	free(v);
}

/* The figure out/<name>.png is w x h with content; it has pixels of colour `want` unless want is
 * 0xffffffff.  Also checks out/<name>.pdf is a PDF. */
static void check_figure(const char *name, int w, int h, uint32_t want)
{
	char path[1200], *pdf;
	image img;
	int distinct;
	double top;
	long n_want;
	size_t len;
	snprintf(path, sizeof path, "%s/%s.png", out, name);
	CU_ASSERT_EQUAL_FATAL(png_read(path, &img), 0);
	CU_ASSERT_EQUAL(img.w, w);
	CU_ASSERT_EQUAL(img.h, h);
	colours(&img, &distinct, &top, &n_want, want);
	CU_ASSERT(distinct >= 8);          /* text, lines, marks: not one flat colour */
	CU_ASSERT(top < 0.995);
	if (want != 0xffffffffu) {
		CU_ASSERT(n_want > 0);
		if (n_want == 0)
			fprintf(stderr, "%s: no pixel of colour #%06x (distinct %d)\n", name, want, distinct);
	}
	free(img.rgb);
	snprintf(path, sizeof path, "%s/%s.pdf", out, name);
	pdf = slurp(path, &len);
	CU_ASSERT_PTR_NOT_NULL(pdf);
	CU_ASSERT(pdf && len > 100 && memcmp(pdf, "%PDF-", 5) == 0);
	free(pdf);
}

static int have_gnuplot(void)
{
	snm_paper_opts o;
	memset(&o, 0, sizeof o);
	if (snm_paper_gnuplot_found(&o))
		return 1;
	snm_test_skip("gnuplot is not installed: the figure checks (./bootstrap installs gnuplot-nox)");
	return 0;
}

/* ---- suite: tables --------------------------------------------------------------------------- */

/* The results: column 10 (three sets each), 20, full, and a broken file. */
static const double ff10[3] = { 25.0, 27.5, 22.25 }, ps10[3] = { 19.0, 20.0, 21.5 };
static const double ra10[3] = { 30.1, 30.2, 30.3 }, pb10[2] = { 10.0, 11.0 };
static const double ff20[3] = { 15.0, 15.0, 15.0 }, ra20[3] = { 14.996, 15.004, 15.0 };
static const double ps20[3] = { 15.01, 15.02, 15.03 };
static log_t real_log;
static int real_rc;

static int tables_init(void)
{
	char key[256], bad[1200];
	snm_error e;
	snm_paper_opts o;
	if (snm_test_tmpdir(tmp, sizeof tmp, "paper") == NULL)
		return 1;
	snprintf(results, sizeof results, "%s/results", tmp);
	snprintf(out, sizeof out, "%s/out", tmp);
	snm_test_src(spec_real, sizeof spec_real, "../paper/tables.yaml");
	for (int s = 1; s <= 3; ++s) {
		snprintf(key, sizeof key, "mnist/feed-forward/n10/set%d", s);
		write_run(key, "finished", ff10[s - 1]);
		snprintf(key, sizeof key, "mnist/perturb-semantic/n10/set%d", s);
		write_run(key, "finished", ps10[s - 1]);
		snprintf(key, sizeof key, "mnist/recon-all/n10/set%d", s);
		write_run(key, "finished", ra10[s - 1]);
		snprintf(key, sizeof key, "mnist/feed-forward/n20/set%d", s);
		write_run(key, "finished", ff20[s - 1]);
		snprintf(key, sizeof key, "mnist/recon-all/n20/set%d", s);
		write_run(key, "finished", ra20[s - 1]);
		snprintf(key, sizeof key, "mnist/perturb-semantic/n20/set%d", s);
		write_run(key, "finished", ps20[s - 1]);
	}
	write_run("mnist/proposed-base/n10/set1", "finished", pb10[0]);
	write_run("mnist/proposed-base/n10/set2", "finished", pb10[1]);    /* set3 absent */
	write_run("mnist/recon-one/n10/set1", "finished", 21.0);
	write_run("mnist/recon-one/n10/set2", "running", 99.0);             /* unfinished */
	write_run("mnist/recon-one/n10/set3", "finished", 23.0);
	write_run("mnist/feed-forward/full", "finished", 1.5);
	write_run("mnist/perturb-semantic/full", "finished", 0.7);
	snprintf(bad, sizeof bad, "%s/mnist/recon-all/n50", results);
	mkdirs(bad);
	strcat(bad, "/set1.h5");
	write_text(bad, "this is not an HDF5 file\n");
	{
		/* another run's file in the place of perturb-random/n20/set1 */
		char from[1200], to[1200];
		write_run("mnist/perturb-random/n20/set9", "finished", 5.0);
		snprintf(from, sizeof from, "%s/mnist/perturb-random/n20/set9.h5", results);
		snprintf(to, sizeof to, "%s/mnist/perturb-random/n20/set1.h5", results);
		if (rename(from, to) != 0)
			return 1;
	}
	stage_opts(&o, spec_real, results, out, &real_log);
	real_rc = snm_paper_run(&o, &e);
	if (real_rc)
		fprintf(stderr, "stage: %s\n", e.msg);
	return 0;
}

/* SNM_TEST_KEEP=1 keeps the results and outputs (their directory is printed). */
static int tables_clean(void)
{
	if (getenv("SNM_TEST_KEEP")) {
		printf("\n  kept %s\n", tmp);
		return 0;
	}
	snm_test_rmtree(tmp);
	return 0;
}

static void test_every_table_written(void)
{
	static const char *const ids[] = { "table1-mnist", "table1-cifar10", "table2-ladder", "table3-mnist",
	                                   "table4-cifar10", "pi-mnist", "table1-fashion", "table3-fashion",
	                                   "claim-mnist", "claim-fashion", "ablation-mnist", "claim-pi-mnist" };
	static const char *const ext[] = { "tex", "md", "csv" };
	char name[128], slashed[130];
	CU_ASSERT_EQUAL(real_rc, SNM_OK);
	for (size_t i = 0; i < sizeof ids / sizeof *ids; ++i)
		for (int k = 0; k < 3; ++k) {
			snprintf(name, sizeof name, "%s.%s", ids[i], ext[k]);
			snprintf(slashed, sizeof slashed, "/%s", name);    /* pi-mnist.md, not claim-pi-mnist.md */
			CU_ASSERT(exists(out, name));
			CU_ASSERT(log_count(&real_log, slashed) == 1);
		}
	/* the figures whose runs are absent say so, one note each */
	CU_ASSERT(log_count(&real_log, "figure5: run mnist/proposed-base/n2000/set1 is missing") == 1
	          || log_count(&real_log, "figure5: gnuplot not found") == 1);
	CU_ASSERT(log_count(&real_log, "recon-all/n50/set1.h5") >= 1);     /* the broken file is named */
	CU_ASSERT_FALSE(exists(out, "figure5.png"));
}

static void test_mean_std_cells(void)
{
	char f[C_N][128];
	CU_ASSERT_EQUAL_FATAL(csv_cell("table1-mnist", "mean", "feed-forward", "10", f), 0);
	CU_ASSERT_EQUAL(atoi(f[C_RUNS]), 3);
	CU_ASSERT_EQUAL(atoi(f[C_FIN]), 3);
	SNM_ASSERT_CLOSE(num(f[C_MEAN]), ref_mean(ff10, 3), 1e-9, 1e-9);
	SNM_ASSERT_CLOSE(num(f[C_STD]), ref_std(ff10, 3, 0), 1e-9, 1e-9);
	SNM_ASSERT_CLOSE(num(f[C_PMEAN]), 24.55, 1e-12, 0);
	SNM_ASSERT_CLOSE(num(f[C_PSTD]), 3.04, 1e-12, 0);
	SNM_ASSERT_CLOSE(num(f[C_DIFF]), ref_mean(ff10, 3) - 24.55, 1e-9, 1e-9);
	CU_ASSERT_STRING_EQUAL(f[C_LABEL], "previous-1");
	/* the whole-set column: one run, no std; the paper's 1.04 */
	CU_ASSERT_EQUAL_FATAL(csv_cell("table1-mnist", "mean", "feed-forward", "full", f), 0);
	CU_ASSERT_EQUAL(atoi(f[C_RUNS]), 1);
	SNM_ASSERT_CLOSE(num(f[C_MEAN]), 1.5, 1e-12, 0);
	CU_ASSERT(f[C_STD][0] == '\0');
	SNM_ASSERT_CLOSE(num(f[C_PMEAN]), 1.04, 1e-12, 0);
	/* the ladder table's paper numbers: a set block and the mean block */
	CU_ASSERT_EQUAL_FATAL(csv_cell("table2-ladder", "set2", "ladder", "10", f), 0);
	SNM_ASSERT_CLOSE(num(f[C_PMEAN]), 33.14, 1e-12, 0);
	CU_ASSERT_EQUAL_FATAL(csv_cell("table2-ladder", "mean", "perturb-semantic", "full", f), 0);
	SNM_ASSERT_CLOSE(num(f[C_PMEAN]), 0.93, 1e-12, 0);
	/* PI-MNIST: means only, two rows; "5k per class" is the whole-split column (one run) */
	CU_ASSERT_EQUAL_FATAL(csv_cell("pi-mnist", "mean", "perturb-semantic", "full", f), 0);
	SNM_ASSERT_CLOSE(num(f[C_PMEAN]), 1.28, 1e-12, 0);
	CU_ASSERT(f[C_PSTD][0] == '\0');
	CU_ASSERT_EQUAL(atoi(f[C_ABSENT]), 1);
}

static void test_missing_marks(void)
{
	char f[C_N][128], *md, *tex, md_path[1200], tex_path[1200];
	/* proposed-base, 10: set 3 absent; the mean of the two others is still shown */
	CU_ASSERT_EQUAL_FATAL(csv_cell("table1-mnist", "mean", "proposed-base", "10", f), 0);
	CU_ASSERT_EQUAL(atoi(f[C_FIN]), 2);
	CU_ASSERT_EQUAL(atoi(f[C_ABSENT]), 1);
	SNM_ASSERT_CLOSE(num(f[C_MEAN]), ref_mean(pb10, 2), 1e-9, 1e-9);
	/* recon-one, 10: set 2 is running */
	CU_ASSERT_EQUAL_FATAL(csv_cell("table1-mnist", "mean", "recon-one", "10", f), 0);
	CU_ASSERT_EQUAL(atoi(f[C_UNFIN]), 1);
	CU_ASSERT_EQUAL(atoi(f[C_FIN]), 2);
	SNM_ASSERT_CLOSE(num(f[C_MEAN]), 22.0, 1e-9, 0);     /* 99 of the running run is not used */
	/* perturb-random: nothing at all */
	CU_ASSERT_EQUAL_FATAL(csv_cell("table1-mnist", "mean", "perturb-random", "10", f), 0);
	CU_ASSERT_EQUAL(atoi(f[C_ABSENT]), 3);
	CU_ASSERT(f[C_MEAN][0] == '\0');
	/* the broken file counts as unreadable */
	CU_ASSERT_EQUAL_FATAL(csv_cell("table1-mnist", "mean", "recon-all", "50", f), 0);
	CU_ASSERT_EQUAL(atoi(f[C_BAD]), 1);
	CU_ASSERT_EQUAL(atoi(f[C_ABSENT]), 2);
	snprintf(md_path, sizeof md_path, "%s/table1-mnist.md", out);
	snprintf(tex_path, sizeof tex_path, "%s/table1-mnist.tex", out);
	md = slurp(md_path, NULL);
	tex = slurp(tex_path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(md);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tex);
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| proposed-1 | 10.50 (0.71) · paper 21.35 (1.16) · Δ -10.85 · *missing 1/3* |"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "22.00 (1.41) · paper 21.67 (3.19) · Δ +0.33 · *unfinished 1/3*"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "*missing 3/3*"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "*missing 2/3, unreadable 1/3*"));   /* recon-all, 50 */
	/* a file whose run_key is not its path's is unreadable, not another run's result */
	CU_ASSERT_EQUAL_FATAL(csv_cell("table1-mnist", "mean", "perturb-random", "20", f), 0);
	CU_ASSERT_EQUAL(atoi(f[C_BAD]), 1);
	CU_ASSERT_EQUAL(atoi(f[C_FIN]), 0);
	CU_ASSERT(log_count(&real_log, "holds run 'mnist/perturb-random/n20/set9', not the one of its "
	                               "path") >= 1);             /* once per table that reads it */
	CU_ASSERT_PTR_NOT_NULL(strstr(tex, "\\snmcell{10.50 (0.71) \\textit{missing 1/3}}{21.35 (1.16)}{$-10.85$}"));
	CU_ASSERT_PTR_NOT_NULL(strstr(tex, "\\toprule"));
	CU_ASSERT_PTR_NOT_NULL(strstr(tex, "\\bottomrule"));
	CU_ASSERT_PTR_NOT_NULL(strstr(tex, "(\\%)"));           /* the caption's % is escaped */
	free(md);
	free(tex);
}

static void test_best_marks(void)
{
	char f[C_N][128], *md, path[1200];
	/* column 10: perturb-semantic is the lowest complete mean; proposed-base is lower but
	 * incomplete, so it is not marked */
	CU_ASSERT_EQUAL_FATAL(csv_cell("table1-mnist", "mean", "perturb-semantic", "10", f), 0);
	CU_ASSERT_STRING_EQUAL(f[C_BEST], "1");
	CU_ASSERT_EQUAL_FATAL(csv_cell("table1-mnist", "mean", "proposed-base", "10", f), 0);
	CU_ASSERT_STRING_EQUAL(f[C_BEST], "0");
	CU_ASSERT_EQUAL_FATAL(csv_cell("table1-mnist", "mean", "feed-forward", "10", f), 0);
	CU_ASSERT_STRING_EQUAL(f[C_BEST], "0");
	/* column 20: 15.000 and 15.000 tie at two decimals, 15.02 does not */
	CU_ASSERT_EQUAL_FATAL(csv_cell("table1-mnist", "mean", "feed-forward", "20", f), 0);
	CU_ASSERT_STRING_EQUAL(f[C_BEST], "1");
	CU_ASSERT_EQUAL_FATAL(csv_cell("table1-mnist", "mean", "recon-all", "20", f), 0);
	CU_ASSERT_STRING_EQUAL(f[C_BEST], "1");
	CU_ASSERT_EQUAL_FATAL(csv_cell("table1-mnist", "mean", "perturb-semantic", "20", f), 0);
	CU_ASSERT_STRING_EQUAL(f[C_BEST], "0");
	/* per-set tables are not marked (as the paper prints them) */
	CU_ASSERT_EQUAL_FATAL(csv_cell("table3-mnist", "set1", "perturb-semantic", "10", f), 0);
	CU_ASSERT_STRING_EQUAL(f[C_BEST], "0");
	snprintf(path, sizeof path, "%s/table1-mnist.md", out);
	md = slurp(path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(md);
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "**20.17 (1.26)** · paper 20.11 (0.81) · Δ +0.06"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "**0.70** · paper 0.62 · Δ +0.08"));
	CU_ASSERT_PTR_NULL(strstr(md, "**10.50"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "std with n - 1, the sample standard deviation"));
	free(md);
}

static void test_sets_layout(void)
{
	char f[C_N][128];
	CU_ASSERT_EQUAL_FATAL(csv_cell("table3-mnist", "set2", "feed-forward", "10", f), 0);
	CU_ASSERT_EQUAL(atoi(f[C_RUNS]), 1);
	SNM_ASSERT_CLOSE(num(f[C_MEAN]), ff10[1], 1e-12, 0);
	SNM_ASSERT_CLOSE(num(f[C_PMEAN]), 28.84, 1e-12, 0);
	SNM_ASSERT_CLOSE(num(f[C_DIFF]), ff10[1] - 28.84, 1e-9, 0);
	CU_ASSERT_EQUAL_FATAL(csv_cell("table3-mnist", "set3", "proposed-base", "10", f), 0);
	CU_ASSERT_EQUAL(atoi(f[C_ABSENT]), 1);
	SNM_ASSERT_CLOSE(num(f[C_PMEAN]), 20.86, 1e-12, 0);
	/* the whole-set run belongs to set 1's block only */
	CU_ASSERT_EQUAL(csv_cell("table3-mnist", "set1", "feed-forward", "full", f), 0);
	CU_ASSERT_NOT_EQUAL(csv_cell("table3-mnist", "set2", "feed-forward", "full", f), 0);
	/* denoising rows exist (absent runs) with the paper's numbers */
	CU_ASSERT_EQUAL_FATAL(csv_cell("table4-cifar10", "set3", "recon-all-denoise", "2000", f), 0);
	SNM_ASSERT_CLOSE(num(f[C_PMEAN]), 32.32, 1e-12, 0);
}

/* A spec of the test's own: population std, three decimals, a row label from the labels map. */
static void test_population_std_and_digits(void)
{
	char spec[1200], f[C_N][128], *md, path[1200];
	snm_paper_opts o;
	snm_error e;
	log_t l;
	snprintf(spec, sizeof spec, "%s/pop.yaml", tmp);
	write_text(spec, "std: population\ndigits: 3\nlabels: {feed-forward: 'plain, net'}\n"
	                 "tables:\n  - {id: pop, pipeline: mnist, columns: [10], rows: [{run: feed-forward}]}\n");
	stage_opts(&o, spec, results, out, &l);
	CU_ASSERT_EQUAL_FATAL(snm_paper_run(&o, &e), SNM_OK);
	CU_ASSERT_EQUAL(l.wrote, 3);
	CU_ASSERT_EQUAL_FATAL(csv_cell("pop", "mean", "feed-forward", "10", f), 0);
	SNM_ASSERT_CLOSE(num(f[C_STD]), ref_std(ff10, 3, 1), 1e-9, 1e-9);
	CU_ASSERT_STRING_EQUAL(f[C_LABEL], "plain, net");       /* quoted in the CSV, read back */
	snprintf(path, sizeof path, "%s/pop.md", out);
	md = slurp(path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(md);
	{
		char want[64];
		snprintf(want, sizeof want, "| plain, net | %.3f (%.3f) |", ref_mean(ff10, 3), ref_std(ff10, 3, 1));
		CU_ASSERT_PTR_NOT_NULL(strstr(md, want));
		CU_ASSERT_PTR_NOT_NULL(strstr(md, "std with n, the population standard deviation"));
	}
	free(md);
}

static void test_spec_errors(void)
{
	char spec[1200];
	snm_paper_opts o;
	snm_error e;
	memset(&o, 0, sizeof o);
	o.spec = spec;
	o.results = results;
	o.out = out;
	snprintf(spec, sizeof spec, "%s/bad.yaml", tmp);
	write_text(spec, "tables:\n  - id: x\n    pipeline: mnist\n    colums: [10]\n    rows: [{run: a}]\n");
	CU_ASSERT_EQUAL(snm_paper_run(&o, &e), SNM_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "bad.yaml:4:5: unknown key 'colums'"));
	write_text(spec, "tables:\n  - {id: x, pipeline: mnist, columns: [10, fulll], rows: [{run: a}]}\n");
	CU_ASSERT_EQUAL(snm_paper_run(&o, &e), SNM_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "bad.yaml:2:44:"));
	write_text(spec, "tables:\n  - {id: x, pipeline: mnist, columns: [10], rows: [{run: a, paper: [1, [2, 3], 4]}]}\n");
	CU_ASSERT_EQUAL(snm_paper_run(&o, &e), SNM_ECONFIG);                 /* 3 numbers, 1 column */
	write_text(spec, "tables:\n  - {id: x, pipeline: mnist, columns: [10], rows: [{run: a}]}\n"
	                 "  - {id: x, pipeline: mnist, columns: [10], rows: [{run: a}]}\n");
	CU_ASSERT_EQUAL(snm_paper_run(&o, &e), SNM_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "used twice"));
	/* refused at their mark before any table is made (into a fresh --out, where "first" never
	 * appears): run keys that would leave --results or break a table's line; a bad row key of a
	 * later table; a bad figure size */
	{
		static const char *const bad[][2] = {
			{ "tables:\n  - {id: x, pipeline: ../elsewhere, columns: [10], rows: [{run: a}]}\n",
			  "bad.yaml:2:23: 'pipeline': '../elsewhere' has a part that is empty, '.' or '..'" },
			{ "tables:\n  - {id: x, pipeline: mnist, columns: [10], rows: [{run: ../p/a}]}\n",
			  "bad.yaml:2:58: 'run': '../p/a' has a part" },
			{ "tables:\n  - {id: x, pipeline: mnist, columns: [10], rows: [{run: ''}]}\n",
			  "bad.yaml:2:58: 'run': '' has a part that is empty" },
			{ "tables:\n  - {id: x, pipeline: /abs, columns: [10], rows: [{run: a}]}\n",
			  "bad.yaml:2:23: 'pipeline': '/abs' has a part that is empty" },
			{ "tables:\n  - {id: x, pipeline: mnist, columns: [10], rows: [{run: \"a\\nb\"}]}\n",
			  "bad.yaml:2:58: 'run': character 2 is 0x0a: a run key has letters, digits" },
			{ "figures:\n  curves:\n    - {id: c, pipeline: mnist, columns: [10], sets: 1, runs: [a, ..]}\n",
			  "bad.yaml:3:66: 'runs': '..' has a part" },
			{ "figures:\n  reconstructions:\n    - {id: r, run: mnist//a/n10/set1}\n",
			  "bad.yaml:3:20: 'run': 'mnist//a/n10/set1' has a part that is empty" },
			{ "tables:\n  - {id: first, pipeline: mnist, columns: [10], rows: [{run: a}]}\n"
			  "  - {id: second, pipeline: mnist, columns: [10], rows: [{run: a, lable: x}]}\n",
			  "bad.yaml:3:66: unknown key 'lable' in table row" },
			{ "tables:\n  - {id: first, pipeline: mnist, columns: [10], rows: [{run: a}]}\n"
			  "figures:\n  curves:\n    - {id: c, pipeline: mnist, columns: [10], sets: 1, runs: [a], size: [0, 0]}\n",
			  "bad.yaml:5:" },
		};
		char fresh[1300], made[1400];
		snprintf(fresh, sizeof fresh, "%s/fresh-out", tmp);
		snprintf(made, sizeof made, "%s/first.md", fresh);
		o.out = fresh;
		for (size_t i = 0; i < sizeof bad / sizeof *bad; ++i) {
			write_text(spec, bad[i][0]);
			CU_ASSERT_EQUAL(snm_paper_run(&o, &e), SNM_ECONFIG);
			if (strstr(e.msg, bad[i][1]) == NULL)
				printf("\ncase %zu: want '%s', got '%s'\n", i, bad[i][1], e.msg);
			CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, bad[i][1]));
			CU_ASSERT_NOT_EQUAL(access(made, F_OK), 0);
		}
		o.out = out;
	}
	o.spec = "/nonexistent/spec.yaml";
	CU_ASSERT_EQUAL(snm_paper_run(&o, &e), SNM_EIO);
}

static void test_command(void)
{
	char spec[1200];
	char *ok[] = { "paper", "--spec", spec, "--results", results, "--out", out, "--no-figures", NULL };
	char *bad[] = { "paper", "--bogus", NULL };
	char *extra[] = { "paper", "--spec", spec, "stray", NULL };
	char *only[] = { "paper", "--spec", spec, "--results", results, "--out", out, "--only", "no-such-id", NULL };
	char *one[] = { "paper", "--spec", spec, "--results", results, "--out", out, "--only", "pop", NULL };
	snprintf(spec, sizeof spec, "%s/pop.yaml", tmp);
	CU_ASSERT_EQUAL(snm_cmd_paper(8, ok), 0);
	CU_ASSERT_EQUAL(snm_cmd_paper(2, bad), 2);
	CU_ASSERT_EQUAL(snm_cmd_paper(4, extra), 2);
	CU_ASSERT_EQUAL(snm_cmd_paper(9, only), 1);
	CU_ASSERT_EQUAL(snm_cmd_paper(9, one), 0);
	fflush(stdout);
}

/* The learning curves of the real spec, from the runs written above. */
static void test_learning_curves(void)
{
	if (!have_gnuplot())
		return;
	CU_ASSERT(log_count(&real_log, "curves-mnist.png") == 1);
	/* 1500 x 1200 as the spec says; perturb-semantic is the 9th run: palette colour #bcbd22 */
	check_figure("curves-mnist", 1500, 1200, 0xbcbd22);
	/* no cifar10 runs: a note, no figure */
	CU_ASSERT(log_count(&real_log, "curves-cifar10: no run") == 1);
	CU_ASSERT_FALSE(exists(out, "curves-cifar10.png"));
}

/* ---- suite: paired comparisons (layouts paired and ablation) ---------------------------------- */

/* Pipeline pt, three sets: errors chosen so that the paired differences alpha - beta are
 *   10: {1, 2, 3}          mean 2, sd 1: the 95% interval holds 0 (not resolved), the 90% not
 *   20: {2, 2.5, 3}        mean 2.5, sd 0.5: excludes 0 (alpha higher)
 *   50: {-1, 1}            alpha's set 2 absent: n = 2 (gamma - beta there has n = 3, lower)
 *  200: {1, 2}             alpha's set 1 running: n = 2
 * full: -0.25              one run each: no interval
 *  100: nothing            n = 0
 * Reference quantiles in closed form (not GSL): t_{1,p} = tan(pi (p - 1/2)) and
 * t_{2,p} = (2p - 1) / sqrt(2 p (1 - p)); t_{2,0.975} = 4.30265272974946. */
static const double al10[3] = { 11, 12, 13 }, be10[3] = { 10, 10, 10 };
static const double al20[3] = { 20, 20.5, 21 }, be20[3] = { 18, 18, 18 };
static const double al50[3] = { 7, NAN, 9 }, be50[3] = { 8, 8, 8 }, ga50[3] = { 6, 6.5, 7 };
static const double al200[3] = { 99, 5, 6 }, be200[3] = { 4, 4, 4 };
static const double de20[3] = { 17, NAN, 19 }, ep20[3] = { NAN, 18.5, NAN };
static log_t pt_log;
static int pt_rc;

enum { P_TABLE, P_A, P_B, P_COLUMN, P_RUNS, P_AFIN, P_BFIN, P_NPAIRS, P_MEAN, P_SD, P_LO, P_HI, P_LEVEL,
       P_VERDICT, P_MISSING, P_N };
enum { A_TABLE, A_ROLE, A_RUN, A_LABEL, A_COLUMN, A_RUNS, A_FIN, A_ABSENT, A_UNFIN, A_BAD, A_MEAN, A_STD,
       A_NPAIRS, A_DMEAN, A_DSD, A_LO, A_HI, A_LEVEL, A_VERDICT, A_N };

static int csv_pair(const char *id, const char *a, const char *b, const char *column, char f[P_N][128])
{
	const int cols[3] = { P_A, P_B, P_COLUMN };
	const char *const vals[3] = { a, b, column };
	return csv_find(id, P_N, 3, cols, vals, f);
}

static int csv_ablation(const char *id, const char *run, char f[A_N][128])
{
	const int cols[1] = { A_RUN };
	const char *const vals[1] = { run };
	return csv_find(id, A_N, 1, cols, vals, f);
}

static double t1(double p) { return tan(M_PI * (p - 0.5)); }
static double t2(double p) { return (2 * p - 1) / sqrt(2 * p * (1 - p)); }

/* Runs "pt/<exp>/n<col>/set<k>" for the finite values of v (99: a running run). */
static void write_sets(const char *exp, const char *col, const double v[3])
{
	char key[256];
	for (int s = 1; s <= 3; ++s) {
		if (isnan(v[s - 1]))
			continue;
		snprintf(key, sizeof key, "pt/%s/n%s/set%d", exp, col, s);
		write_run(key, v[s - 1] == 99 ? "running" : "finished", v[s - 1]);
	}
}

static const char pt_spec[] =
	"labels: {gamma: gamma from the labels map}\n"
	"tables:\n"
	"  - {id: pt-claim, layout: paired, pipeline: pt, columns: [10, 20, 50, 100, 200, full], sets: 3,\n"
	"     pairs: [[alpha, beta], [gamma, beta]]}\n"
	"  - {id: pt-claim90, layout: paired, pipeline: pt, columns: [10], sets: 3, level: 0.9,\n"
	"     pairs: [[alpha, beta]]}\n"
	"  - {id: pt-ablation, layout: ablation, pipeline: pt, column: 20, sets: 3, baseline: beta,\n"
	"     variants: [{run: alpha, label: changed a}, {run: gamma}, {run: delta, label: two sets},\n"
	"                {run: epsilon, label: one set}]}\n";

static int paired_init(void)
{
	char spec[1200];
	snm_paper_opts o;
	snm_error e;
	write_sets("alpha", "10", al10);
	write_sets("beta", "10", be10);
	write_sets("alpha", "20", al20);
	write_sets("beta", "20", be20);
	write_sets("alpha", "50", al50);
	write_sets("beta", "50", be50);
	write_sets("gamma", "50", ga50);
	write_sets("alpha", "200", al200);
	write_sets("beta", "200", be200);
	write_sets("delta", "20", de20);
	write_sets("epsilon", "20", ep20);
	write_run("pt/alpha/full", "finished", 1.0);
	write_run("pt/beta/full", "finished", 1.25);
	snprintf(spec, sizeof spec, "%s/pt.yaml", tmp);
	write_text(spec, pt_spec);
	stage_opts(&o, spec, results, out, &pt_log);
	pt_rc = snm_paper_run(&o, &e);
	if (pt_rc)
		fprintf(stderr, "pt stage: %s\n", e.msg);
	return 0;
}

static char *read_out(const char *name)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/%s", out, name);
	return slurp(path, NULL);
}

/* d = {1, 2, 3}: mean 2, sd 1, the interval 2 -/+ t_{2,0.975} / sqrt(3) holds 0: no verdict words;
 * d = {2, 2.5, 3} excludes 0; at level 0.9, d = {1, 2, 3} excludes 0 too. */
static void test_paired_interval(void)
{
	char f[P_N][128], *md;
	double hw = t2(0.975) * 1 / sqrt(3);
	CU_ASSERT_EQUAL(pt_rc, SNM_OK);
	CU_ASSERT_EQUAL(pt_log.wrote, 9);
	SNM_ASSERT_CLOSE(hw, 2.48413771175033, 1e-12, 0);     /* the hand value */
	CU_ASSERT_EQUAL_FATAL(csv_pair("pt-claim", "alpha", "beta", "10", f), 0);
	CU_ASSERT_EQUAL(atoi(f[P_NPAIRS]), 3);
	CU_ASSERT_EQUAL(atoi(f[P_AFIN]), 3);
	SNM_ASSERT_CLOSE(num(f[P_MEAN]), 2.0, 1e-12, 0);
	SNM_ASSERT_CLOSE(num(f[P_SD]), 1.0, 1e-12, 0);
	SNM_ASSERT_CLOSE(num(f[P_LO]), 2.0 - hw, 1e-9, 1e-9);
	SNM_ASSERT_CLOSE(num(f[P_HI]), 2.0 + hw, 1e-9, 1e-9);
	CU_ASSERT_STRING_EQUAL(f[P_VERDICT], "not resolved");
	CU_ASSERT_STRING_EQUAL(f[P_LEVEL], "0.95");
	CU_ASSERT_STRING_EQUAL(f[P_MISSING], "");
	/* {2, 2.5, 3}: [2.5 - 1.242, 2.5 + 1.242], above 0 */
	CU_ASSERT_EQUAL_FATAL(csv_pair("pt-claim", "alpha", "beta", "20", f), 0);
	SNM_ASSERT_CLOSE(num(f[P_MEAN]), 2.5, 1e-12, 0);
	SNM_ASSERT_CLOSE(num(f[P_LO]), 2.5 - t2(0.975) * 0.5 / sqrt(3), 1e-9, 1e-9);
	SNM_ASSERT_CLOSE(num(f[P_HI]), 2.5 + t2(0.975) * 0.5 / sqrt(3), 1e-9, 1e-9);
	CU_ASSERT_STRING_EQUAL(f[P_VERDICT], "higher");
	/* level 0.9: t_{2,0.95} = 2.91999 */
	CU_ASSERT_EQUAL_FATAL(csv_pair("pt-claim90", "alpha", "beta", "10", f), 0);
	SNM_ASSERT_CLOSE(num(f[P_LO]), 2.0 - t2(0.95) / sqrt(3), 1e-9, 1e-9);
	CU_ASSERT_STRING_EQUAL(f[P_VERDICT], "higher");
	md = read_out("pt-claim.md");
	CU_ASSERT_PTR_NOT_NULL_FATAL(md);
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| alpha − beta | 10 | +2.00 [-0.48, +4.48] | 3 | not resolved |\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| alpha − beta | 20 | +2.50 [+1.26, +3.74] | 3 | alpha higher (worse) "
	                                  "than beta |\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| gamma − beta | 50 | -1.50 [-2.74, -0.26] | 3 | gamma lower (better) "
	                                  "than beta |\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "mean d [95% interval]"));
	/* verdict words only where the interval excludes 0: once each */
	CU_ASSERT_PTR_NULL(strstr(strstr(md, "alpha higher (worse) than beta") + 1, "alpha higher (worse) than beta"));
	CU_ASSERT_PTR_NULL(strstr(md, "alpha lower"));
	free(md);
	md = read_out("pt-claim90.md");
	CU_ASSERT_PTR_NOT_NULL_FATAL(md);
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| alpha − beta | 10 | +2.00 [+0.31, +3.69] | 3 | alpha higher (worse) "
	                                  "than beta |\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "[90% interval]"));
	free(md);
}

/* n counts only the sets where both runs are finished; n = 1 has no interval; n = 0 says what is
 * missing; the summary sentence of each pair. */
static void test_paired_counts(void)
{
	char f[P_N][128], *md, *tex;
	/* 50: alpha's set 2 absent -> n = 2, d = {-1, 1}, t_{1,0.975} */
	CU_ASSERT_EQUAL_FATAL(csv_pair("pt-claim", "alpha", "beta", "50", f), 0);
	CU_ASSERT_EQUAL(atoi(f[P_NPAIRS]), 2);
	CU_ASSERT_EQUAL(atoi(f[P_AFIN]), 2);
	CU_ASSERT_EQUAL(atoi(f[P_BFIN]), 3);
	SNM_ASSERT_CLOSE(num(f[P_MEAN]), 0.0, 1e-12, 0);
	SNM_ASSERT_CLOSE(num(f[P_HI]), t1(0.975) * sqrt(2) / sqrt(2), 1e-9, 1e-9);
	CU_ASSERT_STRING_EQUAL(f[P_VERDICT], "not resolved");
	CU_ASSERT_STRING_EQUAL(f[P_MISSING], "alpha missing 1/3");
	/* ... and the other row of that column has all three */
	CU_ASSERT_EQUAL_FATAL(csv_pair("pt-claim", "gamma", "beta", "50", f), 0);
	CU_ASSERT_EQUAL(atoi(f[P_NPAIRS]), 3);
	CU_ASSERT_STRING_EQUAL(f[P_VERDICT], "lower");
	/* 200: alpha's set 1 is running (its 99 is not used) */
	CU_ASSERT_EQUAL_FATAL(csv_pair("pt-claim", "alpha", "beta", "200", f), 0);
	CU_ASSERT_EQUAL(atoi(f[P_NPAIRS]), 2);
	SNM_ASSERT_CLOSE(num(f[P_MEAN]), 1.5, 1e-12, 0);
	SNM_ASSERT_CLOSE(num(f[P_LO]), 1.5 - t1(0.975) * sqrt(0.5) / sqrt(2), 1e-9, 1e-9);
	CU_ASSERT_STRING_EQUAL(f[P_MISSING], "alpha unfinished 1/3");
	/* full: one run each, the difference alone */
	CU_ASSERT_EQUAL_FATAL(csv_pair("pt-claim", "alpha", "beta", "full", f), 0);
	CU_ASSERT_EQUAL(atoi(f[P_RUNS]), 1);
	CU_ASSERT_EQUAL(atoi(f[P_NPAIRS]), 1);
	SNM_ASSERT_CLOSE(num(f[P_MEAN]), -0.25, 1e-12, 0);
	CU_ASSERT(f[P_SD][0] == '\0' && f[P_LO][0] == '\0' && f[P_HI][0] == '\0' && f[P_VERDICT][0] == '\0');
	/* 100: nothing */
	CU_ASSERT_EQUAL_FATAL(csv_pair("pt-claim", "alpha", "beta", "100", f), 0);
	CU_ASSERT_EQUAL(atoi(f[P_NPAIRS]), 0);
	CU_ASSERT(f[P_MEAN][0] == '\0' && f[P_VERDICT][0] == '\0');
	CU_ASSERT_STRING_EQUAL(f[P_MISSING], "alpha missing 3/3; beta missing 3/3");
	CU_ASSERT_EQUAL_FATAL(csv_pair("pt-claim", "gamma", "beta", "full", f), 0);
	CU_ASSERT_STRING_EQUAL(f[P_MISSING], "gamma missing");
	md = read_out("pt-claim.md");
	tex = read_out("pt-claim.tex");
	CU_ASSERT_PTR_NOT_NULL_FATAL(md);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tex);
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| alpha − beta | 50 | +0.00 [-12.71, +12.71] · *alpha missing 1/3* | 2 | "
	                                  "not resolved |\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| alpha − beta | all | -0.25 | 1 | – |\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| alpha − beta | 100 | *alpha missing 3/3; beta missing 3/3* | 0 | – |\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "\n- alpha − beta: higher (worse) at 20; not resolved at 10, 50, 200 "
	                                  "(interval includes 0); n = 1 at all (one run each, no interval); "
	                                  "no data at 100.\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "\n- gamma − beta: lower (better) at 50; no data at 10, 20, 100, 200, all.\n"));
	/* the LaTeX float: the same cells, the summary as a note under the tabular */
	CU_ASSERT_PTR_NOT_NULL(strstr(tex, "alpha $-$ beta & 10 & $+2.00$ [$-0.48$, $+4.48$] & 3 & not resolved \\\\\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(tex, " & 20 & $+2.50$ [$+1.26$, $+3.74$] & 3 & alpha higher (worse) than beta \\\\\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(tex, " & all & $-0.25$ & 1 & -- \\\\\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(tex, " & 100 & \\textit{alpha missing 3/3; beta missing 3/3} & 0 & -- \\\\\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(tex, "\\end{tabular}}\n\n\\smallskip\n\\begin{minipage}"));
	CU_ASSERT_PTR_NOT_NULL(strstr(tex, "gamma $-$ beta: lower (better) at 50; no data at 10, 20, 100, 200, all.\n"
	                                   "\\end{minipage}\n\\end{table}\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(tex, "95\\% interval"));
	free(md);
	free(tex);
}

/* Ablation at column 20, baseline beta {18, 18, 18}: alpha higher (d = {2, 2.5, 3}); gamma has no
 * run; delta {17, -, 19}: n = 2, not resolved; epsilon one set: n = 1, no interval. */
static void test_ablation(void)
{
	char f[A_N][128], *md, *tex;
	CU_ASSERT_EQUAL_FATAL(csv_ablation("pt-ablation", "beta", f), 0);
	CU_ASSERT_STRING_EQUAL(f[A_ROLE], "baseline");
	CU_ASSERT_EQUAL(atoi(f[A_FIN]), 3);
	SNM_ASSERT_CLOSE(num(f[A_MEAN]), 18.0, 1e-12, 0);
	CU_ASSERT(f[A_NPAIRS][0] == '\0' && f[A_VERDICT][0] == '\0');
	CU_ASSERT_EQUAL_FATAL(csv_ablation("pt-ablation", "alpha", f), 0);
	CU_ASSERT_STRING_EQUAL(f[A_ROLE], "variant");
	CU_ASSERT_STRING_EQUAL(f[A_LABEL], "changed a");
	SNM_ASSERT_CLOSE(num(f[A_MEAN]), ref_mean(al20, 3), 1e-12, 0);
	SNM_ASSERT_CLOSE(num(f[A_STD]), ref_std(al20, 3, 0), 1e-12, 0);
	CU_ASSERT_EQUAL(atoi(f[A_NPAIRS]), 3);
	SNM_ASSERT_CLOSE(num(f[A_DMEAN]), 2.5, 1e-12, 0);
	SNM_ASSERT_CLOSE(num(f[A_LO]), 2.5 - t2(0.975) * 0.5 / sqrt(3), 1e-9, 1e-9);
	CU_ASSERT_STRING_EQUAL(f[A_VERDICT], "higher");
	CU_ASSERT_EQUAL_FATAL(csv_ablation("pt-ablation", "gamma", f), 0);
	CU_ASSERT_STRING_EQUAL(f[A_LABEL], "gamma from the labels map");
	CU_ASSERT_EQUAL(atoi(f[A_ABSENT]), 3);
	CU_ASSERT_EQUAL(atoi(f[A_NPAIRS]), 0);
	CU_ASSERT(f[A_MEAN][0] == '\0' && f[A_DMEAN][0] == '\0' && f[A_VERDICT][0] == '\0');
	CU_ASSERT_EQUAL_FATAL(csv_ablation("pt-ablation", "delta", f), 0);
	CU_ASSERT_EQUAL(atoi(f[A_FIN]), 2);
	CU_ASSERT_EQUAL(atoi(f[A_NPAIRS]), 2);
	SNM_ASSERT_CLOSE(num(f[A_HI]), t1(0.975) * sqrt(2) / sqrt(2), 1e-9, 1e-9);
	CU_ASSERT_STRING_EQUAL(f[A_VERDICT], "not resolved");
	CU_ASSERT_EQUAL_FATAL(csv_ablation("pt-ablation", "epsilon", f), 0);
	CU_ASSERT_EQUAL(atoi(f[A_NPAIRS]), 1);
	SNM_ASSERT_CLOSE(num(f[A_DMEAN]), 0.5, 1e-12, 0);
	CU_ASSERT(f[A_LO][0] == '\0' && f[A_VERDICT][0] == '\0');
	md = read_out("pt-ablation.md");
	tex = read_out("pt-ablation.tex");
	CU_ASSERT_PTR_NOT_NULL_FATAL(md);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tex);
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| baseline: beta | beta | 18.00 (0.00) | 3 | – | – | – |\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| changed a | alpha | 20.50 (0.50) | 3 | +2.50 [+1.26, +3.74] | 3 | "
	                                  "alpha higher (worse) than beta |\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| gamma from the labels map | gamma | *missing 3/3* | 0 | – | 0 | – |\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| two sets | delta | 18.00 (1.41) · *missing 1/3* | 2 | +0.00 [-12.71, "
	                                  "+12.71] | 2 | not resolved |\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| one set | epsilon | 18.50 · *missing 2/3* | 1 | +0.50 | 1 | – |\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "Δ vs beta [95% interval]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(tex, "changed a & alpha & 20.50 (0.50) & 3 & $+2.50$ [$+1.26$, $+3.74$] & 3 & "
	                                   "alpha higher (worse) than beta \\\\\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(tex, "gamma from the labels map & gamma & \\textit{missing 3/3} & 0 & -- & 0 & -- \\\\\n"));
	free(md);
	free(tex);
}

/* The real spec's claim and ablation tables over the table suite's runs (sets 1..3 of 10, or
 * none at all). */
static void test_claims_real_spec(void)
{
	char f[P_N][128], g[A_N][128], *md;
	double sd = 1.5 / sqrt(2);          /* of d = {10 - 25, 11 - 27.5} */
	CU_ASSERT_EQUAL_FATAL(csv_pair("claim-mnist", "proposed-base", "feed-forward", "10", f), 0);
	CU_ASSERT_EQUAL(atoi(f[P_RUNS]), 10);
	CU_ASSERT_EQUAL(atoi(f[P_NPAIRS]), 2);
	SNM_ASSERT_CLOSE(num(f[P_MEAN]), -15.75, 1e-12, 0);
	SNM_ASSERT_CLOSE(num(f[P_HI]), -15.75 + t1(0.975) * sd / sqrt(2), 1e-9, 1e-9);
	CU_ASSERT_STRING_EQUAL(f[P_VERDICT], "lower");
	CU_ASSERT_STRING_EQUAL(f[P_MISSING], "proposed-base missing 8/10; feed-forward missing 7/10");
	/* another run's file in perturb-random/n20/set1 */
	CU_ASSERT_EQUAL_FATAL(csv_pair("claim-mnist", "perturb-semantic", "perturb-random", "20", f), 0);
	CU_ASSERT_EQUAL(atoi(f[P_NPAIRS]), 0);
	CU_ASSERT_STRING_EQUAL(f[P_MISSING], "perturb-semantic missing 7/10; perturb-random missing 9/10, unreadable 1/10");
	CU_ASSERT(log_count(&real_log, "claim-mnist: skipped") == 1);      /* read once, though in two pairs */
	/* no Fashion-MNIST runs, no ablation runs: every cell says so */
	CU_ASSERT_EQUAL_FATAL(csv_pair("claim-fashion", "proposed-base", "feed-forward", "full", f), 0);
	CU_ASSERT_STRING_EQUAL(f[P_MISSING], "proposed-base missing; feed-forward missing");
	CU_ASSERT_EQUAL_FATAL(csv_ablation("ablation-mnist", "semantic-pw0.3", g), 0);
	CU_ASSERT_STRING_EQUAL(g[A_LABEL], "perturbed weight 0.3");
	CU_ASSERT_EQUAL(atoi(g[A_ABSENT]), 5);
	CU_ASSERT_EQUAL(atoi(g[A_NPAIRS]), 0);
	md = read_out("ablation-mnist.md");
	CU_ASSERT_PTR_NOT_NULL_FATAL(md);
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| baseline: proposed-perturb (semantic); Figure 1(c) | perturb-semantic | "
	                                  "*missing 5/5* | 0 | – | – | – |\n"));
	free(md);
	md = read_out("claim-fashion.md");
	CU_ASSERT_PTR_NOT_NULL_FATAL(md);
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "- perturb-semantic − perturb-random: no data at 10, 20, 50, 100, 200, 500, "
	                                  "1k, 2k, all.\n"));
	free(md);
}

/* A pair is two runs of one set trained on the same subset (equal seed_subset).  Here zeta and
 * beta are finished at every set, but
 *   10: zeta's set 3 has another seed_subset: n = 2, d = {2, 3}, "set 3: other training subsets"
 *   20: zeta's set 1 another seed, beta's set 3 none (unreadable): n = 1, d = 1.5
 *   50: zeta's sets 1 and 3 other seeds: n = 1, d = -0.5, "sets 1, 3: ..."
 * with a note for each set not paired; the ablation of zeta against beta at 10 drops set 3 too. */
static const char sub_spec[] =
	"tables:\n"
	"  - {id: sub-claim, layout: paired, pipeline: sub, columns: [10, 20, 50], sets: 3,\n"
	"     pairs: [[zeta, beta]]}\n"
	"  - {id: sub-ablation, layout: ablation, pipeline: sub, column: 10, sets: 3, baseline: beta,\n"
	"     variants: [{run: zeta, label: other subset at set 3}]}\n";

static void test_paired_subsets(void)
{
	static const double z10[3] = { 12, 13, 14 }, z20[3] = { 19, 19.5, 20 }, z50[3] = { 7, 7.5, 6 };
	static const double b10 = 10, b20 = 18, b50 = 8;
	static const int64_t other = 7;
	char spec[1200], key[256], f[P_N][128], g[A_N][128], *md, *tex;
	log_t lg;
	snm_paper_opts o;
	snm_error e;
	for (int s = 1; s <= 3; ++s) {
		snprintf(key, sizeof key, "sub/beta/n10/set%d", s);
		write_run(key, "finished", b10);
		snprintf(key, sizeof key, "sub/beta/n20/set%d", s);
		write_run_seed(key, "finished", b20, s == 3 ? -1 : 1000 + s);
		snprintf(key, sizeof key, "sub/beta/n50/set%d", s);
		write_run(key, "finished", b50);
		snprintf(key, sizeof key, "sub/zeta/n10/set%d", s);
		write_run_seed(key, "finished", z10[s - 1], s == 3 ? other : 1000 + s);
		snprintf(key, sizeof key, "sub/zeta/n20/set%d", s);
		write_run_seed(key, "finished", z20[s - 1], s == 1 ? other : 1000 + s);
		snprintf(key, sizeof key, "sub/zeta/n50/set%d", s);
		write_run_seed(key, "finished", z50[s - 1], s != 2 ? other : 1000 + s);
	}
	snprintf(spec, sizeof spec, "%s/sub.yaml", tmp);
	write_text(spec, sub_spec);
	stage_opts(&o, spec, results, out, &lg);
	CU_ASSERT_EQUAL_FATAL(snm_paper_run(&o, &e), SNM_OK);
	CU_ASSERT_EQUAL(lg.wrote, 6);
	/* 10: both finished at all three sets, one pair fewer */
	CU_ASSERT_EQUAL_FATAL(csv_pair("sub-claim", "zeta", "beta", "10", f), 0);
	CU_ASSERT_EQUAL(atoi(f[P_AFIN]), 3);
	CU_ASSERT_EQUAL(atoi(f[P_BFIN]), 3);
	CU_ASSERT_EQUAL(atoi(f[P_NPAIRS]), 2);
	SNM_ASSERT_CLOSE(num(f[P_MEAN]), 2.5, 1e-12, 0);
	SNM_ASSERT_CLOSE(num(f[P_LO]), 2.5 - t1(0.975) * sqrt(0.5) / sqrt(2), 1e-9, 1e-9);
	CU_ASSERT_STRING_EQUAL(f[P_MISSING], "set 3: other training subsets");
	CU_ASSERT_EQUAL(log_count(&lg, "note sub-claim: zeta and beta at 10, set 3: other training subsets "
	                               "(seed_subset 7 and 1003), not paired"), 1);
	/* 20: what is missing first, then the other subsets */
	CU_ASSERT_EQUAL_FATAL(csv_pair("sub-claim", "zeta", "beta", "20", f), 0);
	CU_ASSERT_EQUAL(atoi(f[P_NPAIRS]), 1);
	SNM_ASSERT_CLOSE(num(f[P_MEAN]), 1.5, 1e-12, 0);
	CU_ASSERT_STRING_EQUAL(f[P_MISSING], "beta unreadable 1/3; set 1: other training subsets");
	CU_ASSERT_EQUAL(log_count(&lg, "sub/beta/n20/set3.h5: no attribute 'seed_subset'"), 1);
	CU_ASSERT_EQUAL(log_count(&lg, "zeta and beta at 20, set 1: other training subsets (seed_subset 7 and "
	                               "1001), not paired"), 1);
	/* 50: two sets left out */
	CU_ASSERT_EQUAL_FATAL(csv_pair("sub-claim", "zeta", "beta", "50", f), 0);
	CU_ASSERT_EQUAL(atoi(f[P_NPAIRS]), 1);
	SNM_ASSERT_CLOSE(num(f[P_MEAN]), -0.5, 1e-12, 0);
	CU_ASSERT_STRING_EQUAL(f[P_MISSING], "sets 1, 3: other training subsets");
	CU_ASSERT_EQUAL(log_count(&lg, "zeta and beta at 50, set"), 2);
	md = read_out("sub-claim.md");
	tex = read_out("sub-claim.tex");
	CU_ASSERT_PTR_NOT_NULL_FATAL(md);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tex);
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| zeta − beta | 10 | +2.50 [-3.85, +8.85] · *set 3: other training "
	                                  "subsets* | 2 | not resolved |\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| zeta − beta | 20 | +1.50 · *beta unreadable 1/3; set 1: other "
	                                  "training subsets* | 1 | – |\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| zeta − beta | 50 | -0.50 · *sets 1, 3: other training subsets* | 1 "
	                                  "| – |\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(tex, " & 10 & $+2.50$ [$-3.85$, $+8.85$] \\textit{set 3: other training "
	                                   "subsets} & 2 & not resolved \\\\\n"));
	free(md);
	free(tex);
	/* the ablation: the variant's own cell counts all its runs, its differences two sets */
	CU_ASSERT_EQUAL_FATAL(csv_ablation("sub-ablation", "zeta", g), 0);
	CU_ASSERT_EQUAL(atoi(g[A_FIN]), 3);
	CU_ASSERT_EQUAL(atoi(g[A_NPAIRS]), 2);
	SNM_ASSERT_CLOSE(num(g[A_DMEAN]), 2.5, 1e-12, 0);
	CU_ASSERT_EQUAL(log_count(&lg, "note sub-ablation: zeta and beta at 10, set 3: other training subsets "
	                               "(seed_subset 7 and 1003), not paired"), 1);
	md = read_out("sub-ablation.md");
	tex = read_out("sub-ablation.tex");
	CU_ASSERT_PTR_NOT_NULL_FATAL(md);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tex);
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| other subset at set 3 | zeta | 13.00 (1.00) | 3 | +2.50 [-3.85, +8.85] "
	                                  "· *set 3: other training subsets* | 2 | not resolved |\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(tex, "zeta & 13.00 (1.00) & 3 & $+2.50$ [$-3.85$, $+8.85$] \\textit{set 3: "
	                                   "other training subsets} & 2 & not resolved \\\\\n"));
	free(md);
	free(tex);
}

/* A spec of the test's own, with the expected one-line message (its start). */
static void spec_error(const char *text, const char *want)
{
	char spec[1200];
	snm_paper_opts o;
	snm_error e;
	memset(&o, 0, sizeof o);
	snprintf(spec, sizeof spec, "%s/bad.yaml", tmp);
	write_text(spec, text);
	o.spec = spec;
	o.results = results;
	o.out = out;
	CU_ASSERT_EQUAL(snm_paper_run(&o, &e), SNM_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, want));
	CU_ASSERT_PTR_NULL(strchr(e.msg, '\n'));
	if (strstr(e.msg, want) == NULL)
		fprintf(stderr, "\n  got: %s\n  want: %s\n", e.msg, want);
}

static void test_paired_spec_errors(void)
{
	const char *head = "tables:\n  - id: x\n    layout: paired\n    pipeline: pt\n    columns: [10]\n";
	char text[1024];
	snprintf(text, sizeof text, "%s    pairs: [[alpha, beta, gamma]]\n", head);
	spec_error(text, "bad.yaml:6:13: table x: a pair is a list of two experiment names [a, b]");
	snprintf(text, sizeof text, "%s    pairs: [alpha, beta]\n", head);
	spec_error(text, "bad.yaml:6:13: table x: a pair is a list of two experiment names [a, b]");
	snprintf(text, sizeof text, "%s    pairs: [[alpha, {run: beta}]]\n", head);
	spec_error(text, "bad.yaml:6:13: table x: a pair is a list of two experiment names [a, b]");
	snprintf(text, sizeof text, "%s    pairs: [[alpha, alpha]]\n", head);
	spec_error(text, "bad.yaml:6:13: table x: a pair compares two different experiments, not 'alpha' with itself");
	snprintf(text, sizeof text, "%s    pairs: alpha\n", head);
	spec_error(text, "bad.yaml:6:12: table x: 'pairs' must be a non-empty list of pairs [a, b]");
	snprintf(text, sizeof text, "%s", head);
	spec_error(text, "bad.yaml:2:5: missing required key 'pairs' in table");
	/* a key of another layout */
	snprintf(text, sizeof text, "%s    pairs: [[alpha, beta]]\n    rows: [{run: alpha}]\n", head);
	spec_error(text, "bad.yaml:7:5: unknown key 'rows' in table");
	spec_error("tables:\n  - id: x\n    pipeline: pt\n    columns: [10]\n    rows: [{run: a}]\n"
	           "    pairs: [[a, b]]\n", "bad.yaml:6:5: unknown key 'pairs' in table");
	snprintf(text, sizeof text, "%s    pairs: [[alpha, beta]]\n    level: 1.5\n", head);
	spec_error(text, "bad.yaml:7:12: 'level': expected a number in (0, 1), got '1.5'");
	spec_error("tables:\n  - id: x\n    layout: pared\n", "bad.yaml:3:13: 'layout': expected one of "
	           "mean|sets|paired|ablation|checks, got 'pared'");
	/* ablation */
	spec_error("tables:\n  - id: y\n    layout: ablation\n    pipeline: pt\n    column: 20\n    baseline: beta\n"
	           "    variants: [{run: alpha}, {run: beta, label: same}]\n",
	           "bad.yaml:7:36: table y: the variant 'beta' is the baseline itself");
	spec_error("tables:\n  - id: y\n    layout: ablation\n    pipeline: pt\n    column: 20\n    baseline: beta\n"
	           "    variants: [{run: alpha, lable: a}]\n", "bad.yaml:7:29: unknown key 'lable' in ablation variant");
	spec_error("tables:\n  - id: y\n    layout: ablation\n    pipeline: pt\n    column: [20]\n    baseline: beta\n"
	           "    variants: [{run: alpha}]\n", "bad.yaml:5:13: 'column': expected a string");
	spec_error("tables:\n  - id: y\n    layout: ablation\n    pipeline: pt\n    column: 0\n    baseline: beta\n"
	           "    variants: [{run: alpha}]\n", "bad.yaml:5:13: table y: 'column' is one per-class size");
	spec_error("tables:\n  - id: y\n    layout: ablation\n    pipeline: pt\n    columns: [20]\n    baseline: beta\n"
	           "    variants: [{run: alpha}]\n", "bad.yaml:5:5: unknown key 'columns' in table");
}

/* ---- suite: figures from a trained network --------------------------------------------------- */

static char fig_results[600], run_path[800], fig_spec[800];
static int trained;

static const char syn_yaml[] =
	"name: syn\n"
	"seed: 3\n"
	"results: %s\n"
	"defaults:\n"
	"  data: {type: synthetic, classes: 3, per_class: 60, size: 8, noise: 0.8}\n"
	"  model: {type: convnet, preset: custom, layers: [{conv: 4, k: 3, stride: 2, pad: 1}, {fc: 6}]}\n"
	"  train: {epochs: 4, batch: 10, lr: 0.01, eval_batch: 50}\n"
	"grid: {per_class: [20], sets: 1}\n"
	"experiments:\n"
	"  - name: proposed-base\n"
	"    noise: {type: recon, targets: xz, weight: 0.03}\n";

static const char syn_spec[] =
	"tables:\n"
	"  - {id: syn-table, pipeline: syn, columns: [20], sets: 1, best: bold,\n"
	"     rows: [{run: proposed-base, paper: [[12.5, 1.0]]}]}\n"
	"figures:\n"
	"  curves:\n"
	"    - {id: syn-curves, pipeline: syn, columns: [20], sets: 1, runs: [proposed-base], size: [480, 320]}\n"
	"  reconstructions:\n"
	"    - {id: syn-recon, run: syn/proposed-base/n20/set1, per_class: 2, copies: 3, sd: 0.2, seed: 5,\n"
	"       size: [400, 300], semantic: {space: post, per_example: false}}\n"
	"  tsne:\n"
	"    - {id: syn-tsne, per_class_id: syn-tsne-classes, run: syn/proposed-base/n20/set1, background: 90,\n"
	"       copies: 2, classes: [0, 2], perplexity: 10, iterations: 250, seed: 6, size: [600, 240],\n"
	"       per_class_size: [450, 480]}\n";

static int figures_init(void)
{
	char text[2048], yaml[800];
	snm_pipeline *p = NULL;
	snm_error e;
	snm_trainer_opts to = { .threads = 1, .version = "test" };
	snprintf(fig_results, sizeof fig_results, "%s/fig-results", tmp);
	snprintf(yaml, sizeof yaml, "%s/syn.yaml", tmp);
	snprintf(text, sizeof text, syn_yaml, fig_results);
	write_text(yaml, text);
	snprintf(fig_spec, sizeof fig_spec, "%s/syn-spec.yaml", tmp);
	write_text(fig_spec, syn_spec);
	if (snm_pipeline_load(yaml, NULL, &p, &e) != SNM_OK) {
		fprintf(stderr, "figures: %s\n", e.msg);
		return 0;
	}
	snprintf(run_path, sizeof run_path, "%s", p->runs[0].result_path);
	trained = snm_train(&p->runs[0], &to, NULL, &e) == SNM_OK;
	if (!trained)
		fprintf(stderr, "figures: training: %s\n", e.msg);
	snm_pipeline_free(p);
	return 0;
}

/* The rebuilt network classifies its training subset exactly as the trainer measured it at the
 * best epoch: the subset, its mean and the weights are the run's. */
static void test_model_rebuild(void)
{
	snm_paper_model *m;
	snm_metrics *met;
	snm_error e;
	const long *sub;
	long n;
	int64_t best;
	int zd;
	CU_ASSERT_FATAL(trained);
	CU_ASSERT_EQUAL_FATAL(snm_paper_model_open(run_path, NULL, &m, &e), SNM_OK);
	CU_ASSERT(snm_paper_model_finished(m));
	n = snm_paper_model_subset(m, &sub);
	CU_ASSERT_EQUAL(n, 60);
	zd = snm_paper_model_zdim(m);
	CU_ASSERT_EQUAL(zd, 6);
	{
		const int32_t *lab = snm_paper_model_labels(m);
		int per[3] = { 0, 0, 0 };
		for (long i = 0; i < n; ++i) {
			per[lab[sub[i]]]++;
			if (i > 0)
				CU_ASSERT(sub[i] > sub[i - 1]);
		}
		CU_ASSERT(per[0] == 20 && per[1] == 20 && per[2] == 20);
	}
	CU_ASSERT_EQUAL_FATAL(snm_store_get_int(run_path, "best_epoch", &best, &e), SNM_OK);
	CU_ASSERT_EQUAL_FATAL(snm_store_read_metrics(run_path, &met, &e), SNM_OK);
	{
		float *z = malloc((size_t)n * zd * sizeof *z), *zp = malloc((size_t)n * zd * sizeof *zp);
		float *zq = malloc((size_t)n * zd * sizeof *zq);
		int32_t *pred = malloc((size_t)n * sizeof *pred);
		const int32_t *lab = snm_paper_model_labels(m);
		double recorded = snm_metrics_get(met, (size_t)best, snm_metrics_find(met, "train_error"));
		long wrong = 0;
		gsl_rng *r1 = snm_rng_new(9, NULL), *r2 = snm_rng_new(9, NULL);
		CU_ASSERT_EQUAL_FATAL(snm_paper_model_encode(m, sub, n, z, &e), SNM_OK);
		CU_ASSERT_EQUAL_FATAL(snm_paper_model_classify(m, z, n, pred, &e), SNM_OK);
		for (long i = 0; i < n; ++i)
			wrong += pred[i] != lab[sub[i]];
		SNM_ASSERT_CLOSE(100.0 * (double)wrong / (double)n, recorded, 1e-9, 0);
		printf("\n  rebuilt network: training error %.2f%%, recorded %.2f%% (best epoch %d)\n",
		       100.0 * (double)wrong / (double)n, recorded, (int)best + 1);
		/* the figures' perturbations (the random and semantic plugins' perturb entries) */
		{
			snm_paper_perturb *p0[2], *p2[2];
			snm_cfg *e0 = NULL, *e2 = NULL;
			static const char sd0[] = "{id: f, run: r, sd: 0}", sd2[] = "{id: f, run: r, sd: 0.2}";
			CU_ASSERT_EQUAL_FATAL(snm_cfg_parse(sd0, strlen(sd0), "<test>", &e0, &e), SNM_OK);
			CU_ASSERT_EQUAL_FATAL(snm_cfg_parse(sd2, strlen(sd2), "<test>", &e2, &e), SNM_OK);
			CU_ASSERT_EQUAL_FATAL(snm_paper_figure_perturbations(m, e0, snm_paper_recon_options, p0, &e), SNM_OK);
			CU_ASSERT_EQUAL_FATAL(snm_paper_figure_perturbations(m, e2, snm_paper_recon_options, p2, &e), SNM_OK);
			/* sd 0: both perturbations give z back (up to the scaling's rounding) */
			for (int kind = 0; kind < 2; ++kind) {
				double worst = 0;
				CU_ASSERT_EQUAL(snm_paper_model_perturb(m, p0[kind], z, n, r1, zp, &e), SNM_OK);
				for (long i = 0; i < n * zd; ++i)
					worst = fmax(worst, fabs((double)zp[i] - z[i]));
				CU_ASSERT(worst < 1e-4);
			}
			/* random, sd 0.2: (z' - z) / (max z - min z) per example has standard deviation 0.2,
			 * and the same stream gives the same perturbation */
			gsl_rng_set(r1, 11);
			gsl_rng_set(r2, 11);
			CU_ASSERT_EQUAL(snm_paper_model_perturb(m, p2[0], z, n, r1, zp, &e), SNM_OK);
			CU_ASSERT_EQUAL(snm_paper_model_perturb(m, p2[0], z, n, r2, zq, &e), SNM_OK);
			CU_ASSERT_EQUAL(memcmp(zp, zq, (size_t)n * zd * sizeof *zp), 0);
			{
				double s2 = 0;
				long cnt = 0;
				for (long i = 0; i < n; ++i) {
					float lo = z[i * zd], hi = z[i * zd];
					for (int j = 1; j < zd; ++j)
						lo = fminf(lo, z[i * zd + j]), hi = fmaxf(hi, z[i * zd + j]);
					if (hi - lo < 1e-6f)
						continue;
					for (int j = 0; j < zd; ++j) {
						double d = (zp[i * zd + j] - z[i * zd + j]) / (hi - lo);
						s2 += d * d;
						++cnt;
					}
				}
				CU_ASSERT(cnt > 100);
				CU_ASSERT(sqrt(s2 / (double)cnt) > 0.17 && sqrt(s2 / (double)cnt) < 0.23);
			}
			/* semantic, sd 0.2: moves z, deterministically */
			gsl_rng_set(r1, 12);
			CU_ASSERT_EQUAL(snm_paper_model_perturb(m, p2[1], z, n, r1, zp, &e), SNM_OK);
			{
				double moved = 0;
				for (long i = 0; i < n * zd; ++i)
					moved += fabs((double)zp[i] - z[i]);
				CU_ASSERT(moved > 1e-3);
			}
			for (int kind = 0; kind < 2; ++kind) {
				snm_paper_perturb_close(p0[kind]);
				snm_paper_perturb_close(p2[kind]);
			}
			snm_cfg_free(e0);
			snm_cfg_free(e2);
		}
		/* decoded images are images: in [0, 1], one per example */
		{
			float *x = malloc((size_t)n * 64 * sizeof *x);
			int ok = 1;
			CU_ASSERT_EQUAL(snm_paper_model_decode(m, z, n, x, &e), SNM_OK);
			for (long i = 0; i < n * 64; ++i)
				ok &= x[i] >= 0 && x[i] <= 1;
			CU_ASSERT(ok);
			free(x);
		}
		gsl_rng_free(r1);
		gsl_rng_free(r2);
		free(z), free(zp), free(zq), free(pred);
	}
	snm_metrics_free(met);
	snm_paper_model_close(m);
}

/* A figure's perturbation is the plugin's: for every option value of the random and semantic
 * plugins, the z' a figure draws (its spec entry -> snm_paper_figure_perturbations ->
 * snm_paper_model_perturb) is the z' the plugin's objective trains with.  The objective does not
 * hand out z', but its term ce_perturbed is CE(classify(z'), t): computed from the figure's z'
 * for the same examples (one training batch, so that per_example: false takes its statistics
 * over the same rows) and the same noise stream, it must come out bitwise equal. */
static void test_perturb_is_the_plugins(void)
{
	static const char *const entries[] = {
		"{id: f, run: r}",
		"{id: f, run: r, sd: 0.3, random: {per_example: false}, semantic: {per_example: false}}",
		"{id: f, run: r, sd: 0, random: {per_example: true}, semantic: {per_example: true}}",
		"{id: f, run: r, random: {sd: 0.5}, semantic: {space: post}}",
		"{id: f, run: r, semantic: {space: post, per_example: false, sd: 0.1}}",
		"{id: f, run: r, semantic: {space: pre, stop_gradient: false}}",
		"{id: f, run: r, semantic: {stop_gradient: false, per_example: false, perturbed_weight: 0.5,\n"
		"  clean_weight: 2, weight: 0.1}, random: {per_example: false, perturbed_weight: 0, weight: 0}}",
	};
	snm_paper_model *m;
	snm_error e;
	const long *sub;
	long n;
	int zd, cases = 0;
	CU_ASSERT_FATAL(trained);
	CU_ASSERT_EQUAL_FATAL(snm_paper_model_open(run_path, NULL, &m, &e), SNM_OK);
	snm_paper_model_subset(m, &sub);
	n = 10;                                   /* the run's training batch */
	zd = snm_paper_model_zdim(m);
	{
		const snm_run *R = snm_paper_model_run(m);
		const snm_data_info *in = &R->ds->info;
		float *z = malloc((size_t)n * zd * sizeof *z), *zp = malloc((size_t)n * zd * sizeof *zp);
		float *x = malloc((size_t)n * R->dim * sizeof *x);
		int32_t *y = malloc((size_t)n * sizeof *y);
		snm_tape *t = snm_tape_new(0, &e);
		CU_ASSERT_FATAL(z && zp && x && y && t);
		CU_ASSERT_EQUAL_FATAL(snm_paper_model_encode(m, sub, n, z, &e), SNM_OK);
		CU_ASSERT_EQUAL_FATAL(snm_run_inputs(R, SNM_SPLIT_TRAIN, sub, n, NULL, x, y, &e), SNM_OK);
		snm_tape_set_training(t, 0);
		for (size_t c = 0; c < sizeof entries / sizeof *entries; ++c) {
			snm_cfg *entry = NULL;
			snm_paper_perturb *p[2];
			CU_ASSERT_EQUAL_FATAL(snm_cfg_parse(entries[c], strlen(entries[c]), "<test>", &entry, &e), SNM_OK);
			if (snm_paper_figure_perturbations(m, entry, snm_paper_recon_options, p, &e) != SNM_OK) {
				CU_FAIL("figure perturbations");
				fprintf(stderr, "\n  %s: %s\n", entries[c], e.msg);
				snm_cfg_free(entry);
				continue;
			}
			for (int k = 0; k < 2; ++k) {
				gsl_rng *r1 = snm_rng_new(40 + c, NULL), *r2 = snm_rng_new(40 + c, NULL);
				snm_objective obj;
				snm_batch b;
				snm_tensor *ce = NULL, *zt = NULL;
				float trained_ce = NAN, figure_ce = NAN;
				double moved = 0;
				/* the figure's z' */
				CU_ASSERT_EQUAL(snm_paper_model_perturb(m, p[k], z, n, r1, zp, &e), SNM_OK);
				/* the objective on the same examples and stream */
				memset(&obj, 0, sizeof obj);
				snm_tape_reset(t);
				b.x = snm_tape_const(t, 4, (int[]){ (int)n, in->d[0], in->d[1], in->d[2] }, x);
				b.labels = y;
				b.xu = NULL;
				CU_ASSERT_EQUAL(p[k]->vt->objective(p[k]->state, p[k]->model, t, &b, r2, &obj, &e), SNM_OK);
				for (int i = 0; i < obj.n_terms; ++i)
					if (strcmp(obj.term_names[i], "ce_perturbed") == 0)
						trained_ce = obj.terms[i]->x[0];
				/* CE(classify(z'), t) of the figure's z' */
				zt = snm_tape_const(t, 2, (int[]){ (int)n, zd }, zp);
				ce = snm_softmax_ce(t, p[k]->model->vt->classify(p[k]->model->state, t, zt), y);
				CU_ASSERT_PTR_NOT_NULL_FATAL(ce);
				figure_ce = ce->x[0];
				CU_ASSERT_EQUAL(memcmp(&figure_ce, &trained_ce, sizeof figure_ce), 0);
				/* and it is a perturbation (sd > 0 moves z) */
				for (long i = 0; i < n * zd; ++i)
					moved += fabs((double)zp[i] - z[i]);
				CU_ASSERT(strstr(entries[c], "sd: 0,") ? moved < 1e-3 * n * zd : moved > 1e-4);
				if (memcmp(&figure_ce, &trained_ce, sizeof figure_ce) != 0)
					fprintf(stderr, "\n  %s, %s: figure %.9g, trained %.9g\n", entries[c],
					        k ? "semantic" : "random", figure_ce, trained_ce);
				gsl_rng_free(r1);
				gsl_rng_free(r2);
				++cases;
			}
			snm_paper_perturb_close(p[0]);
			snm_paper_perturb_close(p[1]);
			snm_cfg_free(entry);
		}
		snm_tape_reset(t);
		snm_tape_free(t);
		free(z), free(zp), free(x), free(y);
	}
	printf("\n  %d figure perturbations equal to their plugin's objective\n", cases);
	snm_paper_model_close(m);
}

static void test_figures(void)
{
	snm_paper_opts o;
	snm_error e;
	log_t l;
	CU_ASSERT_FATAL(trained);
	if (!have_gnuplot())
		return;
	stage_opts(&o, fig_spec, fig_results, out, &l);
	CU_ASSERT_EQUAL_FATAL(snm_paper_run(&o, &e), SNM_OK);
	for (int i = 0; i < l.n; ++i)
		printf("\n  %s", l.text[i]);
	printf("\n");
	CU_ASSERT_EQUAL(l.wrote, 3 + 2 * 4);                         /* a table, 4 figures */
	CU_ASSERT_EQUAL(l.notes, 0);
	check_figure("syn-curves", 480, 320, 0x1f77b4);             /* the first run's colour */
	check_figure("syn-recon", 400, 300, 0xffffffffu);
	check_figure("syn-tsne", 600, 240, 0x1f3fbf);               /* the perturbed samples' crosses */
	check_figure("syn-tsne-classes", 450, 480, 0x1f3fbf);
	{
		/* the reconstruction grid is greyscale images: many grey levels */
		char path[1200];
		image img;
		int grey[256] = { 0 }, levels = 0;
		snprintf(path, sizeof path, "%s/syn-recon.png", out);
		CU_ASSERT_EQUAL_FATAL(png_read(path, &img), 0);
		for (long i = 0; i < (long)img.w * img.h; ++i)
			if (img.rgb[3 * i] == img.rgb[3 * i + 1] && img.rgb[3 * i] == img.rgb[3 * i + 2])
				grey[img.rgb[3 * i]] = 1;
		for (int k = 0; k < 256; ++k)
			levels += grey[k];
		CU_ASSERT(levels > 40);
		free(img.rgb);
	}
}

/* A curves entry that draws another /metrics column (`metric`, `ylabel`, `log`): the figure from
 * the run's loss.recon_z, its gnuplot script with the label and a logarithmic y axis (a wrapper
 * around gnuplot keeps the scripts), the default entry's without; a column no run has: a note. */
static void test_curves_metric(void)
{
	static const char spec[] =
		"figures:\n"
		"  curves:\n"
		"    - {id: syn-plain, pipeline: syn, columns: [20], sets: 1, runs: [proposed-base], size: [480, 320]}\n"
		"    - {id: syn-recon-z, pipeline: syn, columns: [20], sets: 1, runs: [proposed-base], size: [480, 320],\n"
		"       metric: loss.recon_z, ylabel: z cost, log: true}\n"
		"    - {id: syn-nometric, pipeline: syn, columns: [20], sets: 1, runs: [proposed-base],\n"
		"       metric: no.such.column}\n";
	char spec_path[800], wrapper[800], kept[800], out3[800], text[1800];
	snm_paper_opts o;
	snm_error e;
	log_t l;
	size_t len;
	char *gp;
	CU_ASSERT_FATAL(trained);
	if (!have_gnuplot())
		return;
	snprintf(spec_path, sizeof spec_path, "%s/metric-spec.yaml", tmp);
	write_text(spec_path, spec);
	snprintf(kept, sizeof kept, "%s/kept.gp", tmp);
	snprintf(wrapper, sizeof wrapper, "%s/gnuplot-keep", tmp);
	snprintf(text, sizeof text, "#!/bin/sh\ncat \"$1\" >> '%s'\nexec gnuplot \"$1\"\n", kept);
	write_text(wrapper, text);
	CU_ASSERT_EQUAL_FATAL(chmod(wrapper, 0755), 0);
	snprintf(out3, sizeof out3, "%s/out-metric", tmp);
	stage_opts(&o, spec_path, fig_results, out3, &l);
	o.gnuplot = wrapper;
	CU_ASSERT_EQUAL_FATAL(snm_paper_run(&o, &e), SNM_OK);
	CU_ASSERT_EQUAL(l.wrote, 4);                                 /* two figures, PNG and PDF */
	CU_ASSERT_EQUAL(l.notes, 1);
	CU_ASSERT_EQUAL(log_count(&l, "syn-nometric: no run of syn/* has metrics"), 1);
	CU_ASSERT(exists(out3, "syn-recon-z.png") && exists(out3, "syn-recon-z.pdf"));
	CU_ASSERT_FALSE(exists(out3, "syn-nometric.png"));
	gp = slurp(kept, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(gp);
	/* each figure's body is written twice (PNG, then PDF); only syn-recon-z's has the log axis */
	CU_ASSERT_EQUAL(count_of(gp, "set logscale y\n"), 2);
	CU_ASSERT_EQUAL(count_of(gp, "set ylabel 'z cost'\n"), 2);
	CU_ASSERT_EQUAL(count_of(gp, "set ylabel 'validation error (%)'\n"), 2);
	CU_ASSERT_EQUAL(count_of(gp, "syn: loss.recon_z per epoch"), 2);
	CU_ASSERT(strstr(gp, "set logscale y\n") > strstr(gp, "syn-recon-z.png"));
	free(gp);
}

static void test_without_gnuplot(void)
{
	snm_paper_opts o;
	snm_error e;
	log_t l;
	char out2[700];
	CU_ASSERT_FATAL(trained);
	snprintf(out2, sizeof out2, "%s/out-nognuplot", tmp);
	stage_opts(&o, fig_spec, fig_results, out2, &l);
	o.gnuplot = "/nonexistent/gnuplot";
	CU_ASSERT_EQUAL_FATAL(snm_paper_run(&o, &e), SNM_OK);
	CU_ASSERT_EQUAL(l.wrote, 3);                                 /* the table */
	CU_ASSERT_EQUAL(l.notes, 3);                                 /* one line per figure entry */
	CU_ASSERT_EQUAL(log_count(&l, "gnuplot not found"), 3);
	CU_ASSERT(exists(out2, "syn-table.csv"));
	CU_ASSERT_FALSE(exists(out2, "syn-recon.png"));
}

/* A run file copied to another run's place: the figure refuses it by its run_key, naming both. */
static void test_figure_wrong_run(void)
{
	static const char spec[] =
		"figures:\n"
		"  reconstructions:\n"
		"    - {id: syn-recon2, run: syn/proposed-base/n20/set2, per_class: 2, copies: 3, sd: 0.2,\n"
		"       seed: 5, size: [400, 300]}\n";
	char dst[900], spec_path[800];
	snm_paper_opts o;
	snm_error e;
	log_t l;
	size_t len;
	char *bytes;
	FILE *f;
	CU_ASSERT_FATAL(trained);
	if (!have_gnuplot())
		return;
	snprintf(dst, sizeof dst, "%s/syn/proposed-base/n20/set2.h5", fig_results);
	bytes = slurp(run_path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bytes);
	f = fopen(dst, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(bytes, 1, len, f), len);
	fclose(f);
	free(bytes);
	snprintf(spec_path, sizeof spec_path, "%s/wrong-run.yaml", tmp);
	write_text(spec_path, spec);
	stage_opts(&o, spec_path, fig_results, out, &l);
	CU_ASSERT_EQUAL(snm_paper_run(&o, &e), SNM_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "holds run 'syn/proposed-base/n20/set1', not "
	                                     "'syn/proposed-base/n20/set2'"));
	CU_ASSERT_PTR_NULL(strchr(e.msg, '\n'));
	CU_ASSERT_EQUAL(remove(dst), 0);
}

/* ---- suite: t-SNE ---------------------------------------------------------------------------- */

/* k Gaussian clusters of m points in d dimensions: centres 12 apart along the axes, sd 1. */
static double *clusters(int k, int m, int d, int *label, unsigned long seed)
{
	gsl_rng *r = snm_rng_new(seed, NULL);
	double *x = malloc((size_t)k * m * d * sizeof *x);
	for (int c = 0; c < k; ++c)
		for (int i = 0; i < m; ++i) {
			for (int j = 0; j < d; ++j)
				x[((size_t)c * m + i) * d + j] = (j == c ? 12.0 : 0.0) + gsl_ran_gaussian(r, 1.0);
			label[c * m + i] = c;
		}
	gsl_rng_free(r);
	return x;
}

/* Share of points whose nearest other point in the embedding has the same label. */
static double nn_agreement(const double *y, const int *label, int n)
{
	int same = 0;
	for (int i = 0; i < n; ++i) {
		double best = INFINITY;
		int arg = -1;
		for (int j = 0; j < n; ++j) {
			double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
			if (j != i && dx * dx + dy * dy < best)
				best = dx * dx + dy * dy, arg = j;
		}
		same += label[arg] == label[i];
	}
	return (double)same / n;
}

static void test_tsne_separates_clusters(void)
{
	enum { K = 4, M = 60, D = 10, N = K * M };
	int label[N];
	double *x = clusters(K, M, D, label, 5), y[2 * N];
	snm_tsne_opts o;
	snm_error e;
	snm_tsne_defaults(&o);
	o.perplexity = 15;
	o.iterations = 500;
	/* Barnes-Hut */
	CU_ASSERT_EQUAL_FATAL(snm_tsne(x, N, D, &o, y, &e), SNM_OK);
	CU_ASSERT(nn_agreement(y, label, N) > 0.95);
	/* exact */
	o.theta = 0;
	CU_ASSERT_EQUAL_FATAL(snm_tsne(x, N, D, &o, y, &e), SNM_OK);
	CU_ASSERT(nn_agreement(y, label, N) > 0.95);
	/* the input itself, with its labels shuffled, is the failing control: ~25% */
	{
		int shuffled[N];
		memcpy(shuffled, label, sizeof shuffled);
		gsl_rng *r = snm_rng_new(3, NULL);
		gsl_ran_shuffle(r, shuffled, N, sizeof *shuffled);
		gsl_rng_free(r);
		CU_ASSERT(nn_agreement(y, shuffled, N) < 0.5);
	}
	free(x);
}

/* Barnes-Hut with every neighbour (3 perplexity >= n - 1) and a vanishing angle computes the exact
 * objective: both variants must follow the same path, up to summation order.  Only for a few steps:
 * the descent is chaotic (the sign-driven gains amplify rounding differences about tenfold every
 * three steps: 1e-12 after 10 steps, 1e-1 after 50, here). */
static void test_tsne_bh_equals_exact(void)
{
	enum { K = 3, M = 20, D = 6, N = K * M };
	int label[N];
	double *x = clusters(K, M, D, label, 21), a[2 * N], b[2 * N], spread = 0, worst = 0;
	snm_tsne_opts o;
	snm_error e;
	snm_tsne_defaults(&o);
	o.perplexity = 20;
	o.iterations = 20;
	o.theta = 1e-9;
	CU_ASSERT_EQUAL_FATAL(snm_tsne(x, N, D, &o, a, &e), SNM_OK);
	o.theta = 0;
	CU_ASSERT_EQUAL_FATAL(snm_tsne(x, N, D, &o, b, &e), SNM_OK);
	for (int i = 0; i < 2 * N; ++i) {
		spread = fmax(spread, fabs(b[i]));
		worst = fmax(worst, fabs(a[i] - b[i]));
	}
	printf("\n  Barnes-Hut (theta ~ 0, all neighbours) vs exact after 20 steps: max |dy| %.2g of %.3g\n",
	       worst, spread);
	CU_ASSERT(spread > 1);
	CU_ASSERT(worst < 1e-6 * spread);
	free(x);
}

static void test_tsne_deterministic(void)
{
	enum { K = 3, M = 40, D = 8, N = K * M };
	int label[N];
	double *x = clusters(K, M, D, label, 8), a[2 * N], b[2 * N];
	snm_tsne_opts o;
	snm_error e;
	snm_tsne_defaults(&o);
	o.perplexity = 10;
	o.iterations = 200;
	o.seed = 42;
	CU_ASSERT_EQUAL_FATAL(snm_tsne(x, N, D, &o, a, &e), SNM_OK);
	CU_ASSERT_EQUAL_FATAL(snm_tsne(x, N, D, &o, b, &e), SNM_OK);
	CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0);
	o.seed = 43;
	CU_ASSERT_EQUAL_FATAL(snm_tsne(x, N, D, &o, b, &e), SNM_OK);
	CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof a), 0);
	/* too few points for the perplexity */
	o.perplexity = 200;
	CU_ASSERT_EQUAL(snm_tsne(x, N, D, &o, b, &e), SNM_EINVAL);
	free(x);
}

/* PCA: a rotation when k = d (pairwise distances kept), components ordered by variance,
 * orthogonal, the first one equal (up to sign) to a power iteration on the covariance. */
static void test_pca(void)
{
	enum { N = 80, D = 5 };
	double x[N * D], p[N * D], cov[D * D] = { 0 }, mean[D] = { 0 }, v[D], var[D] = { 0 };
	gsl_rng *r = snm_rng_new(4, NULL);
	snm_error e;
	for (int i = 0; i < N; ++i) {
		double a = gsl_ran_gaussian(r, 3.0), b = gsl_ran_gaussian(r, 1.0);
		for (int j = 0; j < D; ++j)
			x[i * D + j] = (j + 1) * a + (j % 2 ? b : -b) + gsl_ran_gaussian(r, 0.1) + 5;
	}
	gsl_rng_free(r);
	CU_ASSERT_EQUAL_FATAL(snm_pca(x, N, D, D, p, &e), SNM_OK);
	for (int i = 0; i < N; i += 7)
		for (int j = i + 1; j < N; j += 5) {
			double d1 = 0, d2 = 0;
			for (int k = 0; k < D; ++k) {
				d1 += (x[i * D + k] - x[j * D + k]) * (x[i * D + k] - x[j * D + k]);
				d2 += (p[i * D + k] - p[j * D + k]) * (p[i * D + k] - p[j * D + k]);
			}
			SNM_ASSERT_CLOSE(d2, d1, 1e-9, 1e-9);
		}
	for (int i = 0; i < N; ++i)
		for (int k = 0; k < D; ++k)
			var[k] += p[i * D + k] * p[i * D + k];
	for (int k = 1; k < D; ++k)
		CU_ASSERT(var[k] <= var[k - 1] * (1 + 1e-12));
	for (int a = 0; a < D; ++a)
		for (int b = a + 1; b < D; ++b) {
			double dot = 0;
			for (int i = 0; i < N; ++i)
				dot += p[i * D + a] * p[i * D + b];
			CU_ASSERT(fabs(dot) < 1e-8 * sqrt(var[a] * var[b]) + 1e-9);
		}
	/* power iteration on the covariance, by plain loops */
	for (int i = 0; i < N; ++i)
		for (int j = 0; j < D; ++j)
			mean[j] += x[i * D + j] / N;
	for (int i = 0; i < N; ++i)
		for (int a = 0; a < D; ++a)
			for (int b = 0; b < D; ++b)
				cov[a * D + b] += (x[i * D + a] - mean[a]) * (x[i * D + b] - mean[b]);
	for (int j = 0; j < D; ++j)
		v[j] = 1;
	for (int it = 0; it < 500; ++it) {
		double w[D] = { 0 }, norm = 0;
		for (int a = 0; a < D; ++a)
			for (int b = 0; b < D; ++b)
				w[a] += cov[a * D + b] * v[b];
		for (int a = 0; a < D; ++a)
			norm += w[a] * w[a];
		for (int a = 0; a < D; ++a)
			v[a] = w[a] / sqrt(norm);
	}
	for (int i = 0; i < N; i += 9) {
		double proj = 0;
		for (int j = 0; j < D; ++j)
			proj += (x[i * D + j] - mean[j]) * v[j];
		SNM_ASSERT_CLOSE(fabs(p[i * D]), fabs(proj), 1e-7, 1e-7);
	}
	/* one component of fewer dimensions is the first column */
	{
		double p1[N];
		CU_ASSERT_EQUAL_FATAL(snm_pca(x, N, D, 1, p1, &e), SNM_OK);
		for (int i = 0; i < N; ++i)
			SNM_ASSERT_CLOSE(p1[i], p[i * D], 1e-9, 1e-9);
	}
	CU_ASSERT_EQUAL(snm_pca(x, N, D, D + 1, p, &e), SNM_EINVAL);
}

static CU_TestInfo table_tests[] = {
	{ "every table written", test_every_table_written },
	{ "mean (std) cells against plain loops", test_mean_std_cells },
	{ "missing / unfinished / unreadable cells", test_missing_marks },
	{ "best per column (ties, incomplete excluded)", test_best_marks },
	{ "per-set layout", test_sets_layout },
	{ "population std, digits, labels map", test_population_std_and_digits },
	{ "spec errors at file:line:col", test_spec_errors },
	{ "snm paper command", test_command },
	{ "learning curves", test_learning_curves },
	CU_TEST_INFO_NULL
};

/* ---- layout checks ------------------------------------------------------------------------- */

/* A finished run "key" whose /metrics has 3 epochs of secs seconds each, the second stretched by a
 * pause of `pause` seconds, and test_at_best result. */
static void write_run_secs(const char *key, double result, double secs, double pause)
{
	const char *cols[] = { "epoch", "valid_error", "best_valid_error", "test_at_best", "seconds" };
	snm_metrics *m = snm_metrics_new(5, cols, NULL);
	for (int i = 0; i < 3; ++i) {
		double row[5] = { i + 1, 50, 50, result, secs + (i == 1 ? pause : 0) };
		snm_metrics_append(m, row, NULL);
	}
	save_run("write_run_secs", key, "finished", m, 0, NULL, NULL);
}

static const char ck_spec[] =
	"tables:\n"
	"  - id: ck\n"
	"    layout: checks\n"
	"    rows:\n"
	"      - {label: a within, pipeline: ck, runs: [a], column: 10, reference: [1.06, 0.37], source: S1}\n"
	"      - {label: a misses, pipeline: ck, runs: [a], column: 10, reference: 0.5}\n"
	"      - {label: all labels, pipeline: ck, runs: [f1, f2, f3], column: full, reference: 1}\n"
	"      - {label: no reference, pipeline: ck, runs: [a], column: 10, sets: 2}\n";

static void test_checks(void)
{
	char spec[1200], *md, *csv;
	snm_paper_opts o;
	snm_error e;
	log_t lg;
	write_run_secs("ck/a/n10/set1", 1.0, 100, 0);
	write_run_secs("ck/a/n10/set2", 1.2, 100, 0);
	write_run_secs("ck/a/n10/set3", 1.4, 100, 1000);    /* paused: still 300 s (the sum: 1300) */
	write_run_secs("ck/f1/full", 0.6, 4000, 0);
	write_run("ck/f2/full", "running", 0.7);
	snprintf(spec, sizeof spec, "%s/ck.yaml", tmp);
	write_text(spec, ck_spec);
	stage_opts(&o, spec, results, out, &lg);
	CU_ASSERT_EQUAL_FATAL(snm_paper_run(&o, &e), SNM_OK);
	md = read_out("ck.md");
	csv = read_out("ck.csv");
	CU_ASSERT_PTR_NOT_NULL_FATAL(md);
	CU_ASSERT_PTR_NOT_NULL_FATAL(csv);
	/* mean 1.2, sample std 0.2; 1.2 - 1.06 = 0.14 <= 0.37; 300 s a run */
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| a within | 1.20 (0.20), n=3 | 1.06 (0.37) | S1 | "
	                                  "within: +0.14 <= 0.37 (the reference's spread) | 5 min |"));
	/* no published spread: our sample std 0.2 judges, 0.7 > 0.2 */
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| a misses | 1.20 (0.20), n=3 | 0.50 |  | "
	                                  "misses: +0.70 > 0.20 (our sample std) | 5 min |"));
	/* all labels: one run per experiment; the finished one's number so far, the others named, the
	 * finished one's time; one run and no published spread: nothing to judge by */
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| all labels | 0.60, n=1 so far; missing 1/3, unfinished 1/3, run: "
	                                  "ck/f2/full ck/f3/full | 1.00 |  | so far (1 of 3), no spread to "
	                                  "judge by (difference -0.40) | 3.3 h |"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| no reference | 1.10 (0.14), n=2 | - |  | "
	                                  "comparison (no reference) | 5 min |"));
	CU_ASSERT_PTR_NOT_NULL(strstr(csv, "a within,3,3,1.2,0.2,1.06,0.37,0.14,0.37,within,300\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(csv, "all labels,3,1,0.6,,1,,-0.4,,,12000\n"));   /* no verdict */
	free(md);
	free(csv);
	/* a finished run whose result is no percentage (an edited file, -7): not counted, unreadable */
	write_run_secs("ck/neg/n10/set1", -7, 100, 0);
	write_text(spec, "tables:\n  - {id: ckn, layout: checks, rows: [{label: neg, pipeline: ck, runs: [neg],\n"
	                 "      column: 10, sets: 1}]}\n");
	memset(&lg, 0, sizeof lg);
	CU_ASSERT_EQUAL_FATAL(snm_paper_run(&o, &e), SNM_OK);
	md = read_out("ckn.md");
	CU_ASSERT_PTR_NOT_NULL_FATAL(md);
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| neg | unreadable, run: ck/neg/n10/set1 | - |"));
	CU_ASSERT_PTR_NULL(strstr(md, "-7.00"));
	free(md);
	/* spec errors, at file:line:col */
	write_text(spec, "tables:\n  - {id: ck, layout: checks, rows: [{label: x, pipeline: ck, runs: [a],\n"
	                 "      column: 10, reference: [1, 2, 3]}]}\n");
	CU_ASSERT_EQUAL(snm_paper_run(&o, &e), SNM_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "ck.yaml:3:30: 'reference': expected a number, [mean, spread] or ~"));
	write_text(spec, "tables:\n  - {id: ck, layout: checks, rows: [{label: x, pipeline: ck, runs: [],\n"
	                 "      column: 10}]}\n");
	CU_ASSERT_EQUAL(snm_paper_run(&o, &e), SNM_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "'runs': expected a non-empty list"));
}

static CU_TestInfo paired_tests[] = {
	{ "paired t interval against closed-form quantiles", test_paired_interval },
	{ "paired n, n = 1, n = 0, summary sentences", test_paired_counts },
	{ "ablation rows and paired differences", test_ablation },
	{ "claim and ablation tables of the real spec", test_claims_real_spec },
	{ "a pair trains on one subset: seed_subset", test_paired_subsets },
	{ "spec errors of paired and ablation at file:line:col", test_paired_spec_errors },
	{ "checks: mean, reference, verdict, wall time, missing keys", test_checks },
	CU_TEST_INFO_NULL
};

static CU_TestInfo figure_tests[] = {
	{ "rebuilt network matches its run", test_model_rebuild },
	{ "a figure's perturbation is its plugin's, every option", test_perturb_is_the_plugins },
	{ "reconstruction, t-SNE and curve figures", test_figures },
	{ "curves of another metric, log axis", test_curves_metric },
	{ "without gnuplot: one note per figure", test_without_gnuplot },
	{ "a run file in another run's place is refused", test_figure_wrong_run },
	CU_TEST_INFO_NULL
};

static CU_TestInfo tsne_tests[] = {
	{ "separates Gaussian clusters (BH and exact)", test_tsne_separates_clusters },
	{ "Barnes-Hut at theta 0 equals exact", test_tsne_bh_equals_exact },
	{ "deterministic per seed", test_tsne_deterministic },
	{ "PCA", test_pca },
	CU_TEST_INFO_NULL
};

static CU_SuiteInfo suites[] = {
	{ "tsne", NULL, NULL, NULL, NULL, tsne_tests },
	{ "tables", tables_init, NULL, NULL, NULL, table_tests },
	{ "paired", paired_init, NULL, NULL, NULL, paired_tests },
	{ "figures", figures_init, tables_clean, NULL, NULL, figure_tests },
	CU_SUITE_INFO_NULL
};

int main(void)
{
	return snm_test_run("test_paper", suites);
}
