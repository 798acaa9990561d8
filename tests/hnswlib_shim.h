/*
 * hnswlib_shim.h - a C view of hnswlib (header-only C++, Debian's
 * libhnswlib-dev) for bench_vec only: the benchmark compares libsim's HNSW
 * with it on the same vectors and parameters.  Never part of libsim.
 * Inner-product space: distance = 1 - dot, so vectors are unit vectors.
 */
#ifndef HNSWLIB_SHIM_H
#define HNSWLIB_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void *hnswlib_shim_create(unsigned dim, size_t max_elements, unsigned M,
                          unsigned ef_construction, uint64_t seed);
void hnswlib_shim_add(void *h, const float *x, uint64_t label);
void hnswlib_shim_set_ef(void *h, unsigned ef);
/* The label of the nearest vector to q (unit length); UINT64_MAX if empty. */
uint64_t hnswlib_shim_search1(void *h, const float *q);
void hnswlib_shim_free(void *h);

#ifdef __cplusplus
}
#endif
#endif
