/* snm/config.h: the YAML configuration tree and option tables.
 *
 * A pipeline file, and every section a plugin reads from it, is parsed with libyaml into a tree of
 * snm_cfg nodes.  Every node remembers the file it came from and the 1-based line and column where
 * it starts, so that any later complaint about it ("unknown key", "expected a number") can point
 * at the exact spot: every error message of this module begins "file:line:col: ".
 *
 * Node kinds:
 *   SNM_CFG_NULL    a plain `~`, `null`, `Null`, `NULL`, an empty value (`key:`), an empty
 *                   document, or a scalar tagged `!!null`.  A quoted "null" is a scalar.
 *   SNM_CFG_SCALAR  any other scalar: its text, exactly as YAML reads it (quotes and escapes
 *                   resolved).  A scalar has no type of its own: "0.1" is a number only to the
 *                   snm_cfg_to_double() that reads it.
 *   SNM_CFG_MAP     ordered (key, value) pairs.  Keys are scalars, unique within one map; each
 *                   value node remembers its key and the key's own line and column.
 *   SNM_CFG_SEQ     ordered items.
 * Aliases (`*a`) are resolved at parse time into a deep copy of the anchored node, which keeps
 * the anchored node's marks (they point at the text the values were read from).  Merge keys
 * (`<<`) are not interpreted: `<<` is an ordinary key.  Tags other than the YAML core ones
 * (!!str, !!int, !!float, !!bool, !!null, !!map, !!seq) are rejected.
 *
 * Ownership: a tree is one root (what snm_cfg_load, snm_cfg_parse, snm_cfg_dup and snm_cfg_new
 * return) and everything under it.  The root owns every node, string and file name in it;
 * snm_cfg_free(root) releases all of it and every pointer obtained from the tree becomes invalid.
 * Accessors return borrowed pointers.  Trees hold no global state; distinct trees may be used from
 * distinct threads, and one tree may be read (not modified) from several threads at once.
 *
 * Option tables: plugins and pipeline sections declare the keys they accept as an snm_option
 * array.  snm_cfg_check() validates a whole section against its table before any training starts
 * (unknown keys, types, choices, ranges, required keys), and the snm_cfg_opt_* getters return the
 * value given in the file or the table's default.
 *
 * Canonical form: snm_cfg_dump() writes a tree as one line of flow YAML ({k: v, k2: [a, b]}),
 * keys in their order, scalars plain when that reads back the same and double-quoted otherwise.
 * It depends only on kinds, keys and scalar texts, never on comments, layout or quoting style, and
 * it parses back to an equal tree.  snm_cfg_hash() is the 64-bit FNV-1a hash of that text, so a
 * recorded config text and its recorded hash can be checked against each other without snm.
 * Scalars compare by text: `lr: 0.1` and `lr: "0.1"` hash equal, `lr: 0.10` does not. */
#ifndef SNM_CONFIG_H
#define SNM_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "snm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct snm_cfg snm_cfg;

enum { SNM_CFG_NULL = 0, SNM_CFG_SCALAR, SNM_CFG_MAP, SNM_CFG_SEQ };

/* Parse limits: deeper nesting, or more nodes (aliases count every copy), is an SNM_ECONFIG
 * error, so a hostile file cannot exhaust the stack or memory ("billion laughs"). */
#define SNM_CFG_MAX_DEPTH 64
#define SNM_CFG_MAX_NODES 1000000
/* snm_cfg_load reads at most this many bytes: a larger file (or /dev/zero) is an SNM_EIO error. */
#define SNM_CFG_MAX_FILE (16L << 20)

/* ---- Loading ---------------------------------------------------------------------------- */

