/* figures.c: the figures that look inside a trained network (see paper.h):
 *
 *   reconstructions (Figures 5 and 7)  for the first per_class training examples of each class of
 *       the run's subset: the input, then decode_z(z') for `copies` random perturbations
 *       z' = mmn(z) (left panel) and `copies` semantic ones z' = z + decode_y(mmn(y)) - decode_y(y)
 *       (right panel), mmn being the min-max-scaled Gaussian noise of section 4.2 -- as the
 *       random and semantic noise plugins draw them (their perturb entries), with the options
 *       of the entry's `random` and `semantic` sections (sd defaulting to the entry's sd).  Each panel is
 *       one RGB image assembled here (examples side by side, one class per column; per_class
 *       blocks stacked) and drawn by gnuplot `with rgbimage`.
 *   t-SNE (Figures 6 and 8)  one embedding (paper/tsne.c) of the latent z of `background` training-
 *       split examples not used for training, of the training subset, and of `copies` random and
 *       `copies` semantic perturbations of every training example; the overview shows the
 *       training examples of the chosen classes, the per-class figure one row per class, each in
 *       three panels: training examples, + random-perturbed, + semantic-perturbed samples.
 *
 * Randomness: the random and the semantic perturbations and the background sample each have their
 * own stream, snm_rng_stream(seed, "paper-random" / "paper-semantic" / "paper-background", id), and
 * the embedding starts from `seed`: the figures are the same every time. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gsl/gsl_randist.h>
#include "paper.h"
#include "snm/rng.h"
#include "run/store.h"
#include "tsne.h"

/* Opens the run of a figure, or explains (a note) why the figure is not made: *m stays NULL then. */
static int open_run(const snm_paper_opts *o, const char *id, const char *run, snm_paper_model **m,
                    snm_error *err)
{
	size_t n = strlen(o->results) + strlen(run) + 8;
	char *path = malloc(n);
	int rc;
	*m = NULL;
	if (path == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	snprintf(path, n, "%s/%s.h5", o->results, run);
	snm_paper_use(o, path);
	if (access(path, F_OK) != 0) {
		snm_paper_note(o, SNM_PAPER_NOTE, "%s: run %s is missing (%s); figure not made", id, run, path);
		free(path);
		return SNM_OK;
	}
	{
		/* a file copied or renamed into place would draw another run's network */
		char *key = NULL;
		rc = snm_store_get_str(path, "run_key", &key, err);
		if (rc == SNM_OK && strcmp(key, run) != 0)
			rc = SNM_FAIL(err, SNM_EIO, "%s holds run '%s', not '%s'", path, key, run);
		free(key);
	}
	if (rc == SNM_OK)
		rc = snm_paper_model_open(path, o->plugin_path, m, err);
	if (rc)
		snm_error_prefix(err, "%s", id);
	else if (!snm_paper_model_finished(*m))
		snm_paper_note(o, SNM_PAPER_NOTE, "%s: run %s is not finished; drawn from its best weights so far",
		               id, run);
	free(path);
	return rc;
}

int snm_paper_figure_perturbations(snm_paper_model *m, const snm_cfg *e, const snm_option *op,
                                   snm_paper_perturb *p[2], snm_error *err)
{
	static const char *const names[2] = { "random", "semantic" };
	const char *id;
	double sd;
	int rc;
	p[0] = p[1] = NULL;
	if ((rc = snm_cfg_opt_str(e, op, "id", &id, err)) || (rc = snm_cfg_opt_double(e, op, "sd", &sd, err)))
		return rc;
	for (int k = 0; k < 2 && rc == SNM_OK; ++k) {
		const snm_cfg *sec = snm_cfg_opt_node(e, op, names[k]);
		snm_cfg *opts, *v = NULL;
		char text[40];
		if (sec != NULL && snm_cfg_kind(sec) != SNM_CFG_MAP && snm_cfg_kind(sec) != SNM_CFG_NULL) {
			rc = SNM_CFG_FAIL(err, SNM_ECONFIG, sec, "%s: '%s' is a map of the %s noise plugin's "
			                  "options", id, names[k], names[k]);
			break;
		}
		opts = sec != NULL && snm_cfg_kind(sec) == SNM_CFG_MAP ? snm_cfg_dup(sec, err)
		                                                       : snm_cfg_new(SNM_CFG_MAP, NULL, NULL, 0, 0, err);
		if (opts == NULL) {
			rc = err ? err->code : SNM_ENOMEM;
			break;
		}
		snprintf(text, sizeof text, "%.17g", sd);
		if (snm_cfg_get(opts, "sd") == NULL
		    && ((v = snm_cfg_new(SNM_CFG_SCALAR, text, NULL, 0, 0, err)) == NULL
		        || snm_cfg_map_set(opts, "sd", v, err) != SNM_OK)) {
			snm_cfg_free(v);
			rc = err ? err->code : SNM_ENOMEM;
		}
		if (rc == SNM_OK && (rc = snm_paper_perturb_open(m, names[k], opts, &p[k], err)))
			snm_error_prefix(err, "%s", id);
		snm_cfg_free(opts);
	}
	if (rc) {
		snm_paper_perturb_close(p[0]);
		snm_paper_perturb_close(p[1]);
		p[0] = p[1] = NULL;
	}
	return rc;
}

static int written(const snm_paper_opts *o, const char *id, const char *path, snm_error *err)
{
	struct stat sb;
	if (stat(path, &sb) != 0 || sb.st_size == 0)
		return SNM_FAIL(err, SNM_EIO, "%s: gnuplot exited normally but wrote no %s", id, path);
	snm_paper_note(o, SNM_PAPER_WROTE, "%s", path);
	return SNM_OK;
}

static FILE *create(const char *path, snm_error *err)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		SNM_FAIL(err, SNM_EIO, "%s: cannot create: %s", path, strerror(errno));
	return f;
}

