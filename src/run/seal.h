/* seal.h: the seal at the head of a run file (format 2): what tells a damaged file from a sound
 * one before libhdf5 parses a byte of it.
 *
 * A run file of format 2 starts with a 512-byte HDF5 user block (HDF5 looks for its superblock
 * at 0, 512, 1024, ..., so the file stays plain HDF5 for h5dump and h5py).  snm writes the seal
 * there, as text that `head -c 512` shows, then NULs:
 *
 *   snm-run 2\n
 *   sha256 <64 lowercase hex digits: SHA-256 of bytes 512 .. end of the file>\n
 *   bytes <the file's size in decimal>\n
 *
 * and NULs to byte 512, which a check requires too: any byte changed anywhere is detected.
 * A file whose first bytes are the HDF5 signature has no seal (format 1, written before the
 * seal existed).  The seal detects damage (a disk, a transfer, an editor), not forgery: a file
 * made by hand can carry a matching seal, which is why the readers behind the seal still check
 * every size, type and rank they meet. */
#ifndef SNM_RUN_SEAL_H
#define SNM_RUN_SEAL_H

#include <stddef.h>
#include "snm/error.h"

#define SNM_SEAL_SIZE 512        /* bytes of the user block that holds the seal */

/* What the first bytes of an image are. */
typedef enum snm_seal_kind {
	SNM_SEAL_SEALED,         /* starts with "snm-run " (a seal, sound or not) */
	SNM_SEAL_HDF5,           /* starts with the HDF5 signature: a format-1 file, no seal */
	SNM_SEAL_OTHER           /* neither: not a run file, or damaged at its very start */
} snm_seal_kind;

snm_seal_kind snm_seal_kind_of(const unsigned char *image, size_t size);

/* Writes the seal of image (size bytes; its first SNM_SEAL_SIZE bytes are the user block, which
 * this overwrites) into its first bytes.  SNM_EINVAL when size <= SNM_SEAL_SIZE, SNM_ENOMEM or
 * SNM_EINVAL when libcrypto fails. */
int snm_seal_write(unsigned char *image, size_t size, snm_error *err);

/* Checks the seal of a sealed image: SNM_OK, or SNM_EIO with one line, without a path (the
 * caller prefixes it): "damaged: its seal is unreadable", "damaged: truncated to N of M bytes",
 * "damaged: N bytes where its seal says M", "damaged: its contents do not match its seal
 * (SHA-256)", or "format N is newer than this snm reads (2)".  On success, digest (when not NULL)
 * receives the seal's SHA-256 in hex: what names these exact bytes. */
int snm_seal_check(const unsigned char *image, size_t size, char digest[65], snm_error *err);

/* hex = SHA-256 of data[0 .. n) in lowercase hex; SNM_EINVAL when libcrypto fails. */
int snm_seal_sha256(const unsigned char *data, size_t n, char hex[65], snm_error *err);

#endif
