/*
 * wtinylfu.c - W-TinyLFU: a window LRU, a segmented-LRU main cache, and a
 * frequency sketch that decides who gets into the main cache.
 *
 * Einziger, Friedman and Manes, "TinyLFU: A Highly Efficient Cache
 * Admission Policy", ACM Transactions on Storage, 2017 (the design of
 * Caffeine).
 *
 * Mechanism:
 *   - every request adds its key to a count-min sketch (4 rows of 4-bit
 *     counters; the estimate is the smallest of the key's 4 counters);
 *     after `sample` x (expected objects) additions every counter is
 *     halved, so old popularity fades (the paper's reset);
 *   - optionally a doorkeeper (a Bloom filter) absorbs first occurrences:
 *     a key's first addition sets its doorkeeper bits only, and estimates
 *     add 1 for keys it holds; the reset clears it;
 *   - new objects enter the window, an LRU of `window` (1%) of the
 *     capacity; the window's LRU object, when the window overflows, is a
 *     candidate for the main cache;
 *   - the main cache is an SLRU: candidates enter its probation segment;
 *     a hit there promotes to the protected segment (`protected` = 80% of
 *     the main cache), whose overflow is demoted back to probation's head;
 *   - if the main cache has room, the candidate enters; otherwise it
 *     enters only if its estimate is strictly larger than that of the main
 *     cache's victim (probation's LRU end, or protected's if probation is
 *     empty), which then leaves; else the candidate leaves.
 *
 * Compared with libCacheSim's WTinyLFU.c (1a1a11a/libCacheSim), the same:
 * window share 0.01, main = SLRU with segments 1:4 (20/80), the candidate
 * moves without contest while the main cache has room, a strict ">" wins
 * the contest, objects larger than the window are not admitted.
 * Different, here following the paper and Caffeine: libCacheSim counts in a
 * "minimal increment" counting Bloom filter sized by the main cache's
 * bytes, adds a key only on misses, main-cache hits and window departures,
 * and halves after 32 x (main cache bytes) main-cache hits; we add every
 * request to a 4-bit count-min sketch and halve after `sample` x
 * (expected objects) additions.  libCacheSim's window is the capacity times
 * 0.01 rounded down, so caches under 100 units admit nothing; ours is the
 * capacity minus the main share rounded down, at least 1 unit.  There is
 * no libCacheSim expected value to compare with (its test is a TODO).
 *
 * Sketch size: `objects` counters per row (rounded up to a power of two);
 * 0 means the capacity for object caches and capacity / 4 KiB for byte
 * caches (the paper sizes the sketch by the number of cached objects,
 * which a byte cache does not know in advance), at most 2^24 (32 MiB).
 *
 * Invariants: 1. window, probation and protected hold exactly the cached
 *                objects, each in the queue its tag names, with the bytes
 *                counted;
 *             2. protected <= its share (demotion keeps it there).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_policy.h"

enum { WT_WINDOW = 0, WT_PROBATION = 1, WT_PROTECTED = 2, WT_NQ = 3 };
#define WT_ROWS 4

struct wtinylfu_meta {
    struct sim_link link;
    uint32_t queue;
};

/* 4-bit counters, 16 to a word; WT_ROWS rows of `width` counters. */
struct wtinylfu_sketch {
    uint64_t *words;
    uint64_t width;         /* counters per row, a power of two */
    uint64_t additions, sample;
    uint64_t *door;         /* doorkeeper bits (width * 8 bits), or NULL */
};

struct wtinylfu {
    sim_objcache *oc;
    struct sim_list q[WT_NQ];
    uint64_t bytes[WT_NQ];
    uint64_t window_cap, main_cap, protected_cap;
    uint64_t incoming;      /* size of the object being admitted */
    struct wtinylfu_sketch sk;
};

#define OFF SIM_LINK_OFF(struct wtinylfu_meta, link)
#define BASE(p) sim_objcache_base((p)->oc), sim_objcache_stride((p)->oc), OFF