static int finish(FILE *f, const char *path, snm_error *err)
{
	if ((ferror(f) | fclose(f)) != 0)
		return SNM_FAIL(err, SNM_EIO, "%s: write error", path);
	return SNM_OK;
}

/* ---- reconstructions ------------------------------------------------------------------------- */

/* Pastes example image x (C,H,W in [0,1]) with its top-left corner at (px, py) of an RGB canvas of
 * width cw.  One channel is grey; three are RGB; otherwise the first channel, grey. */
static void paste(unsigned char *canvas, int cw, int px, int py, const float *x, int C, int H, int W)
{
	for (int r = 0; r < H; ++r)
		for (int c = 0; c < W; ++c) {
			unsigned char *p = canvas + 3 * ((size_t)(py + r) * cw + px + c);
			for (int k = 0; k < 3; ++k) {
				float v = x[(size_t)(C == 3 ? k : 0) * H * W + (size_t)r * W + c];
				p[k] = (unsigned char)lrintf(255.0f * (v < 0 ? 0 : v > 1 ? 1 : v));
			}
		}
}

/* A reconstruction figure's spec entry. */
typedef struct recon_spec {
	const char *id, *run;
	long per_class, copies, seed;
	double sd;
	int w, h;
} recon_spec;

/* The canvas of one panel: K columns (classes) of images C x H x W, per_class blocks of 1 + copies
 * rows, gap pixels apart; pw x ph RGB pixels. */
typedef struct recon_geom {
	int K, C, H, W, gap, block_h, pw, ph;
} recon_geom;

static int recon_read_spec(const snm_cfg *e, recon_spec *r, snm_error *err)
{
	const snm_option *op = snm_paper_recon_options;
	int rc;
	if ((rc = snm_cfg_opt_str(e, op, "id", &r->id, err)) || (rc = snm_cfg_opt_str(e, op, "run", &r->run, err))
	    || (rc = snm_cfg_opt_int(e, op, "per_class", &r->per_class, err))
	    || (rc = snm_cfg_opt_int(e, op, "copies", &r->copies, err))
	    || (rc = snm_cfg_opt_int(e, op, "seed", &r->seed, err)) || (rc = snm_cfg_opt_double(e, op, "sd", &r->sd, err))
	    || (rc = snm_paper_size(e, op, "size", &r->w, &r->h, err)))
		return rc;
	return SNM_OK;
}

/* The examples shown: the first per_class training examples of each class of the run's subset,
 * idx (*n_ex of them, class by class), and pos[b*K + c], the example of block b and class c as an
 * index into idx, or -1 (a class with fewer examples). */
