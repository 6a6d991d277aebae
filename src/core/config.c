/* config.c: YAML -> configuration tree with file:line:col marks, typed reads, option tables,
 * canonical text and hash (see snm/config.h).
 *
 * Parsing walks libyaml's event stream with an explicit stack of open containers; each node is
 * attached to its parent as soon as it is created, so on any error freeing the root releases
 * everything built so far.  A node is one allocation holding the struct, its scalar text and its
 * file name; a map value also owns the text of its key.  Aliases are resolved into deep copies.
 *
 * The canonical writer serves three sinks at once (a FILE, a bounded buffer, the FNV-1a hash), so
 * the dump and the hash can never disagree. */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "snm/config.h"

struct snm_cfg {
	int kind;                /* SNM_CFG_* */
	int line, col;           /* 1-based start of the node */
	int key_line, key_col;   /* where its key is written (map values only) */
	char *key;               /* own allocation; NULL unless a map value */
	snm_cfg *parent;
	snm_cfg **items;         /* SEQ items, MAP values (each carries its key) */
	size_t n, cap;
	int open;                /* parsing: container not yet closed (aliases to it are cycles) */
	const char *text;        /* SCALAR: points into this allocation; NULL otherwise */
	const char *file;        /* points into this allocation */
};

#define MSG_MAX SNM_ERROR_MSG_MAX

/* ---- Nodes -------------------------------------------------------------------------------- */

static snm_cfg *node_new(int kind, const char *text, size_t len, const char *file, int line, int col)
{
	size_t flen = strlen(file), tlen = text ? len + 1 : 0;
	snm_cfg *n = malloc(sizeof *n + tlen + flen + 1);
	char *p;
	if (n == NULL)
		return NULL;
	memset(n, 0, sizeof *n);
	n->kind = kind;
	n->line = line;
	n->col = col;
	p = (char *)(n + 1);
	if (text) {
		memcpy(p, text, len);
		p[len] = '\0';
		n->text = p;
		p += tlen;
	}
	memcpy(p, file, flen + 1);
	n->file = p;
	return n;
}

static void node_free(snm_cfg *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n; ++i)
		node_free(n->items[i]);
	free(n->items);
	free(n->key);
	free(n);
}

void snm_cfg_free(snm_cfg *root)
{
	if (root == NULL)
		return;
	assert(root->parent == NULL);
	node_free(root);
}

static int node_append(snm_cfg *parent, snm_cfg *child)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? 2 * parent->cap : 4;
		snm_cfg **items = realloc(parent->items, cap * sizeof *items);
		if (items == NULL)
			return SNM_ENOMEM;
		parent->items = items;
		parent->cap = cap;
	}
	parent->items[parent->n++] = child;
	child->parent = parent;
	return SNM_OK;
}

static char *str_dup(const char *s)
{
	size_t len = strlen(s) + 1;
	char *d = malloc(len);
	if (d)
		memcpy(d, s, len);
	return d;
}

/* Deep copy with keys and marks; the copy's root has no parent and no key.  *count is increased by
 * the number of nodes made (for the parse limit). */
static snm_cfg *node_clone(const snm_cfg *n, size_t *count)
{
	snm_cfg *c = node_new(n->kind, n->text, n->text ? strlen(n->text) : 0, n->file, n->line, n->col);
	if (c == NULL)
		return NULL;
	++*count;
	for (size_t i = 0; i < n->n; ++i) {
		snm_cfg *ci = node_clone(n->items[i], count);
		if (ci && n->items[i]->key) {
			ci->key = str_dup(n->items[i]->key);
			ci->key_line = n->items[i]->key_line;
			ci->key_col = n->items[i]->key_col;
			if (ci->key == NULL) {
				node_free(ci);
				ci = NULL;
			}
		}
		if (ci == NULL || node_append(c, ci) != SNM_OK) {
			node_free(ci);
			node_free(c);
			return NULL;
		}
	}
	return c;
}

static const snm_cfg *map_find(const snm_cfg *map, const char *key, size_t *index)
{
	for (size_t i = 0; i < map->n; ++i)
		if (strcmp(map->items[i]->key, key) == 0) {
			if (index)
				*index = i;
			return map->items[i];
		}
	return NULL;
}

static int is_null_word(const char *s)
{
	return !strcmp(s, "") || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

/* ---- Parsing ------------------------------------------------------------------------------ */

#define TAG_PREFIX "tag:yaml.org,2002:"

typedef struct anchor {
	char *name;
	snm_cfg *node;
} anchor;

typedef struct parse_ctx {
	const char *name;
	const char *text;
	size_t len;
	snm_cfg *root;
	snm_cfg *stack[SNM_CFG_MAX_DEPTH];
	int depth;
	char *key;               /* pending key of the innermost map, waiting for its value */
	int key_line, key_col;
	anchor *anchors;
	size_t n_anchors, cap_anchors;
	size_t n_nodes;
	int n_docs;
	snm_error *err;
} parse_ctx;

static int cfg_fail(parse_ctx *c, int line, int col, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 4, 5)))
#endif
	;

static int cfg_fail(parse_ctx *c, int line, int col, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return SNM_FAIL(c->err, SNM_ECONFIG, "%s:%d:%d: %s", c->name, line, col, msg);
}

static int oom(parse_ctx *c)
{
	return SNM_FAIL(c->err, SNM_ENOMEM, "%s: out of memory while parsing", c->name);
}

/* 1 when tag (NULL: none) is acceptable on a node of the given kind of event. */
static int tag_ok(const char *tag, yaml_event_type_t type)
{
	const char *t;
	if (tag == NULL || !strcmp(tag, "!"))
		return 1;
	if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) != 0)
		return 0;
	t = tag + strlen(TAG_PREFIX);
	switch (type) {
	case YAML_MAPPING_START_EVENT:  return !strcmp(t, "map");
	case YAML_SEQUENCE_START_EVENT: return !strcmp(t, "seq");
	default:
		return !strcmp(t, "str") || !strcmp(t, "int") || !strcmp(t, "float") ||
		       !strcmp(t, "bool") || !strcmp(t, "null");
	}
}

