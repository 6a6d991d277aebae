/* bench_train.c: training throughput of the paper's MNIST network, step by step as the trainer
 * runs it, beside the PyTorch peer (peers/torch_ref.py).
 *
 * The model is the `convnet` plugin with preset mnist (conv 3x3/2 pad 1: 32, 64, 96 -> fc 128 (z)
 * -> fc 10, tied decoders), fed real Fashion-MNIST batches of 100 through the `idx` data plugin.
 * Each objective is a noise plugin found with snm_plugin_find, named as torch_ref.py names it:
 *
 *     ff          none                               feed-forward (Eq. 10)
 *     recon-one   recon, targets x                   (Eq. 11)
 *     base        recon, targets xz                  proposed-base (Eq. 6)
 *     random      random, sd 0.2                     proposed-perturb, random noise on z
 *     semantic    semantic, sd 0.2                   proposed-perturb, semantic noise (Eq. 8)
 *
 * (a plugin not found is skipped with a message).  A timed step is exactly what src/run/trainer.c's
 * train_epoch does per batch: tape reset, read the batch (plugin read + mean subtraction), the
 * objective, the finiteness check of the loss, backward, the Adam step, zeroing the gradients.
 * Batches are consecutive slices of the training split, like the peer's.  After W warm-up steps,
 * R repetitions of S steps are timed and the best repetition counts.
 *
 * FLOPs per example are counted from the layer shapes (multiply-adds of every product, x2): the
 * encoder and classifier forward E + C, their backward 2(E + C) less the first convolution's
 * data gradient (the input needs none); decode_z's forward D = E and backward 2D; decode_y's Y = C
 * forward and 2Y backward; the perturbed classification (random, semantic) C + 2C; the semantic
 * objective's decode_y of the perturbed logits Y forward only (it is detached).  Element-wise
 * work is not counted.  The share of peak is against a 1024^3 sgemm timed at the same thread
 * count in this process, before the objectives and again after each one, the best so far (this
 * 2-vCPU machine's speed drifts, at 2 threads by up to 2x within minutes).  After the timed
 * steps the bits of every parameter are hashed: the same hash in every run shows that training is
 * bitwise reproducible, and the same hash at 1 and 2 threads that it does not depend on the
 * thread count (so when snm runs its own threads, src/core/par.h; OpenBLAS's own threading changes the
 * last bits of some products).  The eval line hashes the bits of every logit it computed instead (a
 * speed-up of the forward pass must leave it unchanged).
 *
 * Then, the same way at each thread count, with FLOPs counted from the products themselves (every
 * cblas_sgemm of one step, 2 M N K, counted by a wrapper this program puts in front of OpenBLAS's):
 * evaluation of the MNIST network (forward only, batch EVAL_BATCH = eval_batch's default, test
 * images, the tape in evaluation mode as src/run/trainer.c's eval_error), and the training steps of
 * the other networks (issue 19): the ladder network (784-1000-500-250-250-250-10, ladder batch
 * norm, mnist-semi.yaml's ladder row) and VAT's (784-1200-1200-10, batch norm, mnist-semi.yaml's
 * vat row), both fully connected with 100 labelled + 100 unlabelled rows a step (200 rows;
 * mnist-semi.yaml's VAT takes 250 unlabelled), and the CIFAR-10 network (preset cifar10, the
 * semantic objective, batch 100 of random 3x24x24 images, cifar10.yaml's crops: the time does
 * not depend on the pixels), and pi-mnist.yaml's fully connected network (784-512-256-256-128-10)
 * with the semantic objective on the Fashion-MNIST batches.  Their lines give rows (labelled +
 * unlabelled) a second.  The goals of issue 19 are
 * >= 80% of the sgemm figure at 1 thread and >= 75% at 2 for every MNIST objective's step, and
 * >= 70% at 1 thread for evaluation; a line after the tables says which are met.
 *
 * At 1 thread each line also gives the products' floor: the products of one step are recorded
 * (shapes, transposes, leading dimensions, alpha, beta) and replayed alone, back to back on
 * scratch operands (products_alone).  gemm% is the share of the step's time they take by
 * themselves and "ceiling" the %peak the step would reach if everything else (im2col, col2im,
 * element-wise work, noise, the optimizer) cost nothing: a goal above the ceiling needs other
 * products (other shapes or fewer calls), not less work around them.
 *
 * The peer: when $SNM_BENCH_PEER (or --peer FILE) names a file of lines "THREADS METHOD EX/S"
 * (bench/peer.sh writes it from torch_ref.py), the table adds the peer's figure and the ratio
 * snm/peer: at 1 thread against the peer at 1 thread, at more threads against the peer's best
 * over every thread count it was run at.  The goals of issue 4 are a ratio >= 1 at 1 thread and
 * >= 2 at 2 threads; the last line says that every figure meets them, or lists those that miss.
 *
 * Usage: bench_train [--threads T] [--steps S] [--reps R] [--warmup W] [--only NAME] [--data DIR]
 *                    [--peer FILE] [--numerics V] [--cpu | --thread-cpu]
 * (--threads: only that count, default 1 then 2; --numerics: every tape's numeric version
 * (snm/tape.h; default 1, the one the hashes of earlier runs were taken at: 2 changes the
 * hashes of every objective that draws Gaussian noise); --only: only that objective or network (eval,
 * ladder, vat, cifar10, pi-mnist), for profiling; --cpu: the steps' and the sgemm's times are the
 * process's CPU time (CLOCK_PROCESS_CPUTIME_ID) rather than wall-clock time, for A/B comparisons
 * on a loaded machine, at 1 thread; --thread-cpu: the calling thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID), for A/B comparisons of snm's threading on a loaded machine at 2
 * threads with OMP_WAIT_POLICY=passive (waiting threads sleep): the work on one thread plus the
 * calling thread's share of the parallel work, about a step's time on free cores.  Defaults S 20,
 * R 5, W 5.) */
