/*
 * belady.c - Belady's MIN (OPT): evict the object needed farthest ahead.
 *
 * Belady, "A study of replacement algorithms for a virtual-storage
 * computer", IBM Systems Journal, 1966.
 *
 * Mechanism: every cached object is keyed by the index of its next request
 * (the trace's next_access, or computed by sim_run's first pass); the victim
 * is the object whose next request is farthest, and objects never requested
 * again (next_access -1) go first.  A max-heap on next access makes each
 * step O(log n).  With unit sizes this is optimal (it has the fewest misses
 * of any policy); with sizes it is only a heuristic (optimal with sizes is
 * NP-hard), but a useful bound.
 *
 * Defined as libCacheSim's Belady.c (1a1a11a/libCacheSim): every missed
 * object is admitted, even one never requested again (it is then the first
 * to go); a hit re-keys the object.  Objects never requested again tie; we
 * evict the least recently keyed first (libCacheSim's order among them
 * depends on its heap's internal layout, which only matters with sizes).
 * A request without next_access (no SIM_F_NEXT: the caller fed requests
 * without the first pass) counts as never requested again.
 *
 * Invariants: 1. the heap holds exactly the cached objects;
 *             2. the heap top has the largest next access.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim_heap.h"
#include "sim_policy.h"

struct belady {
    sim_objcache *oc;
    struct sim_heap heap;   /* pri = -next access; tie = keying order */
    uint64_t clock;         /* counts keyings, for the tie */
    int oom;                /* a push failed: the heap lost an object */
};

/* Farther next access = smaller key; "never" is the smallest of all. */
static double belady_key(const struct sim_req *req)
{
    if (!(req->present & SIM_F_NEXT) || req->next_access < 0)
        return -HUGE_VAL;
    return -(double)req->next_access;
}

static void belady_hit(void *pol, uint32_t id, const struct sim_req *req)
{
    struct belady *p = pol;
    sim_heap_update(&p->heap, id, belady_key(req), p->clock++);
}

static void belady_insert(void *pol, uint32_t id, const struct sim_req *req)
{
    struct belady *p = pol;
    if (sim_heap_push(&p->heap, id, belady_key(req), p->clock++))
        p->oom = 1;
}

static uint32_t belady_victim(void *pol)
{
    struct belady *p = pol;
    return sim_heap_pop(&p->heap, NULL);
}

static void belady_remove(void *pol, uint32_t id)
{
    struct belady *p = pol;
    sim_heap_remove(&p->heap, id);
}

static const struct sim_objcache_hooks belady_hooks = {
    0, belady_hit, NULL, belady_victim, belady_insert, belady_remove,
};

static void belady_destroy(void *state)
{
    struct belady *p = state;
    if (!p)
        return;
    sim_objcache_free(p->oc);
    sim_heap_free(&p->heap);
    free(p);
}

static void *belady_create(const struct sim_cache_config *cfg, const sim_params *params,
                           char *err, size_t errlen)
{
    (void)params;
    struct belady *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "belady: out of memory");
        return NULL;
    }
    sim_heap_init(&p->heap);
    p->oc = sim_objcache_create(cfg, &belady_hooks, p, err, errlen);
    if (!p->oc) {
        free(p);
        return NULL;
    }
    return p;
}

static void belady_access(void *state, const struct sim_req *req, struct sim_outcome *out)
{
    struct belady *p = state;
    /* After an allocation failure the heap no longer covers the cache;
     * stop storing rather than evict blindly. */
    if (p->oom && sim_objcache_find(p->oc, req->key) == SIM_KEYMAP_NONE) {
        out->hit = 0;
        out->uncounted = req->op == SIM_OP_DELETE;
        return;
    }
    sim_objcache_access(p->oc, req, out);
}

static int belady_check(void *state, char *err, size_t errlen)
{
    struct belady *p = state;
    if (sim_objcache_used(p->oc) > sim_objcache_capacity(p->oc)) {
        snprintf(err, errlen, "belady: over capacity");
        return SIM_EINVAL;
    }
    if (p->heap.n != sim_objcache_count(p->oc) || !sim_heap_check(&p->heap)) {
        snprintf(err, errlen, "belady: heap has %llu objects, cache %llu, order %s",
                 (unsigned long long)p->heap.n,
                 (unsigned long long)sim_objcache_count(p->oc),
                 sim_heap_check(&p->heap) ? "ok" : "broken");
        return SIM_EINVAL;
    }
    for (size_t i = 0; i < p->heap.n; i++)
        if (!sim_objcache_is_live(p->oc, sim_heap_id_at(&p->heap, i))) {
            snprintf(err, errlen, "belady: heap holds an evicted object");
            return SIM_EINVAL;
        }
    return 0;
}

const struct sim_policy_ops sim_policy_belady = {
    .abi_version = SIM_POLICY_ABI,
    .name = "belady",
    .summary = "Belady's MIN: evict the object requested farthest ahead (offline)",
    .reference = "Belady, IBM Systems Journal, 1966",
    .needs = SIM_F_KEY | SIM_F_SIZE | SIM_F_NEXT,
    .unit = SIM_UNIT_BYTES,
    .create = belady_create,
    .destroy = belady_destroy,
    .access = belady_access,
    .check = belady_check,
    .used = sim_objcache_used_state,
};
