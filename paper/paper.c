/* paper.c: the paper stage's driver (see paper.h): loads and checks the spec, makes every
 * table and figure it lists, and the small services the stage's modules share (notes, run-file
 * paths and results, the spec's option tables).  The tables are in table.c (layouts mean
 * and sets) and paired.c (layouts paired and ablation), both printing through
 * write.c (escaping, column heads, the notes of missing runs, writing a file); gnuplot and
 * the learning curves in plot.c, the rebuilt networks in model.c, the reconstruction
 * and t-SNE figures in figures.c. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SNM_PKGDATADIR
#define SNM_PKGDATADIR "/usr/local/share/snm"
#endif
#include "paper.h"
#include "run/fs.h"
#include "run/supersede.h"

const snm_option snm_paper_spec_options[] = {
	{ "std", SNM_OPT_CHOICE, "sample", "sample|population",
	  "standard deviation over sets: sample (n - 1) or population (n)", NULL },
	{ "digits", SNM_OPT_INT, "2", NULL, "decimals printed", "[0, 6]" },
	{ "labels", SNM_OPT_NODE, "{}", NULL, "row label of each experiment", NULL },
	{ "tables", SNM_OPT_NODE, "[]", NULL, "the tables", NULL },
	{ "figures", SNM_OPT_NODE, "{}", NULL, "the figures", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

const snm_option snm_paper_table_options[] = {
	{ "id", SNM_OPT_STRING, NULL, NULL, "output file name", NULL },
	{ "caption", SNM_OPT_STRING, "", NULL, "caption", NULL },
	{ "layout", SNM_OPT_CHOICE, "mean", "mean|sets", "mean (std) over sets, or one block per set", NULL },
	{ "pipeline", SNM_OPT_STRING, NULL, NULL, "first component of the run keys", NULL },
	{ "columns", SNM_OPT_NODE, NULL, NULL, "per-class sizes and `full`", NULL },
	{ "sets", SNM_OPT_INT, "3", NULL, "random sets per size", "[1, 100]" },
	{ "best", SNM_OPT_CHOICE, "none", "none|bold", "mark the lowest mean of each column", NULL },
	{ "mean_block", SNM_OPT_BOOL, "false", NULL, "layout sets: add a block of means over the sets", NULL },
	{ "rows", SNM_OPT_NODE, NULL, NULL, "the rows", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

const snm_option snm_paper_row_options[] = {
	{ "run", SNM_OPT_STRING, NULL, NULL, "experiment name in the run keys", NULL },
	{ "label", SNM_OPT_STRING, "", NULL, "row label (default: the labels map, else run)", NULL },
	{ "paper", SNM_OPT_NODE, "~", NULL, "the paper's numbers", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

const snm_option snm_paper_paired_options[] = {
	{ "id", SNM_OPT_STRING, NULL, NULL, "output file name", NULL },
	{ "caption", SNM_OPT_STRING, "", NULL, "caption", NULL },
	{ "layout", SNM_OPT_CHOICE, "paired", "paired", "paired differences a - b per pair and column", NULL },
	{ "pipeline", SNM_OPT_STRING, NULL, NULL, "first component of the run keys", NULL },
	{ "columns", SNM_OPT_NODE, NULL, NULL, "per-class sizes and `full`", NULL },
	{ "sets", SNM_OPT_INT, "3", NULL, "random sets per size (those present are read)", "[1, 100]" },
	{ "level", SNM_OPT_DOUBLE, "0.95", NULL, "confidence level of the paired t interval", "(0, 1)" },
	{ "pairs", SNM_OPT_NODE, NULL, NULL, "pairs [a, b] of experiment names", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

const snm_option snm_paper_ablation_options[] = {
	{ "id", SNM_OPT_STRING, NULL, NULL, "output file name", NULL },
	{ "caption", SNM_OPT_STRING, "", NULL, "caption", NULL },
	{ "layout", SNM_OPT_CHOICE, "ablation", "ablation", "a baseline and its variants at one column", NULL },
	{ "pipeline", SNM_OPT_STRING, NULL, NULL, "first component of the run keys", NULL },
	{ "column", SNM_OPT_STRING, NULL, NULL, "one per-class size or `full`", NULL },
	{ "sets", SNM_OPT_INT, "3", NULL, "random sets (those present are read)", "[1, 100]" },
	{ "level", SNM_OPT_DOUBLE, "0.95", NULL, "confidence level of the paired t interval", "(0, 1)" },
	{ "baseline", SNM_OPT_STRING, NULL, NULL, "experiment name of the baseline", NULL },
	{ "variants", SNM_OPT_NODE, NULL, NULL, "the variants: {run, label}", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

const snm_option snm_paper_variant_options[] = {
	{ "run", SNM_OPT_STRING, NULL, NULL, "experiment name in the run keys", NULL },
	{ "label", SNM_OPT_STRING, "", NULL, "what changed (default: the labels map, else run)", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

const snm_option snm_paper_curves_options[] = {
	{ "id", SNM_OPT_STRING, NULL, NULL, "output file name", NULL },
	{ "pipeline", SNM_OPT_STRING, NULL, NULL, "first component of the run keys", NULL },
	{ "columns", SNM_OPT_NODE, NULL, NULL, "per-class sizes and `full`: one panel each", NULL },
	{ "sets", SNM_OPT_INT, "3", NULL, "random sets per size", "[1, 100]" },
	{ "runs", SNM_OPT_NODE, NULL, NULL, "experiments: one line each", NULL },
	{ "size", SNM_OPT_NODE, "[1500, 1200]", NULL, "[width, height] in pixels", NULL },
	{ "metric", SNM_OPT_STRING, "valid_error", NULL, "the /metrics column drawn (e.g. loss.recon_z)", NULL },
	{ "ylabel", SNM_OPT_STRING, "validation error (%)", NULL, "the y axis's label", NULL },
	{ "log", SNM_OPT_BOOL, "false", NULL, "a logarithmic y axis", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

const snm_option snm_paper_recon_options[] = {
	{ "id", SNM_OPT_STRING, NULL, NULL, "output file name", NULL },
	{ "run", SNM_OPT_STRING, NULL, NULL, "run key of a trained network", NULL },
	{ "per_class", SNM_OPT_INT, "1", NULL, "examples per class", "[1, 100]" },
	{ "copies", SNM_OPT_INT, "5", NULL, "perturbations per example", "[1, 50]" },
	{ "sd", SNM_OPT_DOUBLE, "0.2", NULL, "noise standard deviation (min-max scaled units)", "[0, inf)" },
	{ "seed", SNM_OPT_INT, "1", NULL, "seed of the noise", "[0, inf)" },
	{ "size", SNM_OPT_NODE, "[1200, 420]", NULL, "[width, height] in pixels", NULL },
	{ "random", SNM_OPT_NODE, "{}", NULL,
	  "options of the random noise plugin, whose perturbation is drawn (sd: this entry's sd)", NULL },
	{ "semantic", SNM_OPT_NODE, "{}", NULL,
	  "options of the semantic noise plugin, whose perturbation is drawn (sd: this entry's sd)", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

const snm_option snm_paper_tsne_options[] = {
	{ "id", SNM_OPT_STRING, NULL, NULL, "output file name of the overview (Figure 6)", NULL },
	{ "per_class_id", SNM_OPT_STRING, "", NULL, "output file name of the per-class figure (Figure 8)", NULL },
	{ "run", SNM_OPT_STRING, NULL, NULL, "run key of a trained network", NULL },
	{ "background", SNM_OPT_INT, "3000", NULL, "training-split examples not used for training", "[0, inf)" },
	{ "copies", SNM_OPT_INT, "3", NULL, "perturbations per training example", "[1, 50]" },
	{ "sd", SNM_OPT_DOUBLE, "0.2", NULL, "noise standard deviation (min-max scaled units)", "[0, inf)" },
	{ "classes", SNM_OPT_NODE, "[]", NULL, "classes whose training examples the overview shows ([] = all)", NULL },
	{ "perplexity", SNM_OPT_DOUBLE, "30", NULL, "t-SNE perplexity", "(0, inf)" },
	{ "pca", SNM_OPT_INT, "50", NULL, "PCA dimensions before t-SNE (0: none)", "[0, inf)" },
	{ "theta", SNM_OPT_DOUBLE, "0.5", NULL, "Barnes-Hut angle (0: exact t-SNE)", "[0, 1]" },
	{ "iterations", SNM_OPT_INT, "1000", NULL, "t-SNE steps", "[0, inf)" },
	{ "seed", SNM_OPT_INT, "1", NULL, "seed of the noise, the background sample and the embedding", "[0, inf)" },
	{ "size", SNM_OPT_NODE, "[1800, 620]", NULL, "[width, height] of the overview in pixels", NULL },
	{ "per_class_size", SNM_OPT_NODE, "[1200, 3600]", NULL, "[width, height] of the per-class figure", NULL },
	{ "random", SNM_OPT_NODE, "{}", NULL,
	  "options of the random noise plugin, whose perturbation is drawn (sd: this entry's sd)", NULL },
	{ "semantic", SNM_OPT_NODE, "{}", NULL,
	  "options of the semantic noise plugin, whose perturbation is drawn (sd: this entry's sd)", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static const snm_option figures_options[] = {
	{ "curves", SNM_OPT_NODE, "[]", NULL, "learning curves", NULL },
	{ "reconstructions", SNM_OPT_NODE, "[]", NULL, "Figures 5 and 7", NULL },
	{ "tsne", SNM_OPT_NODE, "[]", NULL, "Figures 6 and 8", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

/* ---- shared services ------------------------------------------------------------------------- */