#define _GNU_SOURCE              /* RTLD_NEXT */
#include <dlfcn.h>
#include <gsl/gsl_rng.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/blas.h"
#include "core/optim.h"
#include "run/loader.h"
#include "snm/plugin.h"
#include "snm/rng.h"
#include "core/par.h"

#define BATCH 100
#define EVAL_BATCH 100
#define MAX_THREADS 2
#define LR 0.005

typedef struct objective_spec {
	const char *name;        /* torch_ref.py's method name */
	const char *plugin;      /* noise plugin */
	const char *opts;        /* its options (YAML) */
} objective_spec;

enum { OBJ_FF, OBJ_RECON_ONE, OBJ_BASE, OBJ_RANDOM, OBJ_SEMANTIC, N_OBJ };

static const objective_spec objectives[N_OBJ] = {
	{ "ff", "none", "{}" },
	{ "recon-one", "recon", "{targets: x, weight: 0.03}" },
	{ "base", "recon", "{targets: xz, weight: 0.03}" },
	{ "random", "random", "{weight: 0.03, sd: 0.2}" },
	{ "semantic", "semantic", "{weight: 0.03, perturbed_weight: 1, sd: 0.2}" },
};

/* The other lines (issue 19): MNIST evaluation and the other networks' training steps. */
typedef struct net_spec {
	const char *name;        /* also --only's */
	const char *model;       /* convnet options */
	objective_spec obj;      /* the noise plugin; plugin NULL: evaluation */
	int batch, batch_u;      /* labelled, unlabelled rows */
	int random;              /* 1: random 3x24x24 images; 0: the Fashion-MNIST batches */
} net_spec;

enum { N_NETS = 5 };
static const net_spec nets[N_NETS] = {
	{ "eval", "{preset: mnist}", { "eval", NULL, NULL }, EVAL_BATCH, 0, 0 },
	{ "ladder", "{preset: custom, batchnorm: true, layers: [{fc: 1000}, {fc: 500}, {fc: 250}, "
	  "{fc: 250}, {fc: 250}]}", { "ladder", "ladder", "{unlabelled: true, lambdas: [1000, 10, 0.1, "
	  "0.1, 0.1, 0.1, 0.1]}" }, 100, 100, 0 },
	{ "vat", "{preset: custom, batchnorm: true, layers: [{fc: 1200}, {fc: 1200}], bn_eps: 1e-6}",
	  { "vat", "vat", "{epsilon: 0.3, xi: 1e-6, power_iterations: 1, unlabelled: true}" }, 100, 100,
	  0 },
	{ "cifar10", "{preset: cifar10}", { "cifar10", "semantic", "{weight: 0.03, perturbed_weight: 1, "
	  "sd: 0.2}" }, 100, 0, 1 },
	{ "pi-mnist", "{preset: pi-mnist}", { "pi-mnist", "semantic", "{weight: 0.03, perturbed_weight: "
	  "1, sd: 0.2}" }, 100, 0, 0 },
};

/* The mnist preset on 1x28x28 inputs, for counting FLOPs (plugins/models/convnet.c). */
static const struct { int K, C, R, P; } convs[3] = {
	{ 32, 1, 3, 14 }, { 64, 32, 3, 7 }, { 96, 64, 3, 4 },
};
static const int fc_in = 96 * 4 * 4, fc_out = 128, n_classes = 10;

/* Multiply-adds per example of each objective (see the file comment). */
static double macs(int obj)
{
	double E = (double)fc_in * fc_out, C = (double)fc_out * n_classes, first = 0, m;
	for (int i = 0; i < 3; ++i) {
		double c = (double)convs[i].K * convs[i].C * convs[i].R * convs[i].R * convs[i].P * convs[i].P;
		E += c;
		if (i == 0)
			first = c;
	}
	m = 3 * (E + C) - first;                       /* ff */
	if (obj >= OBJ_RECON_ONE)
		m += 3 * E;                                /* decode_z (D = E) */
	if (obj >= OBJ_BASE)
		m += 3 * C;                                /* decode_y */
	if (obj >= OBJ_RANDOM)
		m += 3 * C;                                /* classify(z perturbed) */
	if (obj == OBJ_SEMANTIC)
		m += C;                                    /* decode_y(y perturbed), detached */
	return m;
}

static int cpu_clock;     /* --cpu: 1; --thread-cpu: 2 */
static int numerics = 1;  /* --numerics: every tape's numeric version (snm/tape.h, train.numerics) */