/* A tag as the user wrote it: "!!seq" for the core schema's, verbatim otherwise. */
static const char *short_tag(const char *tag, char *buf, size_t size)
{
	if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) != 0)
		return tag;
	snprintf(buf, size, "!!%s", tag + strlen(TAG_PREFIX));
	return buf;
}

static int add_anchor(parse_ctx *c, const char *name, snm_cfg *node)
{
	if (name == NULL)
		return SNM_OK;
	if (c->n_anchors == c->cap_anchors) {
		size_t cap = c->cap_anchors ? 2 * c->cap_anchors : 8;
		anchor *a = realloc(c->anchors, cap * sizeof *a);
		if (a == NULL)
			return oom(c);
		c->anchors = a;
		c->cap_anchors = cap;
	}
	c->anchors[c->n_anchors].name = str_dup(name);
	if (c->anchors[c->n_anchors].name == NULL)
		return oom(c);
	c->anchors[c->n_anchors++].node = node;
	return SNM_OK;
}

static snm_cfg *find_anchor(const parse_ctx *c, const char *name)
{
	for (size_t i = c->n_anchors; i-- > 0;)   /* the latest definition wins */
		if (!strcmp(c->anchors[i].name, name))
			return c->anchors[i].node;
	return NULL;
}

static int count_node(parse_ctx *c, size_t n, int line, int col)
{
	c->n_nodes += n;
	if (c->n_nodes > SNM_CFG_MAX_NODES)
		return cfg_fail(c, line, col, "more than %d nodes (aliases expanding without end?)",
		                SNM_CFG_MAX_NODES);
	return SNM_OK;
}

/* Attaches a new node where the parser stands: as the root, as the next item of the open sequence,
 * or as the value of the pending key of the open map.  On failure node is freed. */
static int attach(parse_ctx *c, snm_cfg *node)
{
	snm_cfg *top;
	if (c->depth == 0) {
		assert(c->root == NULL);
		c->root = node;
		return SNM_OK;
	}
	top = c->stack[c->depth - 1];
	if (top->kind == SNM_CFG_MAP) {
		assert(c->key != NULL);
		node->key = c->key;
		node->key_line = c->key_line;
		node->key_col = c->key_col;
		c->key = NULL;
	}
	if (node_append(top, node) != SNM_OK) {
		node_free(node);
		return oom(c);
	}
	return SNM_OK;
}

static int in_key_position(const parse_ctx *c)
{
	return c->depth > 0 && c->stack[c->depth - 1]->kind == SNM_CFG_MAP && c->key == NULL;
}

static int take_key(parse_ctx *c, const char *text, int line, int col)
{
	const snm_cfg *map = c->stack[c->depth - 1], *first = map_find(map, text, NULL);
	if (first)
		return cfg_fail(c, line, col, "duplicate key '%.200s' (first at %d:%d)", text,
		                first->key_line, first->key_col);
	c->key = str_dup(text);
	if (c->key == NULL)
		return oom(c);
	c->key_line = line;
	c->key_col = col;
	return SNM_OK;
}

static int on_scalar(parse_ctx *c, const yaml_event_t *e, int line, int col)
{
	const char *text = (const char *)e->data.scalar.value, *tag = (const char *)e->data.scalar.tag;
	size_t len = e->data.scalar.length;
	int kind = SNM_CFG_SCALAR, rc;
	char tb[128];
	snm_cfg *node;
	if (!tag_ok(tag, YAML_SCALAR_EVENT))
		return cfg_fail(c, line, col, "unsupported tag '%.100s' on a scalar",
		                short_tag(tag, tb, sizeof tb));
	if (memchr(text, '\0', len) != NULL)
		return cfg_fail(c, line, col, "a NUL character in a scalar is not supported");
	if (tag && !strcmp(tag, TAG_PREFIX "null"))
		kind = SNM_CFG_NULL;
	else if (tag == NULL && e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && is_null_word(text))
		kind = SNM_CFG_NULL;
	if (in_key_position(c)) {
		if (e->data.scalar.anchor)
			return cfg_fail(c, line, col, "anchors on keys are not supported");
		return take_key(c, text, line, col);
	}
	if ((rc = count_node(c, 1, line, col)) != SNM_OK)
		return rc;
	node = node_new(kind, kind == SNM_CFG_SCALAR ? text : NULL, len, c->name, line, col);
	if (node == NULL)
		return oom(c);
	if ((rc = attach(c, node)) != SNM_OK)
		return rc;
	return add_anchor(c, (const char *)e->data.scalar.anchor, node);
}

static int on_alias(parse_ctx *c, const yaml_event_t *e, int line, int col)
{
	const char *name = (const char *)e->data.alias.anchor;
	snm_cfg *target = find_anchor(c, name), *copy;
	size_t made = 0;
	int rc;
	if (target == NULL)
		return cfg_fail(c, line, col, "alias '*%.100s' names no anchor defined before it", name);
	if (target->open)
		return cfg_fail(c, line, col, "alias '*%.100s' refers to a node that contains it", name);
	if (in_key_position(c)) {
		if (target->kind != SNM_CFG_SCALAR)
			return cfg_fail(c, line, col, "alias '*%.100s' (a key) is not a scalar", name);
		return take_key(c, target->text, line, col);
	}
	copy = node_clone(target, &made);
	if (copy == NULL)
		return oom(c);
	if ((rc = count_node(c, made, line, col)) != SNM_OK) {
		node_free(copy);
		return rc;
	}
	return attach(c, copy);
}

