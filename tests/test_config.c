/* test_config.c: the YAML configuration tree (snm/config.h).  Marks of nested nodes, aliases,
 * every kind of error with its exact "file:line:col:" (fixtures under tests/fixtures/yaml/, the
 * positions counted by hand from the files), typed reads, option tables and their defaults, the
 * canonical text and its hash (pinned to a published FNV-1a vector), the tree builders, and the
 * keys by which two configurations differ (src/run/cfgdiff.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "snm/config.h"
#include "run/cfgdiff.h"

static snm_cfg *load_fixture(const char *name, snm_error *err, int *rc)
{
	char rel[128], path[1024];
	snm_cfg *t = NULL;
	snprintf(rel, sizeof rel, "fixtures/yaml/%s", name);
	*rc = snm_cfg_load(snm_test_src(path, sizeof path, rel), &t, err);
	return t;
}

static snm_cfg *load_ok(const char *name)
{
	snm_error err;
	int rc;
	snm_cfg *t = load_fixture(name, &err, &rc);
	CU_ASSERT_EQUAL(rc, SNM_OK);
	if (rc != SNM_OK)
		fprintf(stderr, "\n  %s: %s\n", name, err.msg);
	return t;
}

static snm_cfg *parse_str(const char *text)
{
	snm_cfg *t = NULL;
	snm_error err;
	int rc = snm_cfg_parse(text, strlen(text), "s.yaml", &t, &err);
	CU_ASSERT_EQUAL(rc, SNM_OK);
	if (rc != SNM_OK)
		fprintf(stderr, "\n  parse: %s\n", err.msg);
	return t;
}

/* Asserts the error has the code and that its message holds `where` ("name.yaml:L:C:") and, when
 * non-NULL, `what`. */
static void expect_error(int rc, const snm_error *err, int code, const char *where, const char *what)
{
	CU_ASSERT_EQUAL(rc, code);
	CU_ASSERT_EQUAL(err->code, code);
	CU_ASSERT_PTR_NOT_NULL(strstr(err->msg, where));
	if (what)
		CU_ASSERT_PTR_NOT_NULL(strstr(err->msg, what));
	if (rc != code || !strstr(err->msg, where) || (what && !strstr(err->msg, what)))
		fprintf(stderr, "\n  wanted %s ... %s, got (%d) %s\n", where, what ? what : "", rc,
		        err->msg);
	CU_ASSERT_PTR_NULL(strchr(err->msg, '\n'));   /* one line */
}

static void expect_load_error(const char *name, int code, const char *where, const char *what)
{
	snm_error err;
	int rc;
	snm_cfg *t = load_fixture(name, &err, &rc);
	CU_ASSERT_PTR_NULL(t);
	expect_error(rc, &err, code, where, what);
	snm_cfg_free(t);
}

#define ASSERT_MARK(n, l, c) do { \
	CU_ASSERT_EQUAL(snm_cfg_line(n), (l)); \
	CU_ASSERT_EQUAL(snm_cfg_col(n), (c)); \
} while (0)

#define ASSERT_TEXT(n, s) do { \
	const char *t_ = snm_cfg_text(n); \
	CU_ASSERT(t_ != NULL && strcmp(t_, (s)) == 0); \
} while (0)

/* ---- Tree and marks ------------------------------------------------------------------------ */

static void test_tree_and_marks(void)
{
	snm_cfg *t = load_ok("good.yaml");
	const snm_cfg *n, *layers, *item, *units;
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(snm_cfg_kind(t), SNM_CFG_MAP);
	CU_ASSERT_PTR_NOT_NULL(strstr(snm_cfg_file(t), "good.yaml"));
	CU_ASSERT_EQUAL(snm_cfg_len(t), 10);
	CU_ASSERT_STRING_EQUAL(snm_cfg_key_at(t, 0), "name");
	CU_ASSERT_STRING_EQUAL(snm_cfg_key_at(t, 9), "text");
	CU_ASSERT_PTR_NULL(snm_cfg_key_at(t, 10));
	CU_ASSERT_PTR_NULL(snm_cfg_parent(t));

	n = snm_cfg_get(t, "name");
	ASSERT_TEXT(n, "demo");
	ASSERT_MARK(n, 2, 7);
	CU_ASSERT_EQUAL(snm_cfg_key_line(n), 2);
	CU_ASSERT_EQUAL(snm_cfg_key_col(n), 1);
	CU_ASSERT_PTR_EQUAL(snm_cfg_value_at(t, 0), n);

	n = snm_cfg_get(t, "train");
	CU_ASSERT_EQUAL(snm_cfg_kind(n), SNM_CFG_MAP);
	ASSERT_MARK(n, 5, 3);                                   /* a block map starts at its first key */
	CU_ASSERT_EQUAL(snm_cfg_key_line(n), 4);
	n = snm_cfg_get(n, "lr");
	ASSERT_TEXT(n, "0.001");
	ASSERT_MARK(n, 5, 7);
	CU_ASSERT_STRING_EQUAL(snm_cfg_key(n), "lr");
	CU_ASSERT_EQUAL(snm_cfg_key_line(n), 5);
	CU_ASSERT_EQUAL(snm_cfg_key_col(n), 3);
	CU_ASSERT_PTR_EQUAL(snm_cfg_parent(n), snm_cfg_get(t, "train"));

	layers = snm_cfg_get(t, "layers");
	CU_ASSERT_EQUAL(snm_cfg_kind(layers), SNM_CFG_SEQ);
	CU_ASSERT_EQUAL(snm_cfg_len(layers), 2);
	ASSERT_MARK(layers, 10, 3);
	item = snm_cfg_at(layers, 0);                           /*   - {type: conv, k: 32} */
	CU_ASSERT_EQUAL(snm_cfg_kind(item), SNM_CFG_MAP);
	ASSERT_MARK(item, 10, 5);
	CU_ASSERT_PTR_NULL(snm_cfg_key(item));
	n = snm_cfg_get(item, "k");
	ASSERT_TEXT(n, "32");
	ASSERT_MARK(n, 10, 21);
	CU_ASSERT_EQUAL(snm_cfg_key_col(n), 18);
	item = snm_cfg_at(layers, 1);                           /*   - type: fc / units: [128, 64] */
	ASSERT_MARK(item, 11, 5);
	units = snm_cfg_get(item, "units");
	CU_ASSERT_EQUAL(snm_cfg_kind(units), SNM_CFG_SEQ);
	ASSERT_MARK(units, 12, 12);
	CU_ASSERT_EQUAL(snm_cfg_key_col(units), 5);
	ASSERT_TEXT(snm_cfg_at(units, 0), "128");
	ASSERT_MARK(snm_cfg_at(units, 0), 12, 13);
	ASSERT_TEXT(snm_cfg_at(units, 1), "64");
	ASSERT_MARK(snm_cfg_at(units, 1), 12, 18);
	CU_ASSERT_PTR_NULL(snm_cfg_at(units, 2));
	CU_ASSERT_PTR_NULL(snm_cfg_at(item, 0));                /* at() is for sequences */

	n = snm_cfg_get(t, "empty");                            /* `empty:` */
	CU_ASSERT_PTR_NOT_NULL(n);
	CU_ASSERT_EQUAL(snm_cfg_kind(n), SNM_CFG_NULL);
	CU_ASSERT_PTR_NULL(snm_cfg_text(n));
	ASSERT_MARK(n, 17, 7);
	CU_ASSERT_EQUAL(snm_cfg_kind(snm_cfg_get(t, "tilde")), SNM_CFG_NULL);
	n = snm_cfg_get(t, "quoted");                           /* "null" quoted is a string */
	CU_ASSERT_EQUAL(snm_cfg_kind(n), SNM_CFG_SCALAR);
	ASSERT_TEXT(n, "null");
	ASSERT_MARK(n, 18, 9);
	ASSERT_TEXT(snm_cfg_get(t, "text"), "it's here");

	CU_ASSERT_PTR_NULL(snm_cfg_get(t, "absent"));
	CU_ASSERT_PTR_NULL(snm_cfg_get(layers, "type"));
	CU_ASSERT_EQUAL(snm_cfg_kind(NULL), SNM_CFG_NULL);
	CU_ASSERT_EQUAL(snm_cfg_len(NULL), 0);
	CU_ASSERT_EQUAL(snm_cfg_line(NULL), 0);
	snm_cfg_free(t);
}