static double now(void)
{
	struct timespec ts;
	clock_gettime(cpu_clock == 2 ? CLOCK_THREAD_CPUTIME_ID
	              : cpu_clock ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, const snm_error *e)
{
	fprintf(stderr, "bench_train: %s: %s\n", what, e ? e->msg : "out of memory");
	exit(EXIT_FAILURE);
}

/* ---- the products' FLOPs ------------------------------------------------------------------ */

typedef void (*sgemm_fn)(OPENBLAS_CONST enum CBLAS_ORDER, OPENBLAS_CONST enum CBLAS_TRANSPOSE,
                         OPENBLAS_CONST enum CBLAS_TRANSPOSE, OPENBLAS_CONST blasint,
                         OPENBLAS_CONST blasint, OPENBLAS_CONST blasint, OPENBLAS_CONST float,
                         OPENBLAS_CONST float *, OPENBLAS_CONST blasint, OPENBLAS_CONST float *,
                         OPENBLAS_CONST blasint, OPENBLAS_CONST float, float *,
                         OPENBLAS_CONST blasint);
static sgemm_fn real_sgemm;          /* OpenBLAS's, found in main before any product */
static atomic_llong gemm_mnk;        /* sum of M N K of the products made while counting */
static atomic_int gemm_counting;

/* One product as a step made it, for the replay of the products alone (products_alone). */
typedef struct gemm_call {
	enum CBLAS_ORDER o;
	enum CBLAS_TRANSPOSE ta, tb;
	int M, N, K, lda, ldb, ldc;
	float alpha, beta;
} gemm_call;
enum { MAX_CALLS = 4096 };
static gemm_call calls[MAX_CALLS];
static atomic_int n_calls;           /* calls recorded (may pass MAX_CALLS: then not replayed) */
static atomic_int gemm_recording;

/* In front of OpenBLAS's cblas_sgemm: libsnm and the plugins bind to this executable's
 * definition.  Adds M N K while counting (from any of snm's threads), records the call's shape
 * while recording, then makes the product. */
void cblas_sgemm(OPENBLAS_CONST enum CBLAS_ORDER o, OPENBLAS_CONST enum CBLAS_TRANSPOSE ta,
                 OPENBLAS_CONST enum CBLAS_TRANSPOSE tb, OPENBLAS_CONST blasint M,
                 OPENBLAS_CONST blasint N, OPENBLAS_CONST blasint K, OPENBLAS_CONST float alpha,
                 OPENBLAS_CONST float *A, OPENBLAS_CONST blasint lda, OPENBLAS_CONST float *B,
                 OPENBLAS_CONST blasint ldb, OPENBLAS_CONST float beta, float *C,
                 OPENBLAS_CONST blasint ldc)
{
	if (atomic_load(&gemm_counting))
		atomic_fetch_add(&gemm_mnk, (long long)M * N * K);
	if (atomic_load(&gemm_recording)) {
		int i = atomic_fetch_add(&n_calls, 1);
		if (i < MAX_CALLS)
			calls[i] = (gemm_call){ o, ta, tb, M, N, K, lda, ldb, ldc, alpha, beta };
	}
	real_sgemm(o, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* ---- the peer's figures ------------------------------------------------------------------- */

typedef struct peer {
	int have;
	double eps[MAX_THREADS + 1][N_OBJ];   /* examples/s by thread count (1..MAX_THREADS); 0: none */
} peer;

static void peer_read(const char *path, peer *p)
{
	FILE *f;
	char line[256], name[64];
	int th;
	double v;
	memset(p, 0, sizeof *p);
	if (path == NULL || (f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "%d %63s %lf", &th, name, &v) == 3 && th >= 1 && th <= MAX_THREADS)
			for (int o = 0; o < N_OBJ; ++o)
				if (!strcmp(name, objectives[o].name)) {
					p->eps[th][o] = v;
					p->have = 1;
				}
	fclose(f);
}

/* The figure to compare with at `threads`: the peer at 1 thread for 1, else its best. */
static double peer_ref(const peer *p, int threads, int obj)
{
	double best = 0;
	if (threads == 1)
		return p->eps[1][obj];
	for (int t = 1; t <= MAX_THREADS; ++t)
		if (p->eps[t][obj] > best)
			best = p->eps[t][obj];
	return best;
}

/* One line on the goals: every objective measured against a peer figure at 1 thread (goal: a
 * ratio >= 1) and at 2 (>= 2) meets them, or the ones that do not, with their ratios. */
static void print_verdict(const peer *p, double eps[][N_OBJ], const int *have,
                          const int *thread_list, int n_threads)
{
	int checked = 0, missed = 0;
	for (int o = 0; o < N_OBJ; ++o)
		for (int ti = 0; ti < n_threads; ++ti) {
			int th = thread_list[ti];
			double ref = peer_ref(p, th, o);
			if (!have[o] || th > 2 || ref <= 0)
				continue;
			++checked;
			if (eps[th][o] / ref < th) {
				printf("%s %s@%d %.2f", missed++ ? "," : "goals missed:", objectives[o].name, th,
				       eps[th][o] / ref);
			}
		}
	if (missed)
		printf(" (of %d figures)\n", checked);
	else if (checked)
		printf("goals met: all %d figures\n", checked);
}

/* One line on issue 19's goals: every MNIST objective's step at >= 80% of the sgemm figure at 1
 * thread and >= 75% at 2, evaluation at >= 70% at 1 thread; met, or the misses with their share. */
static void print_goals19(double pct[][N_OBJ], double net_pct[][N_NETS], const int *have,
                          const int *net_have, const int *thread_list, int n_threads)
{
	int checked = 0, missed = 0;
	for (int ti = 0; ti < n_threads; ++ti) {
		int th = thread_list[ti];
		double goal = th == 1 ? 80 : 75;
		if (th > 2)
			continue;
		for (int o = 0; o < N_OBJ; ++o) {
			if (!have[o])
				continue;
			++checked;
			if (pct[th][o] < goal)
				printf("%s %s@%d %.0f%%", missed++ ? "," : "issue 19 goals missed:",
				       objectives[o].name, th, pct[th][o]);
		}
		if (th == 1 && net_have[0]) {
			++checked;
			if (net_pct[1][0] < 70)
				printf("%s eval@1 %.0f%%", missed++ ? "," : "issue 19 goals missed:", net_pct[1][0]);
		}
	}
	if (missed)
		printf(" (of %d figures; goals 80%% at 1 thread, 75%% at 2, eval 70%% at 1)\n", checked);
	else if (checked)
		printf("issue 19 goals met: all %d figures\n", checked);
}

/* ---- a training loop -------------------------------------------------------------------- */

typedef struct data {
	const snm_data_vt *vt;
	void *state;
	snm_data_info info;
	size_t dim;
	float *mean;
} data;

typedef struct run {
	const data *d;
	snm_model model;
	const snm_noise_vt *nvt;
	void *noise;
	snm_params *params;
	snm_adam *adam;
	snm_tape *tape;
	gsl_rng *noise_rng, *aug;
	int batch, batch_u;      /* labelled and unlabelled rows a step */
	float *x, *xu;
	int32_t *y, *yu;
	long *idx;
	long next, next_u;       /* first example of the next batch, labelled and unlabelled */
	uint32_t logits_hash;    /* eval: FNV-1a of the bits of every logit computed so far */
} run;

/* n examples of a split from *next on (consecutive, wrapping at a multiple of n) into x, y, mean
 * subtracted; random pixels in [-0.5, 0.5) and labels i % classes where the data is random. */
static void read_rows(run *r, int split, long *next, int n, float *x, int32_t *y)
{
	const snm_data_info *in = &r->d->info;
	snm_error err;
	if (r->d->vt == NULL) {
		for (size_t i = 0; i < (size_t)n * r->d->dim; ++i)
			x[i] = (float)gsl_rng_uniform(r->aug) - 0.5f;
		for (int i = 0; i < n; ++i)
			y[i] = i % in->n_classes;
		return;
	}
	for (int i = 0; i < n; ++i)
		r->idx[i] = (*next + i) % in->n[split];
	*next = (*next + n) % (in->n[split] / n * n);
	if (r->d->vt->read(r->d->state, split, r->idx, n, r->aug, x, y, &err))
		die("read", &err);
	for (int i = 0; i < n; ++i) {
		float *xi = x + (size_t)i * r->d->dim;
		for (size_t j = 0; j < r->d->dim; ++j)
			xi[j] -= r->d->mean[j];
	}
}

/* One step of src/run/trainer.c's train_epoch. */
static void step(run *r)
{
	const snm_data_info *in = &r->d->info;
	snm_objective obj;
	snm_batch b;
	snm_error err;
	memset(&obj, 0, sizeof obj);
	snm_tape_reset(r->tape);
	read_rows(r, SNM_SPLIT_TRAIN, &r->next, r->batch, r->x, r->y);
	b.x = snm_tape_const(r->tape, 4, (int[]){ r->batch, in->d[0], in->d[1], in->d[2] }, r->x);
	b.labels = r->y;
	b.xu = NULL;
	if (r->batch_u > 0) {
		read_rows(r, SNM_SPLIT_TRAIN, &r->next_u, r->batch_u, r->xu, r->yu);
		b.xu = snm_tape_const(r->tape, 4, (int[]){ r->batch_u, in->d[0], in->d[1], in->d[2] },
		                      r->xu);
	}
	if (r->nvt->objective(r->noise, &r->model, r->tape, &b, r->noise_rng, &obj, &err))
		die("objective", &err);
	if (!isfinite(obj.loss->x[0])) {
		fprintf(stderr, "bench_train: the loss is not finite\n");
		exit(EXIT_FAILURE);
	}
	if (snm_tape_backward(r->tape, obj.loss, &err) || snm_adam_step(r->adam, LR, &err))
		die("backward/adam", &err);
	snm_params_zero_grad(r->params);
}

/* Sets up model, noise (nh, or none when NULL: evaluation), Adam and tape for objective `o` of
 * `batch` labelled and `batch_u` unlabelled rows a step; 0, or -1 when the noise plugin refuses
 * its options (a message says which). */
static int run_new(run *r, const data *d, const snm_model_vt *mvt, const snm_plugin_handle *nh,
                   const objective_spec *o, const snm_cfg *model_opts, int batch, int batch_u)
{
	size_t rows = (size_t)(batch > batch_u ? batch : batch_u);
	snm_cfg *nopts;
	snm_error err;
	gsl_rng *init;
	memset(r, 0, sizeof *r);
	r->d = d;
	r->model.vt = mvt;
	r->nvt = nh ? nh->p->vtable : NULL;
	r->batch = batch;
	r->batch_u = batch_u;
	r->next_u = d->info.n[SNM_SPLIT_TRAIN] / 2;
	r->logits_hash = 2166136261u;
	if ((r->params = snm_params_new(&err)) == NULL || (init = snm_rng_new(1, &err)) == NULL)
		die("setup", &err);
	if (mvt->create(model_opts, &d->info, r->params, init, &r->model.state, &err))
		die("model 'convnet'", &err);
	if (nh == NULL)
		nopts = NULL;
	else if (snm_cfg_parse(o->opts, strlen(o->opts), "bench_train", &nopts, &err))
		die("noise options", &err);
	if (nh != NULL && r->nvt->create(nopts, &r->model, r->params, init, &r->noise, &err)) {
		printf("%-10s skipped: noise '%s' refuses %s: %s\n", o->name, o->plugin, o->opts,
		       err.msg);
		snm_cfg_free(nopts);
		gsl_rng_free(init);
		mvt->destroy(r->model.state);
		snm_params_free(r->params);
		return -1;
	}
	snm_cfg_free(nopts);
	gsl_rng_free(init);
	if ((r->adam = snm_adam_new(r->params, 0.9, 0.999, 1e-8, &err)) == NULL
	    || (r->tape = snm_tape_new(0, &err)) == NULL
	    || (r->noise_rng = snm_rng_new(2, &err)) == NULL || (r->aug = snm_rng_new(3, &err)) == NULL)
		die("setup", &err);
	snm_tape_set_numerics(r->tape, numerics);
	r->x = malloc((size_t)batch * d->dim * sizeof *r->x);
	r->y = malloc((size_t)batch * sizeof *r->y);
	r->xu = malloc((size_t)(batch_u ? batch_u : 1) * d->dim * sizeof *r->xu);
	r->yu = malloc((size_t)(batch_u ? batch_u : 1) * sizeof *r->yu);
	r->idx = malloc(rows * sizeof *r->idx);
	if (r->x == NULL || r->y == NULL || r->xu == NULL || r->yu == NULL || r->idx == NULL)
		die("setup", NULL);
	return 0;
}

/* One evaluation batch as src/run/trainer.c's eval_error: tape reset, EVAL_BATCH test images
 * (mean subtracted), encode and classify with the tape in evaluation mode (no gradient). */
static void eval_step(run *r)
{
	const snm_data_info *in = &r->d->info;
	snm_tensor *x, *y;
	int g = snm_tape_set_grad(r->tape, 0), tr = snm_tape_set_training(r->tape, 0);
	snm_tape_reset(r->tape);
	read_rows(r, SNM_SPLIT_TEST, &r->next, r->batch, r->x, r->y);
	x = snm_tape_const(r->tape, 4, (int[]){ r->batch, in->d[0], in->d[1], in->d[2] }, r->x);
	y = r->model.vt->classify(r->model.state, r->tape,
	                          r->model.vt->encode(r->model.state, r->tape, x, NULL, NULL, NULL));
	if (y == NULL) {
		snm_error err;
		snm_tape_error(r->tape, &err);
		die("evaluation", &err);
	}
	{
		const unsigned char *c = (const unsigned char *)y->x;
		for (size_t k = 0, n = snm_tensor_len(y) * sizeof(float); k < n; ++k)
			r->logits_hash = (r->logits_hash ^ c[k]) * 16777619u;
	}
	snm_tape_set_grad(r->tape, g);
	snm_tape_set_training(r->tape, tr);
}

/* FNV-1a hash of the bits of every parameter: after the same steps from the same start, equal
 * hashes mean bitwise equal training (the determinism the project promises). */
static uint32_t params_hash(const snm_params *p)
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < snm_params_count(p); ++i) {
		const snm_tensor *e = snm_params_at(p, i);
		const unsigned char *b = (const unsigned char *)e->x;
		for (size_t k = 0, n = snm_tensor_len(e) * sizeof(float); k < n; ++k)
			h = (h ^ b[k]) * 16777619u;
	}
	return h;
}

static void run_free(run *r)
{
	if (r->nvt != NULL)
		r->nvt->destroy(r->noise);
	r->model.vt->destroy(r->model.state);
	snm_adam_free(r->adam);
	snm_params_free(r->params);
	snm_tape_free(r->tape);
	gsl_rng_free(r->noise_rng);
	gsl_rng_free(r->aug);
	free(r->x);
	free(r->y);
	free(r->xu);
	free(r->yu);
	free(r->idx);
}

/* ---- the machine's reference ------------------------------------------------------------- */

/* GFLOPS of the best of several 1024^3 sgemms, threaded as snm threads its products (par.h:
 * on snm's own threads when it runs them, else by OpenBLAS). */
static double sgemm_peak(void)
{
	const int n = 1024;
	float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
	      *c = malloc(sizeof(float) * n * n);
	double best = 1e30;
	int own = snm_par_threads(1e12) > 1;    /* snm's threads, or OpenBLAS's */
	if (a == NULL || b == NULL || c == NULL)
		die("sgemm", NULL);
	for (size_t i = 0; i < (size_t)n * n; ++i) {
		a[i] = (float)(i % 7) * 0.25f - 0.5f;
		b[i] = (float)(i % 5) * 0.25f - 0.5f;
	}
	for (int rep = 0; rep < 8; ++rep) {
		double t0 = now();
		if (own)
			snm_par_sgemm(CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
		else
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f,
			            c, n);
		t0 = now() - t0;
		if (rep > 0 && t0 < best)
			best = t0;
	}
	free(a);
	free(b);
	free(c);
	return 2.0 * n * n * n / best * 1e-9;
}

/* Best seconds per call of f(r) over reps repetitions of steps calls, after warmup calls. */
static double time_best(run *r, void (*f)(run *), int warmup, int reps, int steps)
{
	double best = 1e30;
	for (int i = 0; i < warmup; ++i)
		f(r);
	for (int k = 0; k < reps; ++k) {
		double t0 = now();
		for (int i = 0; i < steps; ++i)
			f(r);
		t0 = (now() - t0) / steps;
		if (t0 < best)
			best = t0;
	}
	return best;
}

/* FLOPs of the products of one call of f(r) (2 M N K each, counted by the cblas_sgemm wrapper);
 * 0 when no product went through the wrapper (then nothing is claimed). */
static double counted_flops(run *r, void (*f)(run *))
{
	atomic_store(&gemm_mnk, 0);
	atomic_store(&gemm_counting, 1);
	f(r);
	atomic_store(&gemm_counting, 0);
	return 2.0 * (double)atomic_load(&gemm_mnk);
}

/* Elements a row-major (or column-major) operand of `rows` x `cols` (as stored) with leading
 * dimension ld spans. */
static size_t span(enum CBLAS_ORDER o, int rows, int cols, int ld)
{
	return o == CblasRowMajor ? (size_t)(rows - 1) * ld + cols : (size_t)(cols - 1) * ld + rows;
}

/* The products of one call of f(r) alone: the calls of one step are recorded (shape, transposes,
 * leading dimensions, alpha, beta), then replayed back to back on scratch operands, best seconds
 * per step over reps repetitions of steps replays.  The replay keeps its operands in cache between
 * calls and does nothing else, so its time is a floor for any step that makes the same products:
 * removing every other cost (im2col, element-wise work, noise, the optimizer) can make the step
 * no faster.  At 1 thread only (snm's threads split a product into blocks made concurrently, which
 * a serial replay does not represent).  0 when the step made no product or too many to record. */
static double products_alone(run *r, void (*f)(run *), int reps, int steps)
{
	size_t na = 1, nb = 1, nc = 1;
	int n;
	float *a, *b, *c;
	double best = 1e30;
	atomic_store(&n_calls, 0);
	atomic_store(&gemm_recording, 1);
	f(r);
	atomic_store(&gemm_recording, 0);
	n = atomic_load(&n_calls);
	if (n == 0 || n > MAX_CALLS)
		return 0;
	for (int i = 0; i < n; ++i) {
		const gemm_call *g = &calls[i];
		int ar = g->ta == CblasNoTrans ? g->M : g->K, ac = g->ta == CblasNoTrans ? g->K : g->M;
		int br = g->tb == CblasNoTrans ? g->K : g->N, bc = g->tb == CblasNoTrans ? g->N : g->K;
		size_t sa = span(g->o, ar, ac, g->lda), sb = span(g->o, br, bc, g->ldb),
		       sc = span(g->o, g->M, g->N, g->ldc);
		na = sa > na ? sa : na;
		nb = sb > nb ? sb : nb;
		nc = sc > nc ? sc : nc;
	}
	a = malloc(na * sizeof *a), b = malloc(nb * sizeof *b), c = calloc(nc, sizeof *c);
	if (a == NULL || b == NULL || c == NULL)
		die("products alone", NULL);
	for (size_t i = 0; i < na; ++i)
		a[i] = (float)(i % 7) * 0.125f - 0.375f;
	for (size_t i = 0; i < nb; ++i)
		b[i] = (float)(i % 5) * 0.125f - 0.25f;
	for (int k = 0; k <= reps; ++k) {           /* the first round warms up */
		double t0 = now();
		for (int s = 0; s < steps; ++s)
			for (int i = 0; i < n; ++i) {
				const gemm_call *g = &calls[i];
				real_sgemm(g->o, g->ta, g->tb, g->M, g->N, g->K, g->alpha, a, g->lda, b, g->ldb,
				           g->beta, c, g->ldc);
			}
		t0 = (now() - t0) / steps;
		if (k > 0 && t0 < best)
			best = t0;
	}
	free(a);
	free(b);
	free(c);
	return best;
}

/* The gemm% and ceiling columns: the products' share of a step of `best` seconds when they take
 * `alone` seconds by themselves, and the %peak the step would have at that share ("-" without). */
static void alone_cols(char gs[2][16], double alone, double best, double pct)
{
	if (alone <= 0) {
		snprintf(gs[0], sizeof gs[0], "-");
		snprintf(gs[1], sizeof gs[1], "-");
		return;
	}
	snprintf(gs[0], sizeof gs[0], "%.1f%%", 100 * alone / best);
	snprintf(gs[1], sizeof gs[1], "%.1f%%", pct * best / alone);
}

/* The data of a net: the Fashion-MNIST batches, or random 3x24x24 images (cifar10.yaml's crops). */
static const data *net_data(const net_spec *n, const data *fashion, data *rnd)
{
	if (!n->random)
		return fashion;
	memset(rnd, 0, sizeof *rnd);
	rnd->info = (snm_data_info){ 3, { 3, 24, 24 }, 10, { 40000, 10000, 10000 } };
	rnd->dim = 3 * 24 * 24;
	return rnd;
}

/* ---- main ------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	const char *dir = "/usr/share/datasets/fashion-mnist", *peer_path = getenv("SNM_BENCH_PEER");
	const char *only_obj = NULL;
	int steps = 20, reps = 5, warmup = 5, only = 0, n_threads = 0, thread_list[MAX_THREADS];
	double eps[MAX_THREADS + 1][N_OBJ] = { { 0 } }, peak[MAX_THREADS + 1] = { 0 };
	int found[N_OBJ] = { 0 }, have[N_OBJ] = { 0 }, net_found[N_NETS] = { 0 };
	double pct[MAX_THREADS + 1][N_OBJ] = { { 0 } }, net_pct[MAX_THREADS + 1][N_NETS] = { { 0 } };
	snm_plugin_handle mh, dh, nh[N_OBJ], net_nh[N_NETS];
	snm_cfg *mopts, *dopts;
	snm_error err;
	data d, rnd;
	peer pe;
	char buf[4200];
	for (int i = 1; i < argc; ++i) {
		if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			only = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--steps") && i + 1 < argc)
			steps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--warmup") && i + 1 < argc)
			warmup = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only_obj = argv[++i];
		else if (!strcmp(argv[i], "--data") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--peer") && i + 1 < argc)
			peer_path = argv[++i];
		else if (!strcmp(argv[i], "--numerics") && i + 1 < argc)
			numerics = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--cpu"))
			cpu_clock = 1;
		else if (!strcmp(argv[i], "--thread-cpu"))
			cpu_clock = 2;
		else {
			fprintf(stderr, "usage: %s [--threads T] [--steps S] [--reps R] [--warmup W] "
			        "[--only NAME] [--data DIR] [--peer FILE] [--numerics V] [--cpu | --thread-cpu]\n",
			        argv[0]);
			return EXIT_FAILURE;
		}
	}
	if (steps < 1 || reps < 1 || warmup < 0 || only < 0 || only > MAX_THREADS || numerics < 1
	    || numerics > SNM_NUMERICS_MAX) {
		fprintf(stderr, "bench_train: bad --steps, --reps, --warmup, --threads (1..%d) or "
		        "--numerics (1..%d)\n", MAX_THREADS, SNM_NUMERICS_MAX);
		return EXIT_FAILURE;
	}
	if (only > 0)
		thread_list[n_threads++] = only;
	else
		for (int t = 1; t <= MAX_THREADS; ++t)
			thread_list[n_threads++] = t;
	peer_read(peer_path, &pe);

	/* plugins and data */
	if (snm_plugin_find(NULL, SNM_KIND_MODEL, "convnet", &mh, &err)
	    || snm_plugin_find(NULL, SNM_KIND_DATA, "idx", &dh, &err))
		die("plugins", &err);
	for (int o = 0; o < N_OBJ; ++o) {
		if (only_obj != NULL && strcmp(only_obj, objectives[o].name) != 0)
			continue;
		if (snm_plugin_find(NULL, SNM_KIND_NOISE, objectives[o].plugin, &nh[o], &err) == 0)
			found[o] = have[o] = 1;
		else
			printf("%-10s skipped: no noise plugin '%s' found\n", objectives[o].name,
			       objectives[o].plugin);
	}
	for (int k = 0; k < N_NETS; ++k) {
		if (only_obj != NULL && strcmp(only_obj, nets[k].name) != 0)
			continue;
		if (nets[k].obj.plugin == NULL)
			net_found[k] = 1;
		else if (snm_plugin_find(NULL, SNM_KIND_NOISE, nets[k].obj.plugin, &net_nh[k], &err) == 0)
			net_found[k] = 2;
		else
			printf("%-10s skipped: no noise plugin '%s' found\n", nets[k].name, nets[k].obj.plugin);
	}
	*(void **)&real_sgemm = dlsym(RTLD_NEXT, "cblas_sgemm");
	if (real_sgemm == NULL) {
		fprintf(stderr, "bench_train: OpenBLAS's cblas_sgemm not found (%s)\n", dlerror());
		return EXIT_FAILURE;
	}
	snprintf(buf, sizeof buf, "{dir: '%s'}", dir);
	if (snm_cfg_parse(buf, strlen(buf), "bench_train", &dopts, &err)
	    || snm_cfg_parse("{preset: mnist}", 15, "bench_train", &mopts, &err))
		die("options", &err);
	d.vt = dh.p->vtable;
	if (d.vt->open(dopts, &d.state, &err))
		die("data 'idx'", &err);
	d.vt->info(d.state, &d.info);
	d.dim = (size_t)d.info.d[0] * d.info.d[1] * d.info.d[2];
	if (d.info.d[0] != 1 || d.info.d[1] != 28 || d.info.d[2] != 28 || d.info.n_classes != 10) {
		fprintf(stderr, "bench_train: %s is not MNIST-shaped (1x28x28, 10 classes)\n", dir);
		return EXIT_FAILURE;
	}
	/* the per-pixel mean of the first 10000 training examples (the trainer's is its subset's) */
	{
		enum { NM = 10000 };
		long *idx = malloc(NM * sizeof *idx);
		float *x = malloc(NM * d.dim * sizeof *x);
		int32_t *y = malloc(NM * sizeof *y);
		double *acc = calloc(d.dim, sizeof *acc);
		d.mean = malloc(d.dim * sizeof *d.mean);
		if (!idx || !x || !y || !acc || !d.mean)
			die("mean", NULL);
		for (long i = 0; i < NM; ++i)
			idx[i] = i;
		if (d.vt->read(d.state, SNM_SPLIT_TRAIN, idx, NM, NULL, x, y, &err))
			die("read", &err);
		for (long i = 0; i < NM; ++i)
			for (size_t j = 0; j < d.dim; ++j)
				acc[j] += x[(size_t)i * d.dim + j];
		for (size_t j = 0; j < d.dim; ++j)
			d.mean[j] = (float)(acc[j] / NM);
		free(idx), free(x), free(y), free(acc);
	}

	printf("bench_train: convnet mnist, batch %d, Fashion-MNIST (%s), %d warm-up steps, best of %d x "
	       "%d steps\n", BATCH, dir, warmup, reps, steps);
	printf("OpenBLAS config: %s\nOpenBLAS core:   %s   (OPENBLAS_CORETYPE=%s)\n", snm_blas_config(),
	       snm_blas_corename(), getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "unset");
	for (int ti = 0; ti < n_threads; ++ti) {
		int th = thread_list[ti];
		snm_blas_set_threads(th);
		peak[th] = sgemm_peak();
		printf("\n-- %d thread%s (sgemm 1024^3 now: %.1f GFLOPS)\n", th, th > 1 ? "s" : "", peak[th]);
		printf("%-10s %9s %9s %11s %8s %6s %7s %7s  %s\n", "objective", "MFLOP/ex", "ms/step",
		       "examples/s", "GFLOPS", "%peak", "gemm%", "ceiling", "params hash");
		for (int o = 0; o < N_OBJ; ++o) {
			run r;
			double best = 1e30, flop = 2 * macs(o), ref, alone;
			char gs[2][16];
			uint32_t hash;
			if (!have[o] || run_new(&r, &d, mh.p->vtable, &nh[o], &objectives[o], mopts, BATCH, 0)) {
				have[o] = 0;
				continue;
			}
			best = time_best(&r, step, warmup, reps, steps);
			hash = params_hash(r.params);      /* before the replay's recorded step moves them */
			alone = th == 1 ? products_alone(&r, step, reps, steps) : 0;
			run_free(&r);
			eps[th][o] = BATCH / best;
			ref = sgemm_peak();                 /* this machine's speed drifts: keep the best */
			if (ref > peak[th])
				peak[th] = ref;
			pct[th][o] = 100 * flop * eps[th][o] * 1e-9 / peak[th];
			alone_cols(gs, alone, best, pct[th][o]);
			printf("%-10s %9.2f %9.2f %11.0f %8.2f %5.1f%% %7s %7s  %08" PRIx32 "\n",
			       objectives[o].name, flop * 1e-6, best * 1e3, eps[th][o], flop * eps[th][o] * 1e-9,
			       pct[th][o], gs[0], gs[1], hash);
		}
		printf("%-10s %9s %9s %11s %8s %6s %7s %7s  %s\n", "network", "MFLOP/st", "ms/step",
		       "rows/s", "GFLOPS", "%peak", "gemm%", "ceiling", "params hash");
		for (int k = 0; k < N_NETS; ++k) {
			const net_spec *n = &nets[k];
			void (*f)(run *) = n->obj.plugin ? step : eval_step;
			run r;
			double best, flop, ref, alone;
			char hs[16] = "-", gs[2][16];
			if (!net_found[k])
				continue;
			{
				snm_cfg *o;
				if (snm_cfg_parse(n->model, strlen(n->model), "bench_train", &o, &err))
					die("model options", &err);
				if (run_new(&r, net_data(n, &d, &rnd), mh.p->vtable,
				            net_found[k] == 2 ? &net_nh[k] : NULL, &n->obj, o, n->batch, n->batch_u)) {
					snm_cfg_free(o);
					net_found[k] = 0;
					continue;
				}
				snm_cfg_free(o);
			}
			best = time_best(&r, f, warmup, reps, steps);
			flop = counted_flops(&r, f);
			snprintf(hs, sizeof hs, "%08" PRIx32,     /* before the replay's recorded step */
			         n->obj.plugin != NULL ? params_hash(r.params) : r.logits_hash);
			alone = th == 1 ? products_alone(&r, f, reps, steps) : 0;
			run_free(&r);
			ref = sgemm_peak();
			if (ref > peak[th])
				peak[th] = ref;
			net_pct[th][k] = 100 * flop / best * 1e-9 / peak[th];
			alone_cols(gs, alone, best, net_pct[th][k]);
			printf("%-10s %9.2f %9.2f %11.0f %8.2f %5.1f%% %7s %7s  %s\n", n->name, flop * 1e-6,
			       best * 1e3, (n->batch + n->batch_u) / best, flop / best * 1e-9, net_pct[th][k],
			       gs[0], gs[1], hs);
		}
		printf("(%%peak against the best sgemm 1024^3 at %d thread%s: %.1f GFLOPS, timed before "
		       "and after each line; a network's MFLOP/st are its step's products, counted; "
		       "rows/s: labelled + unlabelled rows, eval: test images; gemm%%: the share of the "
		       "step's time that its products take replayed alone, same shapes, at 1 thread; "
		       "ceiling: the %%peak the step would reach with nothing but those products, "
		       "%%peak / gemm%%)\n", th, th > 1 ? "s" : "", peak[th]);
	}

	printf("\n-- against the peer (torch_ref.py)");
	if (!pe.have) {
		printf(": no figures (%s)\n", peer_path ? peer_path : "set SNM_BENCH_PEER or --peer");
	} else {
		printf(", examples/s; at 1 thread vs the peer at 1, at 2 vs the peer's best\n");
		printf("%-10s", "objective");
		for (int ti = 0; ti < n_threads; ++ti)
			printf("   snm@%d  peer@%d%s  ratio", thread_list[ti], thread_list[ti],
			       thread_list[ti] > 1 ? "b" : " ");
		printf("\n");
		for (int o = 0; o < N_OBJ; ++o) {
			if (!have[o])
				continue;
			printf("%-10s", objectives[o].name);
			for (int ti = 0; ti < n_threads; ++ti) {
				int th = thread_list[ti];
				double p = peer_ref(&pe, th, o);
				if (p > 0)
					printf(" %7.0f %7.0f  %6.2f", eps[th][o], p, eps[th][o] / p);
				else
					printf(" %7.0f %7s  %6s", eps[th][o], "-", "-");
			}
			printf("\n");
		}
		printf("goals (issue 4): ratio >= 1 at 1 thread, >= 2 at 2 threads (peer@2b: best of 1, 2)\n");
		print_verdict(&pe, eps, have, thread_list, n_threads);
	}
	print_goals19(pct, net_pct, have, net_found, thread_list, n_threads);
	for (int o = 0; o < N_OBJ; ++o)
		if (found[o])
			snm_plugin_close(&nh[o]);
	for (int k = 0; k < N_NETS; ++k)
		if (net_found[k] == 2)
			snm_plugin_close(&net_nh[k]);
	d.vt->close(d.state);
	free(d.mean);
	snm_cfg_free(dopts);
	snm_cfg_free(mopts);
	snm_plugin_close(&dh);
	snm_plugin_close(&mh);
	return EXIT_SUCCESS;
}