static const struct sim_param_def wtinylfu_params[] = {
    {"window", SIM_P_REAL, "0.01", 0.0, 1.0, NULL, "share of the capacity for the window LRU"},
    {"protected", SIM_P_REAL, "0.8", 0.0, 1.0, NULL,
     "share of the main cache for the protected segment"},
    {"sample", SIM_P_REAL, "10", 1.0, 1000.0, NULL,
     "additions between sketch halvings, as a multiple of the expected objects"},
    {"objects", SIM_P_INT, "0", 0, 1 << 24, NULL,
     "sketch counters per row (0: the capacity in objects, or capacity/4KiB in bytes)"},
    {"doorkeeper", SIM_P_BOOL, "false", 0, 1, NULL, "filter first occurrences with a Bloom filter"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

/*=====   Count-min sketch with 4-bit counters   =====*/

/* Index of the key's counter in row r: one 64-bit hash, split. */
static uint64_t sketch_slot(const struct wtinylfu_sketch *s, uint64_t h, int r)
{
    uint64_t x = sim_key_hash(h + 0x9e3779b97f4a7c15ULL * (uint64_t)(r + 1));
    return (uint64_t)r * s->width + (x & (s->width - 1));
}

static unsigned sketch_get(const struct wtinylfu_sketch *s, uint64_t slot)
{
    return (unsigned)(s->words[slot / 16] >> (4 * (slot % 16))) & 15u;
}

static void sketch_inc(struct wtinylfu_sketch *s, uint64_t slot)
{
    if (sketch_get(s, slot) < 15)
        s->words[slot / 16] += 1ULL << (4 * (slot % 16));
}

/* Doorkeeper: 2 bits per key in a filter of width * 8 bits. */
static int door_test_set(struct wtinylfu_sketch *s, uint64_t h, int set)
{
    uint64_t bits = s->width * 8, x = sim_key_hash(h ^ 0x5851f42d4c957f2dULL);
    uint64_t a = x & (bits - 1), b = (x >> 32) & (bits - 1);
    int had = (s->door[a / 64] >> (a % 64) & 1) && (s->door[b / 64] >> (b % 64) & 1);
    if (set) {
        s->door[a / 64] |= 1ULL << (a % 64);
        s->door[b / 64] |= 1ULL << (b % 64);
    }
    return had;
}

/* The reset: halve every counter (a shift and a mask per word), clear the
 * doorkeeper, halve the addition count. */
static void sketch_halve(struct wtinylfu_sketch *s)
{
    uint64_t nwords = s->width * WT_ROWS / 16;
    for (uint64_t i = 0; i < nwords; i++)
        s->words[i] = (s->words[i] >> 1) & 0x7777777777777777ULL;
    if (s->door)
        memset(s->door, 0, s->width * 8 / 8);
    s->additions /= 2;
}

static void sketch_add(struct wtinylfu_sketch *s, uint64_t key)
{
    uint64_t h = sim_key_hash(key);
    if (s->door && !door_test_set(s, h, 1))
        return;
    for (int r = 0; r < WT_ROWS; r++)
        sketch_inc(s, sketch_slot(s, h, r));
    if (++s->additions >= s->sample)
        sketch_halve(s);
}

static unsigned sketch_estimate(struct wtinylfu_sketch *s, uint64_t key)
{
    uint64_t h = sim_key_hash(key);
    unsigned m = 15;
    for (int r = 0; r < WT_ROWS; r++) {
        unsigned c = sketch_get(s, sketch_slot(s, h, r));
        m = c < m ? c : m;
    }
    return m + (s->door && door_test_set(s, h, 0));
}

static int sketch_init(struct wtinylfu_sketch *s, uint64_t objects, double sample, int door)
{
    s->width = 16;
    while (s->width < objects)
        s->width *= 2;
    s->sample = (uint64_t)(sample * (double)objects);
    if (s->sample < 1)
        s->sample = 1;
    s->words = calloc(s->width * WT_ROWS / 16, sizeof *s->words);
    s->door = door ? calloc(s->width * 8 / 64, sizeof *s->door) : NULL;
    return s->words && (!door || s->door) ? 0 : SIM_ENOMEM;
}

/*=====   Queues   =====*/

static struct wtinylfu_meta *wt_meta(const struct wtinylfu *p, uint32_t id)
{
    return sim_objcache_meta(p->oc, id);
}

static uint64_t wt_size(const struct wtinylfu *p, uint32_t id)
{
    return sim_objcache_obj(p->oc, id)->size;
}

static void wt_push(struct wtinylfu *p, int q, uint32_t id)
{
    wt_meta(p, id)->queue = (uint32_t)q;
    sim_list_push_head(&p->q[q], BASE(p), id);
    p->bytes[q] += wt_size(p, id);
}

static void wt_unlink(struct wtinylfu *p, uint32_t id)
{
    int q = (int)wt_meta(p, id)->queue;
    sim_list_unlink(&p->q[q], BASE(p), id);
    p->bytes[q] -= wt_size(p, id);
}

static uint64_t wt_main_bytes(const struct wtinylfu *p)
{
    return p->bytes[WT_PROBATION] + p->bytes[WT_PROTECTED];
}

/* The main cache's victim: probation's LRU end, else protected's. */
static uint32_t wt_main_victim(const struct wtinylfu *p)
{
    return p->q[WT_PROBATION].count ? p->q[WT_PROBATION].tail : p->q[WT_PROTECTED].tail;
}

/* Moves window overflow into probation while the main cache has room. */
static void wt_drain_window(struct wtinylfu *p)
{
    while (p->bytes[WT_WINDOW] > p->window_cap) {
        uint32_t c = p->q[WT_WINDOW].tail;
        if (wt_main_bytes(p) + wt_size(p, c) > p->main_cap)
            return;
        wt_unlink(p, c);
        wt_push(p, WT_PROBATION, c);
    }
}

/*=====   Hooks   =====*/

static void wtinylfu_hit(void *pol, uint32_t id, const struct sim_req *req)
{
    struct wtinylfu *p = pol;
    sketch_add(&p->sk, req->key);
    int q = (int)wt_meta(p, id)->queue;
    wt_unlink(p, id);
    wt_push(p, q == WT_WINDOW ? WT_WINDOW : WT_PROTECTED, id);
    while (p->bytes[WT_PROTECTED] > p->protected_cap) {
        uint32_t d = p->q[WT_PROTECTED].tail;
        wt_unlink(p, d);
        wt_push(p, WT_PROBATION, d);
    }
}

/* Every miss is counted in the sketch; objects larger than the window are
 * refused (as libCacheSim does). */
static int wtinylfu_admit(void *pol, const struct sim_req *req)
{
    struct wtinylfu *p = pol;
    sketch_add(&p->sk, req->key);
    p->incoming = req->size;
    return req->size <= p->window_cap;
}

static void wtinylfu_insert(void *pol, uint32_t id, const struct sim_req *req)
{
    struct wtinylfu *p = pol;
    (void)req;
    wt_push(p, WT_WINDOW, id);
    p->incoming = 0;
    wt_drain_window(p);
}

/* One object leaves.  While the window cannot take the incoming object,
 * its LRU end is the candidate: it moves to probation if the main cache
 * has room, else it contests the main victim and the loser leaves.  When
 * the window has room, the main cache gives up its victim. */
static uint32_t wtinylfu_victim(void *pol)
{
    struct wtinylfu *p = pol;
    for (;;) {
        uint32_t c = p->q[WT_WINDOW].tail;
        int window_full = p->q[WT_WINDOW].count
                          && p->bytes[WT_WINDOW] + p->incoming > p->window_cap;
        if (!window_full || !(p->q[WT_PROBATION].count + p->q[WT_PROTECTED].count)) {
            uint32_t v = p->q[WT_PROBATION].count + p->q[WT_PROTECTED].count
                             ? wt_main_victim(p) : c;
            wt_unlink(p, v);
            return v;
        }
        if (wt_main_bytes(p) + wt_size(p, c) <= p->main_cap) {
            wt_unlink(p, c);
            wt_push(p, WT_PROBATION, c);
            continue;
        }
        uint32_t v = wt_main_victim(p);
        const struct sim_obj *co = sim_objcache_obj(p->oc, c);
        const struct sim_obj *vo = sim_objcache_obj(p->oc, v);
        if (sketch_estimate(&p->sk, co->key) > sketch_estimate(&p->sk, vo->key)) {
            wt_unlink(p, v);
            wt_unlink(p, c);
            wt_push(p, WT_PROBATION, c);
            return v;
        }
        wt_unlink(p, c);
        return c;
    }
}

static void wtinylfu_remove(void *pol, uint32_t id)
{
    wt_unlink(pol, id);
}

static const struct sim_objcache_hooks wtinylfu_hooks = {
    sizeof(struct wtinylfu_meta), wtinylfu_hit, wtinylfu_admit, wtinylfu_victim,
    wtinylfu_insert, wtinylfu_remove,
};

/*=====   Policy   =====*/

static void wtinylfu_destroy(void *state)
{
    struct wtinylfu *p = state;
    if (!p)
        return;
    sim_objcache_free(p->oc);
    free(p->sk.words);
    free(p->sk.door);
    free(p);
}

static void *wtinylfu_create(const struct sim_cache_config *cfg, const sim_params *params,
                             char *err, size_t errlen)
{
    struct wtinylfu *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "wtinylfu: out of memory");
        return NULL;
    }
    for (int q = 0; q < WT_NQ; q++)
        sim_list_init(&p->q[q]);
    double w = sim_params_real(params, "window");
    p->main_cap = (uint64_t)((double)cfg->capacity * (1.0 - w));
    if (w > 0 && p->main_cap == cfg->capacity)
        p->main_cap--;          /* the window gets at least one unit */
    p->window_cap = cfg->capacity - p->main_cap;
    p->protected_cap = (uint64_t)((double)p->main_cap * sim_params_real(params, "protected"));
    uint64_t objects = (uint64_t)sim_params_int(params, "objects");
    if (!objects)
        objects = cfg->unit == SIM_UNIT_BYTES ? cfg->capacity / 4096 : cfg->capacity;
    if (objects > (1u << 24))
        objects = 1u << 24;   /* 32 MiB of counters at most */
    if (objects < 16)
        objects = 16;
    if (sketch_init(&p->sk, objects, sim_params_real(params, "sample"),
                    sim_params_bool(params, "doorkeeper"))) {
        wtinylfu_destroy(p);
        snprintf(err, errlen, "wtinylfu: out of memory");
        return NULL;
    }
    p->oc = sim_objcache_create(cfg, &wtinylfu_hooks, p, err, errlen);
    if (!p->oc) {
        wtinylfu_destroy(p);
        return NULL;
    }
    return p;
}

