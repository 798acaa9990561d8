/*
 * twoq.c - 2Q (full version).
 *
 * T. Johnson and D. Shasha, "2Q: A low overhead high performance buffer
 * management replacement algorithm", VLDB 1994.  A first access puts an
 * object in A1in, a FIFO; hits there change nothing (correlated
 * references).  When A1in is over its share Kin, its oldest object leaves
 * the cache but its key is remembered in A1out, a FIFO of ghosts of at most
 * Kout.  A miss whose key is in A1out is a second, uncorrelated reference:
 * the object enters Am, an LRU.  Otherwise the victim is Am's LRU.
 *
 * Defined as libCacheSim's TwoQ.c, so the numbers agree with it:
 *   - Kin = floor(kin * c), Kout = floor(kout * c) (default 0.25, 0.5),
 *     A1out counted in the same units as the cache (bytes or objects);
 *   - Am is itself capped at c - Kin: entering Am evicts Am's LRU objects
 *     first if needed;
 *   - an object larger than Kin is never cached (its A1out ghost, if any,
 *     is still consumed);
 *   - A1out keeps a ghost only if it fits in Kout.
 * A delete forgets the key's A1out ghost too (a deleted object's history
 * is void).
 * Deviation: when A1in is within Kin but Am is empty (possible only with
 * kin > 0.5), the victim is A1in's oldest (libCacheSim fails there).
 *
 * Invariants: 1. A1in and Am hold exactly the cached objects, with sizes
 *                summing to the used units;
 *             2. A1out holds exactly the ghost table's keys, none cached,
 *                and at most Kout units;
 *             3. Am holds at most c - Kin units.
 */
#include <stdio.h>
#include <stdlib.h>

#include "gfifo.h"
#include "sim_policy.h"

#define NONE SIM_KEYMAP_NONE

enum { TWOQ_IN = 1, TWOQ_M = 2 };

struct twoq_meta {
    struct sim_link link; /* the queue (TWOQ_IN or TWOQ_M) is the framework tag,
                             which keeps the record at 24 bytes */
};

struct twoq {
    sim_objcache *oc;
    struct sim_list in, m;          /* A1in (FIFO), Am (LRU) */
    uint64_t s_in, s_m;             /* their sizes in units */
    uint64_t kin, kout, mcap;       /* Kin, Kout, c - Kin */
    struct sim_gfifo out;           /* A1out: ghost keys (gfifo.h); size out.bytes */
    int ghost_hit;                  /* this miss was in A1out */
};

#define OFF SIM_LINK_OFF(struct twoq_meta, link)
#define BASE(p) sim_objcache_base((p)->oc), sim_objcache_stride((p)->oc), OFF

