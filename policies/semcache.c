/*
 * semcache.c - the semantic-cache engine behind `semantic` and `meancache`.
 *
 * An entry is one cached query: its embedding (in a sim_vec index, under
 * the entry's number), its ground-truth class, the size of its answer, an
 * expiry time and its eviction state.  A request is looked up in 5 steps:
 *
 *   1. find the cached queries most similar to the request's embedding
 *      (the best one for `semantic`; the best `candidates` for meancache);
 *   2. those at or above `threshold` are considered best first; an expired
 *      one is removed (an expiration) and the search repeated;
 *   3. meancache only: a candidate also needs a matching context (see
 *      meancache.c); the first that has one is the match;
 *   4. a match is a hit: a true hit if its class is the request's, else a
 *      false hit (the user got another question's answer); the entry's
 *      recency or frequency is updated; nothing is inserted;
 *   5. no match is a miss, a false miss if an entry of the request's class
 *      was cached (tracked as class -> number of cached entries); the query
 *      is then inserted, evicting entries (LRU, LFU or FIFO) until its
 *      answer fits.
 *
 * Sizes.  With unit ENTRIES (the default) or OBJECTS an entry costs 1.  With
 * TOKENS it costs the answer's tokens_out (at least 1).  With BYTES it costs
 * 4 bytes per answer token when the trace has tokens (the usual rule of
 * thumb for English text), else the request's size.
 *
 * LFU evicts the entry with the fewest hits (plus one for its insertion),
 * the least recently used among equals (an indexed binary heap on
 * (frequency, last use)).  LRU and FIFO use one queue; a hit moves an entry
 * to the front only under LRU.
 *
 * A request whose embedding cannot be used (none, a dimension other than
 * the first embedding's, a NaN) is a miss and is not inserted; it is counted
 * in the `rejected` column.  The trace readers refuse such traces first, so
 * this only happens to callers that build requests themselves.
 *
 * Invariants: 1. live entries == vectors in the index == queue (or heap)
 *                length, and their sizes sum to `used` <= capacity;
 *             2. the class counts sum to the number of live entries;
 *             3. the LFU heap is ordered.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "semcache.h"
#include "sim_vec.h"
#include "u64map.h"

#define SEMC_MAX_CANDIDATES 64
#define SEMC_INDEX_HINT 65536 /* rows reserved up front, at most */

enum semc_evict { SEMC_LRU = 0, SEMC_LFU = 1, SEMC_FIFO = 2 };

const char *const semc_columns[] = {"true_hits", "false_hits", "false_misses", "precision",
                                    "recall", "f1", "false_hit_rate", "rejected", NULL};

struct semc_entry {
    uint64_t cls;
    uint64_t freq, stamp;    /* LFU key: hits + 1, last use */
    struct sim_link link;    /* LRU/FIFO queue */
    uint32_t size, expire;   /* expire: absolute trace second, 0 = never */
    uint32_t heap_pos;       /* LFU */
    uint8_t live, first;     /* first: inserted on a conversation's first turn */
};

struct semc {
    const char *name;
    int meancache;
    double threshold, ctx_threshold;
    unsigned candidates;
    enum semc_evict evict;
    enum sim_unit unit;
    struct sim_vec_config vcfg;
    sim_vec *index;          /* created at the first embedding (dim known) */
    uint32_t dim;
    uint64_t capacity, used, seq;
    struct semc_entry *e;
    size_t ne, cape, nlive;
    uint32_t *freeids;
    size_t nfree;
    struct sim_list q;       /* LRU/FIFO: head = most recent */
    uint32_t *heap;          /* LFU: entry ids, min at [0] */
    size_t nheap;
    struct u64map classes;   /* class -> cached entries of it */
    /* meancache */
    float *ctx;              /* per entry: its context embedding (dim) */
    struct u64map convs;     /* conversation -> row of conv */
    float *conv;             /* per conversation: last query, normalised */
    size_t nconv, capconv;
    float *cq;               /* the request's context (scratch) */
    /* counters */
    uint64_t requests, true_hits, false_hits, false_misses, rejected;
};