static void wtinylfu_access(void *state, const struct sim_req *req, struct sim_outcome *out)
{
    struct wtinylfu *p = state;
    sim_objcache_access(p->oc, req, out);
}

static int wtinylfu_check(void *state, char *err, size_t errlen)
{
    struct wtinylfu *p = state;
    if (sim_objcache_used(p->oc) > sim_objcache_capacity(p->oc)) {
        snprintf(err, errlen, "wtinylfu: over capacity");
        return SIM_EINVAL;
    }
    uint64_t n = 0, b = 0;
    for (int q = 0; q < WT_NQ; q++) {
        uint64_t qn = 0, qb = 0;
        for (uint32_t id = p->q[q].head; id != SIM_KEYMAP_NONE; id = wt_meta(p, id)->link.next) {
            if (!sim_objcache_is_live(p->oc, id) || wt_meta(p, id)->queue != (uint32_t)q) {
                snprintf(err, errlen, "wtinylfu: object %u misfiled in queue %d", id, q);
                return SIM_EINVAL;
            }
            qn++;
            qb += wt_size(p, id);
        }
        if (qn != p->q[q].count || qb != p->bytes[q]) {
            snprintf(err, errlen, "wtinylfu: queue %d miscounted", q);
            return SIM_EINVAL;
        }
        n += qn;
        b += qb;
    }
    if (n != sim_objcache_count(p->oc) || b != sim_objcache_used(p->oc)
        || p->bytes[WT_PROTECTED] > p->protected_cap) {
        snprintf(err, errlen, "wtinylfu: queues hold %llu objects, cache %llu",
                 (unsigned long long)n, (unsigned long long)sim_objcache_count(p->oc));
        return SIM_EINVAL;
    }
    return 0;
}

const struct sim_policy_ops sim_policy_wtinylfu = {
    .abi_version = SIM_POLICY_ABI,
    .name = "wtinylfu",
    .summary = "W-TinyLFU: window LRU, SLRU main cache, count-min sketch admission",
    .reference = "Einziger, Friedman and Manes, ACM TOS, 2017",
    .needs = SIM_F_KEY | SIM_F_SIZE,
    .unit = SIM_UNIT_BYTES,
    .params = wtinylfu_params,
    .create = wtinylfu_create,
    .destroy = wtinylfu_destroy,
    .access = wtinylfu_access,
    .check = wtinylfu_check,
    .used = sim_objcache_used_state,
};