static void test_aliases(void)
{
	snm_cfg *t = load_ok("good.yaml");
	const snm_cfg *base, *copy;
	char a[256], b[256];
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	base = snm_cfg_get(t, "base");
	copy = snm_cfg_get(t, "copy");
	CU_ASSERT_EQUAL(snm_cfg_kind(copy), SNM_CFG_MAP);
	CU_ASSERT_PTR_NOT_EQUAL(copy, base);                    /* a copy, not shared */
	snm_cfg_dump_str(base, a, sizeof a);
	snm_cfg_dump_str(copy, b, sizeof b);
	CU_ASSERT_STRING_EQUAL(a, "{batch: 100, drop: 0.5}");
	CU_ASSERT_STRING_EQUAL(b, a);
	CU_ASSERT_STRING_EQUAL(snm_cfg_key(copy), "copy");
	CU_ASSERT_EQUAL(snm_cfg_key_line(copy), 16);
	/* the copy keeps the marks of the text it was read from */
	ASSERT_MARK(snm_cfg_get(copy, "drop"), 15, 9);
	ASSERT_MARK(snm_cfg_get(copy, "drop"), snm_cfg_line(snm_cfg_get(base, "drop")),
	            snm_cfg_col(snm_cfg_get(base, "drop")));
	CU_ASSERT_EQUAL(snm_cfg_key_line(snm_cfg_get(copy, "drop")), 15);
	snm_cfg_free(t);

	/* scalar alias, alias as a key, alias in a sequence */
	t = parse_str("a: &x 5\nb: *x\n*x : 6\nc: [*x, *x]\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	ASSERT_TEXT(snm_cfg_get(t, "b"), "5");
	ASSERT_TEXT(snm_cfg_get(t, "5"), "6");
	CU_ASSERT_EQUAL(snm_cfg_len(snm_cfg_get(t, "c")), 2);
	ASSERT_TEXT(snm_cfg_at(snm_cfg_get(t, "c"), 1), "5");
	snm_cfg_free(t);

	expect_load_error("bad_alias.yaml", SNM_ECONFIG, "bad_alias.yaml:2:4:", "'*nowhere'");
	{
		snm_error err;
		snm_cfg *r = NULL;
		const char *cyc = "a: &x\n  b: *x\n";
		int rc = snm_cfg_parse(cyc, strlen(cyc), "cyc.yaml", &r, &err);
		expect_error(rc, &err, SNM_ECONFIG, "cyc.yaml:2:6:", "contains it");
		CU_ASSERT_PTR_NULL(r);
	}
	{   /* alias bombs stop at the node limit instead of eating memory */
		char bomb[2048];
		size_t len = (size_t)snprintf(bomb, sizeof bomb, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
		for (int i = 1; i < 10; ++i) {   /* a<i> holds ten copies of a<i-1>: 11^i nodes */
			len += (size_t)snprintf(bomb + len, sizeof bomb - len, "a%d: &a%d [*a%d", i, i, i - 1);
			for (int k = 1; k < 10; ++k)
				len += (size_t)snprintf(bomb + len, sizeof bomb - len, ", *a%d", i - 1);
			len += (size_t)snprintf(bomb + len, sizeof bomb - len, "]\n");
		}
		snm_error err;
		snm_cfg *r = NULL;
		int rc = snm_cfg_parse(bomb, len, "bomb.yaml", &r, &err);
		expect_error(rc, &err, SNM_ECONFIG, "bomb.yaml:", "nodes");
		CU_ASSERT_PTR_NULL(r);
	}
}

/* ---- Load errors ------------------------------------------------------------------------- */

static void test_syntax_errors(void)
{
	/* "  layers: [1, 2" is never closed: libyaml notices at "units:" on line 3 */
	expect_load_error("syntax_bracket.yaml", SNM_ECONFIG, "syntax_bracket.yaml:3:8:",
	                  "did not find expected ',' or ']'");
	expect_load_error("syntax_bracket.yaml", SNM_ECONFIG, "syntax_bracket.yaml:", "started at 2:11");
	/* " epochs: 3" indented by one space under a two-space map */
	expect_load_error("syntax_indent.yaml", SNM_ECONFIG, "syntax_indent.yaml:3:2:",
	                  "did not find expected key");
	expect_load_error("dup_key.yaml", SNM_ECONFIG, "dup_key.yaml:4:3:",
	                  "duplicate key 'lr' (first at 2:3)");
	expect_load_error("multi_doc.yaml", SNM_ECONFIG, "multi_doc.yaml:2:1:", "second YAML document");
	expect_load_error("no_such_file.yaml", SNM_EIO, "no_such_file.yaml: cannot open: ", NULL);
	{   /* strerror text is there */
		snm_error err;
		int rc;
		load_fixture("no_such_file.yaml", &err, &rc);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "No such file"));
	}
	{   /* other problems found while building the tree, from strings */
		static const struct { const char *text, *where, *what; } cases[] = {
			{ "a: 1\n[x]: 2\n", "s.yaml:2:1:", "keys are scalars" },
			{ "a: !foo 1\n", "s.yaml:1:4:", "unsupported tag '!foo'" },
			{ "a: !!seq {b: 1}\n", "s.yaml:1:4:", "unsupported tag '!!seq' on a mapping" },
			{ "a: \"x\\0y\"\n", "s.yaml:1:4:", "NUL" },
			{ "a:\n\tb: 1\n", "s.yaml:2:1:", "cannot start any token" },
			{ "a: 1\nb: \"\xff\"\n", "s.yaml:2:5:", "UTF-8" },
		};
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
			snm_error err;
			snm_cfg *r = NULL;
			int rc = snm_cfg_parse(cases[i].text, strlen(cases[i].text), "s.yaml", &r, &err);
			expect_error(rc, &err, SNM_ECONFIG, cases[i].where, cases[i].what);
			CU_ASSERT_PTR_NULL(r);
		}
	}
	{   /* nesting limit */
		char deep[4 * SNM_CFG_MAX_DEPTH + 8];
		size_t k = 0;
		for (int i = 0; i < SNM_CFG_MAX_DEPTH + 1; ++i)
			deep[k++] = '[';
		for (int i = 0; i < SNM_CFG_MAX_DEPTH + 1; ++i)
			deep[k++] = ']';
		snm_error err;
		snm_cfg *r = NULL;
		int rc = snm_cfg_parse(deep, k, "deep.yaml", &r, &err);
		expect_error(rc, &err, SNM_ECONFIG, "deep.yaml:1:65:", "nesting deeper");
		CU_ASSERT_PTR_NULL(r);
		rc = snm_cfg_parse(deep + 1, k - 2, "deep.yaml", &r, &err);   /* exactly the limit */
		CU_ASSERT_EQUAL(rc, SNM_OK);
		snm_cfg_free(r);
	}
}

