/*
 * vec_flat.c - exact nearest-neighbour search over contiguous rows.
 *
 * The stored unit vectors are rows of one float32 array with no gaps (a
 * delete moves the last row into the hole: vec.c), so a query is a single
 * sequential pass over size * dim * 4 bytes: the hardware prefetcher streams
 * it and the dot product (vec_dot, 16 partial sums) is vectorised by the
 * compiler.  For a few hundred thousand rows of dimension 384 the pass is
 * bound by memory bandwidth, which `make bench` measures against a plain
 * streaming read of the same size.
 *
 * Top-k: k = 1 keeps the best row; otherwise a sorted array of the k best
 * (k is small in caches: 1 to a few).  Ties keep the lower slot first.
 */
#include "vec_impl.h"

/* Inserts (s, slot) into the best-first arrays of length *n (capacity k). */
static void topk_add(uint32_t *slots, float *sims, size_t *n, size_t k, float s,
                     uint32_t slot)
{
    size_t i = *n < k ? (*n)++ : k - 1;
    while (i > 0 && sims[i - 1] < s) {
        sims[i] = sims[i - 1];
        slots[i] = slots[i - 1];
        i--;
    }
    sims[i] = s;
    slots[i] = slot;
}

int vec_flat_search(const sim_vec *v, const float *q, size_t k, uint32_t *slots,
                    float *sims)
{
    const uint32_t dim = v->dim;
    const float *row = v->data;
    const size_t n = v->nslots;
    if (k == 1) {
        float best = vec_dot(q, row, dim);
        uint32_t arg = 0;
        for (size_t s = 1; s < n; s++) {
            float d = vec_dot(q, row + s * dim, dim);
            if (d > best) {
                best = d;
                arg = (uint32_t)s;
            }
        }
        slots[0] = arg;
        sims[0] = best;
        return 1;
    }
    size_t got = 0;
    for (size_t s = 0; s < n; s++) {
        float d = vec_dot(q, row + s * dim, dim);
        if (got < k || d > sims[k - 1])
            topk_add(slots, sims, &got, k, d, (uint32_t)s);
    }
    return (int)got;
}