/* Reads and parses the YAML file at path into *out (a new tree the caller frees with
 * snm_cfg_free).  Node marks name `path` exactly as given.  Errors, with *out left NULL:
 *   SNM_EIO      "path: cannot open: <reason>" / "path: cannot read: <reason>" / "path: larger
 *                than 16 MiB, not a pipeline" (SNM_CFG_MAX_FILE)
 *   SNM_ECONFIG  "path:line:col: <what is wrong>": a YAML syntax error (libyaml's problem and
 *                its context), a duplicate key (at the second one), a non-scalar key, an
 *                unknown tag, an anchor on a key, an alias to an undefined anchor or to a node
 *                that contains it, a NUL character in a scalar, more than one document, or a
 *                parse limit above.
 *   SNM_ENOMEM
 * A file with no document (empty, or only comments) gives a NULL-kind root at 1:1. */
int snm_cfg_load(const char *path, snm_cfg **out, snm_error *err);

/* Like snm_cfg_load, from the len bytes at text (need not be NUL-terminated).  name stands for
 * the file in marks and messages ("<string>" when NULL). */
int snm_cfg_parse(const char *text, size_t len, const char *name, snm_cfg **out, snm_error *err);

/* Frees a tree from its root.  NULL is a no-op.  Must not be given a node that has a parent. */
void snm_cfg_free(snm_cfg *root);

/* ---- Reading nodes ---------------------------------------------------------------------- *
 * Every accessor accepts NULL and then answers as for an absent node: kind SNM_CFG_NULL, length
 * 0, NULL pointers, line and column 0. */

int snm_cfg_kind(const snm_cfg *n);

/* "null", "scalar", "mapping" or "sequence", for messages. */
const char *snm_cfg_kind_name(int kind);

/* The value under key in a map, or NULL when the key is absent or n is not a map. */
const snm_cfg *snm_cfg_get(const snm_cfg *map, const char *key);

/* Number of pairs of a map or items of a sequence; 0 for any other node. */
size_t snm_cfg_len(const snm_cfg *n);

/* Item i of a sequence, NULL when n is not a sequence or i >= snm_cfg_len(n). */
const snm_cfg *snm_cfg_at(const snm_cfg *seq, size_t i);

/* Key text and value of pair i of a map (file order), NULL when n is not a map or i is out of
 * range. */
const char *snm_cfg_key_at(const snm_cfg *map, size_t i);
const snm_cfg *snm_cfg_value_at(const snm_cfg *map, size_t i);

/* Text of a scalar (NUL-terminated, never containing NUL); NULL for any other kind. */
const char *snm_cfg_text(const snm_cfg *n);

/* Where the node starts: the file name given to load/parse, 1-based line and column. */
const char *snm_cfg_file(const snm_cfg *n);
int snm_cfg_line(const snm_cfg *n);
int snm_cfg_col(const snm_cfg *n);

/* The key under which n sits in its parent map, and where that key is written; NULL and 0 when n
 * is not a map value. */
const char *snm_cfg_key(const snm_cfg *n);
int snm_cfg_key_line(const snm_cfg *n);
int snm_cfg_key_col(const snm_cfg *n);

/* The map or sequence that holds n; NULL for a root. */
const snm_cfg *snm_cfg_parent(const snm_cfg *n);

/* ---- Typed reads -------------------------------------------------------------------------- *
 * Each reads one node and, on failure, returns SNM_ECONFIG with a one-line message at the node's
 * mark naming the key when there is one ('lr', or 'layers[2]' for a sequence item):
 *   "pipe.yaml:7:9: 'lr': expected a number, got 'abc'"
 * A NULL node is SNM_EINVAL ("no value").  *out is written only on success. */

/* Decimal integer, optional sign, no spaces, fractions, exponents or other bases; out of the
 * range of long is an error. */
int snm_cfg_to_int(const snm_cfg *n, long *out, snm_error *err);

/* A finite decimal number, the whole text read by strtod in the "C" locale whatever the
 * process's locale (no hexadecimal, inf or nan); integers are accepted. */
int snm_cfg_to_double(const snm_cfg *n, double *out, snm_error *err);

/* true/false, yes/no, on/off, any case.  *out is 1 or 0. */
int snm_cfg_to_bool(const snm_cfg *n, int *out, snm_error *err);

/* Any scalar's text ("123" included); null, maps and sequences are errors.  *out is owned by the
 * tree. */