#define QBASE(c) (uint8_t *)(c)->e, sizeof(struct semc_entry), offsetof(struct semc_entry, link)

/*=====   LFU heap   =====*/

static int semc_less(const struct semc *c, uint32_t a, uint32_t b)
{
    const struct semc_entry *x = &c->e[a], *y = &c->e[b];
    return x->freq < y->freq || (x->freq == y->freq && x->stamp < y->stamp);
}

static void semc_heap_set(struct semc *c, size_t i, uint32_t id)
{
    c->heap[i] = id;
    c->e[id].heap_pos = (uint32_t)i;
}

static void semc_heap_up(struct semc *c, size_t i)
{
    uint32_t id = c->heap[i];
    while (i > 0 && semc_less(c, id, c->heap[(i - 1) / 2])) {
        semc_heap_set(c, i, c->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    semc_heap_set(c, i, id);
}

static void semc_heap_down(struct semc *c, size_t i)
{
    uint32_t id = c->heap[i];
    for (;;) {
        size_t k = 2 * i + 1;
        if (k >= c->nheap)
            break;
        if (k + 1 < c->nheap && semc_less(c, c->heap[k + 1], c->heap[k]))
            k++;
        if (!semc_less(c, c->heap[k], id))
            break;
        semc_heap_set(c, i, c->heap[k]);
        i = k;
    }
    semc_heap_set(c, i, id);
}

static void semc_heap_remove(struct semc *c, uint32_t id)
{
    size_t i = c->e[id].heap_pos;
    uint32_t last = c->heap[--c->nheap];
    if (i == c->nheap)
        return;
    semc_heap_set(c, i, last);
    semc_heap_up(c, i);
    semc_heap_down(c, c->e[last].heap_pos);
}

/*=====   Entries   =====*/

static uint64_t *semc_class(struct semc *c, uint64_t cls)
{
    int fresh;
    return u64map_upsert(&c->classes, cls, 0, &fresh);
}

/* Unlinks and frees entry id (evicted or expired). */
static void semc_remove(struct semc *c, uint32_t id)
{
    struct semc_entry *x = &c->e[id];
    if (c->evict == SEMC_LFU)
        semc_heap_remove(c, id);
    else
        sim_list_unlink(&c->q, QBASE(c), id);
    sim_vec_delete(c->index, id);
    uint64_t *n = u64map_get(&c->classes, x->cls);
    if (n)
        (*n)--;
    c->used -= x->size;
    x->live = 0;
    c->nlive--;
    c->freeids[c->nfree++] = id;
}

static uint32_t semc_victim(struct semc *c)
{
    return c->evict == SEMC_LFU ? c->heap[0] : c->q.tail;
}

static void semc_touch(struct semc *c, uint32_t id)
{
    struct semc_entry *x = &c->e[id];
    x->freq++;
    x->stamp = c->seq;
    if (c->evict == SEMC_LFU) {
        semc_heap_down(c, x->heap_pos);
    } else if (c->evict == SEMC_LRU && c->q.head != id) {
        sim_list_unlink(&c->q, QBASE(c), id);
        sim_list_push_head(&c->q, QBASE(c), id);
    }
}

/* Makes room for one more entry id in every per-entry array. */
static int semc_grow(struct semc *c)
{
    if (c->ne < c->cape)
        return 0;
    size_t n = c->cape ? 2 * c->cape : 1024;
    struct semc_entry *e = realloc(c->e, n * sizeof *e);
    if (!e)
        return SIM_ENOMEM;
    c->e = e;
    uint32_t *f = realloc(c->freeids, n * sizeof *f);
    if (!f)
        return SIM_ENOMEM;
    c->freeids = f;
    uint32_t *h = realloc(c->heap, n * sizeof *h);
    if (!h)
        return SIM_ENOMEM;
    c->heap = h;
    if (c->meancache) {
        float *x = realloc(c->ctx, n * c->dim * sizeof *x);
        if (!x)
            return SIM_ENOMEM;
        c->ctx = x;
    }
    c->cape = n;
    return 0;
}

static uint32_t semc_entry_size(const struct semc *c, const struct sim_req *req)
{
    uint32_t tok = req->tokens_out ? req->tokens_out : 1;
    switch (c->unit) {
    case SIM_UNIT_TOKENS: return tok;
    case SIM_UNIT_BYTES:
        if (req->present & SIM_F_TOKENS)
            return tok > UINT32_MAX / 4 ? UINT32_MAX : 4 * tok;
        return req->size > UINT32_MAX ? UINT32_MAX : (uint32_t)(req->size ? req->size : 1);
    default: return 1;
    }
}

static uint32_t semc_now(const struct sim_req *req)
{
    return (uint32_t)(req->time / 1000000);
}

/* Step 5: stores the request as a new entry, evicting as needed. */
static void semc_insert(struct semc *c, const struct sim_req *req, int first,
                        struct sim_outcome *out)
{
    uint32_t size = semc_entry_size(c, req);
    if (size > c->capacity)
        return;
    if (c->nfree == 0 && semc_grow(c))
        return; /* out of memory: the request stays an uncached miss */
    while (c->used + size > c->capacity) {
        semc_remove(c, semc_victim(c));
        out->evictions++;
    }
    uint32_t id = c->nfree ? c->freeids[--c->nfree] : (uint32_t)c->ne++;
    char err[SIM_ERRLEN];
    if (sim_vec_insert(c->index, id, req->emb, req->dim, err, sizeof err)) {
        c->freeids[c->nfree++] = id;
        return;
    }
    struct semc_entry *x = &c->e[id];
    memset(x, 0, sizeof *x);
    x->cls = req->cls;
    x->freq = 1;
    x->stamp = c->seq;
    x->size = size;
    x->expire = req->ttl ? semc_now(req) + req->ttl : 0;
    x->live = 1;
    x->first = (uint8_t)first;
    if (c->meancache && !first)
        memcpy(c->ctx + (size_t)id * c->dim, c->cq, c->dim * sizeof(float));
    if (c->evict == SEMC_LFU) {
        c->heap[c->nheap] = id;
        x->heap_pos = (uint32_t)c->nheap++;
        semc_heap_up(c, x->heap_pos);
    } else {
        sim_list_push_head(&c->q, QBASE(c), id);
    }
    uint64_t *n = semc_class(c, req->cls);
    if (n)
        (*n)++;
    c->used += size;
    c->nlive++;
}

/*=====   Conversations (meancache)   =====*/

/* The request's context (its conversation's previous query) into c->cq;
 * returns 1 on a first turn (no previous query). */
static int semc_context(struct semc *c, const struct sim_req *req)
{
    uint64_t *row = u64map_get(&c->convs, req->context);
    if (!row)
        return 1;
    memcpy(c->cq, c->conv + *row * c->dim, c->dim * sizeof(float));
    return 0;
}

/* Remembers the request as its conversation's latest query. */
static void semc_remember(struct semc *c, const struct sim_req *req)
{
    if (c->nconv == c->capconv) {
        size_t n = c->capconv ? 2 * c->capconv : 1024;
        float *x = realloc(c->conv, n * c->dim * sizeof *x);
        if (!x)
            return;
        c->conv = x;
        c->capconv = n;
    }
    int fresh;
    uint64_t *row = u64map_upsert(&c->convs, req->context, c->nconv, &fresh);
    if (!row)
        return;
    if (fresh)
        c->nconv++;
    float *dst = c->conv + *row * c->dim;
    memcpy(dst, req->emb, c->dim * sizeof(float));
    sim_vec_normalise(dst, c->dim);
}

static int semc_context_match(const struct semc *c, uint32_t id, int first)
{
    const struct semc_entry *x = &c->e[id];
    if (x->first || first)
        return x->first && first;
    const float *ec = c->ctx + (size_t)id * c->dim;
    return (double)sim_vec_dot(ec, c->cq, c->dim) >= c->ctx_threshold;
}

/*=====   Lookup   =====*/

/* Steps 1-3: the matching entry, or SIM_KEYMAP_NONE; -1 if the embedding
 * cannot be used. */
static int64_t semc_lookup(struct semc *c, const struct sim_req *req, int first,
                           struct sim_outcome *out)
{
    uint64_t ids[SEMC_MAX_CANDIDATES];
    float sims[SEMC_MAX_CANDIDATES];
    char err[SIM_ERRLEN];
    uint32_t now = semc_now(req);
    for (;;) {
        int n = sim_vec_search(c->index, req->emb, req->dim, c->candidates, ids, sims, err,
                               sizeof err);
        if (n < 0)
            return -1;
        int expired = 0;
        for (int i = 0; i < n && (double)sims[i] >= c->threshold; i++) {
            uint32_t id = (uint32_t)ids[i];
            if (c->e[id].expire && now >= c->e[id].expire) {
                semc_remove(c, id);
                out->expirations++;
                expired = 1;
            } else if (!expired && (!c->meancache || semc_context_match(c, id, first))) {
                return id;
            }
        }
        if (!expired)
            return SIM_KEYMAP_NONE;
    }
}

static int semc_usable(struct semc *c, const struct sim_req *req)
{
    if (!(req->present & SIM_F_EMB) || req->dim == 0 || !req->emb)
        return 0;
    if (!c->index) {
        char err[SIM_ERRLEN];
        c->vcfg.dim = req->dim;
        c->dim = req->dim;
        c->index = sim_vec_create(&c->vcfg, err, sizeof err);
        c->cq = malloc(req->dim * sizeof *c->cq);
        if (!c->index || !c->cq)
            return 0;
    }
    return req->dim == c->dim;
}

void semc_access(struct semc *c, const struct sim_req *req, struct sim_outcome *out)
{
    if (req->op == SIM_OP_DELETE) {
        out->uncounted = 1;
        return;
    }
    c->seq++;
    c->requests++;
    int first = 1;
    int64_t id = -1;
    if (semc_usable(c, req)) {
        if (c->meancache)
            first = semc_context(c, req);
        id = semc_lookup(c, req, first, out);
    }
    if (id < 0) {
        c->rejected++;
    } else if (id != SIM_KEYMAP_NONE) { /* step 4 */
        out->hit = 1;
        out->false_hit = c->e[id].cls != req->cls;
        c->true_hits += !out->false_hit;
        c->false_hits += out->false_hit;
        semc_touch(c, (uint32_t)id);
    }
    if (!out->hit) {
        uint64_t *n = u64map_get(&c->classes, req->cls);
        out->false_miss = n && *n > 0;
        c->false_misses += out->false_miss;
        if (id >= 0)
            semc_insert(c, req, first, out);
    }
    if (c->meancache && id >= 0)
        semc_remember(c, req);
}

/*=====   Life cycle, columns, checks   =====*/

struct semc *semc_create(const char *name, int meancache, const struct sim_cache_config *cfg,
                         const sim_params *p, char *err, size_t errlen)
{
    struct semc *c = calloc(1, sizeof *c);
    if (!c || u64map_init(&c->classes, 1024) || u64map_init(&c->convs, meancache ? 1024 : 1)) {
        snprintf(err, errlen, "%s: out of memory", name);
        semc_destroy(c);
        return NULL;
    }
    c->name = name;
    c->meancache = meancache;
    c->threshold = sim_params_real(p, "threshold");
    c->candidates = 1;
    if (meancache) {
        c->ctx_threshold = sim_params_real(p, "context_threshold");
        c->candidates = (unsigned)sim_params_int(p, "candidates");
    }
    const char *ev = sim_params_str(p, "eviction");
    c->evict = !strcmp(ev, "lfu") ? SEMC_LFU : !strcmp(ev, "fifo") ? SEMC_FIFO : SEMC_LRU;
    c->unit = cfg->unit;
    c->capacity = cfg->capacity;
    int kind = sim_vec_kind_parse(sim_params_str(p, "index"));
    sim_vec_config_init(&c->vcfg, kind == SIM_VEC_HNSW ? SIM_VEC_HNSW : SIM_VEC_FLAT, 1);
    c->vcfg.seed = cfg->seed;
    c->vcfg.M = (uint32_t)sim_params_int(p, "M");
    c->vcfg.ef_construction = (uint32_t)sim_params_int(p, "ef_construction");
    c->vcfg.ef_search = (uint32_t)sim_params_int(p, "ef_search");
    uint64_t hint = c->unit == SIM_UNIT_ENTRIES || c->unit == SIM_UNIT_OBJECTS ? cfg->capacity : 0;
    c->vcfg.capacity = hint < SEMC_INDEX_HINT ? hint : SEMC_INDEX_HINT;
    sim_list_init(&c->q);
    return c;
}

void semc_destroy(struct semc *c)
{
    if (!c)
        return;
    sim_vec_free(c->index);
    u64map_free(&c->classes);
    u64map_free(&c->convs);
    free(c->e);
    free(c->freeids);
    free(c->heap);
    free(c->ctx);
    free(c->conv);
    free(c->cq);
    free(c);
}

static double semc_ratio(uint64_t a, uint64_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

void semc_values(struct semc *c, double *v)
{
    double precision = semc_ratio(c->true_hits, c->true_hits + c->false_hits);
    double recall = semc_ratio(c->true_hits, c->true_hits + c->false_misses);
    v[0] = (double)c->true_hits;
    v[1] = (double)c->false_hits;
    v[2] = (double)c->false_misses;
    v[3] = precision;
    v[4] = recall;
    v[5] = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
    v[6] = semc_ratio(c->false_hits, c->requests);
    v[7] = (double)c->rejected;
}

void semc_reset(struct semc *c)
{
    c->requests = c->true_hits = c->false_hits = c->false_misses = c->rejected = 0;
}

int semc_check(struct semc *c, char *err, size_t errlen)
{
    size_t queued = c->evict == SEMC_LFU ? c->nheap : c->q.count;
    size_t indexed = c->index ? sim_vec_size(c->index) : 0;
    uint64_t used = 0, classes = 0;
    for (size_t i = 0; i < c->ne; i++)
        used += c->e[i].live ? c->e[i].size : 0;
    for (uint64_t i = 0; i <= c->classes.mask; i++)
        classes += c->classes.used[i] ? c->classes.vals[i] : 0;
    if (queued != c->nlive || indexed != c->nlive || used != c->used || used > c->capacity
        || classes != c->nlive || c->nlive + c->nfree != c->ne) {
        snprintf(err, errlen, "%s: %zu live, %zu queued, %zu indexed, %zu free of %zu, "
                 "%llu classed, used %llu (%llu counted) of %llu", c->name, c->nlive, queued,
                 indexed, c->nfree, c->ne, (unsigned long long)classes,
                 (unsigned long long)c->used, (unsigned long long)used,
                 (unsigned long long)c->capacity);
        return SIM_EINVAL;
    }
    for (size_t i = 1; c->evict == SEMC_LFU && i < c->nheap; i++)
        if (semc_less(c, c->heap[i], c->heap[(i - 1) / 2])) {
            snprintf(err, errlen, "%s: LFU heap out of order at %zu", c->name, i);
            return SIM_EINVAL;
        }
    return c->index ? sim_vec_check(c->index, err, errlen) : 0;
}
