/* old_model.c: a model plugin as ABI 1.3 built it -- abi_minor 3 and a vtable that ends after
 * decode_y, before the member 1.4 appended (encode_post); it loads, and encode_post reads as
 * absent (snm_model_encode_post NULL), so a regularizer that needs it refuses the model.  Only
 * loaded (test_plugin), never trained: z = x flattened, and classify and the decoders hand their
 * input on unchanged. */
#include "snm/plugin.h"

typedef struct model_vt_1_3 {     /* snm_model_vt of ABI 1.3 */
	uint32_t size;
	int (*create)(const snm_cfg *, const snm_data_info *, snm_params *, gsl_rng *, void **,
	              snm_error *);
	void (*destroy)(void *);
	int (*n_hidden)(void *);
	snm_tensor *(*encode)(void *, snm_tape *, snm_tensor *, snm_layer_hook, void *, snm_tensor **);
	snm_tensor *(*classify)(void *, snm_tape *, snm_tensor *);
	snm_tensor *(*decode_z)(void *, snm_tape *, snm_tensor *, snm_tensor **);
	snm_tensor *(*decode_y)(void *, snm_tape *, snm_tensor *);
} model_vt_1_3;

static int om_state;

static int om_create(const snm_cfg *opts, const snm_data_info *in, snm_params *params, gsl_rng *init,
                     void **state, snm_error *err)
{
	(void)opts; (void)in; (void)params; (void)init; (void)err;
	*state = &om_state;         /* not NULL, never written */
	return SNM_OK;
}

static void om_destroy(void *state) { (void)state; }

static int om_n_hidden(void *state) { (void)state; return 0; }

static snm_tensor *om_encode(void *state, snm_tape *t, snm_tensor *x, snm_layer_hook hook, void *ctx,
                             snm_tensor **hidden)
{
	int n = x->d[0];
	(void)state; (void)hook; (void)ctx; (void)hidden;
	return snm_reshape(t, x, 2, (int[]){ n, (int)(snm_tensor_len(x) / (size_t)n) });
}

static snm_tensor *om_classify(void *state, snm_tape *t, snm_tensor *z)
{
	(void)state; (void)t;
	return z;
}

static snm_tensor *om_decode_z(void *state, snm_tape *t, snm_tensor *z, snm_tensor **hidden_r)
{
	(void)hidden_r;
	return om_classify(state, t, z);
}

static const model_vt_1_3 om_vt = { sizeof om_vt, om_create, om_destroy, om_n_hidden, om_encode,
                                    om_classify, om_decode_z, om_classify };
SNM_EXPORT const snm_plugin snm_plugin_entry = {
	SNM_PLUGIN_ABI_MAJOR, 3, sizeof(snm_plugin), SNM_KIND_MODEL, "oldmodel", "0.0.1",
	"a model plugin built for ABI 1.3", &om_vt, NULL
};