static int on_start(parse_ctx *c, const yaml_event_t *e, int line, int col)
{
	int is_map = e->type == YAML_MAPPING_START_EVENT;
	const yaml_char_t *t = is_map ? e->data.mapping_start.tag : e->data.sequence_start.tag;
	const yaml_char_t *a = is_map ? e->data.mapping_start.anchor : e->data.sequence_start.anchor;
	const char *tag = (const char *)t, *anc = (const char *)a;
	char tb[128];
	snm_cfg *node;
	int rc;
	if (in_key_position(c))
		return cfg_fail(c, line, col, "a %s as a key is not supported (keys are scalars)",
		                is_map ? "mapping" : "sequence");
	if (!tag_ok(tag, e->type))
		return cfg_fail(c, line, col, "unsupported tag '%.100s' on a %s",
		                short_tag(tag, tb, sizeof tb), is_map ? "mapping" : "sequence");
	if (c->depth == SNM_CFG_MAX_DEPTH)
		return cfg_fail(c, line, col, "nesting deeper than %d levels", SNM_CFG_MAX_DEPTH);
	if ((rc = count_node(c, 1, line, col)) != SNM_OK)
		return rc;
	node = node_new(is_map ? SNM_CFG_MAP : SNM_CFG_SEQ, NULL, 0, c->name, line, col);
	if (node == NULL)
		return oom(c);
	if ((rc = attach(c, node)) != SNM_OK)
		return rc;
	node->open = 1;
	c->stack[c->depth++] = node;
	return add_anchor(c, anc, node);
}

/* Line and column (1-based) of byte offset off in the input, for reader errors (libyaml gives
 * those only as an offset). */
static void offset_mark(const parse_ctx *c, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < c->len; ++i) {
		if (c->text[i] == '\n') {
			++*line;
			*col = 1;
		} else if (((unsigned char)c->text[i] & 0xC0) != 0x80) {
			++*col;
		}
	}
}

