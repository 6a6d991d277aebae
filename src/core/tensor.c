/* tensor.c: shape helpers for snm_tensor (see snm/tensor.h). */
#include <stdio.h>
#include "snm/tensor.h"

size_t snm_tensor_len(const snm_tensor *t)
{
	size_t n = 1;
	for (int i = 0; i < t->n_d; ++i)
		n *= (size_t)t->d[i];
	return n;
}

size_t snm_tensor_cols(const snm_tensor *t)
{
	return t->d[0] > 0 ? snm_tensor_len(t) / (size_t)t->d[0] : 0;
}

int snm_tensor_same_shape(const snm_tensor *a, const snm_tensor *b)
{
	if (a->n_d != b->n_d)
		return 0;
	for (int i = 0; i < a->n_d; ++i)
		if (a->d[i] != b->d[i])
			return 0;
	return 1;
}

char *snm_tensor_shape_str(const snm_tensor *t, char *buf, size_t size)
{
	size_t k = 0;
	if (size == 0)
		return buf;
	buf[0] = '\0';
	k += (size_t)snprintf(buf + k, size - k, "(");
	for (int i = 0; i < t->n_d && k < size; ++i)
		k += (size_t)snprintf(buf + k, size - k, i ? ",%d" : "%d", t->d[i]);
	if (k < size)
		snprintf(buf + k, size - k, ")");
	return buf;
}