static int recon_examples(snm_paper_model *m, long per_class, long **idx, long **pos, long *n_ex, snm_error *err)
{
	const int32_t *lab = snm_paper_model_labels(m);
	const long *sub;
	long n_sub = snm_paper_model_subset(m, &sub);
	int K = snm_paper_model_info(m)->n_classes;
	*n_ex = 0;
	*pos = malloc((size_t)per_class * K * sizeof **pos);
	*idx = malloc((size_t)per_class * K * sizeof **idx);
	if (*pos == NULL || *idx == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	for (long k = 0; k < per_class * K; ++k)
		(*pos)[k] = -1;
	for (int c = 0; c < K; ++c) {
		long b = 0;
		for (long i = 0; i < n_sub && b < per_class; ++i)
			if (lab[sub[i]] == c) {
				(*pos)[b * K + c] = *n_ex;
				(*idx)[(*n_ex)++] = sub[i];
				++b;
			}
	}
	return SNM_OK;
}

/* One panel into the raw RGB file path: `copies` perturbations of the latent vectors z of the
 * n_ex examples x (p's, drawn from the panel's own stream), decoded, each example's column showing
 * the example and its decodings below it.  zp, xr and canvas are the caller's scratch. */
static int recon_panel(snm_paper_model *m, const recon_spec *r, int kind, const snm_paper_perturb *p,
                       const float *x, const float *z, long n_ex, const long *pos, const recon_geom *g,
                       float *zp, float *xr, unsigned char *canvas, const char *path, snm_error *err)
{
	size_t dim = (size_t)g->C * g->H * g->W;
	gsl_rng *rng = snm_rng_stream((uint64_t)r->seed, kind == 0 ? "paper-random" : "paper-semantic", r->id, err);
	FILE *f;
	int rc = SNM_OK;
	if (rng == NULL)
		return SNM_ENOMEM;
	for (long c = 0; c < r->copies && rc == SNM_OK; ++c)
		if ((rc = snm_paper_model_perturb(m, p, z, n_ex, rng, zp, err)) == SNM_OK)
			rc = snm_paper_model_decode(m, zp, n_ex, xr + (size_t)c * n_ex * dim, err);
	gsl_rng_free(rng);
	if (rc)
		return rc;
	memset(canvas, 255, (size_t)g->pw * g->ph * 3);
	for (long b = 0; b < r->per_class; ++b)
		for (int c = 0; c < g->K; ++c) {
			long k = pos[b * g->K + c];
			int px = g->gap + c * (g->W + g->gap), py = g->gap + (int)b * g->block_h;
			if (k < 0)
				continue;
			paste(canvas, g->pw, px, py, x + (size_t)k * dim, g->C, g->H, g->W);
			for (long cp = 0; cp < r->copies; ++cp)
				paste(canvas, g->pw, px, py + 2 * g->gap + (int)(1 + cp) * (g->H + g->gap),
				      xr + ((size_t)cp * n_ex + k) * dim, g->C, g->H, g->W);
		}
	if ((f = create(path, err)) == NULL)
		return SNM_EIO;
	fwrite(canvas, 3, (size_t)g->pw * g->ph, f);
	return finish(f, path, err);
}

/* The gnuplot script drawing the two panels side by side into png and pdf. */
static int recon_script(const recon_spec *r, const recon_geom *g, const char *const panel[2], const char *script,
                        const char *png, const char *pdf, snm_error *err)
{
	char q[1024], q2[512];
	FILE *f = create(script, err);
	if (f == NULL)
		return SNM_EIO;
	for (int term = 0; term < 2; ++term) {
		if (term == 0)
			fprintf(f, "set terminal pngcairo noenhanced size %d,%d font 'sans,11'\n", r->w, r->h);
		else
			fprintf(f, "set terminal pdfcairo noenhanced size %g,%g font 'sans,8'\n", r->w / 100.0, r->h / 100.0);
		fprintf(f, "set output '%s'\n", snm_paper_gp_quote(term == 0 ? png : pdf, q, sizeof q));
		fprintf(f, "set multiplot layout 1,2 title '%s: run %s. Top row of each block: training "
		        "examples; below: decode_z(z'') of %ld perturbations of their z (sd %g)'\n", r->id,
		        snm_paper_gp_quote(r->run, q2, sizeof q2), r->copies, r->sd);
		fprintf(f, "unset key\nunset tics\nunset border\nset size ratio -1\n"
		        "set lmargin 1\nset rmargin 1\nset bmargin 1\nset tmargin 3\n"
		        "set xrange [-0.5:%d]\nset yrange [-0.5:%d]\n", g->pw, g->ph);
		for (int k = 0; k < 2; ++k)
			fprintf(f, "set title '(%c) %s perturbation'\nplot '%s' binary array=(%d,%d) flipy "
			        "format='%%uchar%%uchar%%uchar' with rgbimage\n", 'a' + k, k ? "semantic" : "random",
			        snm_paper_gp_quote(panel[k], q, sizeof q), g->pw, g->ph);
		fputs("unset multiplot\nset output\n", f);
	}
	return finish(f, script, err);
}

int snm_paper_reconstructions(const snm_paper_opts *o, const snm_cfg *spec, const snm_cfg *e, snm_error *err)
{
	recon_spec r;
	recon_geom g;
	const char *panel[2], *script;
	char png[1024], pdf[1024];
	int rc, ran = 0;
	snm_paper_model *m = NULL;
	snm_paper_perturb *pert[2] = { NULL, NULL };
	snm_paper_tmp t;
	long *idx = NULL, n_ex = 0, *pos = NULL;
	float *x = NULL, *z = NULL, *zp = NULL, *xr = NULL;
	unsigned char *canvas = NULL;
	size_t dim, zd;
	(void)spec;
	memset(&t, 0, sizeof t);
	if ((rc = recon_read_spec(e, &r, err)))
		return rc;
	if (!snm_paper_gnuplot_found(o)) {
		snm_paper_note(o, SNM_PAPER_NOTE, "%s: gnuplot not found; figure not made (Debian: apt-get install "
		               "gnuplot-nox; ./bootstrap installs it)", r.id);
		return SNM_OK;
	}
	if ((rc = open_run(o, r.id, r.run, &m, err)) || m == NULL)
		return rc;
	if ((rc = snm_paper_figure_perturbations(m, e, snm_paper_recon_options, pert, err))
	    || (rc = recon_examples(m, r.per_class, &idx, &pos, &n_ex, err)))
		goto done;
	g.K = snm_paper_model_info(m)->n_classes;
	g.C = snm_paper_model_info(m)->d[0];
	g.H = snm_paper_model_info(m)->d[1];
	g.W = snm_paper_model_info(m)->d[2];
	g.gap = g.W / 14 > 1 ? g.W / 14 : 1;
	g.block_h = (int)(1 + r.copies) * (g.H + g.gap) + 3 * g.gap;
	g.pw = g.K * (g.W + g.gap) + g.gap;
	g.ph = (int)r.per_class * g.block_h + g.gap;
	dim = (size_t)g.C * g.H * g.W;
	zd = (size_t)snm_paper_model_zdim(m);
	x = malloc((size_t)n_ex * dim * sizeof *x);
	xr = malloc((size_t)n_ex * r.copies * dim * sizeof *xr);
	z = malloc((size_t)n_ex * zd * sizeof *z);
	zp = malloc((size_t)n_ex * zd * sizeof *zp);
	canvas = malloc((size_t)g.pw * g.ph * 3);
	if (!x || !xr || !z || !zp || !canvas) {
		rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = snm_paper_model_read(m, idx, n_ex, x, err)) || (rc = snm_paper_model_encode(m, idx, n_ex, z, err))
	    || (rc = snm_paper_tmp_open(&t, err)))
		goto done;
	panel[0] = snm_paper_tmp_file(&t, "random.rgb");
	panel[1] = snm_paper_tmp_file(&t, "semantic.rgb");
	script = snm_paper_tmp_file(&t, "recon.gp");
	if (!panel[0] || !panel[1] || !script) {
		rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
		goto done;
	}
	for (int kind = 0; kind < 2; ++kind)
		if ((rc = recon_panel(m, &r, kind, pert[kind], x, z, n_ex, pos, &g, zp, xr, canvas, panel[kind], err)))
			goto done;
	snprintf(png, sizeof png, "%s/%s.png", o->out, r.id);
	snprintf(pdf, sizeof pdf, "%s/%s.pdf", o->out, r.id);
	if ((rc = recon_script(&r, &g, panel, script, png, pdf, err))
	    || (rc = snm_paper_gnuplot(o, &t, r.id, script, &ran, err)) || !ran)
		goto done;
	if ((rc = written(o, r.id, png, err)) == SNM_OK)
		rc = written(o, r.id, pdf, err);
done:
	snm_paper_tmp_close(&t);
	snm_paper_perturb_close(pert[0]);
	snm_paper_perturb_close(pert[1]);
	snm_paper_model_close(m);
	free(idx), free(pos), free(x), free(z), free(zp), free(xr), free(canvas);
	return rc;
}

