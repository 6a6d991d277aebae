/* fuzz_config.c: libFuzzer harness of the YAML configuration parser (src/core/config.c,
 * snm/config.h): the input is the text of a pipeline file.
 *
 * snm_cfg_parse reads it; a failure must be one line with no tree.  A tree is then read the
 * way snm reads pipelines: every node through the accessors (marks set, every key found by
 * snm_cfg_get at its own index, parents right), every scalar through the typed reads, every map
 * through an option table (snm_cfg_check and the snm_cfg_opt_* getters), each failure checked
 * like a parse failure.  And the canonical form is held to its contract (config.h): the text of
 * snm_cfg_dump parses back to a tree with the same text, snm_cfg_hash is the FNV-1a of that
 * text, a copy (snm_cfg_dup) has the same text, and snm_cfg_dump_str cut short gives a prefix.
 * A run's identity is that text and hash, so a tree whose text reads back otherwise would make
 * a finished run look like another configuration. */
#include <stdlib.h>
#include <string.h>
#include "snm/config.h"
#include "fuzz.h"

/* A table with an option of every type, named like pipeline keys so that seeds meet them. */
static const snm_option table[] = {
	{ "name", SNM_OPT_STRING, "", NULL, NULL, NULL },
	{ "seed", SNM_OPT_INT, "1", NULL, NULL, "[0, inf)" },
	{ "epochs", SNM_OPT_INT, "120", NULL, NULL, "[1, 1000]" },
	{ "lr", SNM_OPT_DOUBLE, "0.005", NULL, NULL, "(0, inf)" },
	{ "beta1", SNM_OPT_DOUBLE, "0.9", NULL, NULL, "[0, 1)" },
	{ "nesterov", SNM_OPT_BOOL, "false", NULL, NULL, NULL },
	{ "optimizer", SNM_OPT_CHOICE, "adam", "adam|sgd", NULL, NULL },
	{ "layers", SNM_OPT_NODE, "[]", NULL, NULL, NULL },
	{ "type", SNM_OPT_STRING, "none", NULL, NULL, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static void check_scalar(const snm_cfg *n)
{
	snm_error e;
	long i;
	double d;
	int b, rc;
	const char *s;
	snm_error_clear(&e);
	fuzz_check_error(snm_cfg_to_int(n, &i, &e), &e, "snm_cfg_to_int");
	snm_error_clear(&e);
	fuzz_check_error(snm_cfg_to_double(n, &d, &e), &e, "snm_cfg_to_double");
	snm_error_clear(&e);
	fuzz_check_error(snm_cfg_to_bool(n, &b, &e), &e, "snm_cfg_to_bool");
	snm_error_clear(&e);
	rc = snm_cfg_to_str(n, &s, &e);
	fuzz_check_error(rc, &e, "snm_cfg_to_str");
	if (snm_cfg_kind(n) == SNM_CFG_SCALAR && (rc != SNM_OK || s != snm_cfg_text(n)))
		fuzz_die("snm_cfg_to_str refused a scalar");
}

static void check_map(const snm_cfg *m)
{
	snm_error e;
	long i;
	double d;
	int b;
	const char *s;
	for (size_t k = 0; k < snm_cfg_len(m); ++k) {
		const char *key = snm_cfg_key_at(m, k);
		const snm_cfg *v = snm_cfg_value_at(m, k);
		if (key == NULL || snm_cfg_get(m, key) != v || snm_cfg_key(v) == NULL
		    || strcmp(snm_cfg_key(v), key) != 0 || snm_cfg_key_line(v) < 1 || snm_cfg_key_col(v) < 1)
			fuzz_die("pair %zu of a map at %d:%d is not found under its key", k, snm_cfg_line(m),
			         snm_cfg_col(m));
	}
	snm_error_clear(&e);
	if (snm_cfg_check(m, table, "fuzz", &e) != SNM_OK) {
		fuzz_check_error(e.code, &e, "snm_cfg_check");
		return;
	}
	/* checked: every getter of the table must now succeed */
	snm_error_clear(&e);
	if (snm_cfg_opt_str(m, table, "name", &s, &e) || snm_cfg_opt_int(m, table, "seed", &i, &e)
	    || snm_cfg_opt_int(m, table, "epochs", &i, &e) || snm_cfg_opt_double(m, table, "lr", &d, &e)
	    || snm_cfg_opt_double(m, table, "beta1", &d, &e)
	    || snm_cfg_opt_bool(m, table, "nesterov", &b, &e)
	    || snm_cfg_opt_str(m, table, "optimizer", &s, &e)
	    || snm_cfg_opt_str(m, table, "type", &s, &e))
		fuzz_die("a getter failed after snm_cfg_check passed: %s", e.msg);
	(void)snm_cfg_opt_node(m, table, "layers");
}

static void walk(const snm_cfg *n, const snm_cfg *parent)
{
	if (snm_cfg_parent(n) != parent)
		fuzz_die("a node at %d:%d has the wrong parent", snm_cfg_line(n), snm_cfg_col(n));
	if (snm_cfg_line(n) < 1 || snm_cfg_col(n) < 1 || snm_cfg_file(n) == NULL
	    || strcmp(snm_cfg_file(n), "fuzz.yaml") != 0)
		fuzz_die("a node has no mark (%d:%d)", snm_cfg_line(n), snm_cfg_col(n));
	check_scalar(n);
	switch (snm_cfg_kind(n)) {
	case SNM_CFG_SCALAR:
		if (snm_cfg_text(n) == NULL)
			fuzz_die("a scalar at %d:%d has no text", snm_cfg_line(n), snm_cfg_col(n));
		break;
	case SNM_CFG_MAP:
		check_map(n);
		for (size_t k = 0; k < snm_cfg_len(n); ++k)
			walk(snm_cfg_value_at(n, k), n);
		break;
	case SNM_CFG_SEQ:
		for (size_t k = 0; k < snm_cfg_len(n); ++k)
			walk(snm_cfg_at(n, k), n);
		break;
	default:
		break;
	}
}

/* FNV-1a 64 of the text, as config.h defines snm_cfg_hash. */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; ++s) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

static void check_canonical(const snm_cfg *root)
{
	snm_error e;
	snm_cfg *back = NULL, *copy;
	char *text, *text2, small[16];
	size_t len;
	snm_error_clear(&e);
	if ((text = snm_cfg_dump_alloc(root, &e)) == NULL)
		fuzz_die("snm_cfg_dump_alloc failed: %s", e.msg);
	len = strlen(text);
	if (snm_cfg_hash(root) != fnv1a(text))
		fuzz_die("snm_cfg_hash is not the FNV-1a of the canonical text");
	if (snm_cfg_dump_str(root, small, sizeof small) != len
	    || strncmp(small, text, sizeof small - 1) != 0)
		fuzz_die("snm_cfg_dump_str cut short is not a prefix of the text");
	if (snm_cfg_parse(text, len, "canonical", &back, &e) != SNM_OK)
		fuzz_die("the canonical text does not parse back: %s [text: %.300s]", e.msg, text);
	if ((text2 = snm_cfg_dump_alloc(back, &e)) == NULL)
		fuzz_die("snm_cfg_dump_alloc failed: %s", e.msg);
	if (strcmp(text, text2) != 0)
		fuzz_die("the canonical text reads back as another tree: %.200s -> %.200s", text, text2);
	free(text2);
	snm_cfg_free(back);
	if ((copy = snm_cfg_dup(root, &e)) == NULL)
		fuzz_die("snm_cfg_dup failed: %s", e.msg);
	if (snm_cfg_hash(copy) != snm_cfg_hash(root))
		fuzz_die("a copy has another hash");
	snm_cfg_free(copy);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	snm_cfg *root = (snm_cfg *)&root;   /* must become NULL on failure */
	snm_error e;
	int rc;
	snm_error_clear(&e);
	rc = snm_cfg_parse((const char *)data, size, "fuzz.yaml", &root, &e);
	fuzz_check_error(rc, &e, "snm_cfg_parse");
	if (rc != SNM_OK) {
		if (root != NULL)
			fuzz_die("snm_cfg_parse failed but left a tree");
		return 0;
	}
	walk(root, NULL);
	check_canonical(root);
	snm_cfg_free(root);
	return 0;
}