static const struct sim_param_def twoq_params[] = {
    {"kin", SIM_P_REAL, "0.25", 0, 1, NULL, "A1in share of the cache (Kin)"},
    {"kout", SIM_P_REAL, "0.5", 0, 16, NULL, "A1out ghost size, as a share of the cache (Kout)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static uint32_t twoq_size(const struct twoq *p, uint32_t id)
{
    return sim_objcache_obj(p->oc, id)->size;
}

/*=====   A1out   =====*/

/* Remembers an object leaving A1in, dropping the oldest ghosts to fit. */
static void twoq_out_add(struct twoq *p, uint64_t key, uint32_t size)
{
    if (size > p->kout || sim_gfifo_has(&p->out, key))
        return;
    while (p->out.bytes + size > p->kout)
        sim_gfifo_pop(&p->out);
    sim_gfifo_push(&p->out, key, size);
}

/*=====   Cached objects   =====*/

static void twoq_unlink(struct twoq *p, uint32_t id)
{
    if (sim_objcache_tag(p->oc, id) == TWOQ_IN) {
        sim_list_unlink(&p->in, BASE(p), id);
        p->s_in -= twoq_size(p, id);
    } else {
        sim_list_unlink(&p->m, BASE(p), id);
        p->s_m -= twoq_size(p, id);
    }
}

/* A hit in Am refreshes its recency; a hit in A1in changes nothing. */
static void twoq_hit(void *pol, uint32_t id, const struct sim_req *req)
{
    struct twoq *p = pol;
    (void)req;
    if (sim_objcache_tag(p->oc, id) == TWOQ_M && p->m.head != id) {
        sim_list_unlink(&p->m, BASE(p), id);
        sim_list_push_head(&p->m, BASE(p), id);
    }
}

/* A miss consumes its A1out ghost, if any; objects larger than Kin are not
 * cached. */
static int twoq_admit(void *pol, const struct sim_req *req)
{
    struct twoq *p = pol;
    uint32_t size;
    p->ghost_hit = sim_gfifo_take(&p->out, req->key, &size);
    return req->size <= p->kin;
}

/* reclaimfor(): A1in's oldest (remembered in A1out) while A1in is over
 * Kin, else Am's least recent. */
static uint32_t twoq_victim(void *pol)
{
    struct twoq *p = pol;
    uint32_t v;
    if (p->s_in > p->kin || p->m.count == 0) {
        v = p->in.tail;
        twoq_unlink(p, v);
        twoq_out_add(p, sim_objcache_obj(p->oc, v)->key, twoq_size(p, v));
    } else {
        v = p->m.tail;
        twoq_unlink(p, v);
    }
    return v;
}

/* Enters Am, which is capped at c - Kin: its own LRU objects leave first. */
static void twoq_enter_m(struct twoq *p, uint32_t id)
{
    uint32_t size = twoq_size(p, id);
    if (size > p->mcap) {
        sim_objcache_evict_id(p->oc, id); /* as libCacheSim: not cached */
        return;
    }
    while (p->s_m + size > p->mcap) {
        uint32_t v = p->m.tail;
        twoq_unlink(p, v);
        sim_objcache_evict_id(p->oc, v);
    }
    sim_objcache_set_tag(p->oc, id, TWOQ_M);
    sim_list_push_head(&p->m, BASE(p), id);
    p->s_m += size;
}

static void twoq_insert(void *pol, uint32_t id, const struct sim_req *req)
{
    struct twoq *p = pol;
    (void)req;
    if (p->ghost_hit) {
        p->ghost_hit = 0;
        twoq_enter_m(p, id);
        return;
    }
    sim_objcache_set_tag(p->oc, id, TWOQ_IN);
    sim_list_push_head(&p->in, BASE(p), id);
    p->s_in += twoq_size(p, id);
}

static void twoq_remove(void *pol, uint32_t id)
{
    twoq_unlink(pol, id);
}

static const struct sim_objcache_hooks twoq_hooks = {
    sizeof(struct twoq_meta), twoq_hit, twoq_admit, twoq_victim, twoq_insert, twoq_remove,
};

/*=====   Policy   =====*/

static void twoq_destroy(void *state)
{
    struct twoq *p = state;
    if (!p)
        return;
    sim_objcache_free(p->oc);
    sim_gfifo_free(&p->out);
    free(p);
}

static void *twoq_create(const struct sim_cache_config *cfg, const sim_params *params,
                         char *err, size_t errlen)
{
    struct twoq *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "twoq: out of memory");
        return NULL;
    }
    sim_list_init(&p->in);
    sim_list_init(&p->m);
    sim_gfifo_init(&p->out);
    /* Truncation as libCacheSim's (int64_t)(cache_size * ratio). */
    p->kin = (uint64_t)((double)cfg->capacity * sim_params_real(params, "kin"));
    p->kout = (uint64_t)((double)cfg->capacity * sim_params_real(params, "kout"));
    p->mcap = cfg->capacity - p->kin;
    p->oc = sim_objcache_create(cfg, &twoq_hooks, p, err, errlen);
    if (!p->oc) {
        free(p);
        return NULL;
    }
    return p;
}

