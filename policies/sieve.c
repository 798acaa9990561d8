/*
 * sieve.c - SIEVE.
 *
 * Zhang, Yang, Yue, Vigfusson and Rashmi, "SIEVE is Simpler than LRU: an
 * Efficient Turn-Key Eviction Algorithm for Web Caches", NSDI 2024.
 *
 * Mechanism: one FIFO queue (new objects at the head) and a "hand".  A hit
 * only sets the object's visited bit.  To evict, the hand walks from where
 * it stopped last (the tail at first) towards the head, clearing visited
 * bits, and evicts the first unvisited object; it then rests on that
 * object's newer neighbour, and wraps to the tail when it falls off the
 * head.  Unlike CLOCK, survivors are not moved: old popular objects stay
 * behind the hand while new ones are sifted quickly (lazy promotion, quick
 * demotion).
 *
 * Defined as libCacheSim's Sieve.c (1a1a11a/libCacheSim), so the numbers
 * agree with it: the hand resting on a removed object moves to its newer
 * neighbour; no deviations known.
 *
 * Invariants: 1. the queue holds exactly the cached objects;
 *             2. the hand is a cached object or none;
 *             3. visited bits are 0 or 1.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sim_policy.h"

/* The visited bit is the object's framework tag (sim_objcache_set_tag):
 * a 24-byte record instead of 32, 8 bytes less per object. */
struct sieve_meta {
    struct sim_link link;
};

struct sieve {
    sim_objcache *oc;
    struct sim_list q;
    uint32_t hand;   /* next object to examine, SIM_KEYMAP_NONE: the tail */
};

#define OFF SIM_LINK_OFF(struct sieve_meta, link)
#define BASE(p) sim_objcache_base((p)->oc), sim_objcache_stride((p)->oc), OFF

static struct sieve_meta *sieve_meta(const struct sieve *p, uint32_t id)
{
    return sim_objcache_meta(p->oc, id);
}

static void sieve_hit(void *pol, uint32_t id, const struct sim_req *req)
{
    (void)req;
    struct sieve *p = pol;
    sim_objcache_set_tag(p->oc, id, 1);
}

static void sieve_insert(void *pol, uint32_t id, const struct sim_req *req)
{
    struct sieve *p = pol;
    (void)req;
    sim_list_push_head(&p->q, BASE(p), id);
}

/* The newer neighbour of id (towards the head), or SIM_KEYMAP_NONE. */
static uint32_t sieve_newer(const struct sieve *p, uint32_t id)
{
    return sieve_meta(p, id)->link.prev;
}

static void sieve_unlink(struct sieve *p, uint32_t id)
{
    if (p->hand == id)
        p->hand = sieve_newer(p, id);
    sim_list_unlink(&p->q, BASE(p), id);
}

static uint32_t sieve_victim(void *pol)
{
    struct sieve *p = pol;
    uint32_t id = p->hand != SIM_KEYMAP_NONE ? p->hand : p->q.tail;
    while (sim_objcache_tag(p->oc, id)) {
        sim_objcache_set_tag(p->oc, id, 0);
        id = sieve_newer(p, id);
        if (id == SIM_KEYMAP_NONE)
            id = p->q.tail;
    }
    p->hand = sieve_newer(p, id); /* the hand rests on the victim's newer neighbour */
    sim_list_unlink(&p->q, BASE(p), id);
    return id;
}

static void sieve_remove(void *pol, uint32_t id)
{
    sieve_unlink(pol, id);
}

static const struct sim_objcache_hooks sieve_hooks = {
    sizeof(struct sieve_meta), sieve_hit, NULL, sieve_victim, sieve_insert, sieve_remove,
};

static void sieve_destroy(void *state)
{
    struct sieve *p = state;
    if (!p)
        return;
    sim_objcache_free(p->oc);
    free(p);
}

static void *sieve_create(const struct sim_cache_config *cfg, const sim_params *params,
                          char *err, size_t errlen)
{
    (void)params;
    struct sieve *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "sieve: out of memory");
        return NULL;
    }
    sim_list_init(&p->q);
    p->hand = SIM_KEYMAP_NONE;
    p->oc = sim_objcache_create(cfg, &sieve_hooks, p, err, errlen);
    if (!p->oc) {
        free(p);
        return NULL;
    }
    return p;
}

static void sieve_access(void *state, const struct sim_req *req, struct sim_outcome *out)
{
    struct sieve *p = state;
    sim_objcache_access(p->oc, req, out);
}

/* xPrefetch: the key's slot, and what evicting the object under the hand
 * (the likely next victim) will touch. */
static void sieve_prefetch(void *state, uint64_t key)
{
    struct sieve *p = state;
    sim_objcache_prefetch_state(state, key);
    uint32_t id = p->hand != SIM_KEYMAP_NONE ? p->hand : p->q.tail;
    if (id != SIM_KEYMAP_NONE)
        sim_objcache_prefetch_evict(p->oc, id);
}

static int sieve_check(void *state, char *err, size_t errlen)
{
    struct sieve *p = state;
    if (sim_objcache_used(p->oc) > sim_objcache_capacity(p->oc)) {
        snprintf(err, errlen, "sieve: over capacity");
        return SIM_EINVAL;
    }
    uint64_t n = 0;
    int hand_seen = p->hand == SIM_KEYMAP_NONE;
    for (uint32_t id = p->q.head; id != SIM_KEYMAP_NONE; id = sieve_meta(p, id)->link.next) {
        if (!sim_objcache_is_live(p->oc, id) || sim_objcache_tag(p->oc, id) > 1) {
            snprintf(err, errlen, "sieve: bad object %u in the queue", id);
            return SIM_EINVAL;
        }
        hand_seen |= id == p->hand;
        n++;
    }
    if (n != sim_objcache_count(p->oc) || n != p->q.count || !hand_seen) {
        snprintf(err, errlen, "sieve: queue has %llu objects, cache %llu, hand %s",
                 (unsigned long long)n, (unsigned long long)sim_objcache_count(p->oc),
                 hand_seen ? "ok" : "lost");
        return SIM_EINVAL;
    }
    return 0;
}

const struct sim_policy_ops sim_policy_sieve = {
    .abi_version = SIM_POLICY_ABI,
    .name = "sieve",
    .summary = "SIEVE: FIFO with a visited bit and a moving hand",
    .reference = "Zhang, Yang, Yue, Vigfusson and Rashmi, NSDI 2024",
    .needs = SIM_F_KEY | SIM_F_SIZE,
    .unit = SIM_UNIT_BYTES,
    .create = sieve_create,
    .destroy = sieve_destroy,
    .access = sieve_access,
    .check = sieve_check,
    .prefetch = sieve_prefetch,
    .used = sim_objcache_used_state,
};