static int yaml_fail(parse_ctx *c, const yaml_parser_t *p)
{
	int line, col;
	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return oom(c);
	case YAML_READER_ERROR:
		offset_mark(c, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			return cfg_fail(c, line, col, "%s (byte 0x%02x)", p->problem,
			                (unsigned)p->problem_value);
		return cfg_fail(c, line, col, "%s", p->problem ? p->problem : "unreadable input");
	default:
		line = (int)p->problem_mark.line + 1;
		col = (int)p->problem_mark.column + 1;
		if (p->context)
			return cfg_fail(c, line, col, "%s (%s started at %d:%d)",
			                p->problem ? p->problem : "syntax error", p->context,
			                (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
		return cfg_fail(c, line, col, "%s", p->problem ? p->problem : "syntax error");
	}
}

static int parse_events(parse_ctx *c, yaml_parser_t *p)
{
	yaml_event_t e;
	for (;;) {
		int rc = SNM_OK, line, col, done = 0;
		if (!yaml_parser_parse(p, &e))
			return yaml_fail(c, p);
		line = (int)e.start_mark.line + 1;
		col = (int)e.start_mark.column + 1;
		switch (e.type) {
		case YAML_DOCUMENT_START_EVENT:
			if (++c->n_docs > 1)
				rc = cfg_fail(c, line, col, "a second YAML document (a file holds one)");
			break;
		case YAML_SCALAR_EVENT:
			rc = on_scalar(c, &e, line, col);
			break;
		case YAML_ALIAS_EVENT:
			rc = on_alias(c, &e, line, col);
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			rc = on_start(c, &e, line, col);
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			assert(c->depth > 0);
			c->stack[--c->depth]->open = 0;
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&e);
		if (rc != SNM_OK)
			return rc;
		if (done)
			return SNM_OK;
	}
}

int snm_cfg_parse(const char *text, size_t len, const char *name, snm_cfg **out, snm_error *err)
{
	parse_ctx c;
	yaml_parser_t p;
	int rc;
	*out = NULL;
	memset(&c, 0, sizeof c);
	c.name = name ? name : "<string>";
	c.text = text;
	c.len = len;
	c.err = err;
	if (!yaml_parser_initialize(&p))
		return oom(&c);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	rc = parse_events(&c, &p);
	yaml_parser_delete(&p);
	if (rc == SNM_OK && c.root == NULL) {
		c.root = node_new(SNM_CFG_NULL, NULL, 0, c.name, 1, 1);
		if (c.root == NULL)
			rc = oom(&c);
	}
	for (size_t i = 0; i < c.n_anchors; ++i)
		free(c.anchors[i].name);
	free(c.anchors);
	free(c.key);
	if (rc != SNM_OK) {
		node_free(c.root);
		return rc;
	}
	*out = c.root;
	return SNM_OK;
}

static void errno_text(int e, char *buf, size_t size)
{
	if (strerror_r(e, buf, size) != 0)
		snprintf(buf, size, "error %d", e);
}

int snm_cfg_load(const char *path, snm_cfg **out, snm_error *err)
{
	char why[128], *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *f;
	int rc;
	*out = NULL;
	f = fopen(path, "rb");
	if (f == NULL) {
		errno_text(errno, why, sizeof why);
		return SNM_FAIL(err, SNM_EIO, "%s: cannot open: %s", path, why);
	}
	for (;;) {
		size_t got;
		if (len == cap) {
			size_t ncap = cap ? 2 * cap : 4096;
			char *nb = realloc(buf, ncap);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				return SNM_FAIL(err, SNM_ENOMEM, "%s: out of memory", path);
			}
			buf = nb;
			cap = ncap;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
		if (len > (size_t)SNM_CFG_MAX_FILE) {
			free(buf);
			fclose(f);
			return SNM_FAIL(err, SNM_EIO, "%s: larger than %ld MiB, not a pipeline", path,
			                SNM_CFG_MAX_FILE >> 20);
		}
	}
	if (ferror(f)) {
		errno_text(errno, why, sizeof why);
		free(buf);
		fclose(f);
		return SNM_FAIL(err, SNM_EIO, "%s: cannot read: %s", path, why);
	}
	fclose(f);
	rc = snm_cfg_parse(buf, len, path, out, err);
	free(buf);
	return rc;
}

/* ---- Reading nodes ------------------------------------------------------------------------ */

int snm_cfg_kind(const snm_cfg *n) { return n ? n->kind : SNM_CFG_NULL; }

const char *snm_cfg_kind_name(int kind)
{
	switch (kind) {
	case SNM_CFG_SCALAR: return "scalar";
	case SNM_CFG_MAP:    return "mapping";
	case SNM_CFG_SEQ:    return "sequence";
	default:             return "null";
	}
}

const snm_cfg *snm_cfg_get(const snm_cfg *map, const char *key)
{
	if (map == NULL || map->kind != SNM_CFG_MAP || key == NULL)
		return NULL;
	return map_find(map, key, NULL);
}

size_t snm_cfg_len(const snm_cfg *n)
{
	return n && (n->kind == SNM_CFG_MAP || n->kind == SNM_CFG_SEQ) ? n->n : 0;
}

const snm_cfg *snm_cfg_at(const snm_cfg *seq, size_t i)
{
	return seq && seq->kind == SNM_CFG_SEQ && i < seq->n ? seq->items[i] : NULL;
}

const char *snm_cfg_key_at(const snm_cfg *map, size_t i)
{
	return map && map->kind == SNM_CFG_MAP && i < map->n ? map->items[i]->key : NULL;
}

const snm_cfg *snm_cfg_value_at(const snm_cfg *map, size_t i)
{
	return map && map->kind == SNM_CFG_MAP && i < map->n ? map->items[i] : NULL;
}

const char *snm_cfg_text(const snm_cfg *n) { return n ? n->text : NULL; }
const char *snm_cfg_file(const snm_cfg *n) { return n ? n->file : NULL; }
int snm_cfg_line(const snm_cfg *n) { return n ? n->line : 0; }
int snm_cfg_col(const snm_cfg *n) { return n ? n->col : 0; }
const char *snm_cfg_key(const snm_cfg *n) { return n ? n->key : NULL; }
int snm_cfg_key_line(const snm_cfg *n) { return n && n->key ? n->key_line : 0; }
int snm_cfg_key_col(const snm_cfg *n) { return n && n->key ? n->key_col : 0; }
const snm_cfg *snm_cfg_parent(const snm_cfg *n) { return n ? n->parent : NULL; }

/* ---- Typed reads -------------------------------------------------------------------------- */

/* The name of n in messages: its key, or its parent's name with [index] for a sequence item;
 * empty for a root. */
static void node_name(const snm_cfg *n, char *buf, size_t size)
{
	size_t i, len;
	buf[0] = '\0';
	if (n->key) {
		snprintf(buf, size, "%s", n->key);
		return;
	}
	if (n->parent == NULL || n->parent->kind != SNM_CFG_SEQ)
		return;
	node_name(n->parent, buf, size);
	for (i = 0; n->parent->items[i] != n; ++i)
		;
	len = strlen(buf);
	if (len < size)
		snprintf(buf + len, size - len, "[%zu]", i);
}

/* "'text'" for a scalar (cut at 80 bytes), "null", "a mapping", "a sequence". */
static void node_got(const snm_cfg *n, char *buf, size_t size)
{
	switch (n->kind) {
	case SNM_CFG_SCALAR:
		if (strlen(n->text) > 80)
			snprintf(buf, size, "'%.77s...'", n->text);
		else
			snprintf(buf, size, "'%s'", n->text);
		break;
	case SNM_CFG_MAP: snprintf(buf, size, "a mapping"); break;
	case SNM_CFG_SEQ: snprintf(buf, size, "a sequence"); break;
	default:          snprintf(buf, size, "null"); break;
	}
}

/* SNM_ECONFIG "file:L:C: 'name': expected <expected>, got <got>" at n. */
static int bad_value(const snm_cfg *n, snm_error *err, const char *expected)
{
	char name[160], got[96];
	node_name(n, name, sizeof name);
	node_got(n, got, sizeof got);
	if (name[0])
		return SNM_FAIL(err, SNM_ECONFIG, "%s:%d:%d: '%s': expected %s, got %s", n->file,
		                n->line, n->col, name, expected, got);
	return SNM_FAIL(err, SNM_ECONFIG, "%s:%d:%d: expected %s, got %s", n->file, n->line, n->col,
	                expected, got);
}

static int no_value(snm_error *err)
{
	return SNM_FAIL(err, SNM_EINVAL, "no value (NULL node)");
}

/* Text readers shared by node reads and table defaults: 0 ok, 1 bad syntax, 2 out of range. */
static int text_to_int(const char *s, long *out)
{
	const char *p = s;
	char *end;
	long v;
	if (*p == '+' || *p == '-')
		++p;
	if (*p < '0' || *p > '9')
		return 1;
	while (*p >= '0' && *p <= '9')
		++p;
	if (*p != '\0')
		return 1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno == ERANGE)
		return 2;
	*out = v;
	return 0;
}

/* strtod of the whole of s in the "C" locale: 0 ok, 1 bad syntax or not finite, 3 no memory.
 * Only digits, signs, '.' and exponents are accepted (no hex, inf, nan, spaces). */
static int c_strtod(const char *s, double *out)
{
	locale_t c, old;
	char *end;
	double v;
	if (*s == '\0' || strspn(s, "0123456789+-.eE") != strlen(s))
		return 1;
	c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (c == (locale_t)0)
		return 3;
	old = uselocale(c);
	v = strtod(s, &end);
	uselocale(old);
	freelocale(c);
	if (*end != '\0' || end == s || !isfinite(v))
		return 1;
	*out = v;
	return 0;
}

static int lower_eq(const char *a, const char *b)
{
	for (; *a && *b; ++a, ++b) {
		int ca = *a >= 'A' && *a <= 'Z' ? *a - 'A' + 'a' : *a;
		if (ca != *b)
			return 0;
	}
	return *a == *b;
}

static int text_to_bool(const char *s, int *out)
{
	if (lower_eq(s, "true") || lower_eq(s, "yes") || lower_eq(s, "on"))
		*out = 1;
	else if (lower_eq(s, "false") || lower_eq(s, "no") || lower_eq(s, "off"))
		*out = 0;
	else
		return 1;
	return 0;
}

int snm_cfg_to_int(const snm_cfg *n, long *out, snm_error *err)
{
	int rc;
	if (n == NULL)
		return no_value(err);
	if (n->kind != SNM_CFG_SCALAR)
		return bad_value(n, err, "an integer");
	rc = text_to_int(n->text, out);
	if (rc == 1)
		return bad_value(n, err, "an integer");
	if (rc == 2)
		return bad_value(n, err, "an integer that fits in a long");
	return SNM_OK;
}

int snm_cfg_to_double(const snm_cfg *n, double *out, snm_error *err)
{
	int rc;
	if (n == NULL)
		return no_value(err);
	if (n->kind != SNM_CFG_SCALAR)
		return bad_value(n, err, "a number");
	rc = c_strtod(n->text, out);
	if (rc == 3)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory (C locale)");
	if (rc != 0)
		return bad_value(n, err, "a finite number");
	return SNM_OK;
}

int snm_cfg_to_bool(const snm_cfg *n, int *out, snm_error *err)
{
	if (n == NULL)
		return no_value(err);
	if (n->kind != SNM_CFG_SCALAR || text_to_bool(n->text, out) != 0)
		return bad_value(n, err, "true or false");
	return SNM_OK;
}

int snm_cfg_to_str(const snm_cfg *n, const char **out, snm_error *err)
{
	if (n == NULL)
		return no_value(err);
	if (n->kind != SNM_CFG_SCALAR)
		return bad_value(n, err, "a string");
	*out = n->text;
	return SNM_OK;
}

/* ---- Option tables ------------------------------------------------------------------------ */

typedef struct range {
	double lo, hi;
	int lo_in, hi_in;   /* bound included */
} range;

static int bound(const char *s, size_t len, double *out)
{
	char buf[64];
	if (len == 0 || len >= sizeof buf)
		return 1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (!strcmp(buf, "inf") || !strcmp(buf, "+inf")) {
		*out = HUGE_VAL;
		return 0;
	}
	if (!strcmp(buf, "-inf")) {
		*out = -HUGE_VAL;
		return 0;
	}
	return c_strtod(buf, out);
}

/* "[a, b]", "(a, b)", "[a, inf)" ...: 0 ok, nonzero unreadable. */
static int parse_range(const char *s, range *r)
{
	const char *a, *comma, *b;
	size_t n;
	while (*s == ' ')
		++s;
	if (*s != '[' && *s != '(')
		return 1;
	r->lo_in = *s++ == '[';
	comma = strchr(s, ',');
	if (comma == NULL)
		return 1;
	for (a = s; *a == ' '; ++a)
		;
	for (n = (size_t)(comma - a); n > 0 && a[n - 1] == ' '; --n)
		;
	if (bound(a, n, &r->lo) != 0)
		return 1;
	for (b = comma + 1; *b == ' '; ++b)
		;
	for (n = 0; b[n] && b[n] != ']' && b[n] != ')'; ++n)
		;
	if (b[n] == '\0')
		return 1;
	r->hi_in = b[n] == ']';
	s = b + n + 1;
	while (n > 0 && b[n - 1] == ' ')
		--n;
	if (bound(b, n, &r->hi) != 0)
		return 1;
	while (*s == ' ')
		++s;
	return *s != '\0' || r->lo > r->hi;
}

static int in_range(const range *r, double v)
{
	return (r->lo_in ? v >= r->lo : v > r->lo) && (r->hi_in ? v <= r->hi : v < r->hi);
}

/* 1 when word is one of the '|'-separated choices. */
static int is_choice(const char *choices, const char *word)
{
	size_t len = strlen(word);
	for (const char *p = choices;;) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);
		if (n == len && strncmp(p, word, len) == 0)
			return 1;
		if (bar == NULL)
			return 0;
		p = bar + 1;
	}
}

