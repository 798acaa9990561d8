/*
 * fifo.c - First In, First Out.
 *
 * Objects leave in insertion order; hits change nothing.  The baseline of
 * every eviction study, and (with lazy promotion and quick demotion) the
 * base of CLOCK, SIEVE and S3-FIFO.  Defined as libCacheSim's FIFO.c.
 *
 * Invariant: the queue holds exactly the cached objects, newest at head.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sim_policy.h"

struct fifo_meta {
    struct sim_link link;
};

struct fifo {
    sim_objcache *oc;
    struct sim_list q;
};

#define OFF SIM_LINK_OFF(struct fifo_meta, link)
#define BASE(p) sim_objcache_base((p)->oc), sim_objcache_stride((p)->oc), OFF

static void fifo_hit(void *pol, uint32_t id, const struct sim_req *req)
{
    (void)pol, (void)id, (void)req;
}

static void fifo_insert(void *pol, uint32_t id, const struct sim_req *req)
{
    struct fifo *p = pol;
    (void)req;
    sim_list_push_head(&p->q, BASE(p), id);
}

static uint32_t fifo_victim(void *pol)
{
    struct fifo *p = pol;
    uint32_t v = p->q.tail;
    sim_list_unlink(&p->q, BASE(p), v);
    return v;
}

static void fifo_remove(void *pol, uint32_t id)
{
    struct fifo *p = pol;
    sim_list_unlink(&p->q, BASE(p), id);
}

static const struct sim_objcache_hooks fifo_hooks = {
    sizeof(struct fifo_meta), fifo_hit, NULL, fifo_victim, fifo_insert, fifo_remove,
};

static void fifo_destroy(void *state)
{
    struct fifo *p = state;
    if (!p)
        return;
    sim_objcache_free(p->oc);
    free(p);
}

static void *fifo_create(const struct sim_cache_config *cfg, const sim_params *params,
                         char *err, size_t errlen)
{
    (void)params;
    struct fifo *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "fifo: out of memory");
        return NULL;
    }
    sim_list_init(&p->q);
    p->oc = sim_objcache_create(cfg, &fifo_hooks, p, err, errlen);
    if (!p->oc) {
        free(p);
        return NULL;
    }
    return p;
}

static void fifo_access(void *state, const struct sim_req *req, struct sim_outcome *out)
{
    struct fifo *p = state;
    sim_objcache_access(p->oc, req, out);
}

static int fifo_check(void *state, char *err, size_t errlen)
{
    struct fifo *p = state;
    if (p->q.count != sim_objcache_count(p->oc)) {
        snprintf(err, errlen, "fifo: queue has %llu objects, cache %llu",
                 (unsigned long long)p->q.count,
                 (unsigned long long)sim_objcache_count(p->oc));
        return SIM_EINVAL;
    }
    return 0;
}

const struct sim_policy_ops sim_policy_fifo = {
    .abi_version = SIM_POLICY_ABI,
    .name = "fifo",
    .summary = "first in, first out",
    .reference = "Belady, IBM Systems Journal, 1966",
    .needs = SIM_F_KEY | SIM_F_SIZE,
    .unit = SIM_UNIT_BYTES,
    .create = fifo_create,
    .destroy = fifo_destroy,
    .access = fifo_access,
    .check = fifo_check,
    .prefetch = sim_objcache_prefetch_state,
    .used = sim_objcache_used_state,
};
