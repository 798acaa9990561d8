/*
 * semcache.h - the engine shared by the semantic-cache policies (semantic.c,
 * meancache.c): entries of (query embedding, class, answer size), a vector
 * index to find the most similar cached query, eviction (LRU, LFU, FIFO),
 * TTL, and the hit-quality counters.  Not installed.
 */
#ifndef SIM_SEMCACHE_H
#define SIM_SEMCACHE_H

#include "sim_policy.h"

struct semc;

/* The parameters both policies declare (name, type, default, bounds). */
#define SEMC_PARAMS                                                                    \
    {"threshold", SIM_P_REAL, "0.8", -1, 1, NULL,                                      \
     "similarity at or above which a cached answer is served"},                        \
    {"index", SIM_P_ENUM, "flat", 0, 0, "flat|hnsw", "vector index: exact or HNSW"},   \
    {"eviction", SIM_P_ENUM, "lru", 0, 0, "lru|lfu|fifo", "which entry to evict"},     \
    {"M", SIM_P_INT, "16", 2, 256, NULL, "HNSW links per node (2M on layer 0)"},       \
    {"ef_construction", SIM_P_INT, "200", 1, 100000, NULL, "HNSW insert beam width"}, \
    {"ef_search", SIM_P_INT, "64", 1, 100000, NULL, "HNSW search beam width"}

/* The extra CSV columns of both policies (semcache.c defines them). */
extern const char *const semc_columns[];

/* `meancache`: also match contexts (params context_threshold, candidates). */
struct semc *semc_create(const char *name, int meancache, const struct sim_cache_config *cfg,
                         const sim_params *p, char *err, size_t errlen);
void semc_destroy(struct semc *c);
void semc_access(struct semc *c, const struct sim_req *req, struct sim_outcome *out);
void semc_values(struct semc *c, double *values);
void semc_reset(struct semc *c);
int semc_check(struct semc *c, char *err, size_t errlen);

#endif
