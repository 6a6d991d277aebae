/* snm/plugin.h: the plugin ABI -- the one header (with what it includes) a plugin author needs.
 *
 * A plugin is a shared object exporting ONE const symbol, `snm_plugin_entry`, of type snm_plugin
 * (CLAP/LV2 style).  The runner finds plugins by the `name` in that struct, never by file name or
 * derived symbols, on the search path: --plugin-path, then $SNM_PLUGIN_PATH (colon-separated),
 * then the build tree, then the install directory (pkglibdir).  The loader refuses a plugin built
 * for another ABI major, one whose struct is smaller than this ABI's, one of the wrong kind, and a
 * shared object without the symbol, with one line naming the file and the reason.
 *
 * Compatibility: members of snm_plugin and of the vtables are only ever APPENDED.  A new member
 * raises SNM_PLUGIN_ABI_MINOR; the runner reads a member only when the plugin's `size` (or the
 * vtable's `size`) says it is there, so a plugin built for an older minor still loads.  Removing
 * or reordering members raises the major.  ABI 1.1 appended snm_noise_vt.perturb; ABI 1.2
 * appended snm_noise_vt.objective_at (the objective given the epoch and the step, snm_progress);
 * ABI 1.3 appended snm_noise_vt.updates (several optimiser updates per training step, each over
 * chosen parameters with an Adam state of its own: adversarial regularizers),
 * snm_progress.update and snm_batch.mean; ABI 1.4 appended snm_model_vt.encode_post (a second hook
 * on each layer's output after its nonlinearity, z's included: VAT's hidden-layer noise).
 *
 * Options: create/open receive the plugin's section of the pipeline WITHOUT its `type` key,
 * already checked against the plugin's option table (unknown keys, types, ranges), so they read
 * values with the snm_cfg_opt_* getters.  A plugin may check more (combinations of values) and
 * report SNM_ECONFIG at the offending node's file:line:col.
 *
 * Three kinds:
 *   model  -- creates its parameters and exposes the paper's four maps on the tape:
 *             encode x -> z (recording hidden layers h_j, with an optional per-layer hook),
 *             classify z -> y (logits), decode_z z -> x_R (exposing every h_jR), decode_y y -> z_R.
 *   noise  -- a regularizer: builds the whole training objective of one batch on the tape from the
 *             model's maps (the feed-forward "none" plugin returns just the cross-entropy).
 *   data   -- opens a dataset and reads examples by index into caller buffers; the runner owns
 *             order, subsets and every RNG.
 *
 * Example (a complete regularizer; see plugins/noise/none.c, and tests/outoftree/mynoise.c for one
 * that ramps its weight by epoch through objective_at):
 *
 *     static const snm_noise_vt vt = { .size = sizeof vt, .create = my_create,
 *                                      .destroy = my_destroy, .objective = my_objective };
 *     SNM_PLUGIN_DEFINE(SNM_KIND_NOISE, "mynoise", "1.0.0", "one-line description", &vt, my_options);
 *
 * Designated initialisers leave the members a later minor appends NULL when the plugin is rebuilt.
 *
 * Threading: the runner calls a plugin instance from one thread at a time.  Plugins keep no global
 * mutable state (several instances may live in one process).
 *
 * State across a resume: a run is checkpointed after every epoch and a resumed run must end
 * bitwise equal to an uninterrupted one, so whatever a model or a regularizer carries from step to
 * step and that changes its results -- a running mean, an EMA of some statistic, a counter, a
 * teacher's weights -- must live in the parameter registry its create receives, as SNM_T_BUFFER
 * entries (snm/param.h).  The run file saves every entry of the registry, parameters and buffers,
 * in /checkpoint/params (and in /best), and a resume loads them back by name before the first
 * step, exactly as batch norm's running statistics are kept.  A buffer is float32 of any shape
 * (a counter is exact in a float up to 2^24; past that keep two floats, or derive it from the
 * step, snm_progress).  Name buffers under the plugin's own prefix ("mynoise.ema"); names are
 * unique across the model and the regularizer.  A buffer is never trained and gets no gradient;
 * the plugin updates its x where it likes (typically in objective, after using it).  State kept
 * in the plugin's own memory is NOT saved: a resumed run starts it from what create made.  The
 * same goes for randomness: draw it from the streams the runner passes (init, noise), which are
 * checkpointed, never from a generator of the plugin's own. */
