/* identity.h: the code that made a run (identity.c) -- the SHA-256 of each plugin's shared object
 * (data, model, noise) and of libsnm's -- recorded in its run file and compared with the code a
 * run would be trained by now, so that a rebuilt plugin with other code is noticed even where its
 * version string stayed the same.
 *
 * A run file (trainer.h) records two root strings:
 *   plugin_sha256   "data idx <hex>; model convnet <hex>; noise none <hex>"
 *   libsnm_sha256   "<hex>", or "unknown" where libsnm's file could not be found
 * Files written before snm recorded them have neither: their code is unknown, which is never
 * taken for other code.
 *
 * The "now" side is the files the loader would open: each plugin found by kind and name on the
 * search path (loader.h), libsnm the shared object this process has mapped (dladdr on one of its
 * functions).  Each file is hashed once per process for the same path, device, inode, size and
 * modification time.  Like the rest of the run layer, for one thread at a time; nothing here
 * prints. */
#ifndef SNM_RUN_IDENTITY_H
#define SNM_RUN_IDENTITY_H

#include <stddef.h>
#include "snm/error.h"
#include "loader.h"
#include "pipeline.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SNM_IDENTITY_MAX 1024          /* room of the plugin_sha256 text */

typedef struct snm_identity {
	char plugins[SNM_IDENTITY_MAX];    /* the plugin_sha256 text */
	char libsnm[65];                   /* the libsnm_sha256 text: hex, or "unknown" */
} snm_identity;

/* What a run file's code is, against the code of now. */
enum { SNM_CODE_SAME = 0, SNM_CODE_OTHER, SNM_CODE_UNKNOWN };

/* hex = the SHA-256 of the file at path (computed with seal.h's snm_seal_sha256), from a cache of
 * this process when the file is the one hashed before (same path, device, inode, size and
 * modification time).  SNM_EIO "<path>: cannot read: <why>", SNM_ENOMEM. */
int snm_file_sha256(const char *path, char hex[65], snm_error *err);

/* The file of libsnm as this process mapped it ("/usr/local/lib/libsnm.so.0"), or NULL when
 * dladdr cannot tell. */
const char *snm_libsnm_path(void);

/* The identity of the code made of three opened plugins and this process's libsnm.  Errors: a
 * plugin's file that cannot be read (SNM_EIO), SNM_ENOMEM.  libsnm's file that cannot be found or
 * read is "unknown", not an error. */
int snm_identity_of(const snm_plugin_handle *data, const snm_plugin_handle *model,
                    const snm_plugin_handle *noise, snm_identity *out, snm_error *err);

/* The same for the plugins run r names, found on the search path (plugin_path first) as the
 * trainer will find them; each (kind, name, plugin_path) is looked up once per process.  Errors
 * as snm_plugin_find and snm_identity_of. */
int snm_identity_find(const snm_run_spec *r, const char *plugin_path, snm_identity *out,
                      snm_error *err);

/* Compares a run file's recorded code (its plugin_sha256 and libsnm_sha256 attributes; NULL when
 * it has none) with now: SNM_CODE_UNKNOWN when it recorded neither, SNM_CODE_OTHER when a
 * plugin's or libsnm's hash differs, SNM_CODE_SAME otherwise (a part that one side does not know,
 * such as libsnm "unknown", is not compared).  what (size bytes; may be NULL) receives, for
 * SNM_CODE_OTHER, what differs, by kind and name: "noise semantic changed", "model convnet and
 * libsnm changed", "noise none -> semantic" (another plugin of that kind); "" otherwise. */
int snm_identity_compare(const char *plugins, const char *libsnm, const snm_identity *now,
                         char *what, size_t size);

#ifdef __cplusplus
}
#endif
#endif
