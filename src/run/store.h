/* store.h: the HDF5 run file (the metrics table it holds is metrics.h).
 *
 * Every run of a pipeline owns one HDF5 file under results/.  The whole file is rewritten at each
 * save (to "<path>.tmp", flushed, fsync'ed, then renamed over <path>), so a killed process leaves
 * either the previous complete file or the new complete file, never a torn one.  Files are plain
 * HDF5 that h5dump and h5py read without snm, after a 512-byte user block that holds the seal
 * (seal.h: the SHA-256 of the rest of the file, which every reader checks before libhdf5 parses
 * a byte, so that a damaged file is one line and never a crash or a hang inside libhdf5):
 *
 *   (user block)              "snm-run 2\nsha256 <hex>\nbytes <size>\n", NULs
 *   /                         root attributes: format = "snm-run", format_version = 2 (written by
 *                             the store), then the caller's string and integer attributes
 *   /metrics/<column>         float64 (rows,), chunked with an unlimited maximum size: one element
 *                             per epoch (row of the snm_metrics table)
 *   <group>/<entry>           float32 with the tensor's shape, one dataset per registry entry,
 *                             named by the entry's name ("enc.conv1.w"); attribute
 *                             kind = "param" | "buffer".  Groups are chosen by the caller, e.g.
 *                             "/best", "/checkpoint/params", "/checkpoint/adam_m".
 *   /checkpoint/rng/<name>    uint8 (gsl_rng_size,): the raw gsl_rng_state bytes; attribute
 *                             type = gsl_rng_name ("mt19937")
 *   <table>/<column>          float64 (rows,), as /metrics: further tables the caller names, e.g.
 *                             "/checkpoint/partial/sums" (absent unless the record lists them)
 *
 * Strings (root attributes, kind, type) are scalar fixed-length UTF-8 strings, NUL-terminated,
 * each exactly as long as its value (h5dump prints them as quoted text, h5py returns bytes), of
 * at most SNM_STORE_MAX_STR bytes: they live in the object header that names them (an HDF5
 * attribute message holds less than 64 KiB), never in the global heap, whose reader in libhdf5
 * crashes or hangs on damaged bytes.  Integers are 64-bit little-endian signed.  When reading,
 * any integer type is accepted, and a format-1 file (snm before the seal: no seal,
 * variable-length strings) is read as before.
 *
 * Determinism: saving the same record twice gives byte-identical files.  Object time stamps are
 * off, the file format bounds are fixed (earliest .. 1.8, so HDF5 1.8 and later read the files),
 * and objects are created in the order the record lists them (HDF5 lists a group's members by
 * name whatever the order of creation).
 *
 * Reading trusts nothing in a file: every reader takes the whole file into memory (at most
 * 4 GiB), checks its seal, has a child process read those bytes whole first (probe.h: libhdf5
 * crashing or hanging on a forged file, or on a damaged format-1 file, is then one line), parses
 * those bytes (not the file again), and bounds every string and dataset it reads by the file's
 * size.
 *
 * Errors: every function returns SNM_OK or an SNM_E* code and fills err with one line that starts
 * with the file's path.  A file that is not HDF5 or is truncated, whose seal does not match
 * ("damaged: ..."), or is HDF5 without format = "snm-run", or has a newer format_version, is
 * SNM_EIO; a failed HDF5 call is SNM_EHDF5
 * naming the operation and the object; a bad argument is SNM_EINVAL.  HDF5's automatic error
 * printing is switched off for the duration of every call here (and restored after): this module
 * never prints.  Like the serial HDF5 library under it, the store is for one thread at a time. */
#ifndef SNM_RUN_STORE_H
#define SNM_RUN_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>
#include "snm/error.h"
#include "snm/param.h"
#include "metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- run files ---------------------------------------------------------------------------- */

#define SNM_STORE_MAX_STR 60000    /* the longest string a run file holds, in bytes */