#ifndef SNM_PLUGIN_H
#define SNM_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>
#include "snm/error.h"
#include "snm/tensor.h"
#include "snm/tape.h"
#include "snm/ops.h"
#include "snm/param.h"
#include "snm/config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SNM_PLUGIN_ABI_MAJOR 1u
#define SNM_PLUGIN_ABI_MINOR 4u

#if defined(__GNUC__)
#  define SNM_EXPORT __attribute__((visibility("default")))
#else
#  define SNM_EXPORT
#endif

typedef enum { SNM_KIND_MODEL = 1, SNM_KIND_NOISE = 2, SNM_KIND_DATA = 3 } snm_kind;

/* ---- data ------------------------------------------------------------------------------------ */

enum { SNM_SPLIT_TRAIN = 0, SNM_SPLIT_VALID = 1, SNM_SPLIT_TEST = 2 };

typedef struct snm_data_info {
	int n_d;                 /* dimensions of one example as the model sees it: 3 (C,H,W) */
	int d[3];
	int n_classes;
	long n[3];               /* examples per split (SNM_SPLIT_*) */
} snm_data_info;

typedef struct snm_data_vt {
	uint32_t size;           /* sizeof(snm_data_vt) as compiled by the plugin */
	/* Opens the dataset described by opts (already checked against the plugin's option table).
	 * Reads headers and checks sizes and formats; may load everything into memory.  *state is the
	 * plugin's; returns 0 or SNM_E* with a message naming the file. */
	int (*open)(const snm_cfg *opts, void **state, snm_error *err);
	void (*close)(void *state);
	void (*info)(void *state, snm_data_info *out);
	/* Copies examples idx[0..n) of a split into x (n * C*H*W floats, values in [0,1], before any
	 * mean subtraction) and y (n labels).  aug: the runner's augmentation stream for training
	 * reads (random crop/flip, drawn in example order), NULL for evaluation (deterministic, e.g.
	 * centre crop).  Never shuffles, never keeps RNG state of its own. */
	int (*read)(void *state, int split, const long *idx, int n, gsl_rng *aug, float *x, int32_t *y,
	            snm_error *err);
	/* Labels of a whole split into y (info.n[split] ints), without decoding images: for balanced
	 * per-class subsets. */
	int (*labels)(void *state, int split, int32_t *y, snm_error *err);
} snm_data_vt;

/* ---- model ----------------------------------------------------------------------------------- */

/* Called by encode on each hidden layer's pre-activation (and z's) and may return a replacement
 * (e.g. with noise added) -- the ladder and denoising constraints need it.  Returning pre
 * unchanged is the identity; NULL aborts the build (record why with snm_tape_fail).
 *
 * `layer` says which layer and which phase of it: SNM_HOOK_LAYER(layer) is the layer (0 = the
 * first hidden layer, n_hidden = z, n_hidden + 1 = the classifier) and SNM_HOOK_PHASE(layer) one of
 *   SNM_HOOK_PRE  the pre-activation right before the layer's nonlinearity.  For a batch-
 *                 normalising model (convnet with `batchnorm: true`) that is the normalised
 *                 z = (a - mean)/sqrt(var + eps), before the learned shift and the activation
 *                 (where the ladder network adds its noise).
 *   SNM_HOOK_RAW  batch-normalising models only, called first for each layer with the raw
 *                 pre-activation a = W h: what the hook returns is what gets normalised.  A hook
 *                 that only corrupts returns these unchanged.
 * A model passes SNM_HOOK_ARG(i, phase).  The classifier's calls come from classify when it is
 * called on the z that encode returned on the same tape, once; without batch normalisation
 * classify calls no hook.  (The encoding is ABI 1's: the layer itself for SNM_HOOK_PRE, -1 - layer
 * for SNM_HOOK_RAW; use the macros, not the sign.) */
