/*
 * iccache.c - IC-Cache's example cache as a cachesim policy.
 *
 * Paper: "IC-Cache: Efficient Large Language Model Serving via In-context
 * Caching", SOSP 2025.
 *
 * Mechanism: the cache keeps past requests (embedding, class, tokens) as
 * candidate in-context examples under a byte budget.  For each request it
 * retrieves the most similar entries (cosine >= min_sim), ranks them by
 * predicted value = utility * relevance(similarity), and selects up to k.
 * The request then joins the cache.  Utilities are learned from feedback:
 * an example is rewarded when it turned out useful, i.e. it shares the
 * request's class (ground truth from the trace); admission and eviction go
 * by utility per byte (sampled knapsack, see libsim/serve_excache.c).
 *
 * What cachesim measures here is the example cache alone: a "hit" is a
 * request given at least one example, a "useful hit" one given an example
 * of its own class.  The quality, latency and routing consequences need
 * the serving simulation (replay --serve; sim_serve.h), which uses the
 * same example cache.
 *
 * Deviations from the paper: utilities are learned by an exponential
 * moving average of a binary usefulness signal instead of the paper's
 * model-scored feedback; retrieval is exact or HNSW, not clustered.
 *
 * Invariants: those of the example cache (bytes <= capacity).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"
#include "sim_policy.h"

#define MAXK 16
#define CANDIDATES 32

struct iccache {
    struct excache x;
    int ready;
    uint64_t capacity, seed;
    unsigned k;
    double min_sim, prior, lr;
    int index;                /* enum sim_serve_index */
    uint64_t requests, examples, useful_hits;
};

static const struct sim_param_def iccache_params[] = {
    {"k", SIM_P_INT, "4", 1, MAXK, NULL, "examples per request, at most"},
    {"min_sim", SIM_P_REAL, "0.5", -1, 0.999, NULL, "cosine below which an entry is no example"},
    {"prior", SIM_P_REAL, "0.5", 0, 1, NULL, "utility of a new entry"},
    {"lr", SIM_P_REAL, "0.2", 0, 1, NULL, "learning rate of utilities"},
    {"index", SIM_P_ENUM, "ivf", 0, 0, "ivf|flat|hnsw", "vector index"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static const char *const iccache_columns[] = {"examples_per_request", "useful_hit_rate", NULL};

static void *iccache_create(const struct sim_cache_config *cfg, const sim_params *p, char *err,
                            size_t errlen)
{
    struct iccache *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "iccache: out of memory");
        return NULL;
    }
    c->capacity = cfg->capacity;
    c->seed = cfg->seed;
    c->k = (unsigned)sim_params_int(p, "k");
    c->min_sim = sim_params_real(p, "min_sim");
    c->prior = sim_params_real(p, "prior");
    c->lr = sim_params_real(p, "lr");
    c->index = excache_index_named(sim_params_str(p, "index"));
    return c;
}

static void iccache_destroy(void *state)
{
    struct iccache *c = state;
    if (!c)
        return;
    if (c->ready)
        excache_free(&c->x);
    free(c);
}

static double relevance(double sim, double s0)
{
    double r = (sim - s0) / (1 - s0);
    return r < 0 ? 0 : r > 1 ? 1 : r;
}

static void iccache_access(void *state, const struct sim_req *req, struct sim_outcome *out)
{
    struct iccache *c = state;
    char err[SIM_ERRLEN];
    if (!req->emb || !req->dim)
        return; /* a miss: nothing to compare */
    if (!c->ready) {
        if (excache_init(&c->x, req->dim, c->capacity, c->index, c->seed, err, sizeof err))
            return;
        c->ready = 1;
    }
    if (req->dim != c->x.dim)
        return;
    c->requests++;
    uint64_t ids[CANDIDATES];
    float sims[CANDIDATES];
    int n = excache_search(&c->x, req->emb, CANDIDATES, ids, sims, err, sizeof err);
    /* Rank by predicted value and take the best k above min_sim. */
    uint32_t chosen[MAXK];
    unsigned nc = 0;
    while (nc < c->k) {
        int best = -1;
        double bv = 0;
        for (int i = 0; i < n; i++) {
            if (sims[i] < c->min_sim || ids[i] == UINT64_MAX)
                continue;
            double v = c->x.e[ids[i]].utility * relevance(sims[i], c->min_sim);
            if (best < 0 || v > bv) {
                best = i;
                bv = v;
            }
        }
        if (best < 0)
            break;
        chosen[nc++] = (uint32_t)ids[best];
        ids[best] = UINT64_MAX;
    }
    int useful = 0;
    for (unsigned i = 0; i < nc; i++) {
        struct exentry *e = &c->x.e[chosen[i]];
        int r = e->cls == req->cls;
        useful |= r;
        excache_set_utility(&c->x, chosen[i], e->utility + (float)(c->lr * (r - e->utility)));
        e->uses++;
    }
    out->hit = nc > 0;
    out->false_hit = nc > 0 && !useful;
    c->examples += nc;
    c->useful_hits += (uint64_t)useful;
    struct exentry proto;
    memset(&proto, 0, sizeof proto);
    proto.cls = req->cls;
    proto.cat = req->category;
    proto.utility = (float)c->prior;
    proto.tokens = req->tokens_in + req->tokens_out;
    /* Bytes: the text (about 4 bytes a token) and the embedding. */
    proto.bytes = proto.tokens * 4u + req->dim * (uint32_t)sizeof(float);
    uint64_t before = c->x.evicted;
    excache_insert(&c->x, &proto, req->emb, err, sizeof err);
    out->evictions = (uint32_t)(c->x.evicted - before);
}

static void iccache_values(void *state, double *v)
{
    struct iccache *c = state;
    v[0] = c->requests ? (double)c->examples / (double)c->requests : 0;
    v[1] = c->requests ? (double)c->useful_hits / (double)c->requests : 0;
}

static void iccache_reset(void *state)
{
    struct iccache *c = state;
    c->requests = c->examples = c->useful_hits = 0;
}

static int iccache_check(void *state, char *err, size_t errlen)
{
    struct iccache *c = state;
    if (c->ready && c->x.bytes > c->x.budget) {
        snprintf(err, errlen, "iccache: %llu bytes over a budget of %llu",
                 (unsigned long long)c->x.bytes, (unsigned long long)c->x.budget);
        return SIM_EINVAL;
    }
    return c->ready && c->x.idx ? sim_vec_check(c->x.idx, err, errlen) : 0;
}

const struct sim_policy_ops sim_policy_iccache = {
    .abi_version = SIM_POLICY_ABI,
    .name = "iccache",
    .summary = "IC-Cache example cache: similar past requests as in-context examples",
    .reference = "IC-Cache, SOSP 2025",
    .needs = SIM_F_EMB | SIM_F_CLASS,
    .unit = SIM_UNIT_BYTES,
    .params = iccache_params,
    .columns = iccache_columns,
    .create = iccache_create,
    .destroy = iccache_destroy,
    .access = iccache_access,
    .values = iccache_values,
    .reset = iccache_reset,
    .check = iccache_check,
};