/* ---- t-SNE ----------------------------------------------------------------------------------- */

/* Light colours for the background examples, strong ones are for the marks on top. */
static const unsigned bg_colours[10] = {
	0x9ecae1, 0xfdae6b, 0xa1d99b, 0xfc9272, 0xbcbddc, 0xd9b38c, 0xf7b6d2, 0xbdbdbd, 0xdbdb8d, 0x9edae5
};

/* The gnuplot function sel(c): 1 for the overview's classes. */
static void sel_function(FILE *f, const snm_cfg *classes)
{
	fputs("sel(c) = ", f);
	if (snm_cfg_len(classes) == 0) {
		fputs("1\n", f);
		return;
	}
	for (size_t i = 0; i < snm_cfg_len(classes); ++i)
		fprintf(f, "%s(c == %s)", i ? " || " : "", snm_cfg_text(snm_cfg_at(classes, i)));
	fputs("\n", f);
}

typedef struct tsne_files {
	const char *bg, *train, *rnd, *sem;
} tsne_files;

/* One panel: the background, the training examples passing `filter` (a gnuplot expression of the
 * class $3), and the perturbed ones (which = 0 none, 1 random, 2 semantic). */
static void tsne_panel(FILE *f, const tsne_files *tf, const char *filter, int which, int overview)
{
	char q[1024];
	const char *circle = which ? "#d4a000" : "black";
	fprintf(f, "plot '%s' using 1:2:4 with points pt 7 ps 0.3 lc rgb variable title 'not used for training'",
	        snm_paper_gp_quote(tf->bg, q, sizeof q));
	if (which)
		fprintf(f, ", \\\n     '%s' using (%s ? $1 : 1/0):2 with points pt 2 ps 0.7 lw 1 lc rgb '#1f3fbf' "
		        "title '%s-perturbed'", snm_paper_gp_quote(which == 1 ? tf->rnd : tf->sem, q, sizeof q), filter,
		        which == 1 ? "random" : "semantic");
	fprintf(f, ", \\\n     '%s' using (%s ? $1 : 1/0):2 with points pt 6 ps %s lw 1.2 lc rgb '%s' "
	        "title 'training examples'\n", snm_paper_gp_quote(tf->train, q, sizeof q), filter,
	        overview ? "1.0" : "0.8", circle);
}