/* A delete forgets key's ghost, if any (a ghost is never cached); out of
 * line, so that twoq_access stays a tail call. */
static __attribute__((noinline)) void twoq_forget(struct twoq *p, uint64_t key)
{
    uint32_t size;
    sim_gfifo_take(&p->out, key, &size);
}

static void twoq_access(void *state, const struct sim_req *req, struct sim_outcome *out)
{
    struct twoq *p = state;
    if (req->op == SIM_OP_DELETE)
        twoq_forget(p, req->key);
    sim_objcache_access(p->oc, req, out);
}

/* Sums a cached queue, checking each member's tag. */
static int twoq_check_queue(struct twoq *p, const struct sim_list *l, int queue,
                            uint64_t want, char *err, size_t errlen)
{
    uint64_t sum = 0, n = 0;
    for (uint32_t id = l->head; id != NONE; id = sim_list_link(BASE(p), id)->next, n++) {
        if (!sim_objcache_is_live(p->oc, id) || sim_objcache_tag(p->oc, id) != (unsigned)queue) {
            snprintf(err, errlen, "twoq: bad object %u in queue %d", id, queue);
            return SIM_EINVAL;
        }
        sum += twoq_size(p, id);
    }
    if (sum != want || n != l->count) {
        snprintf(err, errlen, "twoq: queue %d holds %llu units, counted %llu", queue,
                 (unsigned long long)sum, (unsigned long long)want);
        return SIM_EINVAL;
    }
    return 0;
}

/* For sim_gfifo_check: no key in A1out may be cached. */
static int twoq_cached(const void *oc, uint64_t key)
{
    return sim_objcache_find(oc, key) != NONE;
}

static int twoq_check_out(const struct twoq *p, char *err, size_t errlen)
{
    if (sim_gfifo_check(&p->out, twoq_cached, p->oc) || p->out.bytes > p->kout) {
        snprintf(err, errlen, "twoq: A1out inconsistent, holding a cached key, or over "
                 "its %llu units", (unsigned long long)p->kout);
        return SIM_EINVAL;
    }
    return 0;
}

static int twoq_check(void *state, char *err, size_t errlen)
{
    struct twoq *p = state;
    int rc;
    if ((rc = twoq_check_queue(p, &p->in, TWOQ_IN, p->s_in, err, errlen)) ||
        (rc = twoq_check_queue(p, &p->m, TWOQ_M, p->s_m, err, errlen)) ||
        (rc = twoq_check_out(p, err, errlen)))
        return rc;
    if (p->in.count + p->m.count != sim_objcache_count(p->oc) ||
        p->s_in + p->s_m != sim_objcache_used(p->oc)) {
        snprintf(err, errlen, "twoq: queues and cache disagree");
        return SIM_EINVAL;
    }
    if (p->s_m > p->mcap || sim_objcache_used(p->oc) > sim_objcache_capacity(p->oc)) {
        snprintf(err, errlen, "twoq: Am or the cache over capacity");
        return SIM_EINVAL;
    }
    return 0;
}

/* xPrefetch: the key's slots in the cache's table and in the ghost table. */
static void twoq_prefetch(void *state, uint64_t key)
{
    struct twoq *p = state;
    sim_objcache_prefetch_state(state, key);
    sim_gfifo_prefetch(&p->out, key);
}

const struct sim_policy_ops sim_policy_twoq = {
    .abi_version = SIM_POLICY_ABI,
    .name = "twoq",
    .summary = "2Q: FIFO A1in, ghost A1out, LRU Am",
    .reference = "Johnson and Shasha, VLDB 1994",
    .needs = SIM_F_KEY | SIM_F_SIZE,
    .unit = SIM_UNIT_BYTES,
    .params = twoq_params,
    .create = twoq_create,
    .destroy = twoq_destroy,
    .access = twoq_access,
    .check = twoq_check,
    .prefetch = twoq_prefetch,
    .used = sim_objcache_used_state,
};