static void test_empty_and_strings(void)
{
	snm_cfg *t = load_ok("empty.yaml");
	snm_error err;
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(snm_cfg_kind(t), SNM_CFG_NULL);
	ASSERT_MARK(t, 1, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(snm_cfg_file(t), "empty.yaml"));
	snm_cfg_free(t);
	CU_ASSERT_EQUAL(snm_cfg_parse("", 0, NULL, &t, &err), SNM_OK);
	CU_ASSERT_EQUAL(snm_cfg_kind(t), SNM_CFG_NULL);
	CU_ASSERT_STRING_EQUAL(snm_cfg_file(t), "<string>");
	snm_cfg_free(t);

	/* only len bytes are read: the buffer's tail is another (invalid) document */
	const char buf[] = "a: 1\nb: [2, 3]\n}}} not yaml";
	CU_ASSERT_EQUAL(snm_cfg_parse(buf, 15, "buf", &t, &err), SNM_OK);
	CU_ASSERT_EQUAL(snm_cfg_len(t), 2);
	ASSERT_TEXT(snm_cfg_at(snm_cfg_get(t, "b"), 1), "3");
	ASSERT_MARK(snm_cfg_get(t, "b"), 2, 4);
	CU_ASSERT_STRING_EQUAL(snm_cfg_file(snm_cfg_get(t, "b")), "buf");
	snm_cfg_free(t);
	CU_ASSERT_EQUAL(snm_cfg_parse(buf, sizeof buf - 1, "buf", &t, &err), SNM_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "buf:3:1:"));
	snm_cfg_free(NULL);

	/* a lone document marker, plain null spellings, quoted empties */
	t = parse_str("---\n");
	CU_ASSERT_EQUAL(snm_cfg_kind(t), SNM_CFG_NULL);
	snm_cfg_free(t);
	t = parse_str("a: ~\nb: Null\nc: ''\nd: NULL\ne: !!null x\nf: !!str null\ng: nULL\n");
	CU_ASSERT_EQUAL(snm_cfg_kind(snm_cfg_get(t, "a")), SNM_CFG_NULL);
	CU_ASSERT_EQUAL(snm_cfg_kind(snm_cfg_get(t, "b")), SNM_CFG_NULL);
	ASSERT_TEXT(snm_cfg_get(t, "c"), "");
	CU_ASSERT_EQUAL(snm_cfg_kind(snm_cfg_get(t, "d")), SNM_CFG_NULL);
	CU_ASSERT_EQUAL(snm_cfg_kind(snm_cfg_get(t, "e")), SNM_CFG_NULL);
	ASSERT_TEXT(snm_cfg_get(t, "f"), "null");
	ASSERT_TEXT(snm_cfg_get(t, "g"), "nULL");
	snm_cfg_free(t);
}

/* ---- Typed reads ------------------------------------------------------------------------- */

static void test_typed_reads(void)
{
	snm_cfg *t = parse_str(
		"i: 42\n"           /* 1 */
		"neg: -7\n"         /* 2 */
		"frac: 1.5\n"       /* 3 */
		"word: ten\n"       /* 4 */
		"big: 99999999999999999999\n"
		"hex: 0x10\n"       /* 6 */
		"d: 2.5e-3\n"
		"abc: abc\n"        /* 8 */
		"huge: 1e400\n"
		"nan: nan\n"        /* 10 */
		"sp: ' 1'\n"
		"b1: Yes\n"         /* 12 */
		"b2: OFF\n"
		"b3: maybe\n"       /* 14 */
		"m: {x: 1}\n"
		"n:\n"              /* 16 */
		"list: [1, two]\n"
		"plus: +3\n");      /* 18 */
	enum { INT, DBL, BOOL, STR };
	static const struct { int reader; const char *key, *where, *what; } bad[] = {
		{ INT, "frac", "s.yaml:3:7:", "'frac': expected an integer, got '1.5'" },
		{ INT, "word", "s.yaml:4:7:", "'word': expected an integer, got 'ten'" },
		{ INT, "big", "s.yaml:5:6:", "'big': expected an integer that fits in a long" },
		{ INT, "hex", "s.yaml:6:6:", "expected an integer, got '0x10'" },
		{ INT, "sp", "s.yaml:11:5:", "expected an integer, got ' 1'" },
		{ INT, "m", "s.yaml:15:4:", "'m': expected an integer, got a mapping" },
		{ INT, "n", "s.yaml:16:3:", "'n': expected an integer, got null" },
		{ DBL, "abc", "s.yaml:8:6:", "'abc': expected a finite number, got 'abc'" },
		{ DBL, "huge", "s.yaml:9:7:", "got '1e400'" },
		{ DBL, "nan", "s.yaml:10:6:", "got 'nan'" },
		{ DBL, "hex", "s.yaml:6:6:", "got '0x10'" },
		{ DBL, "sp", "s.yaml:11:5:", "got ' 1'" },
		{ DBL, "list", "s.yaml:17:7:", "'list': expected a number, got a sequence" },
		{ BOOL, "b3", "s.yaml:14:5:", "'b3': expected true or false, got 'maybe'" },
		{ BOOL, "i", "s.yaml:1:4:", "'i': expected true or false, got '42'" },
		{ STR, "m", "s.yaml:15:4:", "'m': expected a string, got a mapping" },
		{ STR, "n", "s.yaml:16:3:", "'n': expected a string, got null" },
	};
	long l = -1;
	double d = -1;
	int b = -1, rc;
	const char *s = NULL;
	snm_error err;
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);

	CU_ASSERT_EQUAL(snm_cfg_to_int(snm_cfg_get(t, "i"), &l, &err), SNM_OK);
	CU_ASSERT_EQUAL(l, 42);
	CU_ASSERT_EQUAL(snm_cfg_to_int(snm_cfg_get(t, "neg"), &l, &err), SNM_OK);
	CU_ASSERT_EQUAL(l, -7);
	CU_ASSERT_EQUAL(snm_cfg_to_int(snm_cfg_get(t, "plus"), &l, &err), SNM_OK);
	CU_ASSERT_EQUAL(l, 3);
	CU_ASSERT_EQUAL(snm_cfg_to_double(snm_cfg_get(t, "d"), &d, &err), SNM_OK);
	CU_ASSERT_EQUAL(d, 2.5e-3);
	CU_ASSERT_EQUAL(snm_cfg_to_double(snm_cfg_get(t, "i"), &d, &err), SNM_OK);
	CU_ASSERT_EQUAL(d, 42.0);
	CU_ASSERT_EQUAL(snm_cfg_to_double(snm_cfg_get(t, "frac"), &d, &err), SNM_OK);
	CU_ASSERT_EQUAL(d, 1.5);
	CU_ASSERT_EQUAL(snm_cfg_to_bool(snm_cfg_get(t, "b1"), &b, &err), SNM_OK);
	CU_ASSERT_EQUAL(b, 1);
	CU_ASSERT_EQUAL(snm_cfg_to_bool(snm_cfg_get(t, "b2"), &b, &err), SNM_OK);
	CU_ASSERT_EQUAL(b, 0);
	CU_ASSERT_EQUAL(snm_cfg_to_str(snm_cfg_get(t, "i"), &s, &err), SNM_OK);
	CU_ASSERT_STRING_EQUAL(s, "42");

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
		const snm_cfg *n = snm_cfg_get(t, bad[i].key);
		CU_ASSERT_PTR_NOT_NULL_FATAL(n);
		l = 11, d = 11, b = 11, s = "11";
		switch (bad[i].reader) {
		case INT:  rc = snm_cfg_to_int(n, &l, &err); break;
		case DBL:  rc = snm_cfg_to_double(n, &d, &err); break;
		case BOOL: rc = snm_cfg_to_bool(n, &b, &err); break;
		default:   rc = snm_cfg_to_str(n, &s, &err); break;
		}
		expect_error(rc, &err, SNM_ECONFIG, bad[i].where, bad[i].what);
		/* outputs untouched on error */
		CU_ASSERT(l == 11 && d == 11 && b == 11 && !strcmp(s, "11"));
	}
	/* a sequence item is named by its sequence's key and index */
	expect_error(snm_cfg_to_int(snm_cfg_at(snm_cfg_get(t, "list"), 1), &l, &err), &err, SNM_ECONFIG,
	             "s.yaml:17:11:", "'list[1]': expected an integer, got 'two'");
	expect_error(snm_cfg_to_int(NULL, &l, &err), &err, SNM_EINVAL, "no value", NULL);
	snm_cfg_free(t);

	/* every spelling of the booleans */
	static const struct { const char *text; int value; } bools[] = {
		{ "true", 1 }, { "TRUE", 1 }, { "True", 1 }, { "yes", 1 }, { "on", 1 }, { "On", 1 },
		{ "false", 0 }, { "False", 0 }, { "no", 0 }, { "NO", 0 }, { "off", 0 },
	};
	for (size_t i = 0; i < sizeof bools / sizeof bools[0]; ++i) {
		t = parse_str(bools[i].text);
		b = -1;
		CU_ASSERT_EQUAL(snm_cfg_to_bool(t, &b, &err), SNM_OK);
		CU_ASSERT_EQUAL(b, bools[i].value);
		snm_cfg_free(t);
	}
	/* the root has no name: the message has no quoted key */
	t = parse_str("abc");
	expect_error(snm_cfg_to_double(t, &d, &err), &err, SNM_ECONFIG,
	             "s.yaml:1:1: expected a finite number", NULL);
	snm_cfg_free(t);
}