static int write_points(const char *path, const double *y, const long *rows, long n, const int32_t *cls,
                        int with_colour, snm_error *err)
{
	FILE *f = create(path, err);
	if (f == NULL)
		return SNM_EIO;
	for (long i = 0; i < n; ++i) {
		long r = rows ? rows[i] : i;
		if (with_colour)
			fprintf(f, "%.8g %.8g %d %u\n", y[2 * r], y[2 * r + 1], (int)cls[i], bg_colours[cls[i] % 10]);
		else
			fprintf(f, "%.8g %.8g %d\n", y[2 * r], y[2 * r + 1], (int)cls[i]);
	}
	return finish(f, path, err);
}

/* A t-SNE figure's spec entry. */
typedef struct tsne_spec {
	const char *id, *id8, *run;        /* id8: the per-class figure's id ("" for none) */
	const snm_cfg *classes;            /* the overview's classes (empty: all) */
	long background, copies, seed, pca, iterations;
	double perplexity, theta;
	int w, h, w8, h8;
	char label[300];                   /* "id" or "id, id8", for notes and errors */
} tsne_spec;

static int tsne_read_spec(const snm_cfg *e, tsne_spec *s, snm_error *err)
{
	const snm_option *op = snm_paper_tsne_options;
	int rc;
	s->classes = snm_cfg_opt_node(e, op, "classes");
	if ((rc = snm_cfg_opt_str(e, op, "id", &s->id, err)) || (rc = snm_cfg_opt_str(e, op, "per_class_id", &s->id8, err))
	    || (rc = snm_cfg_opt_str(e, op, "run", &s->run, err))
	    || (rc = snm_cfg_opt_int(e, op, "background", &s->background, err))
	    || (rc = snm_cfg_opt_int(e, op, "copies", &s->copies, err))
	    || (rc = snm_cfg_opt_int(e, op, "seed", &s->seed, err)) || (rc = snm_cfg_opt_int(e, op, "pca", &s->pca, err))
	    || (rc = snm_cfg_opt_int(e, op, "iterations", &s->iterations, err))
	    || (rc = snm_cfg_opt_double(e, op, "perplexity", &s->perplexity, err))
	    || (rc = snm_cfg_opt_double(e, op, "theta", &s->theta, err))
	    || (rc = snm_paper_size(e, op, "size", &s->w, &s->h, err))
	    || (rc = snm_paper_size(e, op, "per_class_size", &s->w8, &s->h8, err)))
		return rc;
	if (s->classes && snm_cfg_kind(s->classes) != SNM_CFG_SEQ && snm_cfg_kind(s->classes) != SNM_CFG_NULL)
		return SNM_CFG_FAIL(err, SNM_ECONFIG, s->classes, "%s: 'classes' is a list of class numbers", s->id);
	for (size_t i = 0; i < snm_cfg_len(s->classes); ++i) {
		long c;
		if ((rc = snm_cfg_to_int(snm_cfg_at(s->classes, i), &c, err)))
			return rc;
	}
	snprintf(s->label, sizeof s->label, "%s%s%s", s->id, *s->id8 ? ", " : "", s->id8);
	return SNM_OK;
}