void snm_paper_note(const snm_paper_opts *o, int kind, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	if (o == NULL || o->note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	o->note(o->ctx, kind, buf);
}

char *snm_paper_run_path(const char *results, const char *pipeline, const char *experiment,
                         const char *column, int set)
{
	size_t n = strlen(results) + strlen(pipeline) + strlen(experiment) + strlen(column) + 48;
	char *p = malloc(n);
	if (p == NULL)
		return NULL;
	if (strcmp(column, "full") == 0)
		snprintf(p, n, "%s/%s/%s/full.h5", results, pipeline, experiment);
	else
		snprintf(p, n, "%s/%s/%s/n%s/set%d.h5", results, pipeline, experiment, column, set);
	return p;
}

void snm_paper_use(const snm_paper_opts *o, const char *path)
{
	snm_paper_used *u = o ? o->used : NULL;
	if (u == NULL)
		return;
	if (u->n == u->cap) {
		int cap = u->cap ? 2 * u->cap : 64;
		char **p = realloc(u->paths, (size_t)cap * sizeof *p);
		if (p == NULL) {
			u->lost = 1;
			return;
		}
		u->paths = p;
		u->cap = cap;
	}
	if ((u->paths[u->n] = strdup(path)) == NULL)
		u->lost = 1;
	else
		u->n++;
}

void snm_paper_used_free(snm_paper_used *u)
{
	if (u == NULL)
		return;
	for (int i = 0; i < u->n; ++i)
		free(u->paths[i]);
	free(u->paths);
	memset(u, 0, sizeof *u);
}

void snm_paper_keys_free(char **keys, int n)
{
	for (int i = 0; keys && i < n; ++i)
		free(keys[i]);
	free(keys);
}

/* The run key of a path under results: the part after results and its slashes, less ".h5". */
static const char *key_part(const char *path, const char *results, size_t *len)
{
	size_t lr = strlen(results), n;
	if (strncmp(path, results, lr) != 0)
		return NULL;
	path += lr;
	while (*path == '/')
		++path;
	n = strlen(path);
	if (n < 4 || strcmp(path + n - 3, ".h5") != 0)
		return NULL;
	*len = n - 3;
	return path;
}

typedef struct key_list {
	char **keys;
	int n, cap;
} key_list;

static int key_push(key_list *l, const char *key, size_t len)
{
	if (l->n == l->cap) {
		int cap = l->cap ? 2 * l->cap : 64;
		char **p = realloc(l->keys, (size_t)cap * sizeof *p);
		if (p == NULL)
			return -1;
		l->keys = p;
		l->cap = cap;
	}
	if ((l->keys[l->n] = strndup(key, len)) == NULL)
		return -1;
	l->n++;
	return 0;
}

/* Every "*.h5" regular file under dir (links not followed) but superseded files (kept beside their
 * run's file by `snm run --force`, src/run/supersede.h), as keys relative to results. */
static int walk_runs(const char *dir, const char *results, key_list *l, snm_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *ent;
	int rc = SNM_OK;
	if (d == NULL)
		return SNM_FAIL(err, SNM_EIO, "%s: cannot read: %s", dir, strerror(errno));
	while (rc == SNM_OK && (ent = readdir(d)) != NULL) {
		struct stat st;
		size_t n = strlen(dir) + strlen(ent->d_name) + 2, len;
		char *path;
		const char *key;
		if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
			continue;
		if ((path = malloc(n)) == NULL) {
			rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
			break;
		}
		snprintf(path, n, "%s/%s", dir, ent->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			rc = walk_runs(path, results, l, err);
		else if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && !snm_is_superseded(path)
		         && (key = key_part(path, results, &len)) != NULL && key_push(l, key, len) != 0)
			rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
		free(path);
	}
	closedir(d);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int snm_paper_unused(const char *results, const snm_paper_used *used, char ***keys, int *n,
                     snm_error *err)
{
	key_list all = { NULL, 0, 0 }, seen = { NULL, 0, 0 };
	int rc, k = 0;
	*keys = NULL;
	*n = 0;
	if (used && used->lost)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	if ((rc = walk_runs(results, results, &all, err)))
		goto done;
	for (int i = 0; used && i < used->n; ++i) {
		size_t len;
		const char *key = key_part(used->paths[i], results, &len);
		if (key && key_push(&seen, key, len) != 0) {
			rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
			goto done;
		}
	}
	if (all.n)
		qsort(all.keys, (size_t)all.n, sizeof *all.keys, cmp_str);
	if (seen.n)
		qsort(seen.keys, (size_t)seen.n, sizeof *seen.keys, cmp_str);
	for (int i = 0; i < all.n; ++i) {
		if (seen.n && bsearch(&all.keys[i], seen.keys, (size_t)seen.n, sizeof *seen.keys, cmp_str))
			free(all.keys[i]);
		else
			all.keys[k++] = all.keys[i];
	}
	all.n = k;
	*keys = all.keys;
	*n = all.n;
	all.keys = NULL;
	all.n = 0;
done:
	snm_paper_keys_free(all.keys, all.n);
	snm_paper_keys_free(seen.keys, seen.n);
	return rc;
}

/* A run file that could not be read (e): state UNREADABLE with e's message and SNM_OK, except
 * when memory ran out, which is an error. */
static int unreadable(snm_paper_result *r, const snm_error *e, snm_error *err)
{
	if (e->code == SNM_ENOMEM)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	r->state = SNM_PAPER_UNREADABLE;
	snprintf(r->why, sizeof r->why, "%s", e->msg);
	return SNM_OK;
}

int snm_paper_read_result(const char *path, int want_metrics, snm_paper_result *r, snm_error *err)
{
	char *status = NULL;
	snm_error e;
	memset(r, 0, sizeof *r);
	r->test_at_best = NAN;
	if (access(path, F_OK) != 0) {
		r->state = SNM_PAPER_ABSENT;
		return SNM_OK;
	}
	if (snm_store_get_str(path, "status", &status, &e) != SNM_OK)
		return unreadable(r, &e, err);
	r->state = strcmp(status, "finished") == 0 ? SNM_PAPER_FINISHED : SNM_PAPER_UNFINISHED;
	free(status);
	{
		/* runs write <results>/<run key>.h5: a file whose key is not its path's is another
		 * run's, copied or renamed into this place */
		char *key = NULL;
		size_t lp = strlen(path), lk;
		if (snm_store_get_str(path, "run_key", &key, &e) != SNM_OK)
			return unreadable(r, &e, err);
		lk = strlen(key);
		if (lp < lk + 4 || strcmp(path + lp - 3, ".h5") != 0 || strncmp(path + lp - 3 - lk, key, lk) != 0
		    || (lp > lk + 3 && path[lp - 4 - lk] != '/')) {
			/* through an snm_error: the key is the file's text, kept on one line there */
			SNM_FAIL(&e, SNM_EIO, "%.260s holds run '%.160s', not the one of its path", path, key);
			free(key);
			return unreadable(r, &e, err);
		}
		free(key);
	}
	if (r->state == SNM_PAPER_FINISHED || want_metrics) {
		snm_metrics *m = NULL;
		if (snm_store_read_metrics(path, &m, &e) != SNM_OK)   /* an unfinished run may have none */
			return e.code == SNM_ENOMEM || r->state == SNM_PAPER_FINISHED ? unreadable(r, &e, err)
			                                                              : SNM_OK;
		if (r->state == SNM_PAPER_FINISHED && !snm_metrics_result(m, &r->test_at_best)) {
			SNM_FAIL(&e, SNM_EIO, "%s: finished but /metrics/test_at_best has no test error (a "
			         "percentage) at the last row", path);
			unreadable(r, &e, err);
		}
		if (want_metrics)
			r->metrics = m;
		else
			snm_metrics_free(m);
	}
	return SNM_OK;
}

int snm_paper_check_columns(const snm_cfg *entry, const char *what, snm_error *err)
{
	const snm_cfg *cols = snm_cfg_get(entry, "columns");
	if (snm_cfg_kind(cols) != SNM_CFG_SEQ || snm_cfg_len(cols) == 0)
		return SNM_CFG_FAIL(err, SNM_ECONFIG, cols ? cols : entry,
		                    "%s: 'columns' must be a non-empty list of per-class sizes and 'full'", what);
	for (size_t i = 0; i < snm_cfg_len(cols); ++i) {
		const snm_cfg *c = snm_cfg_at(cols, i);
		long v;
		if (snm_cfg_kind(c) == SNM_CFG_SCALAR && strcmp(snm_cfg_text(c), "full") == 0)
			continue;
		if (snm_cfg_kind(c) != SNM_CFG_SCALAR || snm_cfg_to_int(c, &v, NULL) != SNM_OK || v < 1)
			return SNM_CFG_FAIL(err, SNM_ECONFIG, c, "%s: a column is a per-class size (an integer "
			                    ">= 1) or 'full'", what);
	}
	return SNM_OK;
}

int snm_paper_size(const snm_cfg *entry, const snm_option *opts, const char *name, int *w, int *h,
                   snm_error *err)
{
	const snm_cfg *n = snm_cfg_opt_node(entry, opts, name);
	snm_cfg *def = NULL;
	long v[2];
	int rc = SNM_OK;
	if (n == NULL) {
		const snm_option *o = snm_cfg_option_find(opts, name);
		if (o == NULL || snm_cfg_parse(o->def, strlen(o->def), "<default>", &def, err))
			return SNM_FAIL(err, SNM_EINVAL, "no default for '%s'", name);
		n = def;
	}
	if (snm_cfg_kind(n) != SNM_CFG_SEQ || snm_cfg_len(n) != 2)
		rc = SNM_CFG_FAIL(err, SNM_ECONFIG, n, "'%s': expected [width, height] in pixels", name);
	for (int i = 0; rc == SNM_OK && i < 2; ++i)
		if (snm_cfg_to_int(snm_cfg_at(n, (size_t)i), &v[i], err) != SNM_OK || v[i] < 16 || v[i] > 20000)
			rc = SNM_CFG_FAIL(err, SNM_ECONFIG, snm_cfg_at(n, (size_t)i), "'%s': sizes are integers "
			                  "in [16, 20000] pixels", name);
	if (rc == SNM_OK) {
		*w = (int)v[0];
		*h = (int)v[1];
	}
	snm_cfg_free(def);
	return rc;
}

/* ---- the driver ------------------------------------------------------------------------------ */

/* A list option of the spec: a sequence (or an absent key / null, meaning empty). */
static int list_of(const snm_cfg *map, const snm_option *opts, const char *key, const snm_cfg **out,
                   snm_error *err)
{
	const snm_cfg *n = snm_cfg_opt_node(map, opts, key);
	*out = NULL;
	if (n == NULL || snm_cfg_kind(n) == SNM_CFG_NULL)
		return SNM_OK;
	if (snm_cfg_kind(n) != SNM_CFG_SEQ)
		return SNM_CFG_FAIL(err, SNM_ECONFIG, n, "'%s': expected a list, got a %s", key,
		                    snm_cfg_kind_name(snm_cfg_kind(n)));
	*out = n;
	return SNM_OK;
}

typedef int (*make_fn)(const snm_paper_opts *, const snm_cfg *, const snm_cfg *, snm_error *);

typedef int (*check_fn)(const snm_cfg *, const snm_cfg *, snm_error *);

/* The layouts of a table, its key `layout` (default mean): the keys its entry accepts, a check
 * of what those keys hold made before any table is (NULL: the maker checks), and the maker.
 * The choices of layout_option are these names. */
typedef struct layout {
	const char *name;
	const snm_option *opts;
	check_fn check;
	make_fn make;
} layout;

static const layout table_layouts[] = {
	{ "mean", snm_paper_table_options, snm_paper_table_check, snm_paper_table },
	{ "sets", snm_paper_table_options, snm_paper_table_check, snm_paper_table },
	{ "paired", snm_paper_paired_options, snm_paper_paired_check, snm_paper_paired },
	{ "ablation", snm_paper_ablation_options, snm_paper_paired_check, snm_paper_ablation },
	{ "checks", snm_paper_checks_options, snm_paper_checks_check, snm_paper_checks },
	{ NULL, NULL, NULL, NULL }
};

static const snm_option layout_option[] = {
	{ "layout", SNM_OPT_CHOICE, "mean", "mean|sets|paired|ablation|checks", "the kind of table", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

typedef struct part {
	const char *what;            /* "table", "curves figure", ... */
	const snm_option *opts;
	make_fn make;
	const snm_cfg *list;
	const layout *layouts;       /* tables: the layouts, which choose opts and make; else NULL */
} part;

/* The layout of entry e of part p (NULL for a part without layouts); an unknown layout is an
 * SNM_ECONFIG error at its value. */
static int layout_of(const part *p, const snm_cfg *e, const layout **out, snm_error *err)
{
	const char *name;
	int rc;
	*out = NULL;
	if (p->layouts == NULL)
		return SNM_OK;
	if ((rc = snm_cfg_opt_str(e, layout_option, "layout", &name, err)))
		return rc;
	for (const layout *l = p->layouts; l->name; ++l)
		if (strcmp(l->name, name) == 0) {
			*out = l;
			return SNM_OK;
		}
	return SNM_CFG_FAIL(err, SNM_ECONFIG, snm_cfg_get(e, "layout"), "no table layout '%s'", name);
}

/* A pipeline, experiment or run key that entry field `key` names: '/'-separated parts, each of
 * letters, digits, '.', '_' or '-' (the characters of a run key) and none empty, "." or "..": the
 * paper stage joins it to --results, which it must not leave.  A node that is not a scalar is left
 * to the entry's own check. */
static int check_key_text(const snm_cfg *n, const char *key, snm_error *err)
{
	const char *s = snm_cfg_text(n), *c = s;
	if (s == NULL)
		return SNM_OK;
	for (size_t i = 0; s[i] != '\0'; ++i)    /* first the characters: the text is then safe to print */
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')
		      || s[i] == '.' || s[i] == '_' || s[i] == '-' || s[i] == '/')) {
			char what[8];
			if ((unsigned char)s[i] > ' ' && (unsigned char)s[i] < 127)
				snprintf(what, sizeof what, "'%c'", s[i]);
			else
				snprintf(what, sizeof what, "0x%02x", (unsigned char)s[i]);
			return SNM_CFG_FAIL(err, SNM_ECONFIG, n, "'%s': character %zu is %s: a run key has letters, "
			                    "digits, '.', '_', '-' and '/' between its parts", key, i + 1, what);
		}
	for (;;) {
		const char *end = strchr(c, '/');
		size_t len = end ? (size_t)(end - c) : strlen(c);
		if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return SNM_CFG_FAIL(err, SNM_ECONFIG, n, "'%s': '%.80s%s' has a part that is empty, '.' or "
			                    "'..' (run keys are read under --results)", key, s, strlen(s) > 80 ? "..." : "");
		if (end == NULL)
			return SNM_OK;
		c = end + 1;
	}
}

/* Every pipeline, run and runs field within entry n (rows and variants included), by
 * check_key_text. */
static int check_keys(const snm_cfg *n, snm_error *err)
{
	int map = snm_cfg_kind(n) == SNM_CFG_MAP, rc;
	for (size_t i = 0; i < snm_cfg_len(n); ++i) {
		const snm_cfg *v = map ? snm_cfg_value_at(n, i) : snm_cfg_at(n, i);
		const char *k = map ? snm_cfg_key_at(n, i) : NULL;
		if (k != NULL && (strcmp(k, "pipeline") == 0 || strcmp(k, "run") == 0 || strcmp(k, "runs") == 0)) {
			if (snm_cfg_kind(v) != SNM_CFG_SEQ) {
				if ((rc = check_key_text(v, k, err)))
					return rc;
			} else
				for (size_t j = 0; j < snm_cfg_len(v); ++j)
					if ((rc = snm_cfg_kind(snm_cfg_at(v, j)) == SNM_CFG_SCALAR
					          ? check_key_text(snm_cfg_at(v, j), k, err) : check_keys(snm_cfg_at(v, j), err)))
						return rc;
		} else if ((rc = check_keys(v, err)))
			return rc;
	}
	return SNM_OK;
}

/* Checks every entry of every part (keys, types, columns, ids unique, run keys) before anything
 * is made. */
static int check_spec(const snm_cfg *spec, part *parts, int n_parts, snm_error *err)
{
	const snm_cfg *labels = snm_cfg_opt_node(spec, snm_paper_spec_options, "labels");
	const char *ids[512];
	int n_ids = 0, rc, w, h;
	long digits;
	if ((rc = snm_cfg_check(spec, snm_paper_spec_options, "the paper spec", err)))
		return rc;
	if ((rc = snm_cfg_opt_int(spec, snm_paper_spec_options, "digits", &digits, err)))
		return rc;
	if (labels && snm_cfg_kind(labels) != SNM_CFG_MAP)
		return SNM_CFG_FAIL(err, SNM_ECONFIG, labels, "'labels': expected a mapping experiment: label");
	for (size_t i = 0; i < snm_cfg_len(labels); ++i)
		if (snm_cfg_kind(snm_cfg_value_at(labels, i)) != SNM_CFG_SCALAR)
			return SNM_CFG_FAIL(err, SNM_ECONFIG, snm_cfg_value_at(labels, i), "label of '%s': expected text",
			                    snm_cfg_key_at(labels, i));
	for (int p = 0; p < n_parts; ++p)
		for (size_t i = 0; i < snm_cfg_len(parts[p].list); ++i) {
			const snm_cfg *e = snm_cfg_at(parts[p].list, i);
			const char *id, *id2 = "";
			const layout *l;
			if (snm_cfg_kind(e) != SNM_CFG_MAP)
				return SNM_CFG_FAIL(err, SNM_ECONFIG, e, "a %s is a mapping", parts[p].what);
			if ((rc = layout_of(&parts[p], e, &l, err))
			    || (rc = snm_cfg_check(e, l ? l->opts : parts[p].opts, parts[p].what, err))
			    || (rc = snm_cfg_opt_str(e, parts[p].opts, "id", &id, err))
			    || (l && l->check && (rc = l->check(spec, e, err)))
			    || (rc = check_keys(e, err)))
				return rc;
			if (parts[p].opts == snm_paper_tsne_options
			    && (rc = snm_cfg_opt_str(e, parts[p].opts, "per_class_id", &id2, err)))
				return rc;
			for (const char *s = id; *s; ++s)
				if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
				      || *s == '-' || *s == '_' || *s == '.'))
					return SNM_CFG_FAIL(err, SNM_ECONFIG, snm_cfg_get(e, "id"),
					                    "id '%s': use letters, digits, '-', '_', '.' (it names files)", id);
			if (*id == '\0')
				return SNM_CFG_FAIL(err, SNM_ECONFIG, snm_cfg_get(e, "id"), "an id may not be empty");
			for (int k = 0; k < n_ids; ++k)
				if (strcmp(ids[k], id) == 0 || (*id2 && strcmp(ids[k], id2) == 0))
					return SNM_CFG_FAIL(err, SNM_ECONFIG, snm_cfg_get(e, "id"), "id '%s' is used twice",
					                    strcmp(ids[k], id) == 0 ? id : id2);
			if (n_ids + 2 > (int)(sizeof ids / sizeof *ids))
				return SNM_CFG_FAIL(err, SNM_ECONFIG, e, "too many tables and figures");
			ids[n_ids++] = id;
			if (*id2)
				ids[n_ids++] = id2;
			if (snm_cfg_get(e, "columns") && (rc = snm_paper_check_columns(e, parts[p].what, err)))
				return rc;
			if (snm_cfg_get(e, "size") && (rc = snm_paper_size(e, parts[p].opts, "size", &w, &h, err)))
				return rc;
		}
	return SNM_OK;
}

