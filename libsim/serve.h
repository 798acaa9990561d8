/*
 * serve.h - internals of the serving simulation shared by serve*.c; not
 * installed.
 */
#ifndef SIM_SERVE_INT_H
#define SIM_SERVE_INT_H

#include "sim_serve.h"

/* One cached example. */
struct exentry {
    uint64_t cls;        /* ground truth: hidden from the router */
    uint16_t cat;
    uint8_t model;       /* index of the model that answered */
    uint8_t acceptable;  /* ground truth: was the answer acceptable */
    uint8_t live;
    float utility;       /* learned estimate, [0, 1] */
    uint32_t tokens;     /* prompt + answer tokens it adds to a prompt */
    uint32_t bytes;      /* what it costs the cache */
    uint32_t uses;
};

struct excache {
    sim_vec *idx;
    struct exentry *e;
    uint32_t n, cap;     /* ids handed out, allocated */
    uint32_t *free_ids, nfree;
    uint32_t *live, *pos, nlive;
    uint64_t bytes, budget;
    uint32_t dim;
    struct sim_rng rng;
    uint64_t inserted, evicted;
};

int excache_init(struct excache *x, uint32_t dim, uint64_t budget, enum sim_vec_kind kind,
                 uint64_t seed, char *err, size_t errlen);
void excache_free(struct excache *x);
/* Stores a copy of *proto with embedding emb, evicting to fit the budget. */
int excache_insert(struct excache *x, const struct exentry *proto, const float *emb,
                   char *err, size_t errlen);
void excache_remove(struct excache *x, uint32_t id);
int excache_search(struct excache *x, const float *q, size_t k, uint64_t *ids, float *sims,
                   char *err, size_t errlen);

#endif
