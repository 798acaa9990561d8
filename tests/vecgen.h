/*
 * vecgen.h - clustered unit vectors for the vector-index tests and the
 * benchmark: `clusters` centroids drawn from a Gaussian and normalised;
 * each vector is a random centroid plus Gaussian noise of total norm about
 * `noise`, normalised.  Same seeds, same vectors.
 */
#ifndef VECGEN_H
#define VECGEN_H

#include <stddef.h>
#include <stdint.h>

/* Centroids come from centroid_seed, the rest from seed: two calls with the
 * same centroid_seed and different seeds give data and queries of the same
 * clusters.  If cls is not NULL, cls[i] gets vector i's cluster. */
void vecgen_clustered(float *x, size_t n, uint32_t dim, uint32_t clusters, double noise,
                      uint64_t centroid_seed, uint64_t seed, uint32_t *cls);

#endif
