/*
 * s3fifo.c - S3-FIFO: three static FIFO queues.
 *
 * Yang, Zhang, Qiu, Yue and Rashmi, "FIFO queues are all you need for cache
 * eviction", SOSP 2023.
 *
 * Mechanism: a small FIFO S (10% of the capacity), a main FIFO M (the rest)
 * and a ghost FIFO G that remembers only the keys (and sizes) of objects
 * evicted from S.  Hits increment a per-object counter and move nothing.
 *   - a missed object goes to M if its key is in G (it proved it returns),
 *     else to S;
 *   - evicting from S: the oldest object moves to M if it was hit at least
 *     `threshold` times while in S, else it leaves and its key enters G;
 *     repeat until one object has left;
 *   - evicting from M: the oldest object with a count reinserts at M's head
 *     with min(count, 3) - 1 (a 2-bit CLOCK); one without leaves;
 *   - S is evicted from unless M is over its share or S is empty.
 * Most one-hit wonders thus leave after a short stay in S (quick demotion).
 *
 * Defined as libCacheSim's S3FIFO.c (1a1a11a/libCacheSim, the version of
 * 12/2024), so the numbers agree with it, including its details:
 *   - sizes: S holds floor(capacity * small) units, M the rest; G holds
 *     floor(capacity * ghost) units of keys, each weighing its object's size;
 *   - until the first eviction, a miss that finds S full goes to M (the
 *     cache fills M instead of churning S);
 *   - an object at least as large as S is not admitted (unless its key is in
 *     G); when it is exactly S's size the cache still evicts for it before
 *     refusing it, as libCacheSim does;
 *   - counts are not capped in S (compared with `threshold`), and capped to
 *     3 on M's reinsertion.
 * Deviation: a delete or expiry removes a cached object without putting its
 * key in G, and a delete of an uncached key leaves G alone.
 *
 * Invariants: 1. S and M hold exactly the cached objects, each in one queue,
 *                and their bytes add up to the cache's;
 *             2. G holds no cached key, and G's bytes <= G's capacity;
 *             3. after the first eviction, M exceeds its share only by
 *                objects moved from S since (checked: M <= capacity).
 */
#include <stdio.h>
#include <stdlib.h>

#include "gfifo.h"
#include "sim_policy.h"

enum { S3FIFO_SMALL = 0, S3FIFO_MAIN = 1 };
/* An object's queue and count live in its framework tag (queue in bit 0,
 * count above), which keeps the record at 24 bytes instead of 32.  The
 * count saturates at 63; as it is only compared with the threshold (at
 * most 63) or capped to 3, that changes no decision. */
#define S3FIFO_FREQ_MAX 63u

struct s3fifo_meta {
    struct sim_link link;
};

struct s3fifo {
    sim_objcache *oc;
    struct sim_list small, main;
    uint64_t small_bytes, main_bytes;
    uint64_t small_cap, main_cap, ghost_cap;
    unsigned threshold;
    int has_evicted;    /* an eviction happened */
    int ghost_hit;      /* the current miss found its key in G */
    uint32_t refused;   /* stored-then-refused objects in this access */
    struct sim_gfifo g; /* G (gfifo.h) */
};

#define OFF SIM_LINK_OFF(struct s3fifo_meta, link)
#define BASE(p) sim_objcache_base((p)->oc), sim_objcache_stride((p)->oc), OFF