/* The background: a sample of `background` training-split examples outside the subset (all of
 * them when there are fewer), in index order, from the figure's "paper-background" stream. */
static int tsne_background(snm_paper_model *m, const tsne_spec *s, long **bg, long *n_bg, snm_error *err)
{
	long n_train = snm_paper_model_info(m)->n[SNM_SPLIT_TRAIN], n_pool;
	long *pool = malloc((size_t)(n_train > 0 ? n_train : 1) * sizeof *pool);
	gsl_rng *rng;
	if (pool == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	n_pool = snm_run_outside(snm_paper_model_run(m), pool);
	*n_bg = s->background < n_pool ? s->background : n_pool;
	*bg = malloc((size_t)(*n_bg > 0 ? *n_bg : 1) * sizeof **bg);
	rng = snm_rng_stream((uint64_t)s->seed, "paper-background", s->id, err);
	if (*bg == NULL || rng == NULL) {
		free(pool);
		gsl_rng_free(rng);
		return rng ? SNM_FAIL(err, SNM_ENOMEM, "out of memory") : SNM_ENOMEM;
	}
	if (*n_bg > 0)
		gsl_ran_choose(rng, *bg, (size_t)*n_bg, pool, (size_t)n_pool, sizeof *pool);
	free(pool);
	gsl_rng_free(rng);
	return SNM_OK;
}

/* The latent points of the embedding, N = n_bg + (1 + 2 copies) n_sub rows of z (zd floats) with
 * their classes: the background, the training subset, then `copies` random and `copies`
 * semantic perturbations of the subset (each kind from its own stream), in blocks of n_sub. */
static int tsne_points(snm_paper_model *m, const tsne_spec *s, snm_paper_perturb *const pert[2], const long *bg,
                       long n_bg, float *z, int32_t *cls, snm_error *err)
{
	const int32_t *lab = snm_paper_model_labels(m);
	const long *sub;
	long n_sub = snm_paper_model_subset(m, &sub);
	size_t zd = (size_t)snm_paper_model_zdim(m);
	int rc;
	if ((n_bg && (rc = snm_paper_model_encode(m, bg, n_bg, z, err)))
	    || (rc = snm_paper_model_encode(m, sub, n_sub, z + (size_t)n_bg * zd, err)))
		return rc;
	for (int kind = 0; kind < 2; ++kind) {
		gsl_rng *rng = snm_rng_stream((uint64_t)s->seed, kind == 0 ? "paper-random" : "paper-semantic", s->id, err);
		if (rng == NULL)
			return SNM_ENOMEM;
		for (long r = 0; r < s->copies && rc == SNM_OK; ++r) {
			long row = n_bg + n_sub + ((long)kind * s->copies + r) * n_sub;
			rc = snm_paper_model_perturb(m, pert[kind], z + (size_t)n_bg * zd, n_sub, rng, z + (size_t)row * zd, err);
		}
		gsl_rng_free(rng);
		if (rc)
			return rc;
	}
	for (long i = 0; i < n_bg; ++i)
		cls[i] = lab[bg[i]];
	for (long r = 0; r < 1 + 2 * s->copies; ++r)
		for (long i = 0; i < n_sub; ++i)
			cls[n_bg + r * n_sub + i] = lab[sub[i]];
	return SNM_OK;
}

/* Y (N x 2) = the t-SNE embedding of the N points z (zd floats each), and its bounding box. */
static int tsne_embed(const tsne_spec *s, const float *z, long N, int zd, double *Y, double lo[2], double hi[2],
                      snm_error *err)
{
	double *X = malloc((size_t)(N > 0 ? N : 1) * zd * sizeof *X);
	snm_tsne_opts to;
	int rc;
	if (X == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory (%ld points)", N);
	for (size_t i = 0; i < (size_t)N * zd; ++i)
		X[i] = z[i];
	snm_tsne_defaults(&to);
	to.perplexity = s->perplexity;
	to.pca_dims = (int)s->pca;
	to.theta = s->theta;
	to.iterations = (int)s->iterations;
	to.seed = (uint64_t)s->seed;
	rc = snm_tsne(X, N, zd, &to, Y, err);
	free(X);
	if (rc)
		return snm_error_prefix(err, "%s", s->id);
	lo[0] = lo[1] = INFINITY;
	hi[0] = hi[1] = -INFINITY;
	for (long i = 0; i < N; ++i)
		for (int k = 0; k < 2; ++k) {
			lo[k] = fmin(lo[k], Y[2 * i + k]);
			hi[k] = fmax(hi[k], Y[2 * i + k]);
		}
	return SNM_OK;
}

/* The gnuplot script of the overview (and of the per-class figure, when it has an id) into the
 * png and pdf paths path[fig][term], from the data files tf. */
static int tsne_script(const tsne_spec *s, const tsne_files *tf, const char *script, char path[2][2][1024], int K,
                       long n_bg, long n_sub, const double lo[2], const double hi[2], snm_error *err)
{
	char q[1024];
	FILE *f = create(script, err);
	if (f == NULL)
		return SNM_EIO;
	sel_function(f, s->classes);
	for (int fig = 0; fig < (*s->id8 ? 2 : 1); ++fig)
		for (int term = 0; term < 2; ++term) {
			int fw = fig ? s->w8 : s->w, fh = fig ? s->h8 : s->h;
			double mx = 0.03 * (hi[0] - lo[0]) + 1e-9, my = 0.03 * (hi[1] - lo[1]) + 1e-9;
			if (term == 0)
				fprintf(f, "set terminal pngcairo noenhanced size %d,%d font 'sans,10'\n", fw, fh);
			else
				fprintf(f, "set terminal pdfcairo noenhanced size %g,%g font 'sans,7'\n", fw / 100.0, fh / 100.0);
			fprintf(f, "set output '%s'\n", snm_paper_gp_quote(path[fig][term], q, sizeof q));
			fprintf(f, "set xrange [%.8g:%.8g]\nset yrange [%.8g:%.8g]\nset size ratio -1\n"
			        "unset tics\nset key %s font ',8' samplen 1\n",
			        lo[0] - mx, hi[0] + mx, lo[1] - my, hi[1] + my, fig ? "off" : "below horizontal");
			if (fig == 0) {
				fprintf(f, "set multiplot layout 1,3 title 't-SNE of z (%s): %ld examples not used for "
				        "training, %ld training examples, %ldx random and %ldx semantic perturbations'\n",
				        snm_paper_gp_quote(s->run, q, sizeof q), n_bg, n_sub, s->copies, s->copies);
				for (int k = 0; k < 3; ++k) {
					fprintf(f, "set title '(%c) %s'\n", 'a' + k, k == 0 ? "training examples"
					        : k == 1 ? "+ random perturbation" : "+ semantic perturbation");
					tsne_panel(f, tf, "sel($3)", k, 1);
				}
			} else {
				fprintf(f, "set multiplot layout %d,3 title 't-SNE of z per class (%s): training examples "
				        "(circles), random (middle) and semantic (right) perturbations (crosses)'\n", K,
				        snm_paper_gp_quote(s->run, q, sizeof q));
				fputs("set lmargin 1\nset rmargin 1\nset tmargin 2.5\nset bmargin 0.5\n", f);
				for (int c = 0; c < K; ++c)
					for (int k = 0; k < 3; ++k) {
						char filter[32];
						snprintf(filter, sizeof filter, "($3 == %d)", c);
						fprintf(f, "set title 'class %d%s'\n", c, k == 0 ? "" : k == 1 ? ", random" : ", semantic");
						tsne_panel(f, tf, filter, k, 0);
					}
				fputs("unset lmargin\nunset rmargin\nunset tmargin\nunset bmargin\n", f);
			}
			fputs("unset multiplot\nset output\n", f);
		}
	return finish(f, script, err);
}

int snm_paper_tsne(const snm_paper_opts *o, const snm_cfg *spec, const snm_cfg *e, snm_error *err)
{
	tsne_spec s;
	const char *script;
	char path[2][2][1024];
	double lo[2], hi[2];
	int rc, ran = 0, zd;
	snm_paper_model *m = NULL;
	snm_paper_perturb *pert[2] = { NULL, NULL };
	snm_paper_tmp t;
	tsne_files tf;
	long *bg = NULL, n_bg = 0, n_sub, N, base;
	const long *sub;
	int32_t *cls = NULL;
	float *z = NULL;
	double *Y = NULL;
	(void)spec;
	memset(&t, 0, sizeof t);
	if ((rc = tsne_read_spec(e, &s, err)))
		return rc;
	if (!snm_paper_gnuplot_found(o)) {
		snm_paper_note(o, SNM_PAPER_NOTE, "%s: gnuplot not found; figure not made (Debian: apt-get install "
		               "gnuplot-nox; ./bootstrap installs it)", s.label);
		return SNM_OK;
	}
	if ((rc = open_run(o, s.label, s.run, &m, err)) || m == NULL)
		return rc;
	if ((rc = snm_paper_figure_perturbations(m, e, snm_paper_tsne_options, pert, err))
	    || (rc = tsne_background(m, &s, &bg, &n_bg, err)))
		goto done;
	zd = snm_paper_model_zdim(m);
	n_sub = snm_paper_model_subset(m, &sub);
	/* rows: background, training subset, copies x random, copies x semantic */
	N = n_bg + n_sub + 2 * s.copies * n_sub;
	z = malloc((size_t)N * zd * sizeof *z);
	Y = malloc((size_t)N * 2 * sizeof *Y);
	cls = malloc((size_t)N * sizeof *cls);
	if (!z || !Y || !cls) {
		rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory (%ld points)", N);
		goto done;
	}
	if ((rc = tsne_points(m, &s, pert, bg, n_bg, z, cls, err)) || (rc = tsne_embed(&s, z, N, zd, Y, lo, hi, err))
	    || (rc = snm_paper_tmp_open(&t, err)))
		goto done;
	tf.bg = snm_paper_tmp_file(&t, "background.dat");
	tf.train = snm_paper_tmp_file(&t, "train.dat");
	tf.rnd = snm_paper_tmp_file(&t, "random.dat");
	tf.sem = snm_paper_tmp_file(&t, "semantic.dat");
	script = snm_paper_tmp_file(&t, "tsne.gp");
	if (!tf.bg || !tf.train || !tf.rnd || !tf.sem || !script) {
		rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
		goto done;
	}
	/* random and semantic rows are consecutive blocks of n_sub; written with their classes */
	base = n_bg + n_sub;
	if ((rc = write_points(tf.bg, Y, NULL, n_bg, cls, 1, err))
	    || (rc = write_points(tf.train, Y + 2 * n_bg, NULL, n_sub, cls + n_bg, 0, err))
	    || (rc = write_points(tf.rnd, Y + 2 * base, NULL, s.copies * n_sub, cls + base, 0, err))
	    || (rc = write_points(tf.sem, Y + 2 * (base + s.copies * n_sub), NULL, s.copies * n_sub,
	                          cls + base + s.copies * n_sub, 0, err)))
		goto done;
	for (int fig = 0; fig < 2; ++fig)
		for (int term = 0; term < 2; ++term)
			snprintf(path[fig][term], sizeof path[fig][term], "%s/%s.%s", o->out, fig ? s.id8 : s.id,
			         term ? "pdf" : "png");
	if ((rc = tsne_script(&s, &tf, script, path, snm_paper_model_info(m)->n_classes, n_bg, n_sub, lo, hi, err))
	    || (rc = snm_paper_gnuplot(o, &t, s.label, script, &ran, err)) || !ran)
		goto done;
	for (int fig = 0; rc == SNM_OK && fig < (*s.id8 ? 2 : 1); ++fig)
		for (int term = 0; rc == SNM_OK && term < 2; ++term)
			rc = written(o, fig ? s.id8 : s.id, path[fig][term], err);
done:
	snm_paper_tmp_close(&t);
	snm_paper_perturb_close(pert[0]);
	snm_paper_perturb_close(pert[1]);
	snm_paper_model_close(m);
	free(bg), free(cls), free(z), free(Y);
	return rc;
}
