/*
 * gdsf.c - GreedyDual-Size-Frequency.
 *
 * Cherkasova, "Improving WWW proxies performance with Greedy-Dual-Size-
 * Frequency caching policy", HP Labs report HPL-98-69R1, 1998 (after Cao
 * and Irani's GreedyDual-Size, USITS 1997).
 *
 * Mechanism: each object has the priority H = L + freq * cost / size, where
 * freq counts its requests since it entered the cache and L, the "inflation"
 * value, is the priority of the last object evicted.  The victim is the
 * object of lowest H (a heap), so small, popular objects stay, and L rising
 * with every eviction ages objects that stopped being requested.  cost is 1
 * (the hit-ratio variant).
 *
 * Defined as libCacheSim's GDSF.cpp (1a1a11a/libCacheSim), so the numbers
 * agree with it:
 *   - priorities are computed as L + freq * 1e6 / size (cost 1 in units of
 *     1e-6: the same order, and the same floating-point rounding);
 *   - equal priorities: the object keyed least recently goes first;
 *   - a missed object is inserted first, with the L of that moment (before
 *     the evictions it causes: computing it after them changes 2-4 misses
 *     in 90,000 on libCacheSim's sample trace), and the
 *     lowest-priority objects are then evicted until the cache fits, which
 *     may be the new object itself: it is then not stored, but the objects
 *     evicted before it stay evicted and L becomes its priority.
 *
 * Layout: a 24-byte record; its 8 bytes of metadata hold the heap position
 * (sim_heap_init_at) and freq's low 32 bits, whose next 7 bits are the
 * framework tag (freq stops at 2^39 - 1, about 5.5e11 requests of one
 * object, where libCacheSim's 64-bit count goes on).
 *
 * Invariants: 1. the heap holds exactly the cached objects, in heap order;
 *             2. every cached object has been requested (freq >= 1).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim_heap.h"
#include "sim_policy.h"

#define GDSF_COST 1.0e6
#define GDSF_FREQ_MAX (((uint64_t)1 << 39) - 1) /* 32 bits + the 7-bit tag */

struct gdsf_meta {
    uint32_t freq_lo;       /* freq's low bits; the tag has the next 7 */
    uint32_t heap_pos;      /* the heap's (sim_heap_init_at) */
};

struct gdsf {
    sim_objcache *oc;
    struct sim_heap heap;   /* pri = H; tie = request count when keyed */
    double inflation;       /* L */
    uint64_t now;           /* requests seen, the tie-breaker clock */
    double admit_pri;       /* the admitted object's priority, from admit */
    int oom;
    int wide;               /* some freq reached 2^32: tags hold high bits */
};

/* Tags are read only once some freq has carried into one (p->wide): a tag
 * is a call, which cost 11 instructions a hit. */
static uint64_t gdsf_freq(const struct gdsf *p, uint32_t id)
{
    const struct gdsf_meta *m = sim_objcache_meta(p->oc, id);
    if (!p->wide)
        return m->freq_lo;
    return (uint64_t)sim_objcache_tag(p->oc, id) << 32 | m->freq_lo;
}

static double gdsf_pri(const struct gdsf *p, uint64_t freq, uint64_t size)
{
    return p->inflation + (double)freq * GDSF_COST / (double)size;
}

static void gdsf_hit(void *pol, uint32_t id, const struct sim_req *req)
{
    struct gdsf *p = pol;
    (void)req;
    struct gdsf_meta *m = sim_objcache_meta(p->oc, id);
    uint64_t freq = gdsf_freq(p, id);
    if (freq < GDSF_FREQ_MAX) {
        freq++;
        m->freq_lo = (uint32_t)freq;
        if (m->freq_lo == 0) { /* a carry into the tag */
            sim_objcache_set_tag(p->oc, id, (unsigned)(freq >> 32));
            p->wide = 1;
        }
    }
    sim_heap_update(&p->heap, id, gdsf_pri(p, freq, sim_objcache_obj(p->oc, id)->size),
                    p->now);
}

static uint32_t gdsf_pop(struct gdsf *p)
{
    struct sim_heap_ent top;
    uint32_t id = sim_heap_pop(&p->heap, &top);
    p->inflation = top.pri;
    return id;
}

/* Plays libCacheSim's insert-then-evict: evicts, lowest first, the objects
 * whose priority is below the new object's until it fits; if the new
 * object becomes the lowest first, it is the one evicted (not stored). */
