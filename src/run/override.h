/* override.h: one key of a run's configuration sections set from outside its section -- by a
 * command-line override (`snm run P --set noise.sd=0.1`) or by a value of a pipeline's sweep
 * (`sweep: {noise.sd: [0.1, 0.2]}`) -- and the name such a value gives its runs (override.c).
 * pipeline.c applies them; pipeline.h says to which runs and how the run keys change.
 *
 * A path is "<section>.<key>": a section of a run's configuration (data, model, noise, train)
 * and one key of it, as the section's option table names it (`snm plugins`; the train keys are
 * pipeline.h's); deeper paths are not taken.  Values are YAML: a scalar (its text as written:
 * "0.10" is another value than "0.1", as in a pipeline) or a flow sequence or mapping.  Nothing
 * here prints. */
#ifndef SNM_RUN_OVERRIDE_H
#define SNM_RUN_OVERRIDE_H

#include <stddef.h>
#include "snm/config.h"
#include "snm/error.h"

#define SNM_OVERRIDE_KEY_MAX 64    /* characters of a key */

typedef struct snm_override {
	char *arg;                     /* the --set argument as given, "noise.sd=0.1" */
	int section;                   /* 0 data, 1 model, 2 noise, 3 train */
	char key[SNM_OVERRIDE_KEY_MAX + 1];
	snm_cfg *value;                /* a tree of its own, without marks */
	int used;                      /* runs it applies to */
} snm_override;

/* The section names, in the order of snm_override.section. */
extern const char *const snm_override_sections[4];

/* Reads the path of len bytes at path ("noise.sd") into *section and key (SNM_OVERRIDE_KEY_MAX + 1
 * bytes).  0, or -1 for an unknown section; -2 for a path that is not "<section>.<key>" with a key
 * of letters, digits and '_' of at most SNM_OVERRIDE_KEY_MAX characters. */
int snm_override_path(const char *path, size_t len, int *section, char *key);

/* Parses a --set argument "<section>.<key>=<value>" into *o (cleared first; release it with
 * snm_override_clear).  Errors, SNM_ECONFIG, one line naming the argument:
 *   "--set <arg>: expected SECTION.KEY=VALUE, e.g. train.lr=0.001"
 *   "--set <arg>: unknown section '<name>' (data, model, noise or train)"
 *   "--set <arg>: the path names a section and one of its keys (letters, digits, '_'), e.g. noise.sd"
 *   "--set <arg>: the value is not YAML: <libyaml's problem>"  /  "--set <arg>: no value"
 * and SNM_ENOMEM. */
int snm_override_parse(const char *arg, snm_override *o, snm_error *err);
void snm_override_clear(snm_override *o);

/* Checks o's value against option opt of a section (type, choices, range: what snm_cfg_check
 * checks of one key), what naming the section in the message ("noise 'semantic'").  SNM_ECONFIG
 * "--set <arg>: <snm_cfg_check's message>" when it does not fit. */
int snm_override_check(const snm_override *o, const snm_option *opt, const char *what, snm_error *err);

/* The part of a run key that names a value under a label (the key, or "<section>.<key>"): the
 * label, then the value -- a scalar's text, or a sequence's or mapping's canonical text -- with
 * every run of characters other than letters, digits, '.', '_' and '-' made one '_' and '_' taken
 * off both ends; between the two, '_' unless the value as written starts with a digit, '.' or '-':
 *   sd 0.1 -> "sd0.1", lr 1e-3 -> "lr1e-3", targets xz -> "targets_xz", layers [1, 2] -> "layers_1_2".
 * Written into out (size bytes, NUL-terminated, cut short when it does not fit); returns the full
 * length, as snprintf. */
size_t snm_override_name(const char *label, const snm_cfg *value, char *out, size_t size);

#endif