static const struct sim_param_def s3fifo_params[] = {
    {"small", SIM_P_REAL, "0.1", 0.0, 1.0, NULL, "share of the capacity for the small FIFO"},
    {"ghost", SIM_P_REAL, "0.9", 0.0, 100.0, NULL,
     "capacity of the ghost FIFO, as a multiple of the cache capacity"},
    {"threshold", SIM_P_INT, "2", 1, S3FIFO_FREQ_MAX, NULL,
     "hits in the small FIFO that move an object to the main FIFO"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static struct s3fifo_meta *s3fifo_meta(const struct s3fifo *p, uint32_t id)
{
    return sim_objcache_meta(p->oc, id);
}

static unsigned s3fifo_queue(const struct s3fifo *p, uint32_t id)
{
    return sim_objcache_tag(p->oc, id) & 1;
}

static unsigned s3fifo_freq(const struct s3fifo *p, uint32_t id)
{
    return sim_objcache_tag(p->oc, id) >> 1;
}

static void s3fifo_set(struct s3fifo *p, uint32_t id, unsigned queue, unsigned freq)
{
    sim_objcache_set_tag(p->oc, id, queue | freq << 1);
}

static uint64_t s3fifo_size(const struct s3fifo *p, uint32_t id)
{
    return sim_objcache_obj(p->oc, id)->size;
}

/* Removes key from G; returns 1 if it was there. */
static int ghost_take(struct s3fifo *p, uint64_t key)
{
    uint32_t size;
    return sim_gfifo_take(&p->g, key, &size);
}

/* Adds key to G's head, dropping the oldest keys to make room (as a FIFO
 * cache of capacity ghost_cap would).  Out of memory: the key is not kept. */
static void ghost_put(struct s3fifo *p, uint64_t key, uint32_t size)
{
    if (size > p->ghost_cap || sim_gfifo_has(&p->g, key))
        return;
    while (p->g.bytes + size > p->ghost_cap)
        sim_gfifo_pop(&p->g);
    sim_gfifo_push(&p->g, key, size);
}

/*=====   Queues   =====*/

/* Pushes id at the head of queue with count freq. */
static void s3fifo_push(struct s3fifo *p, unsigned queue, uint32_t id, unsigned freq)
{
    s3fifo_set(p, id, queue, freq);
    if (queue == S3FIFO_SMALL) {
        sim_list_push_head(&p->small, BASE(p), id);
        p->small_bytes += s3fifo_size(p, id);
    } else {
        sim_list_push_head(&p->main, BASE(p), id);
        p->main_bytes += s3fifo_size(p, id);
    }
}

static void s3fifo_unlink(struct s3fifo *p, uint32_t id)
{
    if (s3fifo_queue(p, id) == S3FIFO_SMALL) {
        sim_list_unlink(&p->small, BASE(p), id);
        p->small_bytes -= s3fifo_size(p, id);
    } else {
        sim_list_unlink(&p->main, BASE(p), id);
        p->main_bytes -= s3fifo_size(p, id);
    }
}

/*=====   Hooks   =====*/

static void s3fifo_hit(void *pol, uint32_t id, const struct sim_req *req)
{
    struct s3fifo *p = pol;
    (void)req;
    unsigned freq = s3fifo_freq(p, id);
    if (freq < S3FIFO_FREQ_MAX)
        s3fifo_set(p, id, s3fifo_queue(p, id), freq + 1);
}

/* Called on every miss that fits the cache: consult G (the key leaves it
 * either way), and refuse objects larger than S. */
static int s3fifo_admit(void *pol, const struct sim_req *req)
{
    struct s3fifo *p = pol;
    p->ghost_hit = ghost_take(p, req->key);
    return req->size <= p->small_cap;
}

static void s3fifo_insert(void *pol, uint32_t id, const struct sim_req *req)
{
    struct s3fifo *p = pol;
    (void)req;
    if (p->ghost_hit) {
        s3fifo_push(p, S3FIFO_MAIN, id, 0);
    } else if (s3fifo_size(p, id) >= p->small_cap) {
        /* As large as S: libCacheSim has evicted for it, then refuses it.
         * The store is the framework's last step, so undoing it is safe;
         * it is not an eviction (s3fifo_access uncounts it). */
        sim_objcache_evict_id(p->oc, id);
        p->refused++;
    } else if (!p->has_evicted && p->small_bytes >= p->small_cap) {
        s3fifo_push(p, S3FIFO_MAIN, id, 0);
    } else {
        s3fifo_push(p, S3FIFO_SMALL, id, 0);
    }
    p->ghost_hit = 0;
}

/* One object leaves M: the oldest one whose count is 0, the others being
 * reinserted with their count decremented (from at most 3). */
static uint32_t s3fifo_evict_main(struct s3fifo *p)
{
    for (;;) {
        uint32_t id = p->main.tail;
        unsigned freq = s3fifo_freq(p, id);
        s3fifo_unlink(p, id);
        if (freq == 0)
            return id;
        s3fifo_push(p, S3FIFO_MAIN, id, (freq < 3 ? freq : 3) - 1);
    }
}

/* Empties S's tail until one object leaves (returned, its key put in G);
 * objects hit often enough move to M.  SIM_KEYMAP_NONE if S emptied. */
static uint32_t s3fifo_evict_small(struct s3fifo *p)
{
    while (p->small.count) {
        uint32_t id = p->small.tail;
        s3fifo_unlink(p, id);
        if (s3fifo_freq(p, id) >= p->threshold) {
            s3fifo_push(p, S3FIFO_MAIN, id, 0);
        } else {
            struct sim_obj *o = sim_objcache_obj(p->oc, id);
            ghost_put(p, o->key, o->size);
            return id;
        }
    }
    return SIM_KEYMAP_NONE;
}

static uint32_t s3fifo_victim(void *pol)
{
    struct s3fifo *p = pol;
    p->has_evicted = 1;
    for (;;) {
        if (p->main_bytes > p->main_cap || p->small.count == 0)
            return s3fifo_evict_main(p);
        uint32_t id = s3fifo_evict_small(p);
        if (id != SIM_KEYMAP_NONE)
            return id;
    }
}

static void s3fifo_remove(void *pol, uint32_t id)
{
    s3fifo_unlink(pol, id);
}

static const struct sim_objcache_hooks s3fifo_hooks = {
    sizeof(struct s3fifo_meta), s3fifo_hit, s3fifo_admit, s3fifo_victim, s3fifo_insert,
    s3fifo_remove,
};

/*=====   Policy   =====*/

static void s3fifo_destroy(void *state)
{
    struct s3fifo *p = state;
    if (!p)
        return;
    sim_objcache_free(p->oc);
    sim_gfifo_free(&p->g);
    free(p);
}

static void *s3fifo_create(const struct sim_cache_config *cfg, const sim_params *params,
                           char *err, size_t errlen)
{
    struct s3fifo *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "s3fifo: out of memory");
        return NULL;
    }
    sim_list_init(&p->small);
    sim_list_init(&p->main);
    /* libCacheSim's arithmetic: truncating products of double ratios. */
    p->small_cap = (uint64_t)((double)cfg->capacity * sim_params_real(params, "small"));
    p->main_cap = cfg->capacity - p->small_cap;
    p->ghost_cap = (uint64_t)((double)cfg->capacity * sim_params_real(params, "ghost"));
    p->threshold = (unsigned)sim_params_int(params, "threshold");
    sim_gfifo_init(&p->g);
    p->oc = sim_objcache_create(cfg, &s3fifo_hooks, p, err, errlen);
    if (!p->oc) {
        s3fifo_destroy(p);
        return NULL;
    }
    return p;
}

