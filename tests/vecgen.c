/* vecgen.c - clustered unit vectors for tests and benchmarks (vecgen.h). */
#include <math.h>
#include <stdlib.h>

#include "sim_vec.h"
#include "vecgen.h"

static double vecgen_gauss(struct sim_rng *g)
{
    double u = sim_rng_unit(g), v = sim_rng_unit(g);
    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

void vecgen_clustered(float *x, size_t n, uint32_t dim, uint32_t clusters, double noise,
                      uint64_t centroid_seed, uint64_t seed, uint32_t *cls)
{
    struct sim_rng g;
    float *c = malloc((size_t)clusters * dim * sizeof *c);
    if (!c)
        abort();
    sim_rng_seed(&g, centroid_seed);
    for (size_t i = 0; i < (size_t)clusters * dim; i++)
        c[i] = (float)vecgen_gauss(&g);
    for (uint32_t k = 0; k < clusters; k++)
        sim_vec_normalise(c + (size_t)k * dim, dim);
    sim_rng_seed(&g, seed);
    double scale = noise / sqrt((double)dim);
    for (size_t i = 0; i < n; i++) {
        uint32_t k = (uint32_t)sim_rng_below(&g, clusters);
        float *row = x + i * dim;
        for (uint32_t j = 0; j < dim; j++)
            row[j] = (float)(c[(size_t)k * dim + j] + scale * vecgen_gauss(&g));
        sim_vec_normalise(row, dim);
        if (cls)
            cls[i] = k;
    }
    free(c);
}