/* Checks one option text against its entry's type, choices and range, without a node (table
 * defaults): NULL when fine, else the reason ("is not an integer"). */
static const char *check_text(const snm_option *o, const char *s)
{
	long l;
	double d;
	int b;
	range r;
	switch (o->type) {
	case SNM_OPT_INT:
		if (text_to_int(s, &l) != 0)
			return "is not an integer";
		d = (double)l;
		break;
	case SNM_OPT_DOUBLE:
		if (c_strtod(s, &d) != 0)
			return "is not a finite number";
		break;
	case SNM_OPT_BOOL:
		return text_to_bool(s, &b) != 0 ? "is not true or false" : NULL;
	case SNM_OPT_CHOICE:
		return is_choice(o->choices, s) ? NULL : "is not among the choices";
	default:
		return NULL;
	}
	if (o->range && parse_range(o->range, &r) == 0 && !in_range(&r, d))
		return "is outside the range";
	return NULL;
}

/* SNM_EINVAL "option table of <what>: 'name': <message>". */
static int table_fail(snm_error *err, const char *what, const char *name, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 4, 5)))
#endif
	;

static int table_fail(snm_error *err, const char *what, const char *name, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return SNM_FAIL(err, SNM_EINVAL, "option table of %.100s: '%.60s': %.300s", what, name, msg);
}

/* 1 when a CHOICE entry's choices are well formed: non-empty words separated by single bars. */
static int choices_ok(const char *c)
{
	return c && c[0] != '\0' && c[0] != '|' && c[strlen(c) - 1] != '|' && !strstr(c, "||");
}

/* Checks the table itself (programmer errors): SNM_EINVAL naming the option. */
static int check_table(const snm_option *opts, const char *what, snm_error *err)
{
	const char *why;
	range r;
	if (opts == NULL)
		return SNM_FAIL(err, SNM_EINVAL, "option table of %s: NULL table", what);
	for (const snm_option *o = opts; o->name; ++o) {
		for (const snm_option *q = opts; q != o; ++q)
			if (!strcmp(q->name, o->name))
				return table_fail(err, what, o->name, "listed twice");
		if (o->name[0] == '\0')
			return table_fail(err, what, o->name, "an empty name");
		if (o->type < SNM_OPT_INT || o->type > SNM_OPT_NODE)
			return table_fail(err, what, o->name, "no valid type (%d)", o->type);
		if (o->type == SNM_OPT_CHOICE && !choices_ok(o->choices))
			return table_fail(err, what, o->name, "needs choices like \"a|b\", has '%s'",
			                  o->choices ? o->choices : "(null)");
		if (o->type != SNM_OPT_CHOICE && o->choices)
			return table_fail(err, what, o->name, "has choices but is no CHOICE");
		if (o->range && o->type != SNM_OPT_INT && o->type != SNM_OPT_DOUBLE)
			return table_fail(err, what, o->name, "has a range but is not a number");
		if (o->range && parse_range(o->range, &r) != 0)
			return table_fail(err, what, o->name, "unreadable range '%s' (write e.g. \"[0, 1)\""
			                  " or \"(0, inf)\")", o->range);
		if (o->def == NULL)
			continue;
		if (o->type == SNM_OPT_NODE) {
			snm_cfg *t;
			snm_error e;
			if (snm_cfg_parse(o->def, strlen(o->def), "<default>", &t, &e) != SNM_OK)
				return table_fail(err, what, o->name, "default: %s", e.msg);
			snm_cfg_free(t);
		} else if ((why = check_text(o, o->def)) != NULL) {
			return table_fail(err, what, o->name, "default '%s' %s", o->def, why);
		}
	}
	return SNM_OK;
}

