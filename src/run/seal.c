/* seal.c: the run file's seal (see seal.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "seal.h"

#define SEAL_MAGIC   "snm-run "
#define SEAL_VERSION 2

static const unsigned char hdf5_signature[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };

snm_seal_kind snm_seal_kind_of(const unsigned char *image, size_t size)
{
	if (size >= sizeof hdf5_signature && memcmp(image, hdf5_signature, sizeof hdf5_signature) == 0)
		return SNM_SEAL_HDF5;
	if (size >= strlen(SEAL_MAGIC) && memcmp(image, SEAL_MAGIC, strlen(SEAL_MAGIC)) == 0)
		return SNM_SEAL_SEALED;
	return SNM_SEAL_OTHER;
}

int snm_seal_sha256(const unsigned char *data, size_t n, char hex[65], snm_error *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	if (EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
		return SNM_FAIL(err, SNM_EINVAL, "SHA-256 failed (libcrypto)");
	for (unsigned i = 0; i < 32; ++i)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return SNM_OK;
}

/* hex = SHA-256 of image[SNM_SEAL_SIZE .. size): what the seal holds. */
static int digest_hex(const unsigned char *image, size_t size, char hex[65], snm_error *err)
{
	return snm_seal_sha256(image + SNM_SEAL_SIZE, size - SNM_SEAL_SIZE, hex, err);
}

int snm_seal_write(unsigned char *image, size_t size, snm_error *err)
{
	char hex[65], head[SNM_SEAL_SIZE];
	int n, rc;
	if (size <= SNM_SEAL_SIZE)
		return SNM_FAIL(err, SNM_EINVAL, "a %zu byte image has no room for a seal", size);
	if ((rc = digest_hex(image, size, hex, err)) != SNM_OK)
		return rc;
	memset(head, 0, sizeof head);
	n = snprintf(head, sizeof head, "%s%d\nsha256 %s\nbytes %zu\n", SEAL_MAGIC, SEAL_VERSION, hex, size);
	if (n < 0 || (size_t)n >= sizeof head)
		return SNM_FAIL(err, SNM_EINVAL, "seal does not fit its block");
	memcpy(image, head, sizeof head);
	return SNM_OK;
}

int snm_seal_check(const unsigned char *image, size_t size, char digest[65], snm_error *err)
{
	char head[SNM_SEAL_SIZE + 1], hex[65], want[65], tail;
	int version, used = 0;
	uintmax_t bytes;
	if (size < SNM_SEAL_SIZE) {
		memcpy(head, image, size);
		head[size] = '\0';
	} else {
		memcpy(head, image, SNM_SEAL_SIZE);
		head[SNM_SEAL_SIZE] = '\0';
	}
	/* "snm-run <version>\n" first: a newer format is told as such, whatever follows */
	if (sscanf(head, SEAL_MAGIC "%d%c%n", &version, &tail, &used) != 2 || tail != '\n' || version < 2)
		return SNM_FAIL(err, SNM_EIO, "damaged: its seal is unreadable");
	if (version > SEAL_VERSION)
		return SNM_FAIL(err, SNM_EIO, "format %d is newer than this snm reads (%d)", version,
		                SEAL_VERSION);
	if (sscanf(head + used, "sha256 %64[0-9a-f]%c", want, &tail) != 2 || tail != '\n'
	    || strlen(want) != 64)
		return SNM_FAIL(err, SNM_EIO, "damaged: its seal is unreadable");
	used += 7 + 64 + 1;
	if (sscanf(head + used, "bytes %ju%c", &bytes, &tail) != 2 || tail != '\n')
		return SNM_FAIL(err, SNM_EIO, "damaged: its seal is unreadable");
	if (bytes <= SNM_SEAL_SIZE || size < SNM_SEAL_SIZE)
		return SNM_FAIL(err, SNM_EIO, "damaged: its seal is unreadable");
	{
		/* the seal exactly as snm writes it, NULs included: no byte of it goes unchecked */
		char canon[SNM_SEAL_SIZE];
		memset(canon, 0, sizeof canon);
		snprintf(canon, sizeof canon, "%s%d\nsha256 %s\nbytes %ju\n", SEAL_MAGIC, version, want, bytes);
		if (memcmp(canon, image, SNM_SEAL_SIZE) != 0)
			return SNM_FAIL(err, SNM_EIO, "damaged: its seal is unreadable");
	}
	if (size < bytes)
		return SNM_FAIL(err, SNM_EIO, "damaged: truncated to %zu of %ju bytes", size, bytes);
	if (size > bytes)
		return SNM_FAIL(err, SNM_EIO, "damaged: %zu bytes where its seal says %ju", size, bytes);
	if (digest_hex(image, size, hex, err) != SNM_OK)
		return SNM_EINVAL;
	if (strcmp(hex, want) != 0)
		return SNM_FAIL(err, SNM_EIO, "damaged: its contents do not match its seal (SHA-256)");
	if (digest != NULL)
		memcpy(digest, hex, 65);
	return SNM_OK;
}
