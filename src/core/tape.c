/* tape.c: the define-by-run autodiff tape and its arena (see snm/tape.h and op.h).
 *
 * The arena is a list of blocks; allocation bumps a pointer in the current block and opens a new,
 * larger block when it is full.  At reset, a tape whose arena spilled into several blocks replaces
 * them with one block as large as all of them, so a training loop allocates only in its first
 * steps.  Nodes live in a growable array that keeps its capacity across resets. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "op.h"
#include "par.h"

#define ARENA_ALIGN 64
#define ARENA_DEFAULT (16u << 20)

typedef struct arena_block {
	struct arena_block *next;
	size_t size, used;
	unsigned char *mem;
} arena_block;

struct snm_tape {
	arena_block *head;       /* current block (front of the list) */
	size_t reserved;         /* bytes in all blocks */
	size_t used_before;      /* bytes used in blocks behind head */
	snm_node *nodes;
	int n_nodes, m_nodes;
	float *scratch;
	size_t n_scratch;
	int grad_on, training, hold_stats;
	double stats_weight;     /* snm_tape_set_stats_weight: 0, or the weight in (0, 1] */
	int numerics;            /* snm_tape_set_numerics: 1 .. SNM_NUMERICS_MAX */
	snm_error err;
};

static arena_block *block_new(size_t size)
{
	arena_block *b = malloc(sizeof *b);
	if (b == NULL)
		return NULL;
	b->mem = aligned_alloc(ARENA_ALIGN, (size + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN);
	if (b->mem == NULL) {
		free(b);
		return NULL;
	}
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

static void blocks_free(arena_block *b)
{
	while (b) {
		arena_block *next = b->next;
		free(b->mem);
		free(b);
		b = next;
	}
}

snm_tape *snm_tape_new(size_t arena_bytes, snm_error *err)
{
	snm_tape *t = calloc(1, sizeof *t);
	if (t == NULL) {
		SNM_FAIL(err, SNM_ENOMEM, "out of memory for a tape");
		return NULL;
	}
	t->head = block_new(arena_bytes ? arena_bytes : ARENA_DEFAULT);
	if (t->head == NULL) {
		free(t);
		SNM_FAIL(err, SNM_ENOMEM, "out of memory for a %zu-byte tape arena", arena_bytes);
		return NULL;
	}
	t->reserved = t->head->size;
	t->grad_on = 1;
	t->training = 1;
	t->numerics = 1;
	return t;
}

void snm_tape_free(snm_tape *t)
{
	if (t == NULL)
		return;
	blocks_free(t->head);
	free(t->nodes);
	free(t->scratch);
	free(t);
}

void snm_tape_reset(snm_tape *t)
{
	if (t->head->next != NULL) {          /* spilled: consolidate into one block */
		size_t total = t->reserved;
		arena_block *b = block_new(total);
		if (b != NULL) {
			blocks_free(t->head);
			t->head = b;
			t->reserved = total;
		} else {                         /* keep the old blocks; rewind them all */
			for (b = t->head; b; b = b->next)
				b->used = 0;
		}
	}
	t->head->used = 0;
	t->used_before = 0;
	t->n_nodes = 0;
	snm_error_clear(&t->err);
}

int snm_tape_set_grad(snm_tape *t, int enabled)
{
	int old = t->grad_on;
	t->grad_on = enabled != 0;
	return old;
}

int snm_tape_grad_enabled(const snm_tape *t) { return t->grad_on; }

int snm_tape_set_training(snm_tape *t, int training)
{
	int old = t->training;
	t->training = training != 0;
	return old;
}

int snm_tape_training(const snm_tape *t) { return t->training; }

int snm_tape_set_hold_stats(snm_tape *t, int hold)
{
	int old = t->hold_stats;
	t->hold_stats = hold != 0;
	return old;
}

int snm_tape_hold_stats(const snm_tape *t) { return t->hold_stats; }

double snm_tape_set_stats_weight(snm_tape *t, double w)
{
	double old = t->stats_weight;
	t->stats_weight = w > 0 && w <= 1 ? w : 0;
	return old;
}

double snm_tape_stats_weight(const snm_tape *t) { return t->stats_weight; }

int snm_tape_set_numerics(snm_tape *t, int v)
{
	int old = t->numerics;
	if (v < 1 || v > SNM_NUMERICS_MAX)
		return -1;
	t->numerics = v;
	return old;
}

int snm_tape_numerics(const snm_tape *t) { return t->numerics; }

void *snm_tape_alloc(snm_tape *t, size_t n)
{
	arena_block *b = t->head;
	size_t need = (n + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
	if (need == 0)
		need = ARENA_ALIGN;
	if (b->used + need > b->size) {
		/* Blocks behind the head are full; a new head at least doubles the reservation. */
		size_t size = t->reserved > need ? t->reserved : need;
		arena_block *nb = block_new(size);
		if (nb == NULL) {
			if (t->err.code == SNM_OK)
				SNM_FAIL(&t->err, SNM_ENOMEM, "out of memory: tape arena of %zu bytes", t->reserved + size);
			return NULL;
		}
		t->used_before += b->used;
		nb->next = b;
		t->head = b = nb;
		t->reserved += size;
	}
	void *p = b->mem + b->used;
	b->used += need;
	return p;
}

float *snm_tape_scratch(snm_tape *t, size_t n)
{
	if (n > t->n_scratch) {
		float *s = realloc(t->scratch, n * sizeof *s);
		if (s == NULL) {
			if (t->err.code == SNM_OK)
				SNM_FAIL(&t->err, SNM_ENOMEM, "out of memory: %zu floats of scratch", n);
			return NULL;
		}
		t->scratch = s;
		t->n_scratch = n;
	}
	return t->scratch;
}

size_t snm_tape_arena_used(const snm_tape *t) { return t->used_before + t->head->used; }
size_t snm_tape_arena_reserved(const snm_tape *t) { return t->reserved; }
int snm_tape_n_nodes(const snm_tape *t) { return t->n_nodes; }

int snm_tape_error(const snm_tape *t, snm_error *err)
{
	if (err != NULL && t->err.code != SNM_OK)
		*err = t->err;
	return t->err.code;
}

snm_tensor *snm_op_fail(snm_tape *t, int code, const char *fmt, ...)
{
	char msg[SNM_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snm_tape_fail(t, code, "%s", msg);
	return NULL;
}

int snm_tape_fail(snm_tape *t, int code, const char *fmt, ...)
{
	va_list ap;
	if (t->err.code != SNM_OK)
		return code;
	t->err.code = code;
	t->err.file = __FILE__;
	t->err.line = __LINE__;
	va_start(ap, fmt);
	vsnprintf(t->err.msg, sizeof t->err.msg, fmt, ap);
	va_end(ap);
	return code;
}

int snm_op_inputs_ok(snm_tape *t, int n, snm_tensor *const *in)
{
	if (t->err.code != SNM_OK)
		return 0;
	for (int i = 0; i < n; ++i)
		if (in[i] == NULL)
			return 0;
	return 1;
}

/* g[0..len) = 0, a large g split among snm's threads (par.h) by its `rows` rows (the first
 * dimension): each thread then zeroes, and so caches, the rows it will work on. */
static void zero_grad(float *g, size_t len, int rows)
{
	int nt = snm_par_threads((double)len);
	if (nt == 1) {
		memset(g, 0, len * sizeof *g);
		return;
	}
	SNM_PAR_REGION(nt)
	{
		size_t cols = len / (size_t)rows;
		int r0, r1;
		snm_par_range(rows, SNM_PAR_ID, SNM_PAR_N, 1, &r0, &r1);
		memset(g + (size_t)r0 * cols, 0, (size_t)(r1 - r0) * cols * sizeof *g);
	}
}

/* 1 when p lies in the tape's arena (a tensor made on this tape, not a parameter or a tensor the
 * caller made). */
static int in_arena(const snm_tape *t, const void *p)
{
	const unsigned char *c = p;
	for (const arena_block *b = t->head; b; b = b->next)
		if (c >= b->mem && c < b->mem + b->size)
			return 1;
	return 0;
}

/* A tensor of shape d in the arena, values uninitialised, g allocated (uninitialised too: a
 * backward pass zeroes it before it first writes to it, see backward_walk) when want_g. */
static snm_tensor *tensor_new(snm_tape *t, int n_d, const int *d, int want_g)
{
	snm_tensor *y;
	size_t len = 1;
	if (n_d < 1 || n_d > SNM_MAX_DIM)
		return snm_op_fail(t, SNM_ESHAPE, "tensor with %d dimensions (1..%d allowed)", n_d, SNM_MAX_DIM);
	for (int i = 0; i < n_d; ++i) {
		if (d[i] < 1)
			return snm_op_fail(t, SNM_ESHAPE, "tensor dimension %d has size %d", i, d[i]);
		len *= (size_t)d[i];
	}
	y = snm_tape_alloc(t, sizeof *y);
	if (y == NULL)
		return NULL;
	memset(y, 0, sizeof *y);
	y->n_d = n_d;
	memcpy(y->d, d, (size_t)n_d * sizeof *d);
	y->x = snm_tape_alloc(t, len * sizeof(float));
	if (y->x == NULL)
		return NULL;
	if (want_g) {
		y->g = snm_tape_alloc(t, len * sizeof(float));
		if (y->g == NULL)
			return NULL;
	}
	return y;
}

static snm_node *node_push(snm_tape *t)
{
	if (t->n_nodes == t->m_nodes) {
		int m = t->m_nodes ? 2 * t->m_nodes : 256;
		snm_node *nodes = realloc(t->nodes, (size_t)m * sizeof *nodes);
		if (nodes == NULL) {
			snm_op_fail(t, SNM_ENOMEM, "out of memory: %d tape nodes", m);
			return NULL;
		}
		t->nodes = nodes;
		t->m_nodes = m;
	}
	snm_node *nd = &t->nodes[t->n_nodes++];
	memset(nd, 0, sizeof *nd);
	return nd;
}

snm_tensor *snm_tape_const(snm_tape *t, int n_d, const int *d, const float *data)
{
	snm_tensor *y;
	if (t->err.code != SNM_OK)
		return NULL;
	y = tensor_new(t, n_d, d, 0);
	if (y == NULL)
		return NULL;
	if (data)
		memcpy(y->x, data, snm_tensor_len(y) * sizeof(float));
	else
		memset(y->x, 0, snm_tensor_len(y) * sizeof(float));
	return y;
}

snm_tensor *snm_tape_leaf(snm_tape *t, int n_d, const int *d, const float *data)
{
	snm_node *nd;
	snm_tensor *y;
	if (t->err.code != SNM_OK)
		return NULL;
	y = tensor_new(t, n_d, d, 1);
	if (y == NULL)
		return NULL;
	y->flags |= SNM_T_LEAF;
	if (data)
		memcpy(y->x, data, snm_tensor_len(y) * sizeof(float));
	else
		memset(y->x, 0, snm_tensor_len(y) * sizeof(float));
	nd = node_push(t);               /* recorded so that backward knows to zero its gradient */
	if (nd == NULL)
		return NULL;
	nd->op = SNM_OP_LEAF;
	nd->out = y;
	return y;
}

snm_tensor *snm_op_begin_opt(snm_tape *t, int op, int n_d, const int *d, int n_req, int n_in,
                             snm_tensor *const *in, snm_node **ndp)
{
	int want_g = 0;
	snm_tensor *y;
	*ndp = NULL;
	if (!snm_op_inputs_ok(t, n_req, in))
		return NULL;
	if (t->grad_on)
		for (int i = 0; i < n_in; ++i)
			if (in[i] != NULL && in[i]->g != NULL)
				want_g = 1;
	y = tensor_new(t, n_d, d, want_g);
	if (y == NULL)
		return NULL;
	if (want_g) {
		snm_node *nd = node_push(t);
		if (nd == NULL)
			return NULL;
		nd->op = op;
		nd->n_in = n_in;
		for (int i = 0; i < n_in; ++i)
			nd->in[i] = in[i];
		nd->out = y;
		*ndp = nd;
	}
	return y;
}

snm_tensor *snm_op_begin(snm_tape *t, int op, int n_d, const int *d, int n_in, snm_tensor *const *in,
                         snm_node **nd)
{
	return snm_op_begin_opt(t, op, n_d, d, n_in, n_in, in, nd);
}

/* The reverse walk shared by the three entry points: y->g is seeded with dy, and each node whose
 * output was reached passes its gradient on.  A tape tensor's gradient is zeroed just before its
 * first writer of the walk adds to it (rather than when the tensor is made: the zeroes are then
 * still in the cache when they are added to), and the gradients the walk never reached are zeroed
 * at its end, so that afterwards every gradient on the tape holds dy/d(tensor), zero for what y
 * does not depend on.  SNM_T_TOUCHED marks the gradients the walk has zeroed or written.  The
 * ops marked `fresh` in snm_optab are given their inputs' unzeroed gradients instead and store
 * 0.0f + v themselves, the same bits (op.h, snm_grad_fresh). */
static int backward_walk(snm_tape *t, snm_tensor *y, const float *dy, snm_error *err)
{
	size_t n = snm_tensor_len(y);
	if (y->g == NULL)
		return SNM_FAIL(err, SNM_EINVAL, "backward from a tensor that depends on no parameter or leaf");
	for (int i = 0; i < t->n_nodes; ++i)
		t->nodes[i].out->flags &= ~(unsigned)SNM_T_TOUCHED;
	for (size_t k = 0; k < n; ++k)
		y->g[k] = dy ? dy[k] : 1.0f;
	y->flags |= SNM_T_TOUCHED;
	for (int i = t->n_nodes - 1; i >= 0; --i) {
		snm_node *nd = &t->nodes[i];
		if (!(nd->out->flags & SNM_T_TOUCHED) || snm_optab[nd->op].backward == NULL)
			continue;
		for (int k = 0; k < nd->n_in; ++k) {
			snm_tensor *in = nd->in[k];
			if (in != NULL && in->g != NULL && !(in->flags & SNM_T_TOUCHED) && in_arena(t, in)) {
				if (snm_optab[nd->op].fresh)
					in->flags |= SNM_T_FRESH;       /* the op writes 0.0f + v itself (op.h) */
				else
					zero_grad(in->g, snm_tensor_len(in), in->d[0]);
			}
		}
		snm_optab[nd->op].backward(t, nd);
		for (int k = 0; k < nd->n_in; ++k) {
			snm_tensor *in = nd->in[k];
			if (in == NULL || in->g == NULL)
				continue;
			if (in->flags & SNM_T_FRESH) {          /* not written after all */
				zero_grad(in->g, snm_tensor_len(in), in->d[0]);
				in->flags &= ~(unsigned)SNM_T_FRESH;
			}
			in->flags |= SNM_T_TOUCHED;
		}
	}
	for (int i = 0; i < t->n_nodes; ++i) {
		snm_tensor *o = t->nodes[i].out;
		if (!(o->flags & SNM_T_TOUCHED)) {
			zero_grad(o->g, snm_tensor_len(o), o->d[0]);
			o->flags |= SNM_T_TOUCHED;
		}
	}
	return t->err.code != SNM_OK ? snm_tape_error(t, err) : SNM_OK;
}

static int check_loss(snm_tape *t, snm_tensor *loss, snm_error *err)
{
	if (loss == NULL) {
		if (t->err.code != SNM_OK)
			return snm_tape_error(t, err);
		return SNM_FAIL(err, SNM_EINVAL, "backward from a NULL tensor");
	}
	if (snm_tensor_len(loss) != 1) {
		char s[64];
		return SNM_FAIL(err, SNM_ESHAPE, "backward needs a scalar loss, got shape %s",
		                snm_tensor_shape_str(loss, s, sizeof s));
	}
	return SNM_OK;
}

int snm_tape_backward(snm_tape *t, snm_tensor *loss, snm_error *err)
{
	int rc = check_loss(t, loss, err);
	return rc ? rc : backward_walk(t, loss, NULL, err);
}

int snm_tape_backward_seed(snm_tape *t, snm_tensor *y, const float *dy, snm_error *err)
{
	if (y == NULL)
		return check_loss(t, y, err);
	return backward_walk(t, y, dy, err);
}

int snm_tape_grad(snm_tape *t, snm_tensor *loss, int n_wrt, snm_tensor *const *wrt, snm_error *err)
{
	int rc = check_loss(t, loss, err);
	if (rc)
		return rc;
	for (int k = 0; k < n_wrt; ++k)
		if (wrt[k] == NULL || wrt[k]->g == NULL)
			return SNM_FAIL(err, SNM_EINVAL, "gradient asked at a tensor that carries none "
			                "(make it with snm_tape_leaf)");
	/* Park every parameter gradient reachable from the tape so nothing accumulates into it. */
	for (int i = 0; i < t->n_nodes; ++i)
		for (int k = 0; k < t->nodes[i].n_in; ++k) {
			snm_tensor *p = t->nodes[i].in[k];
			if (p != NULL && (p->flags & SNM_T_PARAM) && p->g != NULL) {
				p->g_parked = p->g;
				p->g = NULL;
			}
		}
	rc = backward_walk(t, loss, NULL, err);
	for (int i = 0; i < t->n_nodes; ++i)
		for (int k = 0; k < t->nodes[i].n_in; ++k) {
			snm_tensor *p = t->nodes[i].in[k];
			if (p != NULL && (p->flags & SNM_T_PARAM) && p->g_parked != NULL) {
				p->g = p->g_parked;
				p->g_parked = NULL;
			}
		}
	return rc;
}