int snm_cfg_to_str(const snm_cfg *n, const char **out, snm_error *err);

/* ---- Option tables ------------------------------------------------------------------------ */

enum {
	SNM_OPT_INT = 1,  /* snm_cfg_to_int */
	SNM_OPT_DOUBLE,   /* snm_cfg_to_double */
	SNM_OPT_BOOL,     /* snm_cfg_to_bool */
	SNM_OPT_STRING,   /* any scalar */
	SNM_OPT_CHOICE,   /* one of the '|'-separated words in `choices` (exact match) */
	SNM_OPT_NODE      /* any YAML; the caller reads it (snm_cfg_opt_node) */
};

/* One accepted key.  A table is an array ending with an entry whose name is NULL, written out as
 * { NULL, 0, NULL, NULL, NULL, NULL } (a bare { NULL } draws clang's -Wmissing-field-initializers).
 * Tables are usually static const arrays in the plugin or module that reads the section. */
typedef struct snm_option {
	const char *name;     /* the key */
	int type;             /* SNM_OPT_* */
	const char *def;      /* default, as the scalar text one would write unquoted ("0.001",
	                       * "adam", "true", "" for an empty string); for SNM_OPT_NODE a YAML
	                       * text.  NULL: the key is required. */
	const char *choices;  /* SNM_OPT_CHOICE: "adam|sgd"; NULL otherwise */
	const char *help;     /* one line for `snm help` listings; may be NULL */
	const char *range;    /* SNM_OPT_INT/DOUBLE: allowed interval, "[0, 1]", "(0, inf)",
	                       * "[1, inf)" (inf/-inf for an open end); NULL: no limit */
} snm_option;

/* Validates a section against its option table, before anything uses it.
 *   map   the section: a map, a NULL-kind node (`model:` with nothing after it), or NULL (section
 *         absent); the last two mean "all defaults".
 *   what  names the section in messages ("noise 'semantic'", "train").
 * First the table itself: a table entry with no valid type, a CHOICE without choices, a default
 * that does not read as its type, is not among the choices or outside the range, an unreadable
 * range, or a name given twice, is a programmer error: SNM_EINVAL naming the option.  Then the
 * map, in file order, stopping at the first error (SNM_ECONFIG):
 *   "f:L:C: unknown key 'lr' in what (known: a, b, c)"   at the key; when one known name is within
 *        two edits it is proposed: "unknown key 'lrr' in what, did you mean 'lr'? (known: ...)"
 *   "f:L:C: expected a mapping for what, got a sequence" at the node
 *   the typed-read messages above for values that do not read as their type, plus
 *   "f:L:C: 'opt': expected one of a|b, got 'c'" and "expected a number in (0, inf), got '0'"
 *   "f:L:C: missing required key 'x' in what"        at the map (no position when map is NULL)
 * Returns 0 when every key is known and every value valid. */
int snm_cfg_check(const snm_cfg *map, const snm_option *opts, const char *what, snm_error *err);

/* Value of option `name` of the table: the map's value when the key is present, else the
 * table's default.  `map` is as for snm_cfg_check.  Each getter serves one type: opt_int
 * SNM_OPT_INT, opt_double SNM_OPT_DOUBLE, opt_bool SNM_OPT_BOOL, opt_str SNM_OPT_STRING and
 * SNM_OPT_CHOICE (its *out is owned by the tree, or is the table's `def` itself).  Errors:
 * SNM_EINVAL when name is not in the table or has another type, or the default is bad;
 * SNM_ECONFIG as snm_cfg_check for this one value, and "f:L:C: missing required key 'x'" (at the
 * map) for a required option that is absent.  *out is written only on success.  Call
 * snm_cfg_check first: it reports every problem of a section in the user's terms. */
int snm_cfg_opt_int(const snm_cfg *map, const snm_option *opts, const char *name, long *out,
                    snm_error *err);
int snm_cfg_opt_double(const snm_cfg *map, const snm_option *opts, const char *name, double *out,
                       snm_error *err);
