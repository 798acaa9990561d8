/*
 * semantic.c - a GPTCache-style semantic cache.
 *
 * Reference: F. Bang, "GPTCache: An Open-Source Semantic Cache for LLM
 * Applications Enabling Faster Answers and Cost Savings", NLP-OSS workshop
 * at EMNLP, 2023 (and the GPTCache project, zilliztech/GPTCache).
 *
 * Mechanism: the cache holds (query embedding, answer) pairs.  A request is
 * embedded, the most similar cached query is found in a vector index, and
 * if its cosine similarity is at or above `threshold` its answer is served;
 * otherwise the LLM is called and the new pair is inserted.  Served answers
 * are scored against the trace's ground truth (`class`: requests of one
 * class are paraphrases with one correct answer): a true hit, a false hit
 * (another class's answer), or, on a miss, a false miss when an entry of
 * the request's class was cached.  The engine, its columns and invariants
 * are in semcache.c.
 *
 * Deviations: GPTCache evaluates a candidate with a separate similarity
 * evaluator (often the same cosine); here the index's cosine is the score.
 * Capacity is counted in entries (or answer tokens or bytes), not in GPTCache's
 * max_size of entries only.
 */
#include <stddef.h>

#include "semcache.h"

static const struct sim_param_def semantic_params[] = {
    SEMC_PARAMS,
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static void *semantic_create(const struct sim_cache_config *cfg, const sim_params *p,
                             char *err, size_t errlen)
{
    return semc_create("semantic", 0, cfg, p, err, errlen);
}

static void semantic_destroy(void *s) { semc_destroy(s); }
static void semantic_access(void *s, const struct sim_req *req, struct sim_outcome *out)
{
    semc_access(s, req, out);
}
static void semantic_values(void *s, double *v) { semc_values(s, v); }
static void semantic_reset(void *s) { semc_reset(s); }
static int semantic_check(void *s, char *err, size_t errlen)
{
    return semc_check(s, err, errlen);
}

const struct sim_policy_ops sim_policy_semantic = {
    .abi_version = SIM_POLICY_ABI,
    .name = "semantic",
    .summary = "semantic cache: serve the most similar cached query above a threshold",
    .reference = "Bang, GPTCache, NLP-OSS at EMNLP, 2023",
    .needs = SIM_F_EMB | SIM_F_CLASS,
    .unit = SIM_UNIT_ENTRIES,
    .params = semantic_params,
    .columns = semc_columns,
    .create = semantic_create,
    .destroy = semantic_destroy,
    .access = semantic_access,
    .values = semantic_values,
    .reset = semantic_reset,
    .check = semantic_check,
};
