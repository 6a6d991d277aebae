/* pipeline.c: loads a YAML pipeline, checks every section against its option table (the
 * plugins' own tables for data/model/noise), and expands the experiments x sweeps x grid into
 * runs, with the --set overrides (see pipeline.h). */
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "pipeline.h"
#include "loader.h"
#include "override.h"
#include "store.h"
#include "snm/tape.h"

#define MAX_INCLUDE_DEPTH 16
#define MAX_NAME 64          /* characters of a pipeline or experiment name */
#define MAX_RUN_NAME 160     /* ... of an experiment name with its sweeps' and --set values */
#define MAX_SETS 1000        /* random sets per size */
#define MAX_RUNS 20000       /* runs of a pipeline, includes and all */

#define TEXT_OF_(x) #x
#define TEXT_OF(x) TEXT_OF_(x)
#define NUMERICS_MAX_TEXT TEXT_OF(SNM_NUMERICS_MAX)  /* train.numerics' range: every version libsnm has */

const snm_option snm_train_options[] = {
	{ "epochs", SNM_OPT_INT, "120", NULL, "training epochs", "[1, 1000000]" },
	{ "batch", SNM_OPT_INT, "100", NULL, "labelled examples per step", "[1, inf)" },
	{ "lr", SNM_OPT_DOUBLE, "0.005", NULL, "Adam learning rate", "(0, inf)" },
	{ "schedule", SNM_OPT_CHOICE, "step", "const|step|linear", "learning-rate schedule", NULL },
	{ "lr_factor", SNM_OPT_DOUBLE, "0.2", NULL, "step: multiply the rate by this ...", "(0, 1]" },
	{ "lr_every", SNM_OPT_INT, "40", NULL, "step: ... every this many epochs", "[1, inf)" },
	{ "lr_decay_start", SNM_OPT_INT, "0", NULL, "linear: epoch where the decay to zero starts", "[0, inf)" },
	{ "lr_decay", SNM_OPT_DOUBLE, "0", NULL,
	  "Keras's inverse-time decay: each step's rate is the schedule's / (1 + lr_decay t), t the "
	  "steps its Adam state took before (seed 003's HCP scripts: 1e-3)", "[0, inf)" },
	{ "beta1", SNM_OPT_DOUBLE, "0.9", NULL, "Adam beta1", "[0, 1)" },
	{ "beta2", SNM_OPT_DOUBLE, "0.999", NULL, "Adam beta2", "[0, 1)" },
	{ "eps", SNM_OPT_DOUBLE, "1e-8", NULL, "Adam epsilon (a float: 1e-30 at least)", "[1e-30, inf)" },
	/* eval_batch: 100, not larger.  A convolution's column matrix grows with the batch (the MNIST
	 * net's second layer: 56 MB for 1000 images, 5.6 MB for 100), and out of cache im2col slows
	 * evaluation down; the timings are in the README ("Measured", bench/eval_batch.sh). */
	{ "eval_batch", SNM_OPT_INT, "100", NULL, "examples per evaluation batch", "[1, inf)" },
	{ "train_eval_max", SNM_OPT_INT, "10000", NULL,
	  "training error is measured on at most this many training examples", "[0, inf)" },
	{ "unlabelled_batch", SNM_OPT_INT, "100", NULL,
	  "unlabelled examples per step (semi-supervised regularizers only)", "[1, inf)" },
	{ "epoch", SNM_OPT_CHOICE, "labelled", "labelled|unlabelled",
	  "what one epoch passes over once: the labelled subset, or the unlabelled stream (the "
	  "semi-supervised papers' epochs; labelled batches then cycle through the subset)", NULL },
	{ "steps", SNM_OPT_INT, "0", NULL,
	  "steps per epoch: 0, as `epoch` says; n, n steps whatever the data sizes (takerum/vat's "
	  "500), labelled batches cycling through the subset", "[0, inf)" },
	{ "bn_stats", SNM_OPT_CHOICE, "running", "running|labelled|unlabelled",
	  "the batch-norm statistics evaluation normalises with: the running averages of training, or "
	  "re-estimated before every evaluation as the mean of the batches' means and unbiased "
	  "variances over one pass of the labelled subset (`batch` rows at a time) or of the "
	  "unlabelled stream (`unlabelled_batch` rows; semi-supervised regularizers only), as "
	  "takerum/vat does after training", NULL },
	{ "numerics", SNM_OPT_INT, "1", NULL,
	  "numeric version of the ops (snm/tape.h): 1, as snm always computed; 2, Gaussian noise "
	  "drawn by GSL's ziggurat instead of its polar method (faster; other draws, so other bits)",
	  "[1, " NUMERICS_MAX_TEXT "]" },
	{ "test", SNM_OPT_CHOICE, "best", "best|checkpoints|every",
	  "when the test error is measured: at each new best validation error (the run's result, "
	  "test_at_best), or also at the seed-003 code's checkpoints (epochs 1-10, then every 10th, "
	  "and the last) or at every epoch, the least of those kept as min_test_error", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static const snm_option top_options[] = {
	{ "name", SNM_OPT_STRING, "", NULL, "prefix of every run key", NULL },
	{ "seed", SNM_OPT_INT, "1", NULL, "master seed", "[0, inf)" },
	{ "results", SNM_OPT_STRING, "results", NULL, "directory of the result files", NULL },
	{ "include", SNM_OPT_NODE, "[]", NULL, "pipelines whose runs are added", NULL },
	{ "defaults", SNM_OPT_NODE, "{}", NULL, "sections every experiment starts from", NULL },
	{ "grid", SNM_OPT_NODE, "{}", NULL, "per-class sizes and sets", NULL },
	{ "experiments", SNM_OPT_NODE, "[]", NULL, "the rows", NULL },
	{ "sweep", SNM_OPT_NODE, "{}", NULL, "values each experiment is run with, per SECTION.KEY", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static const snm_option section_options[] = {
	{ "data", SNM_OPT_NODE, "{}", NULL, "data plugin and its options", NULL },
	{ "model", SNM_OPT_NODE, "{}", NULL, "model plugin and its options", NULL },
	{ "noise", SNM_OPT_NODE, "{}", NULL, "regularizer plugin and its options", NULL },
	{ "train", SNM_OPT_NODE, "{}", NULL, "optimisation settings", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static const snm_option experiment_options[] = {
	{ "name", SNM_OPT_STRING, NULL, NULL, "row name", NULL },
	{ "data", SNM_OPT_NODE, "{}", NULL, NULL, NULL },
	{ "model", SNM_OPT_NODE, "{}", NULL, NULL, NULL },
	{ "noise", SNM_OPT_NODE, "{}", NULL, NULL, NULL },
	{ "train", SNM_OPT_NODE, "{}", NULL, NULL, NULL },
	{ "grid", SNM_OPT_NODE, "{}", NULL, NULL, NULL },
	{ "sweep", SNM_OPT_NODE, "{}", NULL, NULL, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static const snm_option grid_options[] = {
	{ "per_class", SNM_OPT_NODE, "[]", NULL, "training examples per class, a list", NULL },
	{ "sets", SNM_OPT_INT, "3", NULL, "random training sets per size", "[1, inf)" },
	{ "full", SNM_OPT_BOOL, "false", NULL, "also one run on the whole training split", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static const char *const section_names[4] = { "data", "model", "noise", "train" };  /* override.h's */
static const int section_kinds[4] = { SNM_KIND_DATA, SNM_KIND_MODEL, SNM_KIND_NOISE, 0 };

/* Plugins looked up while loading, kept open until the end of the load. */
typedef struct loader {
	const char *plugin_path;
	snm_plugin_handle *h;
	int n_h, m_h;
	snm_pipeline *p;
	int m_runs;
	int *slot;                        /* the run keys' hash table: 1 + index into p->runs, 0 free */
	size_t n_slot;                    /* a power of two, more than twice p->n_runs */
	char *stack[MAX_INCLUDE_DEPTH];   /* real paths of the files being loaded (cycles) */
	int depth;
	snm_override *set;                /* the --set overrides, by section and key */
	int n_set;
} loader;

static size_t key_hash(const char *key)
{
	uint64_t h = 0xcbf29ce484222325ull;   /* FNV-1a */
	for (; *key; ++key) {
		h ^= (unsigned char)*key;
		h *= 0x100000001b3ull;
	}
	return (size_t)h;
}

/* The slot of the run named key: the one that holds it, or the free one where it goes.  Linear
 * probing; the table is never more than half full. */
static int *key_slot(const loader *L, const char *key)
{
	size_t mask = L->n_slot - 1, i = key_hash(key) & mask;
	while (L->slot[i] != 0 && strcmp(L->p->runs[L->slot[i] - 1].key, key) != 0)
		i = (i + 1) & mask;
	return &L->slot[i];
}

/* Makes room in the key table for one more run (so that finding duplicates among MAX_RUNS runs
 * takes linear time, not the quadratic time of comparing each with all before it). */
static int key_room(loader *L, snm_error *err)
{
	size_t n = L->n_slot ? L->n_slot : 64;
	int *old = L->slot;
	size_t n_old = L->n_slot;
	if (L->slot != NULL && 2 * ((size_t)L->p->n_runs + 1) < L->n_slot)
		return SNM_OK;
	while (2 * ((size_t)L->p->n_runs + 1) >= n)
		n *= 2;
	if ((L->slot = calloc(n, sizeof *L->slot)) == NULL) {
		L->slot = old;
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	}
	L->n_slot = n;
	for (size_t i = 0; i < n_old; ++i)
		if (old[i] != 0)
			*key_slot(L, L->p->runs[old[i] - 1].key) = old[i];
	free(old);
	return SNM_OK;
}

/* An error at n's file:line:col (the message alone for a node built in memory, which has none). */
static int at(const snm_cfg *n, snm_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 4, 5)))
#endif
	;

static int at(const snm_cfg *n, snm_error *err, int code, const char *fmt, ...)
{
	char msg[SNM_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n != NULL && snm_cfg_line(n) > 0)
		return SNM_FAIL(err, code, "%s:%d:%d: %s", snm_cfg_file(n), snm_cfg_line(n), snm_cfg_col(n), msg);
	return SNM_FAIL(err, code, "%s", msg);
}

/* A name of a run key's component: up to max letters, digits, '.', '_' or '-', and not "." or
 * ".." (which name directories the results path would leave by). */
static int valid_name_of(const char *s, size_t max)
{
	if (s == NULL || *s == '\0' || strlen(s) > max || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (; *s; ++s)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
		      || *s == '.' || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

static int valid_name(const char *s)
{
	return valid_name_of(s, MAX_NAME);
}

/* A section (defaults, grid, data, model, noise, train) is a mapping of options, or absent. */
static int need_map(const snm_cfg *n, const char *what, snm_error *err)
{
	if (n == NULL || snm_cfg_kind(n) == SNM_CFG_MAP)
		return SNM_OK;
	return at(n, err, SNM_ECONFIG, "'%s': expected a mapping of options ({key: value, ...}), got "
	          "a %s", what, snm_cfg_kind_name(snm_cfg_kind(n)));
}

static const snm_plugin *plugin_for(loader *L, int kind, const snm_cfg *type, snm_error *err)
{
	const char *name = snm_cfg_text(type);
	for (int i = 0; i < L->n_h; ++i)
		if ((int)L->h[i].p->kind == kind && strcmp(L->h[i].p->name, name) == 0)
			return L->h[i].p;
	if (L->n_h == L->m_h) {
		int m = L->m_h ? 2 * L->m_h : 8;
		snm_plugin_handle *h = realloc(L->h, (size_t)m * sizeof *h);
		if (h == NULL) {
			SNM_FAIL(err, SNM_ENOMEM, "out of memory");
			return NULL;
		}
		L->h = h;
		L->m_h = m;
	}
	if (snm_plugin_find(L->plugin_path, kind, name, &L->h[L->n_h], err) != SNM_OK) {
		if (snm_cfg_line(type) > 0)
			snm_error_prefix(err, "%s:%d:%d", snm_cfg_file(type), snm_cfg_line(type), snm_cfg_col(type));
		else     /* an --set value carries no mark: the argument stands for it */
			snm_error_prefix(err, "--set %s.type=%s", snm_kind_name(kind), name);
		return NULL;
	}
	return L->h[L->n_h++].p;
}

/* Checks a data/model/noise section: a map with a `type` naming a plugin of that kind, and the
 * other keys valid for that plugin's option table. */
static int check_plugin_section(loader *L, const snm_cfg *sec, int kind, const snm_cfg *where,
                                snm_error *err)
{
	const snm_cfg *type = snm_cfg_get(sec, "type");
	const snm_plugin *pl;
	snm_option *table;
	int n = 0, rc;
	char what[128];
	if (snm_cfg_kind(sec) != SNM_CFG_MAP || type == NULL)
		return at(sec && snm_cfg_line(sec) > 0 ? sec : where, err, SNM_ECONFIG,
		          "the %s section needs a 'type' naming a plugin (see `snm plugins`)", snm_kind_name(kind));
	if (snm_cfg_kind(type) != SNM_CFG_SCALAR)
		return at(type, err, SNM_ECONFIG, "'type': expected a plugin name, got a %s",
		          snm_cfg_kind_name(snm_cfg_kind(type)));
	pl = plugin_for(L, kind, type, err);
	if (pl == NULL)
		return err ? err->code : SNM_EPLUGIN;
	while (pl->options && pl->options[n].name)
		++n;
	table = calloc((size_t)n + 2, sizeof *table);
	if (table == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	table[0] = (snm_option){ "type", SNM_OPT_STRING, NULL, NULL, "plugin name", NULL };
	if (n)
		memcpy(table + 1, pl->options, (size_t)n * sizeof *table);
	snprintf(what, sizeof what, "%s '%s'", snm_kind_name(kind), pl->name);
	rc = snm_cfg_check(sec, table, what, err);
	free(table);
	return rc;
}

/* The default section under the experiment's: key by key, unless the experiment names another
 * plugin type (then it replaces the default). */
static snm_cfg *merge(const snm_cfg *base, const snm_cfg *over, snm_error *err)
{
	const char *tb = snm_cfg_text(snm_cfg_get(base, "type"));
	const char *to = snm_cfg_text(snm_cfg_get(over, "type"));
	snm_cfg *m;
	if (snm_cfg_kind(over) != SNM_CFG_MAP || snm_cfg_len(over) == 0)
		return snm_cfg_kind(base) == SNM_CFG_MAP ? snm_cfg_dup(base, err)
		                                          : snm_cfg_new(SNM_CFG_MAP, NULL, NULL, 0, 0, err);
	if (snm_cfg_kind(base) != SNM_CFG_MAP || (to != NULL && (tb == NULL || strcmp(tb, to) != 0)))
		return snm_cfg_dup(over, err);
	m = snm_cfg_dup(base, err);
	for (size_t i = 0; m != NULL && i < snm_cfg_len(over); ++i) {
		snm_cfg *v = snm_cfg_dup(snm_cfg_value_at(over, i), err);
		if (v == NULL && snm_cfg_value_at(over, i) != NULL) {
			snm_cfg_free(m);
			return NULL;
		}
		if (v == NULL)
			v = snm_cfg_new(SNM_CFG_NULL, NULL, NULL, 0, 0, err);
		if (v == NULL || snm_cfg_map_set(m, snm_cfg_key_at(over, i), v, err) != SNM_OK) {
			snm_cfg_free(v);
			snm_cfg_free(m);
			return NULL;
		}
	}
	return m;
}

static int set_scalar(snm_cfg *map, const char *key, const char *text, snm_error *err)
{
	snm_cfg *v = snm_cfg_new(SNM_CFG_SCALAR, text, NULL, 0, 0, err);
	if (v == NULL || snm_cfg_map_set(map, key, v, err) != SNM_OK) {
		snm_cfg_free(v);
		return err ? err->code : SNM_ENOMEM;
	}
	return SNM_OK;
}

static int set_node(snm_cfg *map, const char *key, const snm_cfg *node, snm_error *err)
{
	snm_cfg *v = snm_cfg_dup(node, err);
	if (v == NULL || snm_cfg_map_set(map, key, v, err) != SNM_OK) {
		snm_cfg_free(v);
		return err ? err->code : SNM_ENOMEM;
	}
	return SNM_OK;
}

/* The plugin's options: the section without its `type` key (marks kept). */
static snm_cfg *plugin_options(const snm_cfg *sec, snm_error *err)
{
	snm_cfg *m = snm_cfg_new(SNM_CFG_MAP, NULL, snm_cfg_file(sec), snm_cfg_line(sec), snm_cfg_col(sec), err);
	for (size_t i = 0; m != NULL && i < snm_cfg_len(sec); ++i) {
		snm_cfg *v;
		if (strcmp(snm_cfg_key_at(sec, i), "type") == 0)
			continue;
		v = snm_cfg_dup(snm_cfg_value_at(sec, i), err);
		if (v == NULL)
			v = snm_cfg_new(SNM_CFG_NULL, NULL, NULL, 0, 0, err);
		if (v == NULL || snm_cfg_map_set(m, snm_cfg_key_at(sec, i), v, err) != SNM_OK) {
			snm_cfg_free(v);
			snm_cfg_free(m);
			return NULL;
		}
	}
	return m;
}

static void run_free(snm_run_spec *r)
{
	free(r->key);
	free(r->experiment);
	snm_cfg_free(r->data);
	snm_cfg_free(r->model);
	snm_cfg_free(r->noise);
	snm_cfg_free(r->train);
	free(r->data_type);
	free(r->model_type);
	free(r->noise_type);
	free(r->data_key);
	free(r->config_text);
	free(r->result_path);
	free(r->where);
	memset(r, 0, sizeof *r);
}

/* Appends one run of experiment `name` with the merged sections sec[4]. */
static int add_run(loader *L, const char *prefix, const char *exp, int per_class, int set, long seed,
                   const char *results, snm_cfg *const sec[4], const snm_cfg *where,
                   const snm_cfg *size_node, snm_error *err)
{
	snm_pipeline *p = L->p;
	snm_run_spec *r;
	snm_cfg *id;
	char buf[64], key[512];
	int rc = SNM_OK, *slot;
	if (per_class > 0)
		snprintf(key, sizeof key, "%s/%s/n%d/set%d", prefix, exp, per_class, set);
	else
		snprintf(key, sizeof key, "%s/%s/full", prefix, exp);
	if (p->n_runs == MAX_RUNS)
		return at(where, err, SNM_ECONFIG, "more than %d runs in the pipeline", MAX_RUNS);
	if ((rc = key_room(L, err)) != SNM_OK)
		return rc;
	if (p->n_runs == L->m_runs) {
		int m = L->m_runs ? 2 * L->m_runs : 32;
		snm_run_spec *v = realloc(p->runs, (size_t)m * sizeof *v);
		if (v == NULL)
			return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
		p->runs = v;
		L->m_runs = m;
	}
	r = &p->runs[p->n_runs];
	memset(r, 0, sizeof *r);
	r->key = strdup(key);
	r->experiment = strdup(exp);
	r->per_class = per_class;
	r->set = set;
	r->seed = (uint64_t)seed;
	r->data = plugin_options(sec[0], err);
	r->model = plugin_options(sec[1], err);
	r->noise = plugin_options(sec[2], err);
	r->train = snm_cfg_dup(sec[3], err);
	r->data_type = strdup(snm_cfg_text(snm_cfg_get(sec[0], "type")));
	r->model_type = strdup(snm_cfg_text(snm_cfg_get(sec[1], "type")));
	r->noise_type = strdup(snm_cfg_text(snm_cfg_get(sec[2], "type")));
	r->data_key = snm_cfg_dump_alloc(sec[0], err);
	r->result_path = malloc(strlen(results) + strlen(key) + 8);
	if ((r->where = malloc(strlen(snm_cfg_file(size_node) ? snm_cfg_file(size_node) : "") + 40)) != NULL) {
		if (size_node != NULL && snm_cfg_line(size_node) > 0)
			sprintf(r->where, "%s:%d:%d", snm_cfg_file(size_node), snm_cfg_line(size_node),
			        snm_cfg_col(size_node));
		else
			r->where[0] = '\0';
	}
	if (!r->key || !r->experiment || !r->data || !r->model || !r->noise || !r->train || !r->data_key
	    || !r->data_type || !r->model_type || !r->noise_type
	    || !r->result_path || !r->where) {
		run_free(r);
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	}
	sprintf(r->result_path, "%s/%s.h5", results, key);
	/* The recorded identity: everything that determines the run's numbers. */
	id = snm_cfg_new(SNM_CFG_MAP, NULL, NULL, 0, 0, err);
	if (id == NULL) {
		run_free(r);
		return err ? err->code : SNM_ENOMEM;
	}
	rc = set_scalar(id, "run", key, err);
	snprintf(buf, sizeof buf, "%ld", seed);
	if (!rc) rc = set_scalar(id, "seed", buf, err);
	snprintf(buf, sizeof buf, "%d", per_class);
	if (!rc) rc = set_scalar(id, "per_class", buf, err);
	snprintf(buf, sizeof buf, "%d", set);
	if (!rc) rc = set_scalar(id, "set", buf, err);
	for (int s = 0; s < 4 && !rc; ++s)
		rc = set_node(id, section_names[s], sec[s], err);
	if (!rc) {
		r->config_text = snm_cfg_dump_alloc(id, err);
		r->config_hash = snm_cfg_hash(id);
		if (r->config_text == NULL)
			rc = SNM_ENOMEM;
		else if (strlen(r->config_text) > SNM_STORE_MAX_STR)
			rc = SNM_CFG_FAIL(err, SNM_ECONFIG, size_node, "run '%s': its configuration is %zu bytes "
			                  "written out, more than the %d a run file holds", key,
			                  strlen(r->config_text), SNM_STORE_MAX_STR);
	}
	snm_cfg_free(id);
	if (rc) {
		run_free(r);
		return rc;
	}
	/* The same run written in two pipelines that one includes (mnist.yaml's sets 1..3 and
	 * mnist-claim.yaml's) is one run; the same key with another configuration is an error. */
	slot = key_slot(L, key);
	if (*slot != 0) {
		const snm_run_spec *o = &p->runs[*slot - 1];
		const char *file = snm_cfg_file(size_node) ? snm_cfg_file(size_node) : "";
		const char *other = o->where;
		size_t n = strlen(file);
		int same_file = n > 0 && strncmp(other, file, n) == 0 && other[n] == ':';
		int same = o->config_hash == r->config_hash && strcmp(o->config_text, r->config_text) == 0;
		run_free(r);
		if (same && !same_file)
			return SNM_OK;
		if (same_file)
			return at(where, err, SNM_ECONFIG, "run '%s' is defined twice (same name and "
			          "experiment)", key);
		return at(where, err, SNM_ECONFIG, "run '%s' is defined twice with different "
		          "configurations (here and at %s)", key, other);
	}
	*slot = ++p->n_runs;
	return SNM_OK;
}

/* ---- sweeps and overrides ----------------------------------------------------------------------- */

/* One entry of a `sweep:` mapping: a section's key and the list of its values. */
typedef struct sweep {
	int section;
	char key[SNM_OVERRIDE_KEY_MAX + 1];
	const snm_cfg *values;            /* the sequence, in the pipeline's tree */
	int used;                         /* experiments it applied to */
} sweep;

/* Entry i of a `sweep:` mapping into *w: its key a path "<section>.<key>", its value a non-empty
 * list of distinct values. */
static int read_sweep_entry(const snm_cfg *node, size_t i, sweep *w, snm_error *err)
{
	const char *path = snm_cfg_key_at(node, i);
	const snm_cfg *v = snm_cfg_value_at(node, i);
	int rc = snm_override_path(path, strlen(path), &w->section, w->key);
	if (rc == -1)
		return at(v, err, SNM_ECONFIG, "'sweep': unknown section in '%s' (data, model, noise or "
		          "train)", path);
	if (rc == -2)
		return at(v, err, SNM_ECONFIG, "'sweep': '%s' is not SECTION.KEY (a section and one of its "
		          "keys, e.g. noise.sd)", path);
	if (snm_cfg_kind(v) != SNM_CFG_SEQ || snm_cfg_len(v) == 0)
		return at(v, err, SNM_ECONFIG, "'sweep': '%s': expected a list of values", path);
	for (size_t a = 0; a < snm_cfg_len(v); ++a) {
		char ta[256], tb[256];
		if (snm_cfg_kind(snm_cfg_at(v, a)) == SNM_CFG_NULL)
			return at(snm_cfg_at(v, a), err, SNM_ECONFIG, "'sweep': '%s': a value is empty", path);
		snm_cfg_dump_str(snm_cfg_at(v, a), ta, sizeof ta);
		for (size_t b = 0; b < a; ++b)
			if (strcmp(ta, (snm_cfg_dump_str(snm_cfg_at(v, b), tb, sizeof tb), tb)) == 0)
				return at(snm_cfg_at(v, a), err, SNM_ECONFIG, "'sweep': '%s': the value %s is listed "
				          "twice", path, ta);
	}
	w->values = v;
	return SNM_OK;
}

/* Reads a `sweep:` mapping (NULL: none) into *out (n entries, free(); NULL on error). */
static int read_sweep(const snm_cfg *node, sweep **out, int *n, snm_error *err)
{
	size_t len = snm_cfg_len(node);
	*out = NULL;
	*n = 0;
	if (node == NULL || snm_cfg_kind(node) == SNM_CFG_NULL)
		return SNM_OK;
	if (snm_cfg_kind(node) != SNM_CFG_MAP)
		return at(node, err, SNM_ECONFIG, "'sweep': expected a mapping of SECTION.KEY: [values], e.g. "
		          "{noise.sd: [0.1, 0.2]}");
	if (len == 0)
		return SNM_OK;
	if ((*out = calloc(len, sizeof **out)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	for (size_t i = 0; i < len; ++i) {
		int rc = read_sweep_entry(node, i, &(*out)[i], err);
		if (rc) {
			free(*out);
			*out = NULL;
			return rc;
		}
		++*n;
	}
	return SNM_OK;
}

/* What the runs of an experiment share besides their sections. */
typedef struct experiment {
	const char *prefix, *name;        /* the pipeline's name, the experiment's */
	const snm_cfg *ex, *grid;         /* its node, its grid */
	long seed;
	const char *results;
} experiment;

/* Whether section s of sec takes key (its option table has it; every plugin section takes
 * `type`): 1 with *opt its option and what naming the section ("noise 'semantic'"), 0, or an
 * error code (the section's plugin cannot be loaded). */
static int takes(loader *L, snm_cfg *const sec[4], int s, const char *key, const snm_option **opt,
                 char *what, size_t size, snm_error *err)
{
	static const snm_option type_option = { "type", SNM_OPT_STRING, NULL, NULL, "plugin name", NULL };
	const snm_cfg *type = snm_cfg_get(sec[s], "type");
	const snm_plugin *pl;
	*opt = NULL;
	if (section_kinds[s] == 0) {
		snprintf(what, size, "train");
		*opt = snm_cfg_option_find(snm_train_options, key);
		return *opt != NULL;
	}
	if (type == NULL || snm_cfg_kind(type) != SNM_CFG_SCALAR)
		return 0;                     /* the section's own check says what is wrong */
	snprintf(what, size, "%s '%s'", snm_kind_name(section_kinds[s]), snm_cfg_text(type));
	if (strcmp(key, "type") == 0) {
		*opt = &type_option;
		return 1;
	}
	if ((pl = plugin_for(L, section_kinds[s], type, err)) == NULL)
		return err ? -err->code : -SNM_EPLUGIN;
	*opt = pl->options ? snm_cfg_option_find(pl->options, key) : NULL;
	return *opt != NULL;
}

/* The runs of the grid for sections sec under the experiment name ename. */
static int add_grid(loader *L, const experiment *x, const char *ename, snm_cfg *const sec[4],
                    snm_error *err)
{
	const snm_cfg *egrid = x->grid, *pcs;
	long sets;
	int full, rc = snm_cfg_check(egrid, grid_options, "grid", err);
	if (rc)
		return rc;
	snm_cfg_opt_int(egrid, grid_options, "sets", &sets, err);
	if (sets > MAX_SETS)
		return at(snm_cfg_get(egrid, "sets"), err, SNM_ECONFIG, "'sets': at most %d random sets", MAX_SETS);
	snm_cfg_opt_bool(egrid, grid_options, "full", &full, err);
	pcs = snm_cfg_opt_node(egrid, grid_options, "per_class");
	if (pcs != NULL && snm_cfg_kind(pcs) != SNM_CFG_SEQ)
		return at(pcs, err, SNM_ECONFIG, "'per_class': expected a list of sizes");
	for (size_t i = 0; rc == SNM_OK && i < snm_cfg_len(pcs); ++i) {
		long n;
		rc = snm_cfg_to_int(snm_cfg_at(pcs, i), &n, err);
		if (rc == SNM_OK && n < 1)
			rc = at(snm_cfg_at(pcs, i), err, SNM_ECONFIG, "'per_class': sizes are >= 1");
		for (long s = 1; rc == SNM_OK && s <= sets; ++s)
			rc = add_run(L, x->prefix, ename, (int)n, (int)s, x->seed, x->results, sec, x->ex,
			             snm_cfg_at(pcs, i), err);
	}
	if (rc == SNM_OK && full)
		rc = add_run(L, x->prefix, ename, 0, 0, x->seed, x->results, sec, x->ex, snm_cfg_get(egrid, "full"), err);
	if (rc == SNM_OK && snm_cfg_len(pcs) == 0 && !full)
		rc = at(egrid ? egrid : x->ex, err, SNM_ECONFIG, "experiment '%s' has no runs: give "
		        "grid.per_class sizes or grid.full: true", x->name);
	return rc;
}

/* A change an experiment's runs get: a sweep's values, or a --set's value. */
typedef struct change {
	int section;
	const char *key;
	const sweep *sw;                  /* or */
	const snm_override *ov;
	const char *label;                /* in the run key: the key, or "<section>.<key>" */
	char long_label[16 + SNM_OVERRIDE_KEY_MAX];
} change;

/* Collects the changes that apply to an experiment whose merged sections are sec: its own
 * sweeps (each must apply), the top level's that its sections take, then the --set overrides
 * that they take (checked against the option; a --set of a swept key is an error); labels them.
 * *n receives the count. */
static int collect(loader *L, snm_cfg *const sec[4], sweep *top, int n_top, sweep *own, int n_own,
                   change *ch, int *n, snm_error *err)
{
	const snm_option *opt;
	char what[128];
	int k = 0, t;
	for (int i = 0; i < n_own + n_top; ++i) {
		sweep *w = i < n_own ? &own[i] : &top[i - n_own];
		int shadowed = 0;
		for (int j = 0; j < n_own && i >= n_own; ++j)
			shadowed |= own[j].section == w->section && strcmp(own[j].key, w->key) == 0;
		if (shadowed)
			continue;
		if ((t = takes(L, sec, w->section, w->key, &opt, what, sizeof what, err)) < 0)
			return -t;
		if (t == 0 && i < n_own)
			return at(w->values, err, SNM_ECONFIG, "'sweep': %s has no option '%s' (`snm plugins` "
			          "lists its options)", section_kinds[w->section] ? what : "the train section", w->key);
		if (t == 0)
			continue;
		w->used++;
		ch[k++] = (change){ w->section, w->key, w, NULL, NULL, "" };
	}
	for (int i = 0; i < L->n_set; ++i) {
		snm_override *o = &L->set[i];
		int rc;
		if ((t = takes(L, sec, o->section, o->key, &opt, what, sizeof what, err)) < 0)
			return -t;
		if (t == 0)
			continue;
		for (int j = 0; j < k; ++j)
			if (ch[j].section == o->section && strcmp(ch[j].key, o->key) == 0)
				return SNM_FAIL(err, SNM_ECONFIG, "--set %s: the pipeline sweeps %s.%s (%s:%d:%d); a "
				                "--set cannot change a swept key", o->arg, section_names[o->section],
				                o->key, snm_cfg_file(ch[j].sw->values), snm_cfg_line(ch[j].sw->values),
				                snm_cfg_col(ch[j].sw->values));
		if ((rc = snm_override_check(o, opt, what, err)))
			return rc;
		o->used++;
		ch[k++] = (change){ o->section, o->key, NULL, o, NULL, "" };
	}
	for (int i = 0; i < k; ++i) {
		int same_key = 0;
		for (int j = 0; j < k; ++j)
			same_key |= j != i && strcmp(ch[j].key, ch[i].key) == 0;
		snprintf(ch[i].long_label, sizeof ch[i].long_label, "%s.%s", section_names[ch[i].section], ch[i].key);
		ch[i].label = same_key ? ch[i].long_label : ch[i].key;
	}
	*n = k;
	return SNM_OK;
}

/* The runs of one experiment whose merged sections are sec: one set of runs per combination of
 * the values of the sweeps that apply to it (the first sweep's value changing slowest), each with
 * the --set overrides that apply, its sections checked, under the experiment name followed by
 * "-<label><value>" per change (override.h). */
static int expand(loader *L, const experiment *x, snm_cfg *const sec[4], sweep *top, int n_top,
                  sweep *own, int n_own, snm_error *err)
{
	change *ch = malloc((size_t)(n_top + n_own + L->n_set + 1) * sizeof *ch);
	long combos = 1;
	int n_ch = 0, rc;
	if (ch == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	if ((rc = collect(L, sec, top, n_top, own, n_own, ch, &n_ch, err))) {
		free(ch);
		return rc;
	}
	for (int i = 0; i < n_ch; ++i)
		if (ch[i].sw != NULL && (combos *= (long)snm_cfg_len(ch[i].sw->values)) > MAX_RUNS) {
			rc = at(ch[i].sw->values, err, SNM_ECONFIG, "'sweep': more than %d combinations of values",
			        MAX_RUNS);
			break;
		}
	for (long c = 0; c < combos && rc == SNM_OK; ++c) {
		snm_cfg *cs[4] = { NULL, NULL, NULL, NULL };
		char ename[2 * MAX_RUN_NAME];
		size_t len = (size_t)snprintf(ename, sizeof ename, "%s", x->name);
		long rest = c;
		for (int s = 0; s < 4 && rc == SNM_OK; ++s)
			if ((cs[s] = snm_cfg_dup(sec[s], err)) == NULL)
				rc = err ? err->code : SNM_ENOMEM;
		for (int i = n_ch - 1; i >= 0 && rc == SNM_OK; --i) {     /* the value of each change */
			const snm_cfg *v = ch[i].ov ? ch[i].ov->value : NULL;
			if (ch[i].sw != NULL) {
				long m = (long)snm_cfg_len(ch[i].sw->values);
				v = snm_cfg_at(ch[i].sw->values, (size_t)(rest % m));
				rest /= m;
			}
			rc = set_node(cs[ch[i].section], ch[i].key, v, err);
		}
		for (int i = 0; i < n_ch && rc == SNM_OK; ++i) {          /* the name, in the changes' order */
			const snm_cfg *v = ch[i].ov ? ch[i].ov->value : NULL;
			if (ch[i].sw != NULL)
				v = snm_cfg_get(cs[ch[i].section], ch[i].key);
			if (len < sizeof ename - 1)
				ename[len++] = '-';
			len += snm_override_name(ch[i].label, v, ename + len, len < sizeof ename ? sizeof ename - len : 0);
			if (len > MAX_RUN_NAME) {
				if (ch[i].ov != NULL)
					rc = SNM_FAIL(err, SNM_ECONFIG, "--set %s: the runs of experiment '%s' would be "
					              "named '%.*s...', longer than %d characters", ch[i].ov->arg, x->name,
					              MAX_NAME, ename, MAX_RUN_NAME);
				else
					rc = at(ch[i].sw->values, err, SNM_ECONFIG, "'sweep': the runs of experiment '%s' "
					        "would be named '%.*s...', longer than %d characters", x->name, MAX_NAME,
					        ename, MAX_RUN_NAME);
			}
		}
		for (int s = 0; s < 4 && rc == SNM_OK; ++s)
			rc = section_kinds[s] ? check_plugin_section(L, cs[s], section_kinds[s], x->ex, err)
			                      : snm_cfg_check(cs[s], snm_train_options, "train", err);
		if (rc == SNM_OK)
			rc = add_grid(L, x, ename, cs, err);
		for (int s = 0; s < 4; ++s)
			snm_cfg_free(cs[s]);
	}
	free(ch);
	return rc;
}

static int load_file(loader *L, const char *path, const snm_cfg *from, snm_error *err);

static int load_tree(loader *L, const char *path, const snm_cfg *root, snm_error *err)
{
	const char *name, *results;
	long seed;
	int rc, n_top = 0;
	const snm_cfg *inc, *defs, *grid, *exps;
	sweep *top = NULL;
	if (snm_cfg_kind(root) != SNM_CFG_MAP)
		return at(root, err, SNM_ECONFIG, "a pipeline is a mapping (name, seed, defaults, grid, "
		          "experiments, include), got a %s", snm_cfg_kind_name(snm_cfg_kind(root)));
	if ((rc = snm_cfg_check(root, top_options, "the pipeline", err)))
		return rc;
	snm_cfg_opt_str(root, top_options, "name", &name, err);
	snm_cfg_opt_str(root, top_options, "results", &results, err);
	snm_cfg_opt_int(root, top_options, "seed", &seed, err);
	if (results[0] == '\0')     /* "" would put the run files under / */
		return at(snm_cfg_get(root, "results"), err, SNM_ECONFIG, "'results': an empty directory name "
		          "(the default is 'results')");
	inc = snm_cfg_opt_node(root, top_options, "include");
	defs = snm_cfg_opt_node(root, top_options, "defaults");
	grid = snm_cfg_opt_node(root, top_options, "grid");
	exps = snm_cfg_opt_node(root, top_options, "experiments");

	if (inc != NULL) {
		if (snm_cfg_kind(inc) != SNM_CFG_SEQ)
			return at(inc, err, SNM_ECONFIG, "'include': expected a list of files");
		for (size_t i = 0; i < snm_cfg_len(inc); ++i) {
			const snm_cfg *f = snm_cfg_at(inc, i);
			char *dup, full_path[PATH_MAX];
			if (snm_cfg_kind(f) != SNM_CFG_SCALAR || snm_cfg_text(f)[0] == '\0')
				return at(f, err, SNM_ECONFIG, "'include': expected a file name");
			dup = strdup(path);
			if (dup == NULL)
				return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
			if (snm_cfg_text(f)[0] == '/')
				snprintf(full_path, sizeof full_path, "%s", snm_cfg_text(f));
			else
				snprintf(full_path, sizeof full_path, "%s/%s", dirname(dup), snm_cfg_text(f));
			free(dup);
			if ((rc = load_file(L, full_path, f, err)))
				return rc;
		}
	}
	if (exps != NULL && snm_cfg_kind(exps) != SNM_CFG_SEQ && snm_cfg_kind(exps) != SNM_CFG_NULL)
		return at(exps, err, SNM_ECONFIG, "'experiments': expected a list");
	if ((rc = need_map(defs, "defaults", err)) || (rc = need_map(grid, "grid", err)))
		return rc;
	for (int s = 0; s < 4; ++s)
		if ((rc = need_map(snm_cfg_get(defs, section_names[s]), section_names[s], err)))
			return rc;
	if (snm_cfg_len(exps) == 0) {
		const snm_cfg *sw = snm_cfg_get(root, "sweep");
		if (snm_cfg_len(sw) > 0)
			return at(sw, err, SNM_ECONFIG, "'sweep': this pipeline has no experiments to sweep");
		return SNM_OK;
	}
	if (!valid_name(name))
		return at(snm_cfg_get(root, "name") ? snm_cfg_get(root, "name") : root, err, SNM_ECONFIG,
		          "'name': a pipeline with experiments needs a name of up to %d letters, digits, "
		          "'.', '_' or '-', not '.' or '..' (got '%.80s%s')", MAX_NAME, name,
		          strlen(name) > 80 ? "..." : "");
	if ((rc = snm_cfg_check(defs, section_options, "defaults", err)))
		return rc;

	if ((rc = read_sweep(snm_cfg_get(root, "sweep"), &top, &n_top, err)))
		return rc;
	for (size_t e = 0; e < snm_cfg_len(exps) && rc == SNM_OK; ++e) {
		const snm_cfg *ex = snm_cfg_at(exps, e), *egrid;
		const char *ename;
		snm_cfg *sec[4] = { NULL, NULL, NULL, NULL };
		sweep *own = NULL;
		int n_own = 0;
		if (snm_cfg_kind(ex) != SNM_CFG_MAP) {
			rc = at(ex, err, SNM_ECONFIG, "an experiment is a mapping with a name, got a %s",
			        snm_cfg_kind_name(snm_cfg_kind(ex)));
			break;
		}
		if ((rc = snm_cfg_check(ex, experiment_options, "an experiment", err)))
			break;
		snm_cfg_opt_str(ex, experiment_options, "name", &ename, err);
		if (!valid_name(ename)) {
			rc = at(snm_cfg_get(ex, "name"), err, SNM_ECONFIG,
			        "'name': use up to %d letters, digits, '.', '_' or '-', not '.' or '..' (got '%.80s%s')",
			        MAX_NAME, ename, strlen(ename) > 80 ? "..." : "");
			break;
		}
		for (int s = 0; s < 4 && rc == SNM_OK; ++s)
			rc = need_map(snm_cfg_get(ex, section_names[s]), section_names[s], err);
		if (rc == SNM_OK)
			rc = need_map(snm_cfg_get(ex, "grid"), "grid", err);
		for (int s = 0; s < 4 && rc == SNM_OK; ++s) {
			sec[s] = merge(snm_cfg_get(defs, section_names[s]), snm_cfg_get(ex, section_names[s]), err);
			if (sec[s] == NULL)
				rc = err ? err->code : SNM_ENOMEM;
		}
		egrid = snm_cfg_get(ex, "grid") && snm_cfg_len(snm_cfg_get(ex, "grid")) ? snm_cfg_get(ex, "grid") : grid;
		if (rc == SNM_OK)
			rc = read_sweep(snm_cfg_get(ex, "sweep"), &own, &n_own, err);
		if (rc == SNM_OK)
			rc = expand(L, &(experiment){ name, ename, ex, egrid, seed, results }, sec, top, n_top, own,
			            n_own, err);
		for (int s = 0; s < 4; ++s)
			snm_cfg_free(sec[s]);
		free(own);
	}
	for (int i = 0; i < n_top && rc == SNM_OK; ++i)
		if (top[i].used == 0)
			rc = at(top[i].values, err, SNM_ECONFIG, "'sweep': '%s.%s' applies to no experiment here "
			        "(none has a %s section that takes '%s'; `snm plugins` lists the options)",
			        section_names[top[i].section], top[i].key, section_names[top[i].section], top[i].key);
	free(top);
	return rc;
}

static int load_file(loader *L, const char *path, const snm_cfg *from, snm_error *err)
{
	snm_cfg *root = NULL;
	char real[PATH_MAX];
	int rc;
	if (realpath(path, real) == NULL) {
		struct stat st;
		int why = errno;
		if (why == ENOENT && stat(path, &st) == 0) {
			/* there, with no name realpath can give: a pipe (/dev/stdin, <(...)) */
			snprintf(real, sizeof real, "%s", path);
		} else if (from != NULL) {
			return at(from, err, SNM_EIO, "cannot open included pipeline '%s'%s%s", path,
			          why == ENOENT ? "" : ": ", why == ENOENT ? "" : strerror(why));
		} else {
			return SNM_FAIL(err, SNM_EIO, "%s: cannot open: %s", path,
			                why == ENOENT ? "no such file" : strerror(why));
		}
	}
	for (int i = 0; i < L->depth; ++i)
		if (strcmp(L->stack[i], real) == 0)
			return at(from, err, SNM_ECONFIG, "'%s' includes itself (directly or indirectly)", path);
	if (L->depth == MAX_INCLUDE_DEPTH)
		return at(from, err, SNM_ECONFIG, "includes nested more than 16 deep at '%s'", path);
	if ((rc = snm_cfg_load(path, &root, err))) {
		if (from != NULL && snm_cfg_line(from) > 0)
			snm_error_prefix(err, "%s:%d:%d: included", snm_cfg_file(from), snm_cfg_line(from),
			                 snm_cfg_col(from));
		return rc;
	}
	L->stack[L->depth++] = real;
	rc = load_tree(L, path, root, err);
	L->depth--;
	if (L->depth == 0 && rc == SNM_OK)
		L->p->root = root;
	else
		snm_cfg_free(root);
	return rc;
}

static int by_path(const void *a, const void *b)
{
	const snm_override *x = a, *y = b;
	return x->section != y->section ? x->section - y->section : strcmp(x->key, y->key);
}

/* The --set arguments into L->set, sorted by section and key (the order of the command line
 * changes neither the configurations nor the run keys); a key set twice is an error. */
static int read_sets(loader *L, int n_set, const char *const *set, snm_error *err)
{
	int rc = SNM_OK;
	if (n_set == 0)
		return SNM_OK;
	if ((L->set = calloc((size_t)n_set, sizeof *L->set)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	for (; L->n_set < n_set && rc == SNM_OK; ++L->n_set)
		rc = snm_override_parse(set[L->n_set], &L->set[L->n_set], err);
	if (rc)
		return rc;
	for (int i = 0; i < n_set; ++i)
		for (int j = 0; j < i; ++j)
			if (by_path(&L->set[i], &L->set[j]) == 0)
				return SNM_FAIL(err, SNM_ECONFIG, "--set %s: %s.%s is set twice (also by --set %s)",
				                L->set[i].arg, section_names[L->set[i].section], L->set[i].key,
				                L->set[j].arg);
	qsort(L->set, (size_t)n_set, sizeof *L->set, by_path);
	return SNM_OK;
}

/* A --set that no run takes: the error, naming the plugins of its section that the pipeline has. */
static int unused_set(const loader *L, const snm_override *o, snm_error *err)
{
	static const int kinds[3] = { SNM_KIND_DATA, SNM_KIND_MODEL, SNM_KIND_NOISE };
	const char *seen[8];
	char types[256] = "";
	int n = 0;
	if (o->section == 3)
		return SNM_FAIL(err, SNM_ECONFIG, "--set %s: the train section has no key '%s' (`snm help run` "
		                "lists them)", o->arg, o->key);
	for (int r = 0; r < L->p->n_runs && n < 8; ++r) {
		const snm_run_spec *q = &L->p->runs[r];
		const char *t = o->section == 0 ? q->data_type : o->section == 1 ? q->model_type : q->noise_type;
		int dup = 0;
		for (int k = 0; k < n; ++k)
			dup |= strcmp(seen[k], t) == 0;
		if (!dup) {
			seen[n++] = t;
			snprintf(types + strlen(types), sizeof types - strlen(types), "%s%s", n > 1 ? ", " : "", t);
		}
	}
	return SNM_FAIL(err, SNM_ECONFIG, "--set %s: no %s plugin of this pipeline (%s) has an option "
	                "'%s' (`snm plugins` lists them)", o->arg, snm_kind_name(kinds[o->section]), types,
	                o->key);
}

int snm_pipeline_load(const char *path, const char *plugin_path, snm_pipeline **out, snm_error *err)
{
	return snm_pipeline_load_set(path, plugin_path, 0, NULL, out, err);
}

int snm_pipeline_load_set(const char *path, const char *plugin_path, int n_set, const char *const *set,
                          snm_pipeline **out, snm_error *err)
{
	loader L;
	int rc;
	memset(&L, 0, sizeof L);
	*out = NULL;
	L.plugin_path = plugin_path;
	L.p = calloc(1, sizeof *L.p);
	if (L.p == NULL || (L.p->path = strdup(path)) == NULL) {
		free(L.p);
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	}
	rc = read_sets(&L, n_set, set, err);
	if (rc == SNM_OK)
		rc = load_file(&L, path, NULL, err);
	for (int i = 0; i < L.n_set && rc == SNM_OK; ++i)
		if (L.set[i].used == 0)
			rc = unused_set(&L, &L.set[i], err);
	for (int i = 0; i < L.n_h; ++i)
		snm_plugin_close(&L.h[i]);
	free(L.h);
	for (int i = 0; i < n_set && L.set != NULL; ++i)
		snm_override_clear(&L.set[i]);
	free(L.set);
	free(L.slot);
	if (rc == SNM_OK && L.p->n_runs == 0)
		rc = SNM_FAIL(err, SNM_ECONFIG, "%s: the pipeline defines no runs (no experiments, "
		              "nothing included)", path);
	if (rc) {
		snm_pipeline_free(L.p);
		return rc;
	}
	*out = L.p;
	return SNM_OK;
}

void snm_pipeline_free(snm_pipeline *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < p->n_runs; ++i)
		run_free(&p->runs[i]);
	free(p->runs);
	snm_cfg_free(p->root);
	free(p->path);
	free(p);
}

/* ---- one run from its recorded configuration ------------------------------------------------- */

/* The integer value of key in map, as recorded ("seed: 1"). */
static int recorded_int(const snm_cfg *map, const char *key, const char *src, long *out, snm_error *err)
{
	const snm_cfg *n = snm_cfg_get(map, key);
	if (n == NULL || snm_cfg_kind(n) != SNM_CFG_SCALAR)
		return SNM_FAIL(err, SNM_ECONFIG, "%s: the recorded config has no '%s'", src, key);
	return snm_cfg_to_int(n, out, err);
}

int snm_pipeline_from_config(const char *config_text, const char *source, const char *results,
                             const char *plugin_path, snm_pipeline **out, snm_error *err)
{
	loader L;
	snm_cfg *root = NULL;
	snm_cfg *sec[4] = { NULL, NULL, NULL, NULL };
	const snm_cfg *key_node;
	char prefix[MAX_NAME + 2], exp[MAX_RUN_NAME + 2];
	long seed = 0, per_class = 0, set = 0;
	int rc;
	*out = NULL;
	memset(&L, 0, sizeof L);
	L.plugin_path = plugin_path;
	if ((rc = snm_cfg_parse(config_text, strlen(config_text), source, &root, err)))
		return rc;
	if (snm_cfg_kind(root) != SNM_CFG_MAP) {
		snm_cfg_free(root);
		return SNM_FAIL(err, SNM_ECONFIG, "%s: the recorded config is not a mapping", source);
	}
	key_node = snm_cfg_get(root, "run");
	if (key_node == NULL || snm_cfg_kind(key_node) != SNM_CFG_SCALAR
	    || sscanf(snm_cfg_text(key_node), "%65[^/]/%161[^/]", prefix, exp) != 2
	    || !valid_name(prefix) || !valid_name_of(exp, MAX_RUN_NAME))
		rc = SNM_FAIL(err, SNM_ECONFIG, "%s: the recorded config has no run key of the form "
		              "name/experiment/...", source);
	if (!rc)
		rc = recorded_int(root, "seed", source, &seed, err);
	if (!rc)
		rc = recorded_int(root, "per_class", source, &per_class, err);
	if (!rc)
		rc = recorded_int(root, "set", source, &set, err);
	if (!rc && (seed < 0 || per_class < 0 || per_class > INT_MAX || set < 0 || set > MAX_SETS))
		rc = SNM_FAIL(err, SNM_ECONFIG, "%s: the recorded seed, per_class or set is out of range", source);
	if (!rc && (L.p = calloc(1, sizeof *L.p)) == NULL)
		rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	if (!rc && (L.p->path = strdup(source)) == NULL)
		rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	for (int s = 0; s < 4 && !rc; ++s) {
		const snm_cfg *n = snm_cfg_get(root, section_names[s]);
		if (n == NULL || snm_cfg_kind(n) != SNM_CFG_MAP)
			rc = SNM_FAIL(err, SNM_ECONFIG, "%s: the recorded config has no '%s' section", source,
			              section_names[s]);
		else if ((sec[s] = snm_cfg_dup(n, err)) == NULL)
			rc = err ? err->code : SNM_ENOMEM;
		else if (section_kinds[s])
			rc = check_plugin_section(&L, sec[s], section_kinds[s], root, err);
		else
			rc = snm_cfg_check(sec[s], snm_train_options, "train", err);
	}
	if (!rc)
		rc = add_run(&L, prefix, exp, (int)per_class, (int)set, seed, results, sec, root, NULL, err);
	if (!rc && strcmp(L.p->runs[0].key, snm_cfg_text(key_node)) != 0)
		rc = SNM_FAIL(err, SNM_ECONFIG, "%s: the recorded run key '%s' does not match its per_class "
		              "and set", source, snm_cfg_text(key_node));
	for (int s = 0; s < 4; ++s)
		snm_cfg_free(sec[s]);
	for (int i = 0; i < L.n_h; ++i)
		snm_plugin_close(&L.h[i]);
	free(L.h);
	free(L.slot);
	if (rc) {
		snm_pipeline_free(L.p);
		snm_cfg_free(root);
		return rc;
	}
	L.p->root = root;
	*out = L.p;
	return SNM_OK;
}

size_t snm_run_row_len(const snm_run_spec *r)
{
	const char *s = strrchr(r->key, '/');
	size_t n = s ? (size_t)(s - r->key) : strlen(r->key);
	if (r->per_class) {
		while (n > 0 && r->key[n - 1] != '/')
			--n;
		if (n > 0)
			--n;
	}
	return n;
}