/* A message stays one line whatever text it quotes (found by fuzz_config: a scalar with a line
 * break in an "expected a number" message): line breaks and control characters become escapes. */
static void test_one_line_messages(void)
{
	snm_cfg *t = parse_str("a: \"x\\ny\\e[31m\"\n\"k\\nk\": [\"z\\rz\"]\n");
	snm_error err;
	long v;
	int rc;
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	rc = snm_cfg_to_int(snm_cfg_get(t, "a"), &v, &err);
	expect_error(rc, &err, SNM_ECONFIG, "s.yaml:1:4:", "got 'x\\ny\\x1b[31m'");
	rc = snm_cfg_to_int(snm_cfg_at(snm_cfg_value_at(t, 1), 0), &v, &err);
	expect_error(rc, &err, SNM_ECONFIG, "s.yaml:2:", "'k\\nk[0]': expected an integer, got 'z\\rz'");
	snm_cfg_free(t);
	SNM_FAIL(&err, SNM_EIO, "%s: tab\tstays, \x7f goes", "line\nbreak");
	CU_ASSERT_STRING_EQUAL(err.msg, "line\\nbreak: tab\tstays, \\x7f goes");
	snm_error_prefix(&err, "pre\r");
	CU_ASSERT_STRING_EQUAL(err.msg, "pre\\r: line\\nbreak: tab\tstays, \\x7f goes");
	/* too long for msg: its beginning and its end (the reason) stay, the middle goes */
	{
		char path[2000];
		size_t n;
		memset(path, 'd', sizeof path - 1);
		path[0] = '/';
		path[sizeof path - 1] = '\0';
		SNM_FAIL(&err, SNM_EIO, "%s: cannot open: File name too long", path);
		n = strlen(err.msg);
		CU_ASSERT_EQUAL(n, SNM_ERROR_MSG_MAX - 1);
		CU_ASSERT_EQUAL(strncmp(err.msg, "/ddd", 4), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "dd ... dd"));
		CU_ASSERT_STRING_EQUAL(err.msg + n - 36, "ddd: cannot open: File name too long");
		snm_error_prefix(&err, "%s", path);
		CU_ASSERT_EQUAL(strlen(err.msg), SNM_ERROR_MSG_MAX - 1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, ": cannot open: File name too long"));
	}
	/* longer than the 4096 bytes formatted on the stack: the reason still stays */
	{
		char path[5000];
		size_t n;
		memset(path, 'e', sizeof path - 1);
		path[0] = '/';
		path[sizeof path - 1] = '\0';
		SNM_FAIL(&err, SNM_EIO, "%s/snm-verify.XXXXXX: cannot make it: %s", path, "No such file or directory");
		n = strlen(err.msg);
		CU_ASSERT_EQUAL(n, SNM_ERROR_MSG_MAX - 1);
		CU_ASSERT_EQUAL(strncmp(err.msg, "/eee", 4), 0);
		{
			const char *tail = "eee/snm-verify.XXXXXX: cannot make it: No such file or directory";
			CU_ASSERT_STRING_EQUAL(err.msg + n - strlen(tail), tail);
		}
	}
}

/* ---- Option tables ----------------------------------------------------------------------- */

