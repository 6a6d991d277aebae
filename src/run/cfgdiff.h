/* cfgdiff.h: the keys by which two configurations differ (cfgdiff.c), so that a run refused for
 * another configuration can say what changed instead of showing two hashes: the configuration a
 * run file recorded (its `config` attribute) against the one the pipeline makes now (the run
 * spec's config_text).  Nothing here prints. */
#ifndef SNM_RUN_CFGDIFF_H
#define SNM_RUN_CFGDIFF_H

#include <stddef.h>
#include "snm/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Compares the trees old and now and writes into buf (size bytes, NUL-terminated) the places
 * where they differ, as dotted paths, ", "-separated, map by map in old's key order, each map's
 * new keys after its old ones:
 *   "model.layers[1] (3 items -> 2), noise.weight (added), train.lr 0.005 -> 0.001"
 * Maps are compared key by key (their order is not compared: a configuration that differs only
 * in order differs in no key), sequences item by item ("model.layers[1].k"; one of another length
 * is one difference at its path), scalars by text (as snm_cfg_hash does: "0.10" is not "0.1"),
 * nodes of different kinds at one path are one difference.  A changed scalar shows both values
 * when each fits in 24 bytes; a key of one tree only is "(removed)" or "(added)".  Returns the
 * number of differences, all counted even when buf is too small for them (it then ends ", ..."). */
int snm_cfg_diff(const snm_cfg *old, const snm_cfg *now, char *buf, size_t size);

/* The same for two configuration texts (one-line YAML, as run files record them), parsed with
 * snm_cfg_parse; -1 with buf "cannot parse ..." when either text does not parse. */
int snm_cfg_diff_text(const char *old, const char *now, char *buf, size_t size);

/* The same, for a message of one line: at most max differences (max >= 2), and with more, the
 * first max - 1 and the count of the others:
 *   "train.lr 0.005 -> 0.004, noise.sd 0.1 -> 0.2 and 3 more"      (max 3, five differences) */
int snm_cfg_diff_text_brief(const char *old, const char *now, int max, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