/* What a save writes and what a load fills.  Every array has the length of its count; a count of
 * 0 lets its arrays be NULL.  The store only borrows these pointers for the duration of a call.
 *
 * Names: root attribute names are unique across strings and integers and must not be "format" or
 * "format_version" (the store writes those).  Group paths are absolute ("/best",
 * "/checkpoint/params"), without empty components, and not "/metrics", "/checkpoint/rng" or
 * inside them; intermediate groups are created as needed.  RNG names and registry entry names
 * are dataset names: non-empty, without '/', not ".". */
typedef struct snm_store_run {
	/* Root string attributes (save only): config text, config_hash, run_key, status
	 * ("running" / "finished" / "failed"), snm_version, plugin and library versions, ... */
	int n_str;
	const char *const *str_names;
	const char *const *str_values;

	/* Root integer attributes: master_seed, threads, epoch, step, best_epoch, ...  Save writes
	 * int_values; load reads the attributes named by int_names into its int_out array and ignores
	 * int_values. */
	int n_int;
	const char *const *int_names;
	const int64_t *int_values;

	/* Per-epoch metrics, or NULL for none (then save writes no /metrics group and load skips it). */
	snm_metrics *metrics;

	/* Parameter registries, each written under its group path (see the file layout above). */
	int n_groups;
	const char *const *group_paths;
	snm_params *const *groups;

	/* Random streams, each written to /checkpoint/rng/<rng_names[i]>. */
	int n_rng;
	const char *const *rng_names;
	gsl_rng *const *rngs;

	/* Further tables of float64 columns (save only; snm_store_read_table reads one), each under
	 * its own group path, written after everything above: paths as group paths, overlapping
	 * neither each other nor a registry's group.  A record without them (n_tables 0) writes
	 * the same bytes as before tables existed. */
	int n_tables;
	const char *const *table_paths;
	snm_metrics *const *tables;
} snm_store_run;

/* Writes the whole run to path atomically: HDF5 builds the file in memory (its core driver), and
 * the seal and its image are written with write(2) as "<path>.tmp" in the same directory, fsync'ed, closed, then
 * renamed over path (and the directory fsync'ed, best effort).  On any error the file at path, if
 * any, is untouched and the .tmp file is removed.  A stale .tmp left by a killed process is
 * overwritten.
 *
 * Errors: SNM_EINVAL for a bad name or path in run (checked before anything is written) or a
 * string longer than SNM_STORE_MAX_STR,
 * SNM_EHDF5 when HDF5 cannot create or write an object, SNM_EIO "<path>.tmp: cannot <create,
 * write, sync, close>: <strerror>" when the disk refuses (ENOSPC, EDQUOT, EFBIG, EROFS, EACCES;
 * one line), or a rename error, SNM_ENOMEM. */
int snm_store_save(const char *path, const snm_store_run *run, snm_error *err);

/* Reads a run file into the caller's objects, all or nothing: every destination is checked and
 * read into private memory first, and only when all of it succeeded are the destinations
 * overwritten.  So on any error nothing the caller owns has changed.
 *
 *   - int_out[i] receives the root integer attribute int_names[i] (int_out may be NULL when
 *     n_int is 0); run->int_values and the string fields are ignored.
 *   - run->metrics (when not NULL) must have exactly the columns of /metrics, matched by name in
 *     any order; its rows are replaced by the file's.
 *   - for each group, every registry entry must have a dataset of the same name and shape in the
 *     group, and the group must hold no other dataset; the values are copied into the entries' x.
 *     A "kind" attribute, when present, must match the entry's kind.
 *   - each rng must have a state of the same generator type and size; it is restored with
 *     snm_rng_restore, so afterwards it draws exactly what the saved stream would have drawn.
 *
 * Errors: SNM_EIO for a missing or unreadable file, a file that is not HDF5 or is truncated, not
 * an snm run file, of a newer format_version, or whose contents do not match the destinations
 * (the message names the file, the group and the entry or column); SNM_EHDF5 for a failed read;
 * SNM_ENOMEM. */