typedef enum { SNM_HOOK_PRE = 0, SNM_HOOK_RAW = 1 } snm_hook_phase;
#define SNM_HOOK_ARG(i, phase) ((phase) == SNM_HOOK_RAW ? -1 - (i) : (i))
#define SNM_HOOK_PHASE(layer) ((layer) < 0 ? SNM_HOOK_RAW : SNM_HOOK_PRE)
#define SNM_HOOK_LAYER(layer) ((layer) < 0 ? -1 - (layer) : (layer))
typedef snm_tensor *(*snm_layer_hook)(void *ctx, snm_tape *t, int layer, snm_tensor *pre);

/* snm_model_vt.encode_post (ABI 1.4), below. */
typedef snm_tensor *(*snm_encode_post_fn)(void *state, snm_tape *t, snm_tensor *x,
                                          snm_layer_hook hook, void *ctx, snm_layer_hook post,
                                          void *post_ctx, snm_tensor **hidden);

typedef struct snm_model_vt {
	uint32_t size;
	/* Creates the model for examples of shape in->d and in->n_classes classes: registers every
	 * parameter in params (names unique, e.g. "enc.conv1.w") and initialises them from init.  On
	 * success *state is not NULL (every method is handed it; the runner refuses a NULL one); on
	 * failure err says why. */
	int (*create)(const snm_cfg *opts, const snm_data_info *in, snm_params *params, gsl_rng *init,
	              void **state, snm_error *err);
	void (*destroy)(void *state);
	/* Number of hidden layers recorded by encode, h_1..h_L (not counting z); also the number of
	 * reconstructions decode_z exposes. */
	int (*n_hidden)(void *state);
	/* x (N,C,H,W) -> z (N,Z).  hidden (NULL or n_hidden slots) receives h_1..h_L (post-
	 * activation).  hook (NULL = none) sees each hidden pre-activation, and z's. */
	snm_tensor *(*encode)(void *state, snm_tape *t, snm_tensor *x, snm_layer_hook hook, void *ctx,
	                      snm_tensor **hidden);
	/* z (N,Z) -> y (N,K) logits. */
	snm_tensor *(*classify)(void *state, snm_tape *t, snm_tensor *z);
	/* z (N,Z) -> x_R (N,C,H,W) through every layer with tied weights; hidden_r (NULL or n_hidden
	 * slots) receives h_1R..h_LR in encode's order. */
	snm_tensor *(*decode_z)(void *state, snm_tape *t, snm_tensor *z, snm_tensor **hidden_r);
	/* y (N,K) -> z_R (N,Z) with the classifier's tied weight. */
	snm_tensor *(*decode_y)(void *state, snm_tape *t, snm_tensor *y);
	/* ABI 1.4: encode as above, with post (NULL: none) called on each layer's output after its
	 * nonlinearity -- h_1..h_L as layer 0..L-1 and z as layer L (the layer number alone, no
	 * phase) -- whose return replaces that output for the rest of the pass and in hidden (NULL
	 * aborts the build).  VAT's hidden-layer noise (the later VAT paper's MNIST network) is such a
	 * hook.  A model may leave it NULL (or be built for an older minor: snm_model_encode_post);
	 * a regularizer that needs it then refuses the model. */
	snm_encode_post_fn encode_post;
} snm_model_vt;

/* The model vtable's encode_post, or NULL when its vtable (an older minor's) or the model lacks
 * it. */
static inline snm_encode_post_fn snm_model_encode_post(const snm_model_vt *vt)
{
	return vt->size >= offsetof(snm_model_vt, encode_post) + sizeof vt->encode_post
	       ? vt->encode_post : NULL;
}

/* A model instance as regularizers see it. */
typedef struct snm_model {
	const snm_model_vt *vt;
	void *state;
} snm_model;

/* ---- noise (regularizers) -------------------------------------------------------------------- */

typedef struct snm_batch {
	snm_tensor *x;           /* labelled inputs (N,C,H,W), constants on the tape */
	const int32_t *labels;   /* N labels */
	snm_tensor *xu;          /* unlabelled inputs (M,C,H,W) or NULL (supervised pipelines) */
	/* ABI 1.3: the per-pixel mean the runner subtracted from x and xu (C*H*W floats), so that
	 * x + mean is the example as the data plugin gave it, in [0, 1] (a reconstruction target
	 * of a sigmoid decoder); NULL when none was subtracted.  A runner before ABI 1.3 does not
	 * set it: a plugin that reads it needs a runner of ABI 1.3 or later. */
	const float *mean;
} snm_batch;

