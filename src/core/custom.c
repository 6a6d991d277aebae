/* custom.c: ops defined outside libsnm (snm_tape_custom, see snm/tape.h).
 *
 * A custom op is one more op id, SNM_OP_CUSTOM, whose node carries in its aux a record with the
 * plugin's functions and ctx; its backward entry in the op table calls the plugin's backward.  The
 * record and the ctx copy live in the arena, so a custom op costs no malloc in a training loop. */
#include <string.h>
#include "op.h"

_Static_assert(SNM_CUSTOM_MAX_IN <= SNM_NODE_MAX_IN, "a custom op's inputs must fit in a node");

typedef struct custom_rec {
	snm_custom_op op;
	void *ctx;
} custom_rec;

snm_tensor *snm_tape_custom(snm_tape *t, const snm_custom_op *op, int n_in, snm_tensor *const *in,
                            int n_d, const int *d, void *ctx, size_t ctx_bytes)
{
	const char *name = op != NULL && op->name != NULL ? op->name : "?";
	custom_rec *rec;
	snm_node *nd;
	snm_tensor *y;
	int rc;
	if (!snm_op_inputs_ok(t, 0, NULL))                 /* the tape holds an error already */
		return NULL;
	if (op == NULL || op->forward == NULL || op->backward == NULL)
		return snm_op_fail(t, SNM_EINVAL, "custom op '%s': no %s function", name,
		                   op == NULL ? "op or" : op->forward == NULL ? "forward" : "backward");
	if (n_in < 0 || n_in > SNM_CUSTOM_MAX_IN || (n_in > 0 && in == NULL))
		return snm_op_fail(t, SNM_EINVAL, "custom op '%s': %d inputs (0..%d allowed)", name, n_in,
		                   SNM_CUSTOM_MAX_IN);
	if (!snm_op_inputs_ok(t, n_in, in))
		return NULL;
	if (n_d < 1 || n_d > SNM_MAX_DIM || d == NULL)
		return snm_op_fail(t, SNM_ESHAPE, "custom op '%s': result of %d dimensions (1..%d allowed)",
		                   name, n_d, SNM_MAX_DIM);
	for (int i = 0; i < n_d; ++i)
		if (d[i] < 1)
			return snm_op_fail(t, SNM_ESHAPE, "custom op '%s': result dimension %d has size %d", name,
			                   i, d[i]);
	if (ctx_bytes > 0) {
		void *copy = snm_tape_alloc(t, ctx_bytes);
		if (copy == NULL)
			return NULL;
		memcpy(copy, ctx, ctx_bytes);
		ctx = copy;
	}
	y = snm_op_begin(t, SNM_OP_CUSTOM, n_d, d, n_in, in, &nd);
	if (y == NULL)
		return NULL;
	if (nd != NULL) {
		if ((rec = snm_tape_alloc(t, sizeof *rec)) == NULL)
			return NULL;
		rec->op = *op;
		rec->ctx = ctx;
		nd->aux = rec;
	}
	if ((rc = op->forward(t, ctx, n_in, in, y)) != SNM_OK) {
		if (snm_tape_error(t, NULL) == SNM_OK)
			snm_tape_fail(t, rc, "custom op '%s': forward failed (%s)", name, snm_strerror(rc));
		return NULL;
	}
	return y;
}

void snm_custom_backward(snm_tape *t, snm_node *nd)
{
	const custom_rec *rec = nd->aux;
	int rc = rec->op.backward(t, rec->ctx, nd->n_in, nd->in, nd->out);
	if (rc != SNM_OK && snm_tape_error(t, NULL) == SNM_OK)
		snm_tape_fail(t, rc, "custom op '%s': backward failed (%s)",
		              rec->op.name ? rec->op.name : "?", snm_strerror(rc));
}