int snm_store_load(const char *path, const snm_store_run *run, int64_t *int_out, snm_error *err);

/* Reads the root string attribute name of the run file at path, for quick identity checks
 * (config_hash, status) without loading weights.  On success *out is a NUL-terminated copy the
 * caller frees with free(); on error *out is NULL.  SNM_EIO as for snm_store_load, and when the
 * attribute is missing or not a string. */
int snm_store_get_str(const char *path, const char *name, char **out, snm_error *err);

/* Reads the root integer attribute name into *out (unchanged on error).  Errors as
 * snm_store_get_str, the attribute being missing or not an integer. */
int snm_store_get_int(const char *path, const char *name, int64_t *out, snm_error *err);

/* Reads /metrics of a run file into a new table whose columns are the file's, in the order HDF5
 * lists them (by name); for tools (the paper stage) that do not know a run's loss terms in
 * advance.  On success *out is the caller's to free with snm_metrics_free; on error it is NULL.
 * A file without /metrics, or whose columns differ in length, is SNM_EIO. */
int snm_store_read_metrics(const char *path, snm_metrics **out, snm_error *err);

/* The same for the table at gpath ("/checkpoint/partial/sums"; "/metrics" is
 * snm_store_read_metrics).  A missing group is SNM_EIO "no group". */
int snm_store_read_table(const char *path, const char *gpath, snm_metrics **out, snm_error *err);


/* ---- whole-file reads for tools --------------------------------------------------------------- */

/* Every root attribute of a run file but format and format_version, in HDF5's name order:
 * strings (variable- or fixed-length) and integers (as int64).  For tools that copy a run file
 * or compare two without knowing their writer.  Free with snm_store_attrs_free. */
typedef struct snm_store_attrs {
	int n_str;
	char **str_names, **str_values;
	int n_int;
	char **int_names;
	int64_t *int_values;
} snm_store_attrs;

/* Reads the root attributes of the run file at path into *out (zeroed on error).  An attribute
 * that is neither a string nor an integer is SNM_EIO; otherwise errors as snm_store_get_str. */
int snm_store_read_attrs(const char *path, snm_store_attrs *out, snm_error *err);
void snm_store_attrs_free(snm_store_attrs *a);   /* zeroes *a; NULL is a no-op */

/* Reads every dataset of group gpath ("/best") into a new registry: one entry per dataset in
 * HDF5's name order, with the dataset's name and shape (rank 1..SNM_MAX_DIM, at most 2^30
 * elements), kind from its "kind" attribute (param when absent), values converted to float.
 * For tools that carry weights without the model that made them.  On error *out is NULL: a
 * missing group, an entry that is not floating point or has a bad shape or kind is SNM_EIO. */
int snm_store_read_group(const char *path, const char *gpath, snm_params **out, snm_error *err);

/* *out = 1 when the run file at path has an object at gpath, else 0 (unchanged on error). */
int snm_store_has_group(const char *path, const char *gpath, int *out, snm_error *err);

/* Writes the seal of the file at path anew, in place, over its first 512 bytes, whatever they
 * held, so that the readers take the rest of it past the seal.  For tests and fuzzers that probe
 * the readers behind the seal with files snm did not write; never for repairing a damaged file,
 * whose damage the seal exists to show.  SNM_EIO when path cannot be read or written;
 * SNM_EINVAL when it has 512 bytes or fewer. */
int snm_store_seal(const char *path, snm_error *err);

/* Probing (probe.h): every reader has a child process read a file whole before it parses it, once
 * per process for the same bytes (by their SHA-256), and gives the child ms milliseconds
 * (default SNM_PROBE_MS, 10 s); 0 turns probing off (a fuzzer finding what crashes libhdf5
 * in-process). */
void snm_store_set_probe(int ms);

#ifdef __cplusplus
}
#endif
#endif