/* Checks a present value against its entry: type, then choices and range. */
static int check_value(const snm_cfg *v, const snm_option *o, snm_error *err)
{
	char expected[200];
	double d = 0;
	long l;
	int b, rc;
	range r;
	switch (o->type) {
	case SNM_OPT_INT:
		if ((rc = snm_cfg_to_int(v, &l, err)) != SNM_OK)
			return rc;
		d = (double)l;
		break;
	case SNM_OPT_DOUBLE:
		if ((rc = snm_cfg_to_double(v, &d, err)) != SNM_OK)
			return rc;
		break;
	case SNM_OPT_BOOL:
		return snm_cfg_to_bool(v, &b, err);
	case SNM_OPT_STRING:
		if (v->kind != SNM_CFG_SCALAR)
			return bad_value(v, err, "a string");
		return SNM_OK;
	case SNM_OPT_CHOICE:
		if (v->kind != SNM_CFG_SCALAR || !is_choice(o->choices, v->text)) {
			snprintf(expected, sizeof expected, "one of %s", o->choices);
			return bad_value(v, err, expected);
		}
		return SNM_OK;
	default:
		return SNM_OK;
	}
	if (o->range && parse_range(o->range, &r) == 0 && !in_range(&r, d)) {
		snprintf(expected, sizeof expected, "%s in %s",
		         o->type == SNM_OPT_INT ? "an integer" : "a number", o->range);
		return bad_value(v, err, expected);
	}
	return SNM_OK;
}

/* Levenshtein distance of two short strings (each cut at 63 bytes). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t m = strlen(a), n = strlen(b), row[64];
	if (m > 63) m = 63;
	if (n > 63) n = 63;
	for (size_t j = 0; j <= n; ++j)
		row[j] = j;
	for (size_t i = 1; i <= m; ++i) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= n; ++j) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best) best = up + 1;
			if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[n];
}

static int unknown_key(const snm_cfg *v, const snm_option *opts, const char *what, snm_error *err)
{
	char known[320] = "none", hint[120] = "";
	size_t len = 0, best = 3;
	const char *near = NULL;
	for (const snm_option *o = opts; o->name; ++o) {
		size_t d = edit_distance(v->key, o->name);
		if (d < best && d < strlen(v->key)) {
			best = d;
			near = o->name;
		}
	}
	for (const snm_option *o = opts; o->name; ++o) {
		if (len + strlen(o->name) + 8 >= sizeof known) {
			snprintf(known + len, sizeof known - len, ", ...");
			break;
		}
		len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", len ? ", " : "",
		                        o->name);
	}
	if (near)
		snprintf(hint, sizeof hint, ", did you mean '%s'?", near);
	return SNM_FAIL(err, SNM_ECONFIG, "%s:%d:%d: unknown key '%.100s' in %.80s%s (known: %s)",
	                v->file, v->key_line, v->key_col, v->key, what, hint, known);
}

int snm_cfg_check(const snm_cfg *map, const snm_option *opts, const char *what, snm_error *err)
{
	const snm_option *o;
	char got[96];
	int rc;
	if (what == NULL)
		what = "this section";
	if ((rc = check_table(opts, what, err)) != SNM_OK)
		return rc;
	if (map && map->kind != SNM_CFG_MAP && map->kind != SNM_CFG_NULL) {
		node_got(map, got, sizeof got);
		return SNM_FAIL(err, SNM_ECONFIG, "%s:%d:%d: expected a mapping for %s, got %s",
		                map->file, map->line, map->col, what, got);
	}
	for (size_t i = 0; map && i < map->n; ++i) {
		const snm_cfg *v = map->items[i];
		o = snm_cfg_option_find(opts, v->key);
		if (o == NULL)
			return unknown_key(v, opts, what, err);
		if ((rc = check_value(v, o, err)) != SNM_OK)
			return rc;
	}
	for (o = opts; o->name; ++o) {
		if (o->def != NULL || (map && map->kind == SNM_CFG_MAP && map_find(map, o->name, NULL)))
			continue;
		if (map)
			return SNM_FAIL(err, SNM_ECONFIG, "%s:%d:%d: missing required key '%s' in %s",
			                map->file, map->line, map->col, o->name, what);
		return SNM_FAIL(err, SNM_ECONFIG, "missing required key '%s' in %s", o->name, what);
	}
	return SNM_OK;
}

const snm_option *snm_cfg_option_find(const snm_option *opts, const char *name)
{
	if (opts == NULL || name == NULL)
		return NULL;
	for (const snm_option *o = opts; o->name; ++o)
		if (!strcmp(o->name, name))
			return o;
	return NULL;
}

/* The entry for name with one of the two types, and the present value (or NULL): the start of
 * every opt getter.  Returns 0 or an error. */