static int matches(const snm_paper_opts *o, const snm_cfg *e, const snm_option *opts)
{
	const char *id = "", *id2 = "";
	if (o->only == NULL)
		return 1;
	snm_cfg_opt_str(e, opts, "id", &id, NULL);
	if (opts == snm_paper_tsne_options)
		snm_cfg_opt_str(e, opts, "per_class_id", &id2, NULL);
	return strcmp(id, o->only) == 0 || strcmp(id2, o->only) == 0;
}

int snm_paper_run(const snm_paper_opts *opts, snm_error *err)
{
	snm_paper_opts o = *opts;
	snm_cfg *spec = NULL;
	const snm_cfg *figs;
	part parts[4] = {
		{ "table", snm_paper_table_options, snm_paper_table, NULL, table_layouts },
		{ "curves figure", snm_paper_curves_options, snm_paper_curves, NULL, NULL },
		{ "reconstruction figure", snm_paper_recon_options, snm_paper_reconstructions, NULL, NULL },
		{ "t-SNE figure", snm_paper_tsne_options, snm_paper_tsne, NULL, NULL },
	};
	snm_error first;
	int rc, made = 0, failed = 0;
	if (o.spec == NULL)   /* a source checkout's copy, else the installed one */
		o.spec = access("paper/tables.yaml", R_OK) == 0 ? "paper/tables.yaml" : SNM_PKGDATADIR "/tables.yaml";
	if (o.results == NULL) o.results = "results";
	if (o.out == NULL) o.out = "paper/out";
	snm_error_clear(&first);
	if ((rc = snm_results_dir_check(o.results, err)))     /* a mistyped --results */
		return rc;
	if ((rc = snm_cfg_load(o.spec, &spec, err)))
		return rc;
	if (snm_cfg_kind(spec) != SNM_CFG_MAP) {
		rc = SNM_CFG_FAIL(err, SNM_ECONFIG, spec, "the paper spec is a mapping (std, digits, labels, "
		                  "tables, figures)");
		goto done;
	}
	figs = snm_cfg_opt_node(spec, snm_paper_spec_options, "figures");
	if (figs && snm_cfg_kind(figs) != SNM_CFG_MAP && snm_cfg_kind(figs) != SNM_CFG_NULL) {
		rc = SNM_CFG_FAIL(err, SNM_ECONFIG, figs, "'figures': expected a mapping (curves, "
		                  "reconstructions, tsne)");
		goto done;
	}
	if ((rc = snm_cfg_check(figs, figures_options, "figures", err))
	    || (rc = list_of(spec, snm_paper_spec_options, "tables", &parts[0].list, err))
	    || (rc = list_of(figs, figures_options, "curves", &parts[1].list, err))
	    || (rc = list_of(figs, figures_options, "reconstructions", &parts[2].list, err))
	    || (rc = list_of(figs, figures_options, "tsne", &parts[3].list, err))
	    || (rc = check_spec(spec, parts, 4, err)))
		goto done;
	if (*o.out == '\0') {
		rc = SNM_FAIL(err, SNM_EINVAL, "empty output directory name");
		goto done;
	}
	if ((rc = snm_mkdirs(o.out, err)))
		goto done;
	for (int p = 0; p < 4; ++p) {
		if ((p == 0 && o.no_tables) || (p > 0 && o.no_figures))
			continue;
		for (size_t i = 0; i < snm_cfg_len(parts[p].list); ++i) {
			const snm_cfg *e = snm_cfg_at(parts[p].list, i);
			const layout *l;
			snm_error e1;
			if (!matches(&o, e, parts[p].opts))
				continue;
			++made;
			layout_of(&parts[p], e, &l, NULL);   /* checked by check_spec */
			if ((l ? l->make : parts[p].make)(&o, spec, e, &e1) != SNM_OK) {
				snm_paper_note(&o, SNM_PAPER_NOTE, "error: %s", e1.msg);
				if (failed++ == 0)
					first = e1;
			}
		}
	}
	if (o.only != NULL && made == 0)
		rc = SNM_FAIL(err, SNM_EINVAL, "%s: no table or figure has the id '%s'", o.spec, o.only);
	else if (failed)
		rc = SNM_FAIL(err, first.code, "%d of %d tables and figures failed (the first: %s)", failed,
		              made, first.msg);
done:
	snm_cfg_free(spec);
	return rc;
}
