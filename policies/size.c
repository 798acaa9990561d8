/*
 * size.c - SIZE: evict the largest object.
 *
 * S. Williams, M. Abrams, C. R. Standridge, G. Abdulla and E. A. Fox,
 * "Removal policies in network caches for World-Wide Web documents",
 * SIGCOMM 1996: removing the largest documents first keeps the most
 * documents per byte, which favours the object hit ratio over the byte hit
 * ratio.  Ties (equal sizes, e.g. every object with --ignore-size) go to
 * the oldest insertion, so equal-size traces behave as FIFO.  Hits change
 * nothing.  libCacheSim has no SIZE eviction policy to compare with (its
 * "Size" is an admission filter).
 *
 * A binary max-heap of ids ordered by (size, then older first); each object
 * remembers its heap slot, so removal by id (TTL, deletes) is O(log n).
 *
 * Invariants: 1. the heap holds exactly the cached objects and
 *                heap[pos[id]] == id;
 *             2. no child outranks its parent.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sim_policy.h"

struct size_meta {
    uint64_t seq;  /* insertion number: smaller is older */
    uint32_t pos;  /* slot in the heap */
};

struct size {
    sim_objcache *oc;
    uint32_t *heap;
    uint32_t n, cap;
    uint64_t seq;
};

static struct size_meta *size_meta(const struct size *p, uint32_t id)
{
    return sim_objcache_meta(p->oc, id);
}

/* Does a outrank b (evicted before it)? */
static int size_above(const struct size *p, uint32_t a, uint32_t b)
{
    uint32_t sa = sim_objcache_obj(p->oc, a)->size, sb = sim_objcache_obj(p->oc, b)->size;
    if (sa != sb)
        return sa > sb;
    return size_meta(p, a)->seq < size_meta(p, b)->seq;
}

static void size_put(struct size *p, uint32_t i, uint32_t id)
{
    p->heap[i] = id;
    size_meta(p, id)->pos = i;
}

static void size_up(struct size *p, uint32_t i)
{
    uint32_t id = p->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!size_above(p, id, p->heap[parent]))
            break;
        size_put(p, i, p->heap[parent]);
        i = parent;
    }
    size_put(p, i, id);
}

static void size_down(struct size *p, uint32_t i)
{
    uint32_t id = p->heap[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= p->n)
            break;
        if (c + 1 < p->n && size_above(p, p->heap[c + 1], p->heap[c]))
            c++;
        if (!size_above(p, p->heap[c], id))
            break;
        size_put(p, i, p->heap[c]);
        i = c;
    }
    size_put(p, i, id);
}

/* Removes the entry at slot i, filling it with the last one. */
static void size_take(struct size *p, uint32_t i)
{
    uint32_t last = p->heap[--p->n];
    if (i == p->n)
        return;
    size_put(p, i, last);
    size_up(p, i);
    size_down(p, size_meta(p, last)->pos);
}

static void size_hit(void *pol, uint32_t id, const struct sim_req *req)
{
    (void)pol, (void)id, (void)req;
}

/* Room for one more heap slot before the object is stored, so that insert
 * cannot fail; out of memory, the object is not cached. */
static int size_admit(void *pol, const struct sim_req *req)
{
    struct size *p = pol;
    (void)req;
    if (p->n < p->cap)
        return 1;
    uint32_t cap = p->cap ? p->cap * 2 : 1024;
    uint32_t *h = realloc(p->heap, (size_t)cap * sizeof *h);
    if (!h)
        return 0;
    p->heap = h;
    p->cap = cap;
    return 1;
}

static void size_insert(void *pol, uint32_t id, const struct sim_req *req)
{
    struct size *p = pol;
    (void)req;
    size_meta(p, id)->seq = p->seq++;
    size_put(p, p->n++, id);
    size_up(p, p->n - 1);
}

static uint32_t size_victim(void *pol)
{
    struct size *p = pol;
    uint32_t v = p->heap[0];
    size_take(p, 0);
    return v;
}

static void size_remove(void *pol, uint32_t id)
{
    struct size *p = pol;
    size_take(p, size_meta(p, id)->pos);
}

static const struct sim_objcache_hooks size_hooks = {
    sizeof(struct size_meta), size_hit, size_admit, size_victim, size_insert, size_remove,
};

static void size_destroy(void *state)
{
    struct size *p = state;
    if (!p)
        return;
    sim_objcache_free(p->oc);
    free(p->heap);
    free(p);
}

static void *size_create(const struct sim_cache_config *cfg, const sim_params *params,
                         char *err, size_t errlen)
{
    (void)params;
    struct size *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "size: out of memory");
        return NULL;
    }
    p->oc = sim_objcache_create(cfg, &size_hooks, p, err, errlen);
    if (!p->oc) {
        free(p);
        return NULL;
    }
    return p;
}

static void size_access(void *state, const struct sim_req *req, struct sim_outcome *out)
{
    struct size *p = state;
    sim_objcache_access(p->oc, req, out);
}

static int size_check(void *state, char *err, size_t errlen)
{
    struct size *p = state;
    if (p->n != sim_objcache_count(p->oc)) {
        snprintf(err, errlen, "size: heap has %u objects, cache %llu", p->n,
                 (unsigned long long)sim_objcache_count(p->oc));
        return SIM_EINVAL;
    }
    for (uint32_t i = 0; i < p->n; i++) {
        uint32_t id = p->heap[i];
        if (!sim_objcache_is_live(p->oc, id) || size_meta(p, id)->pos != i) {
            snprintf(err, errlen, "size: heap slot %u holds a bad id %u", i, id);
            return SIM_EINVAL;
        }
        if (i > 0 && size_above(p, id, p->heap[(i - 1) / 2])) {
            snprintf(err, errlen, "size: heap order broken at slot %u", i);
            return SIM_EINVAL;
        }
    }
    if (sim_objcache_used(p->oc) > sim_objcache_capacity(p->oc)) {
        snprintf(err, errlen, "size: over capacity");
        return SIM_EINVAL;
    }
    return 0;
}

const struct sim_policy_ops sim_policy_size = {
    .abi_version = SIM_POLICY_ABI,
    .name = "size",
    .summary = "evict the largest object (ties: oldest)",
    .reference = "Williams et al., SIGCOMM 1996",
    .needs = SIM_F_KEY | SIM_F_SIZE,
    .unit = SIM_UNIT_BYTES,
    .create = size_create,
    .destroy = size_destroy,
    .access = size_access,
    .check = size_check,
    .prefetch = sim_objcache_prefetch_state,
    .used = sim_objcache_used_state,
};