#define SNM_MAX_TERMS 8

/* What an objective returns: the scalar loss to minimise, and its named terms (scalars on the
 * tape; the runner averages them over an epoch into the metrics "loss.<name>"). */
typedef struct snm_objective {
	snm_tensor *loss;
	int n_terms;
	const char *term_names[SNM_MAX_TERMS];
	snm_tensor *terms[SNM_MAX_TERMS];
} snm_objective;

/* ABI 1.2: where training stands when the runner builds an objective (snm_noise_vt.objective_at),
 * so that a regularizer can ramp its weight or schedule anything else by epoch or step.  Members
 * are only ever appended: read one added after ABI 1.2 only when `size` holds it. */
typedef struct snm_progress {
	uint32_t size;           /* sizeof(snm_progress) as the runner compiled it */
	int32_t epoch;           /* the epoch being trained, 0-based: 0 .. n_epochs - 1.  Users see
	                            epoch + 1 (the console's "epoch 3/10" is epoch 2 here); the run
	                            file's /metrics/epoch column and best_epoch are 0-based too */
	int32_t n_epochs;        /* epochs the run trains in all (train.epochs) */
	int64_t step;            /* the global step, 0-based: optimizer steps taken before this batch's,
	                            counted from the run's start (a resumed run goes on counting; the
	                            run file's root `step` is the count after the last saved epoch) */
	int64_t steps_per_epoch; /* steps in one epoch; epoch * steps_per_epoch + the step within the
	                            epoch == step */
	/* ABI 1.3 (read only when size holds it) */
	int32_t update;          /* which of the plugin's updates (snm_noise_vt.updates) is being
	                            built: 0 .. n - 1; 0 for a plugin without updates */
} snm_progress;

/* ABI 1.3: one optimiser update of a training step (snm_noise_vt.updates).  A training step is
 * then a sequence of updates in the plugin's order, all on the same labelled and unlabelled
 * batch: for update k the trainer builds the objective (objective_at, told at->update = k) on a
 * fresh tape -- so it sees the parameters as the updates before it left them --, backpropagates
 * its loss, steps update k's Adam state over the parameters update k selects, and zeroes every
 * gradient.  A parameter outside the selection is HELD: gradients flow through it to whatever
 * feeds it (a discriminator's input), but its value and its Adam moments stay as they were.
 *
 * Selection (params): space-separated registry-name prefixes; one starting with '-' excludes.
 * A trainable entry is selected when its name starts with one of the including prefixes (or
 * there is none) and with none of the excluding ones: "vib.disc_c." is the D_c discriminator,
 * "-vib.disc" everything but the discriminators.  NULL or "" selects every trainable entry.
 *
 * Adam states: each update has its own (its moments over its selection, its step count), as
 * every Keras model compiled with its own optimiser has.  The one update with main = 1 steps the
 * run's own Adam, the one a run of a plugin without updates has: its moments are
 * /checkpoint/adam_m and adam_v, its step count the run's `step` and snm_progress.step.  Each
 * other update's Adam is saved as /checkpoint/optim/<name>/m and /v with the root integer
 * step.<name>, so a resumed run goes on bitwise.  Every update uses the train section's learning
 * rate (divided by 1 + train.lr_decay t, t its own Adam's steps, where lr_decay is set), betas
 * and epsilon.
 *
 * Rules (the runner checks them before the first step, one line naming the plugin): 1 to
 * SNM_MAX_UPDATES updates; names unique, 1 to 40 of [a-z0-9_]; exactly one main; every selection
 * holds a trainable entry.  The loss column of the metrics is the sum of the updates' losses, and the
 * terms of all updates go into loss.<term> columns (unique names, SNM_MAX_TERMS in all). */
#define SNM_MAX_UPDATES 8

typedef struct snm_update {
	const char *name;        /* "d_c": messages and the run file's optimiser group */
	const char *params;      /* which trainable entries it moves (above) */
	int main;                /* 1: steps the run's own Adam state (exactly one update) */
} snm_update;