static int gdsf_admit(void *pol, const struct sim_req *req)
{
    struct gdsf *p = pol;
    double pri = gdsf_pri(p, 1, req->size);
    p->admit_pri = pri;
    while (sim_objcache_used(p->oc) + req->size > sim_objcache_capacity(p->oc)) {
        /* The new object's tie is the newest, so it loses ties. */
        if (pri < sim_heap_top(&p->heap)->pri) {
            p->inflation = pri;
            return 0;
        }
        sim_objcache_evict_id(p->oc, gdsf_pop(p)); /* counted by the framework */
    }
    return 1;
}

static void gdsf_insert(void *pol, uint32_t id, const struct sim_req *req)
{
    struct gdsf *p = pol;
    struct gdsf_meta *m = sim_objcache_meta(p->oc, id);
    (void)req;
    m->freq_lo = 1; /* the tag (high bits) is 0 for a new object */
    m->heap_pos = 0;
    if (sim_heap_push(&p->heap, id, p->admit_pri, p->now))
        p->oom = 1;
}

/* Only reached if admit left the cache short, which it does not. */
static uint32_t gdsf_victim(void *pol)
{
    return gdsf_pop(pol);
}

static void gdsf_remove(void *pol, uint32_t id)
{
    struct gdsf *p = pol;
    sim_heap_remove(&p->heap, id);
}

static const struct sim_objcache_hooks gdsf_hooks = {
    sizeof(struct gdsf_meta), gdsf_hit, gdsf_admit, gdsf_victim, gdsf_insert, gdsf_remove,
};

static void gdsf_destroy(void *state)
{
    struct gdsf *p = state;
    if (!p)
        return;
    sim_objcache_free(p->oc);
    sim_heap_free(&p->heap);
    free(p);
}

static void *gdsf_create(const struct sim_cache_config *cfg, const sim_params *params,
                         char *err, size_t errlen)
{
    (void)params;
    struct gdsf *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "gdsf: out of memory");
        return NULL;
    }
    p->oc = sim_objcache_create(cfg, &gdsf_hooks, p, err, errlen);
    if (!p->oc) {
        free(p);
        return NULL;
    }
    sim_heap_init_at(&p->heap, sim_objcache_base_ref(p->oc), sim_objcache_stride(p->oc),
                     sizeof(struct sim_obj) + offsetof(struct gdsf_meta, heap_pos));
    return p;
}

static void gdsf_access(void *state, const struct sim_req *req, struct sim_outcome *out)
{
    struct gdsf *p = state;
    p->now++;
    if (p->oom && sim_objcache_find(p->oc, req->key) == SIM_KEYMAP_NONE) {
        /* The heap lost an object to an allocation failure: store nothing. */
        out->uncounted = req->op == SIM_OP_DELETE;
        return;
    }
    sim_objcache_access(p->oc, req, out);
}

static int gdsf_check(void *state, char *err, size_t errlen)
{
    struct gdsf *p = state;
    if (sim_objcache_used(p->oc) > sim_objcache_capacity(p->oc)) {
        snprintf(err, errlen, "gdsf: over capacity");
        return SIM_EINVAL;
    }
    if (p->heap.n != sim_objcache_count(p->oc) || !sim_heap_check(&p->heap)) {
        snprintf(err, errlen, "gdsf: heap has %llu objects, cache %llu, order %s",
                 (unsigned long long)p->heap.n,
                 (unsigned long long)sim_objcache_count(p->oc),
                 sim_heap_check(&p->heap) ? "ok" : "broken");
        return SIM_EINVAL;
    }
    for (size_t i = 0; i < p->heap.n; i++) {
        uint32_t id = sim_heap_id_at(&p->heap, i);
        if (!sim_objcache_is_live(p->oc, id)
            || gdsf_freq(p, id) == 0) {
            snprintf(err, errlen, "gdsf: heap holds a bad object");
            return SIM_EINVAL;
        }
    }
    return 0;
}

const struct sim_policy_ops sim_policy_gdsf = {
    .abi_version = SIM_POLICY_ABI,
    .name = "gdsf",
    .summary = "GreedyDual-Size-Frequency: evict the lowest L + freq/size",
    .reference = "Cherkasova, HP Labs HPL-98-69R1, 1998",
    .needs = SIM_F_KEY | SIM_F_SIZE,
    .unit = SIM_UNIT_BYTES,
    .create = gdsf_create,
    .destroy = gdsf_destroy,
    .access = gdsf_access,
    .check = gdsf_check,
    .used = sim_objcache_used_state,
};
