/*
 * clock.c - CLOCK with n-bit reference counters (second chance when n = 1).
 *
 * F. J. Corbato, "A paging experiment with the Multics system", MIT Project
 * MAC report MAC-M-384, 1968 (one reference bit); the n-bit generalisation
 * is the "Clock-n" of libCacheSim.  Defined exactly as libCacheSim's
 * Clock.c, so the numbers agree with it:
 *   - a new object enters at the head of a FIFO queue with counter 0;
 *   - a hit increments the counter, saturating at 2^bits - 1;
 *   - the hand looks at the tail: an object with counter c >= 1 has its
 *     counter decremented by one and is moved to the head (reinserted);
 *     the first object found with counter 0 is evicted.
 * The queue is a linked list rather than a ring of slots: moving the tail
 * to the head is the same as advancing a hand over a ring, and it needs no
 * compaction when objects leave out of order (deletes, TTL expiry).
 *
 * Parameter: bits (1..8, default 1).
 *
 * Invariants: 1. the queue holds exactly the cached objects;
 *             2. every counter is <= 2^bits - 1.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sim_policy.h"

struct clock_meta {
    struct sim_link link;
    uint8_t freq; /* reference counter, 0..max */
};

struct clock {
    sim_objcache *oc;
    struct sim_list q;  /* head = newest or last reinserted; hand at the tail */
    uint8_t max;        /* 2^bits - 1 */
};

#define OFF SIM_LINK_OFF(struct clock_meta, link)
#define BASE(p) sim_objcache_base((p)->oc), sim_objcache_stride((p)->oc), OFF

static const struct sim_param_def clock_params[] = {
    {"bits", SIM_P_INT, "1", 1, 8, NULL, "bits per reference counter (1 = second chance)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static struct clock_meta *clock_meta(const struct clock *p, uint32_t id)
{
    return sim_objcache_meta(p->oc, id);
}

static void clock_hit(void *pol, uint32_t id, const struct sim_req *req)
{
    struct clock *p = pol;
    (void)req;
    struct clock_meta *m = clock_meta(p, id);
    if (m->freq < p->max)
        m->freq++;
}

static void clock_insert(void *pol, uint32_t id, const struct sim_req *req)
{
    struct clock *p = pol;
    (void)req;
    clock_meta(p, id)->freq = 0;
    sim_list_push_head(&p->q, BASE(p), id);
}

/* The hand: objects with a non-zero counter lose one unit and go round
 * again; the first with counter 0 is the victim.  Terminates within
 * max * count steps since every pass lowers some counter. */
static uint32_t clock_victim(void *pol)
{
    struct clock *p = pol;
    for (;;) {
        uint32_t v = p->q.tail;
        struct clock_meta *m = clock_meta(p, v);
        sim_list_unlink(&p->q, BASE(p), v);
        if (m->freq == 0)
            return v;
        m->freq--;
        sim_list_push_head(&p->q, BASE(p), v);
    }
}

static void clock_remove(void *pol, uint32_t id)
{
    struct clock *p = pol;
    sim_list_unlink(&p->q, BASE(p), id);
}

static const struct sim_objcache_hooks clock_hooks = {
    sizeof(struct clock_meta), clock_hit, NULL, clock_victim, clock_insert, clock_remove,
};

static void clock_destroy(void *state)
{
    struct clock *p = state;
    if (!p)
        return;
    sim_objcache_free(p->oc);
    free(p);
}

static void *clock_create(const struct sim_cache_config *cfg, const sim_params *params,
                          char *err, size_t errlen)
{
    struct clock *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "clock: out of memory");
        return NULL;
    }
    p->max = (uint8_t)((1u << sim_params_int(params, "bits")) - 1);
    sim_list_init(&p->q);
    p->oc = sim_objcache_create(cfg, &clock_hooks, p, err, errlen);
    if (!p->oc) {
        free(p);
        return NULL;
    }
    return p;
}

static void clock_access(void *state, const struct sim_req *req, struct sim_outcome *out)
{
    struct clock *p = state;
    sim_objcache_access(p->oc, req, out);
}

static int clock_check(void *state, char *err, size_t errlen)
{
    struct clock *p = state;
    uint64_t n = 0;
    for (uint32_t id = p->q.head; id != SIM_KEYMAP_NONE;
         id = sim_list_link(BASE(p), id)->next, n++) {
        if (!sim_objcache_is_live(p->oc, id) || clock_meta(p, id)->freq > p->max) {
            snprintf(err, errlen, "clock: bad object %u in the queue", id);
            return SIM_EINVAL;
        }
    }
    if (n != p->q.count || n != sim_objcache_count(p->oc)) {
        snprintf(err, errlen, "clock: queue has %llu objects (count %llu), cache %llu",
                 (unsigned long long)n, (unsigned long long)p->q.count,
                 (unsigned long long)sim_objcache_count(p->oc));
        return SIM_EINVAL;
    }
    if (sim_objcache_used(p->oc) > sim_objcache_capacity(p->oc)) {
        snprintf(err, errlen, "clock: over capacity");
        return SIM_EINVAL;
    }
    return 0;
}

const struct sim_policy_ops sim_policy_clock = {
    .abi_version = SIM_POLICY_ABI,
    .name = "clock",
    .summary = "CLOCK with n-bit counters (second chance)",
    .reference = "Corbato, MIT Project MAC report MAC-M-384, 1968",
    .needs = SIM_F_KEY | SIM_F_SIZE,
    .unit = SIM_UNIT_BYTES,
    .params = clock_params,
    .create = clock_create,
    .destroy = clock_destroy,
    .access = clock_access,
    .check = clock_check,
    .prefetch = sim_objcache_prefetch_state,
    .used = sim_objcache_used_state,
};
