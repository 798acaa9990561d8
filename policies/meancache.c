/*
 * meancache.c - MeanCache: a semantic cache that also matches contexts.
 *
 * Reference: W. Gill, M. Elidrisi, P. Kalapatapu, A. Ahmed, A. Anwar and
 * M. A. Gulzar, "MeanCache: User-Centric Semantic Caching for LLM Web
 * Services", IEEE IPDPS, 2025 (arXiv:2403.02694, 2024).
 *
 * Mechanism: as `semantic` (semcache.c), but a follow-up question ("and in
 * French?") means different things in different conversations, so a cached
 * entry remembers its context, the embedding of the query that preceded it
 * in its conversation (none on a first turn).  A cached query similar
 * enough to the request is served only if, in addition, the contexts match:
 * both are first turns, or both have a context and their cosine is at or
 * above `context_threshold`.  The `candidates` most similar cached queries
 * above `threshold` are tried best first.
 *
 * The conversation is the trace's `context` field; a request is a first
 * turn if no earlier request of its conversation was seen (the `turn` field
 * is not used).  The last query of every conversation seen is kept (dim
 * floats each), so memory grows with the number of conversations.
 *
 * Deviations: MeanCache learns its embeddings with federated learning and
 * compresses them (PCA); here embeddings come from the trace.  The paper
 * checks contexts for the top candidate; `candidates` generalises that
 * (candidates=1 is the paper's rule).
 */
#include <stddef.h>

#include "semcache.h"

static const struct sim_param_def meancache_params[] = {
    SEMC_PARAMS,
    {"context_threshold", SIM_P_REAL, "0.7", -1, 1, NULL,
     "similarity the contexts (preceding queries) must reach"},
    {"candidates", SIM_P_INT, "1", 1, 64, NULL, "similar queries whose context is tried"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static void *meancache_create(const struct sim_cache_config *cfg, const sim_params *p,
                              char *err, size_t errlen)
{
    return semc_create("meancache", 1, cfg, p, err, errlen);
}

static void meancache_destroy(void *s) { semc_destroy(s); }
static void meancache_access(void *s, const struct sim_req *req, struct sim_outcome *out)
{
    semc_access(s, req, out);
}
static void meancache_values(void *s, double *v) { semc_values(s, v); }
static void meancache_reset(void *s) { semc_reset(s); }
static int meancache_check(void *s, char *err, size_t errlen)
{
    return semc_check(s, err, errlen);
}

const struct sim_policy_ops sim_policy_meancache = {
    .abi_version = SIM_POLICY_ABI,
    .name = "meancache",
    .summary = "semantic cache that also matches the preceding query (context chains)",
    .reference = "Gill et al., MeanCache, IEEE IPDPS, 2025",
    .needs = SIM_F_EMB | SIM_F_CLASS | SIM_F_CONTEXT,
    .unit = SIM_UNIT_ENTRIES,
    .params = meancache_params,
    .columns = semc_columns,
    .create = meancache_create,
    .destroy = meancache_destroy,
    .access = meancache_access,
    .values = meancache_values,
    .reset = meancache_reset,
    .check = meancache_check,
};