typedef struct snm_noise_vt {
	uint32_t size;
	/* Creates the regularizer for a created model; may register parameters of its own (the
	 * ladder's combinators) in params, initialised from init. */
	int (*create)(const snm_cfg *opts, const snm_model *model, snm_params *params, gsl_rng *init,
	              void **state, snm_error *err);
	void (*destroy)(void *state);
	/* Builds the objective of one training batch on t (training mode, gradients on); draws all
	 * its randomness from noise.  Returns 0, or the tape's error.  A plugin sets objective, or
	 * objective_at (ABI 1.2, below), or both (then the runner calls objective_at). */
	int (*objective)(void *state, const snm_model *model, snm_tape *t, const snm_batch *b,
	                 gsl_rng *noise, snm_objective *out, snm_error *err);
	/* 1 when the objective uses b->xu (semi-supervised): the runner then batches an unlabelled
	 * stream beside the labelled one.  NULL means 0. */
	int (*wants_unlabelled)(void *state);
	/* ABI 1.1: the perturbation of latent vectors that the objective trains with, z (N,Z) ->
	 * z' (N,Z), drawn exactly as the objective draws it: the same ops on the same values and
	 * the same draws from noise in the same order, so that z' is bitwise the objective's for
	 * the same z and the same stream position.  For the paper stage's figures, which show a
	 * trained network's latent space perturbed as a regularizer perturbs it; called on a tape
	 * in any mode.  Returns z' on t, or NULL with the reason recorded on the tape.  NULL (or a
	 * plugin built for ABI 1.0, whose vtable ends before it): the regularizer perturbs no
	 * latent vector. */
	snm_tensor *(*perturb)(void *state, const snm_model *model, snm_tape *t, snm_tensor *z,
	                       gsl_rng *noise);
	/* ABI 1.2: the objective as above, also told where training stands (at: the epoch, the
	 * global step; valid for the call only).  When set, the trainer calls it instead of
	 * objective at every training step: a weight ramped over the first epochs is
	 *     w = weight * fmin(1.0, (at->epoch + 1.0) / ramp_epochs);
	 * objective may then be NULL.  A plugin built for ABI 1.0 or 1.1 ends before this member and
	 * keeps being called through objective. */
	int (*objective_at)(void *state, const snm_model *model, snm_tape *t, const snm_batch *b,
	                    gsl_rng *noise, const snm_progress *at, snm_objective *out, snm_error *err);
	/* ABI 1.3: the updates of one training step (snm_update, above): sets *out to the plugin's
	 * array (valid as long as the instance) and returns their number.  NULL, or returning 0: one
	 * update over every trainable entry with the run's Adam, as before ABI 1.3.  A plugin with
	 * updates builds its objectives through objective_at, which reads at->update.  Called once,
	 * after create. */
	int (*updates)(void *state, const snm_update **out);
} snm_noise_vt;

/* ---- the entry ------------------------------------------------------------------------------- */

typedef struct snm_plugin {
	uint32_t abi_major, abi_minor;  /* SNM_PLUGIN_ABI_* the plugin was compiled against */
	uint32_t size;                  /* sizeof(snm_plugin) as compiled by the plugin */
	uint32_t kind;                  /* snm_kind */
	const char *name;               /* the YAML `type:` this plugin answers to */
	const char *version;            /* recorded in every result file */
	const char *description;        /* one line, for `snm plugins` */
	const void *vtable;             /* snm_model_vt / snm_noise_vt / snm_data_vt */
	const snm_option *options;      /* the plugin's YAML keys besides `type` ({NULL}-terminated) */
	/* ABI 1.1+ members go below */
} snm_plugin;

#define SNM_PLUGIN_SYMBOL "snm_plugin_entry"
#define SNM_PLUGIN_DEFINE(kind_, name_, version_, desc_, vt_, opts_) \
	SNM_EXPORT const snm_plugin snm_plugin_entry = { \
		SNM_PLUGIN_ABI_MAJOR, SNM_PLUGIN_ABI_MINOR, sizeof(snm_plugin), (kind_), (name_), \
		(version_), (desc_), (vt_), (opts_) }

#ifdef __cplusplus
}
#endif
#endif