static int opt_lookup(const snm_cfg *map, const snm_option *opts, const char *name, int type,
                      int type2, const snm_option **opt, const snm_cfg **value, snm_error *err)
{
	const snm_option *o = snm_cfg_option_find(opts, name);
	const char *why;
	char got[96];
	if (o == NULL)
		return SNM_FAIL(err, SNM_EINVAL, "no option '%s' in the option table",
		                name ? name : "(null)");
	if (o->type != type && o->type != type2)
		return SNM_FAIL(err, SNM_EINVAL, "option '%s' read with a getter of another type", name);
	*opt = o;
	*value = NULL;
	if (map && map->kind != SNM_CFG_MAP && map->kind != SNM_CFG_NULL) {
		node_got(map, got, sizeof got);
		return SNM_FAIL(err, SNM_ECONFIG, "%s:%d:%d: expected a mapping, got %s", map->file,
		                map->line, map->col, got);
	}
	if (map && map->kind == SNM_CFG_MAP)
		*value = map_find(map, name, NULL);
	if (*value)
		return check_value(*value, o, err);
	if (o->def == NULL) {
		if (map)
			return SNM_FAIL(err, SNM_ECONFIG, "%s:%d:%d: missing required key '%s'", map->file,
			                map->line, map->col, name);
		return SNM_FAIL(err, SNM_ECONFIG, "missing required key '%s'", name);
	}
	if ((why = check_text(o, o->def)) != NULL)
		return SNM_FAIL(err, SNM_EINVAL, "default '%s' of option '%s' %s", o->def, name, why);
	return SNM_OK;
}

int snm_cfg_opt_int(const snm_cfg *map, const snm_option *opts, const char *name, long *out,
                    snm_error *err)
{
	const snm_option *o;
	const snm_cfg *v;
	int rc = opt_lookup(map, opts, name, SNM_OPT_INT, SNM_OPT_INT, &o, &v, err);
	if (rc != SNM_OK)
		return rc;
	if (v)
		return snm_cfg_to_int(v, out, err);
	text_to_int(o->def, out);
	return SNM_OK;
}

int snm_cfg_opt_double(const snm_cfg *map, const snm_option *opts, const char *name, double *out,
                       snm_error *err)
{
	const snm_option *o;
	const snm_cfg *v;
	int rc = opt_lookup(map, opts, name, SNM_OPT_DOUBLE, SNM_OPT_DOUBLE, &o, &v, err);
	if (rc != SNM_OK)
		return rc;
	if (v)
		return snm_cfg_to_double(v, out, err);
	if (c_strtod(o->def, out) != 0)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory (C locale)");
	return SNM_OK;
}

int snm_cfg_opt_bool(const snm_cfg *map, const snm_option *opts, const char *name, int *out,
                     snm_error *err)
{
	const snm_option *o;
	const snm_cfg *v;
	int rc = opt_lookup(map, opts, name, SNM_OPT_BOOL, SNM_OPT_BOOL, &o, &v, err);
	if (rc != SNM_OK)
		return rc;
	if (v)
		return snm_cfg_to_bool(v, out, err);
	text_to_bool(o->def, out);
	return SNM_OK;
}

int snm_cfg_opt_str(const snm_cfg *map, const snm_option *opts, const char *name, const char **out,
                    snm_error *err)
{
	const snm_option *o;
	const snm_cfg *v;
	int rc = opt_lookup(map, opts, name, SNM_OPT_STRING, SNM_OPT_CHOICE, &o, &v, err);
	if (rc != SNM_OK)
		return rc;
	*out = v ? v->text : o->def;
	return SNM_OK;
}

const snm_cfg *snm_cfg_opt_node(const snm_cfg *map, const snm_option *opts, const char *name)
{
	const snm_option *o = snm_cfg_option_find(opts, name);
	if (o == NULL || o->type != SNM_OPT_NODE)
		return NULL;
	return snm_cfg_get(map, name);
}

int snm_cfg_error(snm_error *err, int code, const snm_cfg *n, const char *src_file, int src_line,
                  const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n == NULL || n->file == NULL || n->line <= 0)   /* a node built in memory has no mark */
		return snm_error_set(err, code, src_file, src_line, "%s", msg);
	return snm_error_set(err, code, src_file, src_line, "%s:%d:%d: %.400s", n->file, n->line, n->col,
	                     msg);
}

/* ---- Canonical text and hash -------------------------------------------------------------- */

#define FNV_BASIS UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)

typedef struct sink {
	FILE *f;          /* or NULL */
	char *buf;        /* or NULL */
	size_t size;      /* of buf */
	size_t len;       /* bytes of text so far (also past size) */
	uint64_t hash;
	int failed;       /* a write to f failed */
} sink;

static void put(sink *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n; ++i) {
		s->hash ^= (unsigned char)p[i];
		s->hash *= FNV_PRIME;
	}
	if (s->buf && s->len + 1 < s->size) {
		size_t room = s->size - 1 - s->len;
		memcpy(s->buf + s->len, p, n < room ? n : room);
	}
	if (s->f && !s->failed && n > 0 && fwrite(p, 1, n, s->f) != n)
		s->failed = 1;
	s->len += n;
}

static void puts_(sink *s, const char *p) { put(s, p, strlen(p)); }

/* Plain when the text reads back as the same scalar in any position of flow YAML: a conservative
 * character set, no null words, no document markers, not a lone '-'. */
static int plain_ok(const char *t)
{
	if (is_null_word(t) || !strcmp(t, "-") || !strncmp(t, "---", 3) || !strncmp(t, "...", 3))
		return 0;
	for (const char *p = t; *p; ++p) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '/' || c == '+' || c == '-'))
			return 0;
	}
	return 1;
}

static void put_scalar(sink *s, const char *t)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)t;
	if (plain_ok(t)) {
		puts_(s, t);
		return;
	}
	put(s, "\"", 1);
	for (; *p; ++p) {
		char esc[8] = { '\\', 0, 0, 0, 0, 0, 0, 0 };
		if (*p == '"' || *p == '\\')
			esc[1] = (char)*p;
		else if (*p == '\n')
			esc[1] = 'n';
		else if (*p == '\t')
			esc[1] = 't';
		else if (*p == '\r')
			esc[1] = 'r';
		else if (*p < 0x20 || *p == 0x7f) {
			esc[1] = 'x';
			esc[2] = hex[*p >> 4];
			esc[3] = hex[*p & 15];
		} else if (p[0] == 0xc2 && p[1] == 0x85) {   /* U+0085 NEL: a line break to YAML */
			esc[1] = 'N';
			++p;
		} else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* the other C1 controls, U+0080..U+009F: not printable, so YAML refuses them raw */
			esc[1] = 'x';
			esc[2] = hex[p[1] >> 4];
			esc[3] = hex[p[1] & 15];
			++p;
		} else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
			esc[1] = p[2] == 0xa8 ? 'L' : 'P';   /* U+2028, U+2029 */
			p += 2;
		} else if (p[0] == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf)) {
			memcpy(esc + 1, p[2] == 0xbe ? "uFFFE" : "uFFFF", 5);   /* not printable either */
			p += 2;
		} else {
			put(s, (const char *)p, 1);
			continue;
		}
		puts_(s, esc);
	}
	put(s, "\"", 1);
}

