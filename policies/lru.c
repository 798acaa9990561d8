/*
 * lru.c - Least Recently Used.
 *
 * The classic: on a hit the object moves to the head of one queue; the
 * victim is the tail.  Reference: e.g. Mattson, Gecsei, Slutz and Traiger,
 * "Evaluation techniques for storage hierarchies", IBM Systems Journal, 1970
 * (which also shows LRU is a stack algorithm: its miss ratio never rises
 * with the cache size).  Defined as in libCacheSim's LRU.c, so the numbers
 * agree with it.
 *
 * Invariants: 1. the queue holds exactly the cached objects;
 *             2. along the queue, last-access times never increase.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sim_policy.h"

struct lru_meta {
    struct sim_link link;
};

struct lru {
    sim_objcache *oc;
    struct sim_list q;
};

#define OFF SIM_LINK_OFF(struct lru_meta, link)
#define BASE(p) sim_objcache_base((p)->oc), sim_objcache_stride((p)->oc), OFF

static void lru_hit(void *pol, uint32_t id, const struct sim_req *req)
{
    struct lru *p = pol;
    (void)req;
    if (p->q.head == id)
        return;
    sim_list_unlink(&p->q, BASE(p), id);
    sim_list_push_head(&p->q, BASE(p), id);
}

static void lru_insert(void *pol, uint32_t id, const struct sim_req *req)
{
    struct lru *p = pol;
    (void)req;
    sim_list_push_head(&p->q, BASE(p), id);
}

static uint32_t lru_victim(void *pol)
{
    struct lru *p = pol;
    uint32_t v = p->q.tail;
    sim_list_unlink(&p->q, BASE(p), v);
    return v;
}

static void lru_remove(void *pol, uint32_t id)
{
    struct lru *p = pol;
    sim_list_unlink(&p->q, BASE(p), id);
}

static const struct sim_objcache_hooks lru_hooks = {
    sizeof(struct lru_meta), lru_hit, NULL, lru_victim, lru_insert, lru_remove,
};

static void lru_destroy(void *state)
{
    struct lru *p = state;
    if (!p)
        return;
    sim_objcache_free(p->oc);
    free(p);
}

static void *lru_create(const struct sim_cache_config *cfg, const sim_params *params,
                        char *err, size_t errlen)
{
    (void)params;
    struct lru *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "lru: out of memory");
        return NULL;
    }
    sim_list_init(&p->q);
    p->oc = sim_objcache_create(cfg, &lru_hooks, p, err, errlen);
    if (!p->oc) {
        free(p);
        return NULL;
    }
    return p;
}

static void lru_access(void *state, const struct sim_req *req, struct sim_outcome *out)
{
    struct lru *p = state;
    sim_objcache_access(p->oc, req, out);
}

static int lru_check(void *state, char *err, size_t errlen)
{
    struct lru *p = state;
    if (p->q.count != sim_objcache_count(p->oc)) {
        snprintf(err, errlen, "lru: queue has %llu objects, cache %llu",
                 (unsigned long long)p->q.count,
                 (unsigned long long)sim_objcache_count(p->oc));
        return SIM_EINVAL;
    }
    if (sim_objcache_used(p->oc) > sim_objcache_capacity(p->oc)) {
        snprintf(err, errlen, "lru: over capacity");
        return SIM_EINVAL;
    }
    return 0;
}

const struct sim_policy_ops sim_policy_lru = {
    .abi_version = SIM_POLICY_ABI,
    .name = "lru",
    .summary = "least recently used",
    .reference = "Mattson et al., IBM Systems Journal, 1970",
    .needs = SIM_F_KEY | SIM_F_SIZE,
    .unit = SIM_UNIT_BYTES,
    .create = lru_create,
    .destroy = lru_destroy,
    .access = lru_access,
    .check = lru_check,
    .prefetch = sim_objcache_prefetch_state,
    .used = sim_objcache_used_state,
};