static void s3fifo_access(void *state, const struct sim_req *req, struct sim_outcome *out)
{
    struct s3fifo *p = state;
    p->refused = 0;
    sim_objcache_access(p->oc, req, out);
    out->evictions -= p->refused;
}

/* Walks one queue: members tagged `queue`, live, bytes adding up. */
static int s3fifo_check_queue(const struct s3fifo *p, const struct sim_list *l, int queue,
                              uint64_t bytes)
{
    uint64_t n = 0, b = 0;
    for (uint32_t id = l->head; id != SIM_KEYMAP_NONE; id = s3fifo_meta(p, id)->link.next) {
        if (!sim_objcache_is_live(p->oc, id) || s3fifo_queue(p, id) != (unsigned)queue)
            return 0;
        b += s3fifo_size(p, id);
        n++;
    }
    return n == l->count && b == bytes;
}

/* For sim_gfifo_check: no key in G may be cached. */
static int s3fifo_cached(const void *oc, uint64_t key)
{
    return sim_objcache_find(oc, key) != SIM_KEYMAP_NONE;
}

static int s3fifo_check(void *state, char *err, size_t errlen)
{
    struct s3fifo *p = state;
    if (!s3fifo_check_queue(p, &p->small, S3FIFO_SMALL, p->small_bytes)
        || !s3fifo_check_queue(p, &p->main, S3FIFO_MAIN, p->main_bytes)) {
        snprintf(err, errlen, "s3fifo: a queue's objects or bytes are wrong");
        return SIM_EINVAL;
    }
    if (p->small.count + p->main.count != sim_objcache_count(p->oc)
        || p->small_bytes + p->main_bytes != sim_objcache_used(p->oc)
        || sim_objcache_used(p->oc) > sim_objcache_capacity(p->oc)) {
        snprintf(err, errlen, "s3fifo: queues hold %llu bytes, cache %llu",
                 (unsigned long long)(p->small_bytes + p->main_bytes),
                 (unsigned long long)sim_objcache_used(p->oc));
        return SIM_EINVAL;
    }
    if (sim_gfifo_check(&p->g, s3fifo_cached, p->oc) || p->g.bytes > p->ghost_cap) {
        snprintf(err, errlen, "s3fifo: the ghost FIFO is inconsistent, over its %llu "
                 "bytes or holds a cached key", (unsigned long long)p->ghost_cap);
        return SIM_EINVAL;
    }
    return 0;
}

/* xPrefetch: the key's slots in the cache's table and in G's. */
static void s3fifo_prefetch(void *state, uint64_t key)
{
    struct s3fifo *p = state;
    sim_objcache_prefetch_state(state, key);
    sim_gfifo_prefetch(&p->g, key);
}

const struct sim_policy_ops sim_policy_s3fifo = {
    .abi_version = SIM_POLICY_ABI,
    .name = "s3fifo",
    .summary = "S3-FIFO: small, main and ghost FIFO queues",
    .reference = "Yang, Zhang, Qiu, Yue and Rashmi, SOSP 2023",
    .needs = SIM_F_KEY | SIM_F_SIZE,
    .unit = SIM_UNIT_BYTES,
    .params = s3fifo_params,
    .create = s3fifo_create,
    .destroy = s3fifo_destroy,
    .access = s3fifo_access,
    .check = s3fifo_check,
    .prefetch = s3fifo_prefetch,
    .used = sim_objcache_used_state,
};