static void put_node(sink *s, const snm_cfg *n)
{
	switch (n ? n->kind : SNM_CFG_NULL) {
	case SNM_CFG_SCALAR:
		put_scalar(s, n->text);
		break;
	case SNM_CFG_MAP:
		put(s, "{", 1);
		for (size_t i = 0; i < n->n; ++i) {
			if (i)
				put(s, ", ", 2);
			put_scalar(s, n->items[i]->key);
			put(s, ": ", 2);
			put_node(s, n->items[i]);
		}
		put(s, "}", 1);
		break;
	case SNM_CFG_SEQ:
		put(s, "[", 1);
		for (size_t i = 0; i < n->n; ++i) {
			if (i)
				put(s, ", ", 2);
			put_node(s, n->items[i]);
		}
		put(s, "]", 1);
		break;
	default:
		put(s, "null", 4);
		break;
	}
}

int snm_cfg_dump(const snm_cfg *n, FILE *f, snm_error *err)
{
	sink s = { .f = f, .hash = FNV_BASIS };
	put_node(&s, n);
	if (s.failed || ferror(f)) {
		char why[128];
		errno_text(errno, why, sizeof why);
		return SNM_FAIL(err, SNM_EIO, "cannot write the configuration: %s", why);
	}
	return SNM_OK;
}

size_t snm_cfg_dump_str(const snm_cfg *n, char *buf, size_t size)
{
	sink s = { .buf = buf, .size = size, .hash = FNV_BASIS };
	put_node(&s, n);
	if (buf && size > 0)
		buf[s.len < size ? s.len : size - 1] = '\0';
	return s.len;
}

char *snm_cfg_dump_alloc(const snm_cfg *n, snm_error *err)
{
	size_t len = snm_cfg_dump_str(n, NULL, 0);
	char *buf = malloc(len + 1);
	if (buf == NULL) {
		SNM_FAIL(err, SNM_ENOMEM, "out of memory for a %zu-byte configuration text", len);
		return NULL;
	}
	snm_cfg_dump_str(n, buf, len + 1);
	return buf;
}

uint64_t snm_cfg_hash(const snm_cfg *n)
{
	sink s = { .hash = FNV_BASIS };
	put_node(&s, n);
	return s.hash;
}

/* ---- Building trees ----------------------------------------------------------------------- */

snm_cfg *snm_cfg_dup(const snm_cfg *n, snm_error *err)
{
	size_t count = 0;
	snm_cfg *c;
	if (n == NULL)
		return NULL;
	c = node_clone(n, &count);
	if (c == NULL)
		SNM_FAIL(err, SNM_ENOMEM, "out of memory copying a configuration");
	return c;
}

snm_cfg *snm_cfg_new(int kind, const char *text, const char *file, int line, int col,
                     snm_error *err)
{
	snm_cfg *n;
	if (kind < SNM_CFG_NULL || kind > SNM_CFG_SEQ || (kind == SNM_CFG_SCALAR) != (text != NULL)) {
		SNM_FAIL(err, SNM_EINVAL, "snm_cfg_new: a %s %s text", snm_cfg_kind_name(kind),
		         text ? "takes no" : "needs a");
		return NULL;
	}
	n = node_new(kind, text, text ? strlen(text) : 0, file ? file : "<built>", line, col);
	if (n == NULL)
		SNM_FAIL(err, SNM_ENOMEM, "out of memory for a configuration node");
	return n;
}

/* 0 when value may be attached under parent: a root that is not parent or one of its ancestors. */
static int attachable(const snm_cfg *parent, const snm_cfg *value, int kind, snm_error *err)
{
	if (parent == NULL || parent->kind != kind || value == NULL)
		return SNM_FAIL(err, SNM_EINVAL, "attaching to a %s: not a %s, or no value",
		                parent ? snm_cfg_kind_name(parent->kind) : "NULL",
		                snm_cfg_kind_name(kind));
	if (value->parent != NULL)
		return SNM_FAIL(err, SNM_EINVAL, "attaching a node that already has a parent");
	for (const snm_cfg *p = parent; p; p = p->parent)
		if (p == value)
			return SNM_FAIL(err, SNM_EINVAL, "attaching a node under itself");
	return SNM_OK;
}

int snm_cfg_map_set(snm_cfg *map, const char *key, snm_cfg *value, snm_error *err)
{
	size_t i;
	snm_cfg *old;
	char *k;
	int rc = attachable(map, value, SNM_CFG_MAP, err);
	if (rc != SNM_OK)
		return rc;
	if (key == NULL)
		return SNM_FAIL(err, SNM_EINVAL, "snm_cfg_map_set: NULL key");
	k = str_dup(key);
	if (k == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory for a configuration key");
	if ((old = (snm_cfg *)map_find(map, key, &i)) != NULL) {
		value->key = k;
		value->key_line = old->key_line;
		value->key_col = old->key_col;
		value->parent = map;
		map->items[i] = value;
		old->parent = NULL;
		node_free(old);
		return SNM_OK;
	}
	if (node_append(map, value) != SNM_OK) {
		free(k);
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory for a configuration key");
	}
	value->key = k;
	value->key_line = value->line;
	value->key_col = value->col;
	return SNM_OK;
}

int snm_cfg_seq_push(snm_cfg *seq, snm_cfg *value, snm_error *err)
{
	int rc = attachable(seq, value, SNM_CFG_SEQ, err);
	if (rc != SNM_OK)
		return rc;
	if (node_append(seq, value) != SNM_OK)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory for a configuration item");
	return SNM_OK;
}
