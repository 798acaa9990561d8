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

/* IVF: entries in clusters around centroids; a search scans the clusters
 * of the nprobe nearest centroids (IC-Cache's clustered retrieval).  Each
 * list keeps its entries' int8 codes contiguous, for the pre-filter of
 * serve_ivf.c. */
struct ivf_list {
    uint32_t *ids, n, cap;
    float *vec;          /* cap rows of dim floats: the unit vectors */
    int8_t *code;        /* cap rows of cdim bytes */
    float *qs, *qe;      /* per slot: code step, residual norm (serve_ivf.c) */
};

/* Where the lists' arrays live (serve_ivf.c): power-of-two blocks cut
 * from 2 MiB chunks, a free list per size. */
struct ivf_arena {
    void **chunk;
    size_t nchunk, capchunk, left;
    char *at;
    void *free[64];
};

/* What a search learnt about the query, so that inserting the same
 * embedding later costs less: best is the nearest of the first ncent
 * centroids (0: not known) as they were then, and if the caller points
 * prep at excache_prep_size() bytes, the search stores the normalised,
 * coded query there (have_prep). */
struct exhint {
    uint32_t ncent, best;
    float sim;
    void *prep;
    int have_prep;
};

/* An int8-coded query, for the kernels of serve_ivf.c. */
struct ivf_query {
    const int8_t *code;  /* cdim bytes */
    float step, c1, c0;  /* a row passes if (D step qs + qe c1) + c0 >= tau */
};

/* For rows r < n of codes, with D = q . row r: out[r] = (float)D * step *
 * qs[r], the code similarity, and bmax[b] = the largest of out[8b] to
 * out[8b + 7] (those < n). */
typedef void (*ivf_score_fn)(const struct ivf_query *q, const int8_t *codes, const float *qs,
                             uint32_t n, uint32_t cdim, float *out, float *bmax);
/* The rows r < n (ascending) of codes for which, with D = q . row r,
 * a = ((float)D * step * qs[r] + qe[r] * c1) + c0 >= tau, into pass, and
 * their a into val; returns how many. */
typedef uint32_t (*ivf_filter_fn)(const struct ivf_query *q, const int8_t *codes,
                                  const float *qs, const float *qe, uint32_t n, uint32_t cdim,
                                  float tau, uint32_t *pass, float *val);

struct excache {
    int kind;            /* enum sim_serve_index */
    sim_vec *idx;        /* flat or hnsw */
    /* ivf (serve_ivf.c) */
    uint32_t nlist, nprobe, ncent, cdim;
    float *cent;         /* nlist * dim, unit vectors */
    int64_t *csum;       /* nlist * dim: each list's vector sum, fixed point */
    uint32_t since;      /* insertions since they last moved */
    uint32_t nrows;      /* entries in the lists */
    uint32_t lloyd_at;   /* k-means over all entries when nrows reaches it */
    int8_t *ccode;       /* nlist * cdim: the centroids' codes */
    float *cqs, *cqe;    /* per centroid: code step, residual norm */
    uint32_t *cluster, *slot; /* per entry: its cluster and place in it */
    struct ivf_list *lists;
    struct ivf_arena arena;
    float *u;            /* dim: the normalised query */
    int8_t *ucode;       /* cdim: its code */
    float ustep, uresid; /* its code's step and residual norm */
    float *score_of;     /* nlist: code similarities of the centroids */
    float *score_max;    /* nlist / 8 + 1: their maxima by 8 */
    uint64_t *probe;     /* nlist: clusters to scan */
    float *probe_sim;
    ivf_score_fn score;  /* int8 kernels: AVX2 where the CPU has it */
    ivf_filter_fn filter;
    uint64_t codes;      /* codes compared so far (centroids and rows) */
    uint64_t scored;     /* rows scored in float so far */
    struct exentry *e;
    uint32_t n, cap;     /* ids handed out, allocated */
    uint32_t *free_ids, nfree;
    uint32_t *live, *pos, nlive;
    float *dens;         /* by position in live: utility / bytes, for eviction */
    uint64_t bytes, budget;
    uint32_t dim;
    struct sim_rng rng;
    uint64_t inserted, evicted;
};

int excache_init(struct excache *x, uint32_t dim, uint64_t budget, int kind,
                 uint64_t seed, char *err, size_t errlen);
void excache_free(struct excache *x);
/* The index of a validated "index" parameter: flat, hnsw or ivf. */
enum sim_serve_index excache_index_named(const char *name);
/* Stores a copy of *proto with embedding emb, evicting to fit the budget. */
int excache_insert(struct excache *x, const struct exentry *proto, const float *emb,
                   char *err, size_t errlen);
void excache_remove(struct excache *x, uint32_t id);
/* Sets entry id's utility (keeping the eviction's copy in step). */
void excache_set_utility(struct excache *x, uint32_t id, float utility);
int excache_search(struct excache *x, const float *q, size_t k, uint64_t *ids, float *sims,
                   char *err, size_t errlen);
/* As excache_search, but returns only entries of similarity >= minsim (the
 * same as filtering the unfloored result: ranks are by similarity) and, if
 * hint is not NULL, fills it for excache_insert_hint. */
int excache_search_floor(struct excache *x, const float *q, size_t k, float minsim,
                         struct exhint *hint, uint64_t *ids, float *sims, char *err,
                         size_t errlen);
/* As excache_insert, for the embedding a search filled hint for (or hint
 * NULL), with fewer centroid comparisons: the same result, except that
 * IVF centroids that moved since the search (serve_ivf.c) are taken as
 * they were then. */
int excache_insert_hint(struct excache *x, const struct exentry *proto, const float *emb,
                        const struct exhint *hint, char *err, size_t errlen);

/* Bytes a hint's prep needs (0: the index does not use it). */
size_t excache_prep_size(const struct excache *x);

/* serve_ivf.c: the IVF index of an excache. */
size_t ivf_prep_size(const struct excache *x);
int ivf_init(struct excache *x, uint64_t budget);
void ivf_free(struct excache *x);
int ivf_grow(struct excache *x, uint32_t cap);
int ivf_add(struct excache *x, uint32_t id, const float *emb, const struct exhint *hint,
            char *err, size_t errlen);
void ivf_del(struct excache *x, uint32_t id);
/* The portable kernels (tests compare the others with them). */
void ivf_score_c(const struct ivf_query *q, const int8_t *codes, const float *qs, uint32_t n,
                 uint32_t cdim, float *out, float *bmax);
uint32_t ivf_filter_c(const struct ivf_query *q, const int8_t *codes, const float *qs,
                      const float *qe, uint32_t n, uint32_t cdim, float tau, uint32_t *pass,
                      float *val);
int ivf_search(struct excache *x, const float *q, size_t k, float minsim, struct exhint *hint,
               uint64_t *ids, float *sims, char *err, size_t errlen);

#endif
