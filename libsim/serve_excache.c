/*
 * serve_excache.c - IC-Cache's example cache: past requests kept with
 * their embeddings and answers, for use as in-context examples.
 *
 * Each entry holds the request's class and category (ground truth, hidden
 * from the router), the model that answered, whether the answer was
 * acceptable (hidden), its token count and the learned utility u in [0, 1],
 * the router's estimate of how much the entry helps a similar request.
 *
 * Admission and eviction follow the knapsack view: every answer is
 * admitted, and while the cache is over its byte budget the entry with the
 * lowest utility per byte among SAMPLE random entries is evicted (sampling,
 * as Redis does for LRU, keeps eviction O(1); with SAMPLE = 16 the victim
 * is in the worst 6% of entries 64% of the time).  The entry chosen is
 * deterministic for a seed.  A nearly full cache's next samples are
 * drawn as an insertion ends, for one entry more, so that their entries
 * are in cache when the next insertion evicts (used only if the count is
 * right: the same numbers either way).
 *
 * Retrieval is exact (flat), HNSW (both sim_vec.h), or IVF, the default
 * (serve_ivf.c): IC-Cache retrieves from clusters (2 sqrt(N) of them),
 * which costs about (2 + nprobe / 2) * sqrt(N) code comparisons per
 * request against N for a flat scan and an HNSW insertion per request
 * (which dominated: 5-10k requests/s).
 *
 * Invariants: 1. bytes == sum of live entries' bytes <= budget after an
 *                insert returns;
 *             2. live[] lists exactly the live ids, pos[live[i].id] == i, and
 *                live[i].dens is that entry's utility / bytes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

#define SAMPLE EXCACHE_SAMPLE

int excache_init(struct excache *x, uint32_t dim, uint64_t budget, int kind,
                 uint64_t seed, char *err, size_t errlen)
{
    memset(x, 0, sizeof *x);
    x->kind = kind;
    x->budget = budget;
    x->dim = dim;
    sim_rng_seed(&x->rng, seed ^ 0x6578616d706c6573ULL);
    if (kind == SIM_SERVE_IVF) {
        if (ivf_init(x, budget)) {
            excache_free(x);
            snprintf(err, errlen, "example cache: out of memory");
            return SIM_ENOMEM;
        }
        return 0;
    }
    struct sim_vec_config vc;
    sim_vec_config_init(&vc, kind == SIM_SERVE_HNSW ? SIM_VEC_HNSW : SIM_VEC_FLAT, dim);
    vc.seed = seed;
    vc.capacity = 1024;
    /* Every request inserts an example, so construction cost is paid per
     * request: a lighter graph than the index defaults (M 16, ef 200). */
    vc.M = 8;
    vc.ef_construction = 48;
    vc.ef_search = 32;
    x->idx = sim_vec_create(&vc, err, errlen);
    return x->idx ? 0 : SIM_EINVAL;
}

enum sim_serve_index excache_index_named(const char *name)
{
    return !strcmp(name, "hnsw") ? SIM_SERVE_HNSW
           : !strcmp(name, "flat") ? SIM_SERVE_FLAT
                                   : SIM_SERVE_IVF;
}

void excache_free(struct excache *x)
{
    sim_vec_free(x->idx);
    free(x->e);
    free(x->free_ids);
    free(x->live);
    free(x->pos);
    if (x->kind == SIM_SERVE_IVF)
        ivf_free(x);
    memset(x, 0, sizeof *x);
}

static int grow(struct excache *x)
{
    uint32_t n = x->cap ? x->cap * 2 : 1024;
    struct exentry *e = realloc(x->e, n * sizeof *e);
    if (!e)
        return SIM_ENOMEM;
    x->e = e;
    uint32_t *f = realloc(x->free_ids, n * sizeof *f);
    if (!f)
        return SIM_ENOMEM;
    x->free_ids = f;
    struct exlive *l = realloc(x->live, n * sizeof *l);
    if (!l)
        return SIM_ENOMEM;
    x->live = l;
    uint32_t *p = realloc(x->pos, n * sizeof *p);
    if (!p)
        return SIM_ENOMEM;
    x->pos = p;
    if (x->kind == SIM_SERVE_IVF && ivf_grow(x, n))
        return SIM_ENOMEM;
    x->cap = n;
    return 0;
}

void excache_remove(struct excache *x, uint32_t id)
{
    struct exentry *e = &x->e[id];
    if (x->kind == SIM_SERVE_IVF)
        ivf_del(x, id);
    else
        sim_vec_delete(x->idx, id);
    x->bytes -= e->bytes;
    e->live = 0;
    uint32_t p = x->pos[id];
    x->live[p] = x->live[--x->nlive];
    x->pos[x->live[p].id] = p;
    x->free_ids[x->nfree++] = id;
}

size_t excache_prep_size(const struct excache *x)
{
    return x->kind == SIM_SERVE_IVF ? ivf_prep_size(x) : 0;
}

void excache_set_utility(struct excache *x, uint32_t id, float utility)
{
    struct exentry *e = &x->e[id];
    e->utility = utility;
    if (e->live)
        x->live[x->pos[id]].dens = e->utility / e->bytes;
}

/* SAMPLE positions below n from g, as sim_rng_below would draw them,
 * asking for their entries. */