int snm_cfg_opt_bool(const snm_cfg *map, const snm_option *opts, const char *name, int *out,
                     snm_error *err);
int snm_cfg_opt_str(const snm_cfg *map, const snm_option *opts, const char *name, const char **out,
                    snm_error *err);

/* The node given for SNM_OPT_NODE option `name`, or NULL when the key is absent (the caller then
 * parses opts[].def itself with snm_cfg_parse, if it has one).  NULL also when name is not a
 * NODE option of the table (a programmer error; snm_cfg_check catches unknown keys). */
const snm_cfg *snm_cfg_opt_node(const snm_cfg *map, const snm_option *opts, const char *name);

/* The entry of the table named name, NULL when there is none. */
const snm_option *snm_cfg_option_find(const snm_option *opts, const char *name);

/* Fills err with code and "file:line:col: <message>" at n's mark (the message alone when n is NULL
 * or has no mark, as a node built in memory) and returns code: how callers report problems the tree cannot see, such as a plugin that does
 * not exist ("pipe.yaml:4:11: no noise plugin 'semntic' on the plugin path").  Use through
 * SNM_CFG_FAIL, which records the calling source file and line like SNM_FAIL. */
int snm_cfg_error(snm_error *err, int code, const snm_cfg *n, const char *src_file, int src_line,
                  const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 6, 7)))
#endif
	;
#define SNM_CFG_FAIL(err, code, n, ...) snm_cfg_error((err), (code), (n), __FILE__, __LINE__, __VA_ARGS__)

/* ---- Canonical text and hash -------------------------------------------------------------- */

/* Writes the canonical one-line flow text of the subtree at n (no trailing newline) to f (not
 * NULL).  A NULL n writes "null".  SNM_EIO when the stream reports a write error. */
int snm_cfg_dump(const snm_cfg *n, FILE *f, snm_error *err);

/* The same text into buf, snprintf-style: writes at most size - 1 bytes and a NUL (when size > 0)
 * and returns the full length of the text, so a result >= size means it was cut short. */
size_t snm_cfg_dump_str(const snm_cfg *n, char *buf, size_t size);

/* The same text in a new NUL-terminated string the caller frees with free(); NULL on ENOMEM. */
char *snm_cfg_dump_alloc(const snm_cfg *n, snm_error *err);

/* FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3) of snm_cfg_dump's text.
 * Stable across platforms and releases: changing the canonical form changes every run's hash. */
uint64_t snm_cfg_hash(const snm_cfg *n);

/* ---- Building trees ------------------------------------------------------------------------ *
 * For code that composes configs (includes, defaults under overrides).  The results are ordinary
 * trees: marks are whatever the caller gives, so errors about composed nodes still point into
 * the files they came from. */

/* A deep copy of the subtree at n as a new root (no parent, no key), marks and file names
 * included.  NULL on ENOMEM (or when n is NULL, with no error). */
snm_cfg *snm_cfg_dup(const snm_cfg *n, snm_error *err);

/* A new root of the given kind, empty for maps and sequences.  text is the scalar's text
 * (required for SNM_CFG_SCALAR, must be NULL otherwise); file may be NULL ("<built>").  NULL with
 * SNM_EINVAL or SNM_ENOMEM on failure. */
snm_cfg *snm_cfg_new(int kind, const char *text, const char *file, int line, int col,
                     snm_error *err);

/* Sets key in map to value, which must be a root (no parent) and is owned by the map on success;
 * on failure the caller still owns it.  An existing key keeps its position and its key mark and
 * its old value is freed; a new key is appended with the value's mark as the key's mark.
 * SNM_EINVAL when map is not a map, value has a parent or is map itself; SNM_ENOMEM. */
int snm_cfg_map_set(snm_cfg *map, const char *key, snm_cfg *value, snm_error *err);

/* Appends value (a root, owned by seq on success) to a sequence.  Errors as snm_cfg_map_set. */
int snm_cfg_seq_push(snm_cfg *seq, snm_cfg *value, snm_error *err);

#ifdef __cplusplus
}
#endif
#endif
