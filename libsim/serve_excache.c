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
 * deterministic for a seed.
 *
 * Retrieval is exact (flat), HNSW (both sim_vec.h), or IVF, the default:
 * IC-Cache retrieves from clusters (about sqrt(N) of them).  Centroids are
 * chosen online, leader-style: a new entry whose best centroid is below
 * LEADER_SIM founds a cluster, until there are nlist = sqrt(expected
 * entries) of them; every entry joins its nearest centroid's list, and a
 * search scans the lists of the nprobe nearest centroids.  Per request that
 * is about (2 + nprobe) * sqrt(N) dot products, against N for a flat scan
 * and an HNSW insertion per request (which dominated: 5-10k requests/s).
 *
 * Invariants: 1. bytes == sum of live entries' bytes <= budget after an
 *                insert returns;
 *             2. live[] lists exactly the live ids; pos[live[i]] == i;
 *             3. ivf: entry id is lists[cluster[id]].ids[slot[id]].
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

#define SAMPLE 16
#define LEADER_SIM 0.9f
#define MAXK 64

static int ivf_init(struct excache *x, uint64_t budget)
{
    /* Expected entries: the budget over a typical entry (600 tokens of text
     * at 4 bytes, plus the embedding). */
    double expect = (double)budget / (2400.0 + 4.0 * x->dim);
    uint32_t nlist = (uint32_t)ceil(sqrt(expect));
    x->nlist = nlist < 8 ? 8 : nlist > 65536 ? 65536 : nlist;
    x->nprobe = 4;
    x->cent = malloc((size_t)x->nlist * x->dim * sizeof *x->cent);
    x->lists = calloc(x->nlist, sizeof *x->lists);
    x->scratch = malloc((x->dim + x->nlist) * sizeof *x->scratch);
    x->probe = malloc(x->nlist * sizeof *x->probe);
    x->probe_sim = malloc(x->nlist * sizeof *x->probe_sim);
    return x->cent && x->lists && x->scratch && x->probe && x->probe_sim ? 0 : SIM_ENOMEM;
}

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

void excache_free(struct excache *x)
{
    sim_vec_free(x->idx);
    free(x->e);
    free(x->free_ids);
    free(x->live);
    free(x->pos);
    free(x->cent);
    free(x->vec);
    free(x->cluster);
    free(x->slot);
    for (uint32_t i = 0; x->lists && i < x->nlist; i++)
        free(x->lists[i].ids);
    free(x->lists);
    free(x->scratch);
    free(x->probe);
    free(x->probe_sim);
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
    uint32_t *l = realloc(x->live, n * sizeof *l);
    if (!l)
        return SIM_ENOMEM;
    x->live = l;
    uint32_t *p = realloc(x->pos, n * sizeof *p);
    if (!p)
        return SIM_ENOMEM;
    x->pos = p;
    if (x->kind == SIM_SERVE_IVF) {
        float *v = realloc(x->vec, (size_t)n * x->dim * sizeof *v);
        if (!v)
            return SIM_ENOMEM;
        x->vec = v;
        uint32_t *c = realloc(x->cluster, n * sizeof *c);
        if (!c)
            return SIM_ENOMEM;
        x->cluster = c;
        uint32_t *sl = realloc(x->slot, n * sizeof *sl);
        if (!sl)
            return SIM_ENOMEM;
        x->slot = sl;
    }
    x->cap = n;
    return 0;
}

/*=====   IVF   =====*/

/* Fills x->scratch + dim with the similarity of q to every centroid. */
static void centroid_sims(struct excache *x, const float *q)
{
    float *s = x->scratch + x->dim;
    for (uint32_t c = 0; c < x->ncent; c++)
        s[c] = sim_vec_dot(q, x->cent + (size_t)c * x->dim, x->dim);
}

static int ivf_add(struct excache *x, uint32_t id, const float *emb, char *err, size_t errlen)
{
    float *v = x->vec + (size_t)id * x->dim;
    memcpy(v, emb, x->dim * sizeof *v);
    if (sim_vec_normalise(v, x->dim)) {
        snprintf(err, errlen, "example embedding: NaN, infinite or zero");
        return SIM_EINVAL;
    }
    centroid_sims(x, v);
    const float *s = x->scratch + x->dim;
    uint32_t best = 0;
    for (uint32_t c = 1; c < x->ncent; c++)
        if (s[c] > s[best])
            best = c;
    if (x->ncent < x->nlist && (x->ncent == 0 || s[best] < LEADER_SIM)) {
        best = x->ncent++;
        memcpy(x->cent + (size_t)best * x->dim, v, x->dim * sizeof *v);
    }
    struct ivf_list *l = &x->lists[best];
    if (l->n == l->cap) {
        uint32_t n = l->cap ? l->cap * 2 : 16;
        uint32_t *ids = realloc(l->ids, n * sizeof *ids);
        if (!ids) {
            snprintf(err, errlen, "example cache: out of memory");
            return SIM_ENOMEM;
        }
        l->ids = ids;
        l->cap = n;
    }
    x->cluster[id] = best;
    x->slot[id] = l->n;
    l->ids[l->n++] = id;
    return 0;
}

