/*
 * random.c - Random eviction.
 *
 * The victim is drawn uniformly from the cached objects; hits change
 * nothing.  The classic baseline of L. A. Belady, "A study of replacement
 * algorithms for a virtual-storage computer", IBM Systems Journal, 1966.
 *
 * The cached ids are kept in a dense array (each object remembers its
 * slot), so a draw is one sim_rng_below() and removal is a swap with the
 * last slot: O(1), 4 bytes of metadata per object.  The generator is
 * seeded from cfg->seed: the same seed and trace give the same result on
 * every platform.  libCacheSim's Random.c samples its hash table with its
 * own generator, so the two agree only in distribution, not request by
 * request.
 *
 * Invariants: 1. the array holds exactly the cached objects;
 *             2. slot[pos[id]] == id for every cached id.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sim_policy.h"

struct random_meta {
    uint32_t pos; /* index in slots */
};

struct random {
    sim_objcache *oc;
    struct sim_rng rng;
    uint32_t *slots;    /* the cached ids, dense */
    uint32_t n, cap;
};

static struct random_meta *random_meta(const struct random *p, uint32_t id)
{
    return sim_objcache_meta(p->oc, id);
}

static void random_hit(void *pol, uint32_t id, const struct sim_req *req)
{
    (void)pol, (void)id, (void)req;
}

/* Admission makes room for one more slot before the object is stored
 * (doubling: amortised O(1), no allocation once the cache is warm), so that
 * insert cannot fail; out of memory, the object is simply not cached. */
static int random_admit(void *pol, const struct sim_req *req)
{
    struct random *p = pol;
    (void)req;
    if (p->n < p->cap)
        return 1;
    uint32_t cap = p->cap ? p->cap * 2 : 1024;
    uint32_t *s = realloc(p->slots, (size_t)cap * sizeof *s);
    if (!s)
        return 0;
    p->slots = s;
    p->cap = cap;
    return 1;
}

static void random_insert(void *pol, uint32_t id, const struct sim_req *req)
{
    struct random *p = pol;
    (void)req;
    random_meta(p, id)->pos = p->n;
    p->slots[p->n++] = id;
}

/* Removes the id at slot i by moving the last id into its place. */
static void random_take(struct random *p, uint32_t i)
{
    uint32_t last = p->slots[--p->n];
    p->slots[i] = last;
    random_meta(p, last)->pos = i;
}

static uint32_t random_victim(void *pol)
{
    struct random *p = pol;
    uint32_t i = (uint32_t)sim_rng_below(&p->rng, p->n);
    uint32_t v = p->slots[i];
    random_take(p, i);
    return v;
}

static void random_remove(void *pol, uint32_t id)
{
    struct random *p = pol;
    random_take(p, random_meta(p, id)->pos);
}

static const struct sim_objcache_hooks random_hooks = {
    sizeof(struct random_meta), random_hit, random_admit, random_victim, random_insert,
    random_remove,
};

static void random_destroy(void *state)
{
    struct random *p = state;
    if (!p)
        return;
    sim_objcache_free(p->oc);
    free(p->slots);
    free(p);
}

static void *random_create(const struct sim_cache_config *cfg, const sim_params *params,
                           char *err, size_t errlen)
{
    (void)params;
    struct random *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "random: out of memory");
        return NULL;
    }
    sim_rng_seed(&p->rng, cfg->seed);
    p->oc = sim_objcache_create(cfg, &random_hooks, p, err, errlen);
    if (!p->oc) {
        free(p);
        return NULL;
    }
    return p;
}

static void random_access(void *state, const struct sim_req *req, struct sim_outcome *out)
{
    struct random *p = state;
    sim_objcache_access(p->oc, req, out);
}

static int random_check(void *state, char *err, size_t errlen)
{
    struct random *p = state;
    if (p->n != sim_objcache_count(p->oc)) {
        snprintf(err, errlen, "random: %u slots, cache %llu objects", p->n,
                 (unsigned long long)sim_objcache_count(p->oc));
        return SIM_EINVAL;
    }
    for (uint32_t i = 0; i < p->n; i++) {
        uint32_t id = p->slots[i];
        if (!sim_objcache_is_live(p->oc, id) || random_meta(p, id)->pos != i) {
            snprintf(err, errlen, "random: slot %u holds a bad id %u", i, id);
            return SIM_EINVAL;
        }
    }
    if (sim_objcache_used(p->oc) > sim_objcache_capacity(p->oc)) {
        snprintf(err, errlen, "random: over capacity");
        return SIM_EINVAL;
    }
    return 0;
}

const struct sim_policy_ops sim_policy_random = {
    .abi_version = SIM_POLICY_ABI,
    .name = "random",
    .summary = "evict a uniformly random object (seeded)",
    .reference = "Belady, IBM Systems Journal, 1966",
    .needs = SIM_F_KEY | SIM_F_SIZE,
    .unit = SIM_UNIT_BYTES,
    .create = random_create,
    .destroy = random_destroy,
    .access = random_access,
    .check = random_check,
    .prefetch = sim_objcache_prefetch_state,
    .used = sim_objcache_used_state,
};