static const snm_option train_opts[] = {
	{ "lr", SNM_OPT_DOUBLE, "0.01", NULL, "learning rate", "(0, inf)" },
	{ "epochs", SNM_OPT_INT, "100", NULL, "passes over the data", "[1, 100000]" },
	{ "nesterov", SNM_OPT_BOOL, "false", NULL, NULL, NULL },
	{ "optimizer", SNM_OPT_CHOICE, "adam", "adam|sgd", NULL, NULL },
	{ "name", SNM_OPT_STRING, "", NULL, NULL, NULL },
	{ "schedule", SNM_OPT_NODE, "[10, 20]", NULL, NULL, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static const snm_option need_opts[] = {
	{ "lr", SNM_OPT_DOUBLE, "0.01", NULL, NULL, NULL },
	{ "dataset", SNM_OPT_STRING, NULL, NULL, "required", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static void check_section(const snm_cfg *t, const char *section, const snm_option *opts, int code,
                          const char *where, const char *what)
{
	snm_error err;
	int rc = snm_cfg_check(snm_cfg_get(t, section), opts, "train", &err);
	if (code == SNM_OK) {
		CU_ASSERT_EQUAL(rc, SNM_OK);
		if (rc != SNM_OK)
			fprintf(stderr, "\n  %s: %s\n", section, err.msg);
		return;
	}
	expect_error(rc, &err, code, where, what);
}

static void test_option_check(void)
{
	snm_cfg *t = load_ok("options.yaml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	check_section(t, "ok", train_opts, SNM_OK, NULL, NULL);
	check_section(t, "nulled", train_opts, SNM_OK, NULL, NULL);
	check_section(t, "absent", train_opts, SNM_OK, NULL, NULL);
	check_section(t, "unknown", train_opts, SNM_ECONFIG, "options.yaml:7:3:",
	              "unknown key 'lrr' in train, did you mean 'lr'? "
	              "(known: lr, epochs, nesterov, optimizer, name, schedule)");
	check_section(t, "unknown", need_opts, SNM_ECONFIG, "options.yaml:7:3:",
	              "unknown key 'lrr' in train, did you mean 'lr'? (known: lr, dataset)");
	check_section(t, "int_string", train_opts, SNM_ECONFIG, "options.yaml:9:11:",
	              "'epochs': expected an integer, got 'ten'");
	check_section(t, "int_fraction", train_opts, SNM_ECONFIG, "options.yaml:11:11:",
	              "'epochs': expected an integer, got '1.5'");
	check_section(t, "double_abc", train_opts, SNM_ECONFIG, "options.yaml:13:7:",
	              "'lr': expected a finite number, got 'abc'");
	check_section(t, "bool_maybe", train_opts, SNM_ECONFIG, "options.yaml:15:13:",
	              "'nesterov': expected true or false, got 'maybe'");
	check_section(t, "choice", train_opts, SNM_ECONFIG, "options.yaml:17:14:",
	              "'optimizer': expected one of adam|sgd, got 'adan'");
	check_section(t, "range", train_opts, SNM_ECONFIG, "options.yaml:21:7:",
	              "'lr': expected a number in (0, inf), got '0'");
	check_section(t, "missing", need_opts, SNM_ECONFIG, "options.yaml:19:3:",
	              "missing required key 'dataset' in train");
	check_section(t, "nulled", need_opts, SNM_ECONFIG, "options.yaml:23:8:",
	              "missing required key 'dataset'");
	check_section(t, "absent", need_opts, SNM_ECONFIG, "missing required key 'dataset' in train",
	              NULL);
	check_section(t, "not_map", train_opts, SNM_ECONFIG, "options.yaml:22:10:",
	              "expected a mapping for train, got a sequence");
	/* no suggestion when nothing is close */
	{
		snm_cfg *u = parse_str("zzzz: 1\n");
		snm_error err;
		expect_error(snm_cfg_check(u, train_opts, "train", &err), &err, SNM_ECONFIG, "s.yaml:1:1:",
		             "unknown key 'zzzz' in train (known: lr,");
		snm_cfg_free(u);
	}
	snm_cfg_free(t);
}

static void test_option_defaults(void)
{
	snm_cfg *t = load_ok("options.yaml");
	const snm_cfg *ok, *nulled;
	long l = 0;
	double d = 0;
	int b = -1;
	const char *s = NULL;
	snm_error err;
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	ok = snm_cfg_get(t, "ok");
	nulled = snm_cfg_get(t, "nulled");

	/* present values */
	CU_ASSERT_EQUAL(snm_cfg_opt_double(ok, train_opts, "lr", &d, &err), SNM_OK);
	CU_ASSERT_EQUAL(d, 0.5);
	CU_ASSERT_EQUAL(snm_cfg_opt_int(ok, train_opts, "epochs", &l, &err), SNM_OK);
	CU_ASSERT_EQUAL(l, 7);
	/* defaults, from a map without the key, a null section and an absent one */
	const snm_cfg *maps[] = { ok, nulled, NULL };
	for (int k = 0; k < 3; ++k) {
		CU_ASSERT_EQUAL(snm_cfg_opt_bool(maps[k], train_opts, "nesterov", &b, &err), SNM_OK);
		CU_ASSERT_EQUAL(b, 0);
		CU_ASSERT_EQUAL(snm_cfg_opt_str(maps[k], train_opts, "optimizer", &s, &err), SNM_OK);
		CU_ASSERT_STRING_EQUAL(s, "adam");
		CU_ASSERT_EQUAL(snm_cfg_opt_str(maps[k], train_opts, "name", &s, &err), SNM_OK);
		CU_ASSERT_STRING_EQUAL(s, "");
		CU_ASSERT_PTR_NULL(snm_cfg_opt_node(maps[k], train_opts, "schedule"));
	}
	CU_ASSERT_EQUAL(snm_cfg_opt_double(nulled, train_opts, "lr", &d, &err), SNM_OK);
	CU_ASSERT_EQUAL(d, 0.01);
	CU_ASSERT_EQUAL(snm_cfg_opt_int(NULL, train_opts, "epochs", &l, &err), SNM_OK);
	CU_ASSERT_EQUAL(l, 100);

	/* getter errors */
	expect_error(snm_cfg_opt_int(ok, train_opts, "epoch", &l, &err), &err, SNM_EINVAL, "'epoch'",
	             NULL);
	expect_error(snm_cfg_opt_int(ok, train_opts, "lr", &l, &err), &err, SNM_EINVAL, "'lr'", NULL);
	expect_error(snm_cfg_opt_str(ok, train_opts, "lr", &s, &err), &err, SNM_EINVAL, "'lr'", NULL);
	expect_error(snm_cfg_opt_double(snm_cfg_get(t, "double_abc"), train_opts, "lr", &d, &err), &err,
	             SNM_ECONFIG, "options.yaml:13:7:", "expected a finite number");
	expect_error(snm_cfg_opt_str(snm_cfg_get(t, "choice"), train_opts, "optimizer", &s, &err), &err,
	             SNM_ECONFIG, "options.yaml:17:14:", "expected one of adam|sgd");
	expect_error(snm_cfg_opt_double(snm_cfg_get(t, "range"), train_opts, "lr", &d, &err), &err,
	             SNM_ECONFIG, "options.yaml:21:7:", "in (0, inf)");
	expect_error(snm_cfg_opt_str(snm_cfg_get(t, "missing"), need_opts, "dataset", &s, &err), &err,
	             SNM_ECONFIG, "options.yaml:19:3:", "missing required key 'dataset'");
	snm_cfg_free(t);

	/* a NODE option given, and a string option from the tree */
	t = parse_str("schedule: [3, 4, 5]\nname: r1\noptimizer: sgd\n");
	CU_ASSERT_EQUAL(snm_cfg_check(t, train_opts, "train", &err), SNM_OK);
	CU_ASSERT_EQUAL(snm_cfg_len(snm_cfg_opt_node(t, train_opts, "schedule")), 3);
	CU_ASSERT_PTR_NULL(snm_cfg_opt_node(t, train_opts, "name"));   /* not a NODE option */
	CU_ASSERT_EQUAL(snm_cfg_opt_str(t, train_opts, "name", &s, &err), SNM_OK);
	CU_ASSERT_STRING_EQUAL(s, "r1");
	CU_ASSERT_PTR_EQUAL(s, snm_cfg_text(snm_cfg_get(t, "name")));
	CU_ASSERT_EQUAL(snm_cfg_opt_str(t, train_opts, "optimizer", &s, &err), SNM_OK);
	CU_ASSERT_STRING_EQUAL(s, "sgd");
	snm_cfg_free(t);
}

#define TABLE_END { NULL, 0, NULL, NULL, NULL, NULL }

static void test_option_table_errors(void)
{
	static const struct { snm_option opts[2]; const char *what; } bad[] = {
		{ { { "n", SNM_OPT_INT, "1.5", NULL, NULL, NULL }, TABLE_END },
		  "'n': default '1.5' is not an integer" },
		{ { { "x", SNM_OPT_DOUBLE, "abc", NULL, NULL, NULL }, TABLE_END }, "'x'" },
		{ { { "b", SNM_OPT_BOOL, "maybe", NULL, NULL, NULL }, TABLE_END }, "'b'" },
		{ { { "c", SNM_OPT_CHOICE, "adan", "adam|sgd", NULL, NULL }, TABLE_END }, "'c'" },
		{ { { "c", SNM_OPT_CHOICE, "adam", NULL, NULL, NULL }, TABLE_END }, "needs choices" },
		{ { { "c", SNM_OPT_CHOICE, "adam", "adam||sgd", NULL, NULL }, TABLE_END }, "needs choices" },
		{ { { "r", SNM_OPT_DOUBLE, "0", NULL, NULL, "(0, 1]" }, TABLE_END }, "outside" },
		{ { { "r", SNM_OPT_DOUBLE, "0.5", NULL, NULL, "0 to 1" }, TABLE_END }, "unreadable range" },
		{ { { "r", SNM_OPT_DOUBLE, "0.5", NULL, NULL, "[1, 0]" }, TABLE_END }, "unreadable range" },
		{ { { "r", SNM_OPT_STRING, "a", NULL, NULL, "[0, 1]" }, TABLE_END }, "not a number" },
		{ { { "t", 99, "1", NULL, NULL, NULL }, TABLE_END }, "no valid type" },
		{ { { "y", SNM_OPT_NODE, "[1, 2", NULL, NULL, NULL }, TABLE_END },
		  "'y': default: <default>:" },
		{ { { "dup", SNM_OPT_INT, "1", NULL, NULL, NULL }, { "dup", SNM_OPT_INT, "2", NULL, NULL, NULL } },
		  "'dup': listed twice" },
	};
	snm_cfg *t = parse_str("{}");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
		snm_option table[3];
		snm_error err;
		memcpy(table, bad[i].opts, sizeof bad[i].opts);
		memset(&table[2], 0, sizeof table[2]);
		/* the table is checked even when the section is absent */
		expect_error(snm_cfg_check(NULL, table, "plugin 'p'", &err), &err, SNM_EINVAL,
		             "option table of plugin 'p'", bad[i].what);
		expect_error(snm_cfg_check(t, table, "plugin 'p'", &err), &err, SNM_EINVAL, bad[i].what,
		             NULL);
	}
	snm_cfg_free(t);
	/* ranges: both ends, open and closed, integer bounds */
	static const snm_option r[] = {
		{ "p", SNM_OPT_DOUBLE, "0.5", NULL, NULL, "[0, 1)" },
		{ "k", SNM_OPT_INT, "1", NULL, NULL, " [ -2 , 3 ] " },
		{ NULL, 0, NULL, NULL, NULL, NULL }
	};
	static const struct { const char *text; int ok; } vals[] = {
		{ "p: 0", 1 }, { "p: 0.999", 1 }, { "p: 1", 0 }, { "p: -0.001", 0 },
		{ "k: -2", 1 }, { "k: 3", 1 }, { "k: 4", 0 }, { "k: -3", 0 },
	};
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; ++i) {
		snm_error err;
		t = parse_str(vals[i].text);
		CU_ASSERT_EQUAL(snm_cfg_check(t, r, "r", &err), vals[i].ok ? SNM_OK : SNM_ECONFIG);
		snm_cfg_free(t);
	}
}

/* ---- Canonical text and hash ------------------------------------------------------------- */

static void test_dump(void)
{
	char buf[512];
	snm_cfg *t = parse_str("# c\nb: 1\na:   [x,  'y z',\n  \"\", ~]   # tail\n"
	                       "c: {d: \"null\", e: -}\nf: -1.5e-3\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(snm_cfg_dump_str(t, buf, sizeof buf), strlen(buf));
	CU_ASSERT_STRING_EQUAL(buf, "{b: 1, a: [x, \"y z\", \"\", null], c: {d: \"null\", e: \"-\"}, "
	                            "f: -1.5e-3}");
	/* cut short like snprintf */
	char small[8];
	size_t full = snm_cfg_dump_str(t, small, sizeof small);
	CU_ASSERT_EQUAL(full, strlen(buf));
	CU_ASSERT_STRING_EQUAL(small, "{b: 1, ");
	CU_ASSERT_EQUAL(snm_cfg_dump_str(t, NULL, 0), full);
	char *a = snm_cfg_dump_alloc(t, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_STRING_EQUAL(a, buf);
	free(a);
	/* to a FILE */
	FILE *f = tmpfile();
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(snm_cfg_dump(t, f, NULL), SNM_OK);
	rewind(f);
	char back[512] = "";
	CU_ASSERT_EQUAL(fread(back, 1, sizeof back - 1, f), strlen(buf));
	CU_ASSERT_STRING_EQUAL(back, buf);
	fclose(f);
	snm_cfg_free(t);
	CU_ASSERT_EQUAL(snm_cfg_dump_str(NULL, buf, sizeof buf), 4);
	CU_ASSERT_STRING_EQUAL(buf, "null");
}

/* Texts that must survive dump -> parse unchanged (quoting, escapes, indicators, Unicode breaks). */
static void test_dump_round_trip(void)
{
	static const char *texts[] = {
		"plain", "with space", " lead", "trail ", "a: b", "a #b", "#c", "[x]", "{y}", "a,b", "-",
		"-x", "--- doc", "...", "~", "null", "NULL", "", "'", "\"", "back\\slash", "tab\there",
		"line\nbreak", "cr\rx", "\x01\x1f\x7f", "caf\xc3\xa9", "nel\xc2\x85x",
		"ls\xe2\x80\xa8ps\xe2\x80\xa9", "*star", "&amp", "!bang", "%pct", "@at", "`tick", "|pipe",
		">gt", "?q", "1e-3", "+1", ".5", "x/y_z.w",
		"yes", "0x1F", "  ", "a\n\nb",
		/* C1 controls and U+FFFE/U+FFFF, which YAML refuses raw (found by fuzz_config) */
		"c1\xc2\x86x", "\xc2\x80\xc2\x9f", "nc\xef\xbf\xbe", "\xef\xbf\xbfz",
	};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; ++i) {
		snm_error err;
		/* {text: text, seq: [text, null]} */
		snm_cfg *m = snm_cfg_new(SNM_CFG_MAP, NULL, NULL, 1, 1, &err), *back = NULL;
		snm_cfg *seq = snm_cfg_new(SNM_CFG_SEQ, NULL, NULL, 1, 1, &err);
		snm_cfg *v1 = snm_cfg_new(SNM_CFG_SCALAR, texts[i], NULL, 1, 1, &err);
		snm_cfg *v2 = snm_cfg_new(SNM_CFG_SCALAR, texts[i], NULL, 1, 1, &err);
		snm_cfg *nul = snm_cfg_new(SNM_CFG_NULL, NULL, NULL, 1, 1, &err);
		CU_ASSERT_FATAL(m && seq && v1 && v2 && nul);
		CU_ASSERT_EQUAL(snm_cfg_map_set(m, texts[i], v1, &err), SNM_OK);
		CU_ASSERT_EQUAL(snm_cfg_seq_push(seq, v2, &err), SNM_OK);
		CU_ASSERT_EQUAL(snm_cfg_seq_push(seq, nul, &err), SNM_OK);
		CU_ASSERT_EQUAL(snm_cfg_map_set(m, "seq", seq, &err), SNM_OK);
		char *text = snm_cfg_dump_alloc(m, &err);
		CU_ASSERT_PTR_NOT_NULL_FATAL(text);
		int rc = snm_cfg_parse(text, strlen(text), "dump", &back, &err);
		CU_ASSERT_EQUAL(rc, SNM_OK);
		if (rc == SNM_OK) {
			const snm_cfg *v = snm_cfg_value_at(back, 0);
			CU_ASSERT(snm_cfg_key_at(back, 0) && !strcmp(snm_cfg_key_at(back, 0), texts[i]));
			CU_ASSERT(snm_cfg_kind(v) == SNM_CFG_SCALAR && !strcmp(snm_cfg_text(v), texts[i]));
			const snm_cfg *bs = snm_cfg_get(back, "seq");
			CU_ASSERT(snm_cfg_kind(snm_cfg_at(bs, 0)) == SNM_CFG_SCALAR &&
			          !strcmp(snm_cfg_text(snm_cfg_at(bs, 0)), texts[i]));
			CU_ASSERT_EQUAL(snm_cfg_kind(snm_cfg_at(bs, 1)), SNM_CFG_NULL);
			CU_ASSERT_EQUAL(snm_cfg_hash(back), snm_cfg_hash(m));
			if (snm_cfg_kind(v) != SNM_CFG_SCALAR || strcmp(snm_cfg_text(v), texts[i]))
				fprintf(stderr, "\n  round trip of case %zu: %s\n", i, text);
		} else {
			fprintf(stderr, "\n  case %zu: %s -> %s\n", i, text, err.msg);
		}
		free(text);
		snm_cfg_free(back);
		snm_cfg_free(m);
	}
}

static uint64_t hash_of(const char *text)
{
	snm_cfg *t = parse_str(text);
	uint64_t h = snm_cfg_hash(t);
	snm_cfg_free(t);
	return h;
}

static void test_hash(void)
{
	snm_cfg *a = load_ok("good.yaml"), *b = load_ok("good_restyled.yaml"), *s = NULL;
	char da[512], db[512];
	snm_error err;
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	snm_cfg_dump_str(a, da, sizeof da);
	snm_cfg_dump_str(b, db, sizeof db);
	CU_ASSERT_STRING_EQUAL(da, db);
	CU_ASSERT_EQUAL(snm_cfg_hash(a), snm_cfg_hash(b));
	/* a subtree hashes like the same text on its own */
	CU_ASSERT_EQUAL(snm_cfg_hash(snm_cfg_get(a, "train")),
	                hash_of("{lr: 0.001, epochs: 10, nesterov: yes, optimizer: adam}"));
	/* the dump parses back to the same hash */
	CU_ASSERT_EQUAL(snm_cfg_parse(da, strlen(da), "dump", &s, &err), SNM_OK);
	CU_ASSERT_EQUAL(snm_cfg_hash(s), snm_cfg_hash(a));
	snm_cfg_free(s);
	snm_cfg_free(a);
	snm_cfg_free(b);

	/* FNV-1a 64 test vectors (Fowler/Noll/Vo reference test suite): "" -> cbf29ce484222325 is the
	 * basis, "a" -> af63dc4c8601ec8c, "foobar" -> 85944171f73967e8.  A scalar dumps as its text. */
	CU_ASSERT_EQUAL(hash_of("a"), UINT64_C(0xaf63dc4c8601ec8c));
	CU_ASSERT_EQUAL(hash_of("foobar"), UINT64_C(0x85944171f73967e8));
	CU_ASSERT_EQUAL(hash_of("'foobar'  # quoted, with a comment"), UINT64_C(0x85944171f73967e8));

	/* sensitivity: a changed value, key, order, kind or nesting changes the hash */
	uint64_t h0 = hash_of("a: 1\nb: [x, y]\n");
	CU_ASSERT_EQUAL(h0, hash_of("{a: 1, b: [x, y]}"));
	CU_ASSERT_EQUAL(h0, hash_of("a: \"1\"\nb:\n  - 'x'\n  - y\n"));
	CU_ASSERT_NOT_EQUAL(h0, hash_of("a: 2\nb: [x, y]\n"));
	CU_ASSERT_NOT_EQUAL(h0, hash_of("a: 1.0\nb: [x, y]\n"));
	CU_ASSERT_NOT_EQUAL(h0, hash_of("A: 1\nb: [x, y]\n"));
	CU_ASSERT_NOT_EQUAL(h0, hash_of("b: [x, y]\na: 1\n"));
	CU_ASSERT_NOT_EQUAL(h0, hash_of("a: 1\nb: [y, x]\n"));
	CU_ASSERT_NOT_EQUAL(h0, hash_of("a: 1\nb: [x, y, z]\n"));
	CU_ASSERT_NOT_EQUAL(h0, hash_of("a: 1\nb: [[x, y]]\n"));
	CU_ASSERT_NOT_EQUAL(h0, hash_of("a: 1\nb: {x: y}\n"));
	CU_ASSERT_NOT_EQUAL(hash_of("a: null"), hash_of("a: 'null'"));
	CU_ASSERT_NOT_EQUAL(hash_of("a: ''"), hash_of("a:"));
	CU_ASSERT_NOT_EQUAL(hash_of("a: 'x, y'"), hash_of("a: [x, y]"));
	CU_ASSERT_EQUAL(hash_of("a: ~"), hash_of("a:"));
}

/* ---- Builders ------------------------------------------------------------------------------ */

static void test_builders(void)
{
	snm_cfg *t = parse_str("defaults: {lr: 0.1, epochs: 5}\nrow: {lr: 0.2, extra: [1]}\n"), *m, *v;
	snm_error err;
	char buf[256];
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	/* defaults under overrides, the way a pipeline composes a run */
	m = snm_cfg_dup(snm_cfg_get(t, "defaults"), &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NULL(snm_cfg_parent(m));
	CU_ASSERT_PTR_NULL(snm_cfg_key(m));
	const snm_cfg *row = snm_cfg_get(t, "row");
	for (size_t i = 0; i < snm_cfg_len(row); ++i) {
		snm_cfg *c = snm_cfg_dup(snm_cfg_value_at(row, i), &err);
		CU_ASSERT_EQUAL(snm_cfg_map_set(m, snm_cfg_key_at(row, i), c, &err), SNM_OK);
	}
	snm_cfg_dump_str(m, buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "{lr: 0.2, epochs: 5, extra: [1]}");
	/* the replaced value keeps its key's position; marks point into the source */
	v = (snm_cfg *)snm_cfg_get(m, "lr");
	ASSERT_MARK(v, 2, 11);
	CU_ASSERT_EQUAL(snm_cfg_key_col(v), 12);                           /* key kept from defaults */
	CU_ASSERT_EQUAL(snm_cfg_key_line(v), 1);
	CU_ASSERT_STRING_EQUAL(snm_cfg_file(v), "s.yaml");
	ASSERT_MARK(snm_cfg_at(snm_cfg_get(m, "extra"), 0), 2, 24);
	/* errors raised on a composed tree still name the original position */
	long l;
	expect_error(snm_cfg_to_int(v, &l, &err), &err, SNM_ECONFIG, "s.yaml:2:11: 'lr'", NULL);

	/* callers report their own findings at a node */
	CU_ASSERT_EQUAL(SNM_CFG_FAIL(&err, SNM_EPLUGIN, v, "no plugin '%s'", "x"), SNM_EPLUGIN);
	CU_ASSERT_STRING_EQUAL(err.msg, "s.yaml:2:11: no plugin 'x'");
	CU_ASSERT_EQUAL(err.code, SNM_EPLUGIN);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.file, "test_config.c"));
	CU_ASSERT_EQUAL(SNM_CFG_FAIL(&err, SNM_EIO, NULL, "plain"), SNM_EIO);
	CU_ASSERT_STRING_EQUAL(err.msg, "plain");

	/* bad attachments */
	CU_ASSERT_EQUAL(snm_cfg_map_set(m, "self", m, &err), SNM_EINVAL);
	CU_ASSERT_EQUAL(snm_cfg_map_set(m, "again", v, &err), SNM_EINVAL);    /* has a parent */
	snm_cfg *loose = snm_cfg_new(SNM_CFG_NULL, NULL, NULL, 0, 0, &err);
	CU_ASSERT_EQUAL(snm_cfg_seq_push(m, loose, &err), SNM_EINVAL);        /* m is no sequence */
	snm_cfg_free(loose);                                                  /* still ours */
	snm_cfg *inner = (snm_cfg *)snm_cfg_get(m, "extra");
	CU_ASSERT_EQUAL(snm_cfg_seq_push(inner, m, &err), SNM_EINVAL);        /* m is an ancestor */
	CU_ASSERT_PTR_NULL(snm_cfg_new(SNM_CFG_SCALAR, NULL, NULL, 0, 0, &err));
	CU_ASSERT_EQUAL(err.code, SNM_EINVAL);
	CU_ASSERT_PTR_NULL(snm_cfg_new(SNM_CFG_MAP, "x", NULL, 0, 0, &err));
	CU_ASSERT_PTR_NULL(snm_cfg_dup(NULL, &err));
	snm_cfg_free(m);
	snm_cfg_free(t);
}

/* ---- Differences ----------------------------------------------------------------------------- */

static void test_diff(void)
{
	char buf[512], small[40];
	/* a run's config text as a run file records it, against the pipeline's after edits */
	static const char old[] = "{seed: 1, run: q/a/n10/set1, data: {type: idx, valid: 2000}, "
	                          "model: {layers: [{conv: 3}, {fc: 6}]}, noise: {type: recon, weight: 0.03}, "
	                          "train: {epochs: 10, lr: 0.005}}";
	static const char now[] = "{seed: 1, run: q/a/n10/set1, data: {type: idx, valid: 2000}, "
	                          "model: {layers: [{conv: 4}, {fc: 6}]}, noise: {type: recon, sd: 0.1}, "
	                          "train: {lr: 0.001, epochs: 10}}";
	CU_ASSERT_EQUAL(snm_cfg_diff_text(old, now, buf, sizeof buf), 4);
	CU_ASSERT_STRING_EQUAL(buf, "model.layers[0].conv 3 -> 4, noise.weight (removed), noise.sd (added), "
	                            "train.lr 0.005 -> 0.001");
	/* the same keys in another order: no difference by key (the hash differs, see test_hash) */
	CU_ASSERT_EQUAL(snm_cfg_diff_text("{a: 1, b: 2}", "{b: 2, a: 1}", buf, sizeof buf), 0);
	CU_ASSERT_STRING_EQUAL(buf, "");
	/* scalars by text, kinds, lengths; a long value is named without its values */
	CU_ASSERT_EQUAL(snm_cfg_diff_text("{a: 0.1}", "{a: 0.10}", buf, sizeof buf), 1);
	CU_ASSERT_STRING_EQUAL(buf, "a 0.1 -> 0.10");
	CU_ASSERT_EQUAL(snm_cfg_diff_text("{a: [1, 2], b: x}", "{a: [1], b: {c: 1}}", buf, sizeof buf), 2);
	CU_ASSERT_STRING_EQUAL(buf, "a (2 items -> 1), b (scalar -> mapping)");
	CU_ASSERT_EQUAL(snm_cfg_diff_text("{dir: /usr/share/datasets/fashion-mnist}", "{dir: /data/fashion-mnist}",
	                                  buf, sizeof buf), 1);
	CU_ASSERT_STRING_EQUAL(buf, "dir");
	/* too small a buffer: every difference counted, the list cut with ", ..." */
	CU_ASSERT_EQUAL(snm_cfg_diff_text("{aaaa: 1, bbbb: 1, cccc: 1, dddd: 1}", "{aaaa: 2, bbbb: 2, cccc: 2, "
	                                  "dddd: 2}", small, sizeof small), 4);
	CU_ASSERT_STRING_EQUAL(small, "aaaa 1 -> 2, bbbb 1 -> 2, ...");
	/* a text that is no YAML */
	CU_ASSERT_EQUAL(snm_cfg_diff_text("{a: [", "{a: 1}", buf, sizeof buf), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "cannot parse"));
	/* brief, for a one-line message: up to max shown, else max - 1 and the count of the others */
	CU_ASSERT_EQUAL(snm_cfg_diff_text_brief(old, now, 3, buf, sizeof buf), 4);
	CU_ASSERT_STRING_EQUAL(buf, "model.layers[0].conv 3 -> 4, noise.weight (removed) and 2 more");
	CU_ASSERT_EQUAL(snm_cfg_diff_text_brief(old, now, 4, buf, sizeof buf), 4);
	CU_ASSERT_STRING_EQUAL(buf, "model.layers[0].conv 3 -> 4, noise.weight (removed), noise.sd (added), "
	                            "train.lr 0.005 -> 0.001");
	CU_ASSERT_EQUAL(snm_cfg_diff_text_brief("{train: {lr: 0.005}, noise: {sd: 0.1}, a: 1, b: 1, c: 1}",
	                                        "{train: {lr: 0.004}, noise: {sd: 0.2}, a: 2, b: 2, c: 2}", 3,
	                                        buf, sizeof buf), 5);
	CU_ASSERT_STRING_EQUAL(buf, "train.lr 0.005 -> 0.004, noise.sd 0.1 -> 0.2 and 3 more");
	CU_ASSERT_EQUAL(snm_cfg_diff_text_brief("{a: 1}", "{a: 1}", 3, buf, sizeof buf), 0);
	CU_ASSERT_STRING_EQUAL(buf, "");
	CU_ASSERT_EQUAL(snm_cfg_diff_text_brief("{a: [", "{a: 1}", 3, buf, sizeof buf), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "cannot parse"));
}

static CU_TestInfo tree_tests[] = {
	{ "tree_and_marks", test_tree_and_marks },
	{ "aliases", test_aliases },
	{ "syntax_and_load_errors", test_syntax_errors },
	{ "empty_and_strings", test_empty_and_strings },
	CU_TEST_INFO_NULL
};

static CU_TestInfo read_tests[] = {
	{ "typed_reads", test_typed_reads },
	{ "option_check", test_option_check },
	{ "option_defaults", test_option_defaults },
	{ "option_table_errors", test_option_table_errors },
	{ "one_line_messages", test_one_line_messages },
	CU_TEST_INFO_NULL
};

static CU_TestInfo canon_tests[] = {
	{ "dump", test_dump },
	{ "dump_round_trip", test_dump_round_trip },
	{ "hash", test_hash },
	{ "builders", test_builders },
	{ "diff", test_diff },
	CU_TEST_INFO_NULL
};

static CU_SuiteInfo suites[] = {
	{ "config_tree", NULL, NULL, NULL, NULL, tree_tests },
	{ "config_reads", NULL, NULL, NULL, NULL, read_tests },
	{ "config_canonical", NULL, NULL, NULL, NULL, canon_tests },
	CU_SUITE_INFO_NULL
};

int main(void)
{
	return snm_test_run("test_config", suites);
}