static void ivf_del(struct excache *x, uint32_t id)
{
    struct ivf_list *l = &x->lists[x->cluster[id]];
    uint32_t at = x->slot[id], last = l->ids[--l->n];
    l->ids[at] = last;
    x->slot[last] = at;
}

/* Keeps the k best (sim desc, id asc) in ids/sims, n of them so far. */
static size_t topk_add(uint64_t *ids, float *sims, size_t n, size_t k, uint32_t id, float sim)
{
    size_t i = n < k ? n++ : k;
    if (i == k && !(sim > sims[k - 1] || (sim == sims[k - 1] && id < ids[k - 1])))
        return n;
    if (i == k)
        i = k - 1;
    while (i > 0 && (sims[i - 1] < sim || (sims[i - 1] == sim && ids[i - 1] > id))) {
        ids[i] = ids[i - 1];
        sims[i] = sims[i - 1];
        i--;
    }
    ids[i] = id;
    sims[i] = sim;
    return n;
}

static int ivf_search(struct excache *x, const float *q, size_t k, uint64_t *ids, float *sims,
                      char *err, size_t errlen)
{
    float *u = x->scratch;
    memcpy(u, q, x->dim * sizeof *u);
    if (sim_vec_normalise(u, x->dim)) {
        snprintf(err, errlen, "query embedding: NaN, infinite or zero");
        return SIM_EINVAL;
    }
    centroid_sims(x, u);
    /* The nprobe nearest centroids. */
    uint64_t *probe = x->probe;
    size_t np = 0, want = x->nprobe < x->nlist ? x->nprobe : x->nlist;
    for (uint32_t c = 0; c < x->ncent; c++)
        np = topk_add(probe, x->probe_sim, np, want, c, x->scratch[x->dim + c]);
    size_t n = 0;
    if (k > MAXK)
        k = MAXK;
    for (size_t p = 0; p < np; p++) {
        const struct ivf_list *l = &x->lists[probe[p]];
        for (uint32_t i = 0; i < l->n; i++) {
            uint32_t id = l->ids[i];
            n = topk_add(ids, sims, n, k, id, sim_vec_dot(u, x->vec + (size_t)id * x->dim, x->dim));
        }
    }
    return (int)n;
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
    uint32_t p = x->pos[id], last = x->live[--x->nlive];
    x->live[p] = last;
    x->pos[last] = p;
    x->free_ids[x->nfree++] = id;
}

/* The sampled knapsack victim: lowest utility per byte among SAMPLE. */
static uint32_t victim(struct excache *x)
{
    uint32_t best = x->live[sim_rng_below(&x->rng, x->nlive)];
    for (int i = 1; i < SAMPLE; i++) {
        uint32_t c = x->live[sim_rng_below(&x->rng, x->nlive)];
        double vc = x->e[c].utility / x->e[c].bytes;
        double vb = x->e[best].utility / x->e[best].bytes;
        if (vc < vb || (vc == vb && c < best))
            best = c;
    }
    return best;
}

int excache_insert(struct excache *x, const struct exentry *proto, const float *emb,
                   char *err, size_t errlen)
{
    if (proto->bytes > x->budget)
        return 0; /* larger than the whole cache: not kept */
    if (x->nfree == 0 && x->n == x->cap && grow(x))
        return SIM_ENOMEM;
    uint32_t id = x->nfree ? x->free_ids[--x->nfree] : x->n++;
    int rc = x->kind == SIM_SERVE_IVF ? ivf_add(x, id, emb, err, errlen)
                                      : sim_vec_insert(x->idx, id, emb, x->dim, err, errlen);
    if (rc) {
        x->free_ids[x->nfree++] = id;
        return rc;
    }
    x->e[id] = *proto;
    x->e[id].live = 1;
    x->pos[id] = x->nlive;
    x->live[x->nlive++] = id;
    x->bytes += proto->bytes;
    x->inserted++;
    while (x->bytes > x->budget) {
        uint32_t v = victim(x);
        excache_remove(x, v);
        x->evicted++;
    }
    return 0;
}

int excache_search(struct excache *x, const float *q, size_t k, uint64_t *ids, float *sims,
                   char *err, size_t errlen)
{
    if (x->nlive == 0)
        return 0;
    if (x->kind == SIM_SERVE_IVF)
        return ivf_search(x, q, k, ids, sims, err, errlen);
    return sim_vec_search(x->idx, q, x->dim, k, ids, sims, err, errlen);
}
