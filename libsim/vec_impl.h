/*
 * vec_impl.h - what vec.c (the common part of sim_vec), vec_flat.c and
 * vec_hnsw.c share; not installed.
 *
 * Storage common to both kinds: slot s holds a unit vector in row s of
 * `data` (dim contiguous floats) and the caller's id in ids[s]; `map` finds
 * the slot of an id.  The flat kind keeps its slots dense (a delete moves
 * the last row into the hole); HNSW keeps a slot's number for the node's
 * life and reuses freed slots (vec_hnsw.c explains how).
 */
#ifndef SIM_VEC_IMPL_H
#define SIM_VEC_IMPL_H

#include "sim_policy.h"
#include "sim_vec.h"

struct vec_hnsw;

struct sim_vec_s {
    struct sim_vec_config cfg;
    uint32_t dim;
    float *data;            /* capslots rows of dim floats */
    uint64_t *ids;          /* the id stored in each slot */
    uint8_t *idbase;        /* == (uint8_t *)ids: the keymap reads keys here */
    size_t nslots;          /* slots in use or free for reuse (< capslots) */
    size_t capslots;
    size_t size;            /* vectors stored */
    struct sim_keymap map;  /* id -> slot of the stored vectors */
    float *q;               /* the normalised query (scratch) */
    struct vec_hnsw *g;     /* the graph, for SIM_VEC_HNSW */
};

static inline float *vec_row(const sim_vec *v, size_t slot)
{
    return v->data + slot * v->dim;
}

/*
 * The dot product: four groups of four partial sums over blocks of 16,
 * which GCC and Clang keep in four SIMD registers and turn into
 * multiply-adds at -O2 (-fopt-info-vec shows it; a single 16-element sum
 * array is kept in memory by GCC 12 instead, about 2x slower), then a
 * scalar tail.  The summation order is fixed by the code, not by the
 * vector width, so results do not depend on the vectoriser.
 */
static inline float vec_dot(const float *a, const float *b, uint32_t dim)
{
    float s0[4] = {0}, s1[4] = {0}, s2[4] = {0}, s3[4] = {0};
    const size_t n = dim & ~(size_t)15;
    size_t i = 0;
    for (; i < n; i += 16) {
        const float *x = a + i, *y = b + i;
        for (size_t j = 0; j < 4; j++)
            s0[j] += x[j] * y[j];
        for (size_t j = 0; j < 4; j++)
            s1[j] += x[4 + j] * y[4 + j];
        for (size_t j = 0; j < 4; j++)
            s2[j] += x[8 + j] * y[8 + j];
        for (size_t j = 0; j < 4; j++)
            s3[j] += x[12 + j] * y[12 + j];
    }
    float t = 0;
    for (size_t j = 0; j < 4; j++)
        t += (s0[j] + s1[j]) + (s2[j] + s3[j]);
    for (; i < dim; i++)
        t += a[i] * b[i];
    return t;
}

/* Grows the common arrays (and the graph's) to at least `want` slots. */
int vec_reserve(sim_vec *v, size_t want);

/* Flat kind (vec_flat.c). */
int vec_flat_search(const sim_vec *v, const float *q, size_t k, uint32_t *slots,
                    float *sims);

/* HNSW kind (vec_hnsw.c). */
int vec_hnsw_create(sim_vec *v, char *err, size_t errlen);
void vec_hnsw_free(struct vec_hnsw *g);
int vec_hnsw_reserve(sim_vec *v, size_t cap);
/* A slot for a new vector: a freed one, or SIM_KEYMAP_NONE to append. */
uint32_t vec_hnsw_take_free(sim_vec *v);
/* Links the vector already written in row `slot`; `reused` if the slot was
 * freed before.  @return 0 or SIM_ENOMEM (then nothing changed). */
int vec_hnsw_link(sim_vec *v, uint32_t slot, int reused);
/* Marks slot deleted and free for reuse. */
void vec_hnsw_unlink(sim_vec *v, uint32_t slot);
int vec_hnsw_search(sim_vec *v, const float *q, size_t k, uint32_t *slots, float *sims);
int vec_hnsw_set_ef(sim_vec *v, uint32_t ef);
size_t vec_hnsw_memory(const sim_vec *v);
int vec_hnsw_check(const sim_vec *v, char *err, size_t errlen);

#endif