static void draw_samples(struct excache *x, struct sim_rng *g, uint32_t n, uint32_t *p)
{
    struct below b;
    below_init(&b, n);
    for (int i = 0; i < SAMPLE; i++) {
        p[i] = (uint32_t)below_draw(&b, g);
        __builtin_prefetch(&x->live[p[i]]);
    }
}

/* Of the samples at positions p[0, SAMPLE) below n, the entry with the
 * lowest utility per byte (ties: the lowest id); UINT32_MAX if none. */
static uint32_t least_dense(const struct excache *x, const uint32_t *p, uint32_t n)
{
    uint32_t best = UINT32_MAX;
    float vb = INFINITY;
    for (int i = 0; i < SAMPLE; i++) {
        if (p[i] >= n)
            continue;
        const struct exlive *c = &x->live[p[i]];
        if (c->dens < vb || (c->dens == vb && c->id < best)) {
            best = c->id;
            vb = c->dens;
        }
    }
    return best;
}

/* The sampled knapsack victim: lowest utility per byte among SAMPLE (ties:
 * the lowest id).  The ratios are read from live, by position, next to the
 * ids, not from the entries: 8 bytes a sample in a small array instead of
 * SAMPLE cache misses in a large one; and all positions are drawn first,
 * so that the reads overlap. */
static uint32_t victim(struct excache *x)
{
    uint32_t p[SAMPLE];
    if (x->ahead_n == x->nlive) {
        /* Drawn ahead from this rng state for this many entries: the
         * numbers drawing now would give. */
        memcpy(p, x->ahead, sizeof p);
        x->rng = x->ahead_rng;
    } else
        draw_samples(x, &x->rng, x->nlive, p);
    x->ahead_n = 0; /* used, or rng moved past it */
    return least_dense(x, p, x->nlive);
}

int excache_insert(struct excache *x, const struct exentry *proto, const float *emb,
                   char *err, size_t errlen)
{
    return excache_insert_hint(x, proto, emb, NULL, err, errlen);
}

int excache_insert_hint(struct excache *x, const struct exentry *proto, const float *emb,
                        const struct exhint *hint, char *err, size_t errlen)
{
    if (proto->bytes > x->budget)
        return 0; /* larger than the whole cache: not kept */
    if (x->nfree == 0 && x->n == x->cap && grow(x))
        return SIM_ENOMEM;
    uint32_t id = x->nfree ? x->free_ids[--x->nfree] : x->n++;
    int rc = x->kind == SIM_SERVE_IVF ? ivf_add(x, id, emb, hint, err, errlen)
                                      : sim_vec_insert(x->idx, id, emb, x->dim, err, errlen);
    if (rc) {
        x->free_ids[x->nfree++] = id;
        return rc;
    }
    x->e[id] = *proto;
    x->e[id].live = 1;
    x->pos[id] = x->nlive;
    x->live[x->nlive++] = (struct exlive){proto->utility / proto->bytes, id};
    x->bytes += proto->bytes;
    x->inserted++;
    while (x->bytes > x->budget) {
        uint32_t v = victim(x);
        excache_remove(x, v);
        x->evicted++;
    }
    if (x->budget - x->bytes < proto->bytes && x->ahead_n != x->nlive + 1) {
        /* Less room than this entry took: the next insertion will likely
         * evict, with one entry more live.  Its samples drawn now (on a
         * copy of rng) are in cache by then, instead of SAMPLE misses
         * waited for at once.  (Drawing after evicting insertions only
         * wasted 16% of the draws, this 8%.) */
        x->ahead_rng = x->rng;
        draw_samples(x, &x->ahead_rng, x->nlive + 1, x->ahead);
        x->ahead_n = x->nlive + 1;
        x->ahead_seen = 0;
    }
    return 0;
}

/* The victim the samples drawn ahead will likely choose (among the
 * entries live now: a sample of the next insertion's own place is left
 * out), so that the index can fetch what removing it touches while a
 * search runs: a removal from a list reads two rows in DRAM.  Only a
 * prefetch: whichever victim the insertion does choose is the same. */
static void prefetch_victim(struct excache *x)
{
    if (x->ahead_n != x->nlive + 1 || x->ahead_seen)
        return;
    x->ahead_seen = 1;
    uint32_t best = least_dense(x, x->ahead, x->nlive);
    if (best != UINT32_MAX)
        ivf_prefetch_del(x, best);
}

int excache_search(struct excache *x, const float *q, size_t k, uint64_t *ids, float *sims,
                   char *err, size_t errlen)
{
    return excache_search_floor(x, q, k, -INFINITY, NULL, ids, sims, err, errlen);
}

int excache_search_floor(struct excache *x, const float *q, size_t k, float minsim,
                         struct exhint *hint, uint64_t *ids, float *sims, char *err,
                         size_t errlen)
{
    if (hint) {
        hint->ncent = 0;
        hint->have_prep = 0;
    }
    if (x->nlive == 0)
        return 0;
    if (x->kind == SIM_SERVE_IVF) {
        prefetch_victim(x);
        return ivf_search(x, q, k, minsim, hint, ids, sims, err, errlen);
    }
    int n = sim_vec_search(x->idx, q, x->dim, k, ids, sims, err, errlen);
    while (n > 0 && sims[n - 1] < minsim)
        n--;
    return n;
}

int excache_defer(struct excache *x)
{
    return x->kind == SIM_SERVE_IVF && ivf_defer(x);
}

void excache_apply(struct excache *x)
{
    if (x->kind == SIM_SERVE_IVF)
        ivf_apply(x);
}
