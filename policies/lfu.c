/*
 * lfu.c - Least Frequently Used, O(1) per request.
 *
 * The victim is a cached object with the fewest hits since it was
 * inserted (frequency starts at 1; an evicted object's count is
 * forgotten).  Structure from K. Shah, A. Mitra and D. Matani, "An O(1)
 * algorithm for implementing the LFU cache eviction scheme", 2010: a
 * doubly linked list of frequency nodes in increasing frequency, each
 * holding the list of objects with that frequency.  A hit moves the object
 * to the node of frequency f+1, created right after its node if missing;
 * empty nodes are freed.  The victim comes from the first node.  Every
 * step is O(1); no frequency-indexed table is scanned.
 *
 * Tie-break (as libCacheSim's LFU.c): among objects of the lowest
 * frequency, evict the one that reached that frequency first (FIFO within
 * a frequency node).  So LFU with all frequencies 1 is FIFO.
 *
 * Nodes live in a pool array recycled through a free list, so the steady
 * state allocates nothing; per object: 8 bytes of links + 4 of node id.
 *
 * Invariants: 1. node frequencies strictly increase along the node list
 *                and no node is empty;
 *             2. every cached object is in exactly the node of its
 *                frequency, and the node counts sum to the cached count.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sim_policy.h"

#define NONE SIM_KEYMAP_NONE

struct lfu_meta {
    struct sim_link link;  /* within its frequency node */
    uint32_t node;         /* index of its frequency node */
};

struct lfu_node {
    uint64_t freq;
    struct sim_list objs;  /* head = reached this frequency last */
    uint32_t prev, next;   /* node list by frequency; next = free list link */
};

struct lfu {
    sim_objcache *oc;
    struct lfu_node *nodes;
    uint32_t ncap, nused;  /* pool size, nodes ever handed out */
    uint32_t free_node;    /* free list head */
    uint32_t first;        /* lowest frequency node, NONE if empty */
};

#define OFF SIM_LINK_OFF(struct lfu_meta, link)
#define BASE(p) sim_objcache_base((p)->oc), sim_objcache_stride((p)->oc), OFF

static struct lfu_meta *lfu_meta(const struct lfu *p, uint32_t id)
{
    return sim_objcache_meta(p->oc, id);
}

/* Makes sure one node can be allocated without failing. */
static int lfu_reserve(struct lfu *p)
{
    if (p->free_node != NONE || p->nused < p->ncap)
        return 0;
    uint32_t cap = p->ncap ? p->ncap * 2 : 64;
    struct lfu_node *n = realloc(p->nodes, (size_t)cap * sizeof *n);
    if (!n)
        return SIM_ENOMEM;
    p->nodes = n;
    p->ncap = cap;
    return 0;
}

/* A new empty node of frequency f linked after `after` (NONE: first).
 * Returns NONE when out of memory. */
static uint32_t lfu_node_new(struct lfu *p, uint64_t f, uint32_t after)
{
    if (lfu_reserve(p))
        return NONE;
    uint32_t k;
    if (p->free_node != NONE) {
        k = p->free_node;
        p->free_node = p->nodes[k].next;
    } else {
        k = p->nused++;
    }
    struct lfu_node *n = &p->nodes[k];
    n->freq = f;
    sim_list_init(&n->objs);
    n->prev = after;
    n->next = after == NONE ? p->first : p->nodes[after].next;
    if (n->next != NONE)
        p->nodes[n->next].prev = k;
    if (after == NONE)
        p->first = k;
    else
        p->nodes[after].next = k;
    return k;
}

/* Unlinks object id from its node, freeing the node if it empties. */
static void lfu_detach(struct lfu *p, uint32_t id)
{
    uint32_t k = lfu_meta(p, id)->node;
    struct lfu_node *n = &p->nodes[k];
    sim_list_unlink(&n->objs, BASE(p), id);
    if (n->objs.count)
        return;
    if (n->prev != NONE)
        p->nodes[n->prev].next = n->next;
    else
        p->first = n->next;
    if (n->next != NONE)
        p->nodes[n->next].prev = n->prev;
    n->next = p->free_node;
    p->free_node = k;
}

static void lfu_attach(struct lfu *p, uint32_t id, uint32_t k)
{
    lfu_meta(p, id)->node = k;
    sim_list_push_head(&p->nodes[k].objs, BASE(p), id);
}

static void lfu_hit(void *pol, uint32_t id, const struct sim_req *req)
{
    struct lfu *p = pol;
    (void)req;
    uint32_t k = lfu_meta(p, id)->node;
    uint64_t f = p->nodes[k].freq + 1;
    uint32_t next = p->nodes[k].next;
    int alone = p->nodes[k].objs.count == 1;
    if (alone && (next == NONE || p->nodes[next].freq != f)) {
        p->nodes[k].freq = f; /* still between its neighbours: no move */
        return;
    }
    if (next == NONE || p->nodes[next].freq != f) {
        next = lfu_node_new(p, f, k);
        if (next == NONE)
            return; /* out of memory: the count is not raised */
    }
    lfu_detach(p, id);
    lfu_attach(p, id, next);
}

/* Reserving a node here, before the object is stored, lets insert always
 * succeed; out of memory, the object is not cached. */
static int lfu_admit(void *pol, const struct sim_req *req)
{
    (void)req;
    return lfu_reserve(pol) == 0;
}

static void lfu_insert(void *pol, uint32_t id, const struct sim_req *req)
{
    struct lfu *p = pol;
    (void)req;
    uint32_t k = p->first;
    if (k == NONE || p->nodes[k].freq != 1)
        k = lfu_node_new(p, 1, NONE); /* reserved by lfu_admit */
    lfu_attach(p, id, k);
}

static uint32_t lfu_victim(void *pol)
{
    struct lfu *p = pol;
    uint32_t v = p->nodes[p->first].objs.tail;
    lfu_detach(p, v);
    return v;
}

static void lfu_remove(void *pol, uint32_t id)
{
    lfu_detach(pol, id);
}

static const struct sim_objcache_hooks lfu_hooks = {
    sizeof(struct lfu_meta), lfu_hit, lfu_admit, lfu_victim, lfu_insert, lfu_remove,
};

static void lfu_destroy(void *state)
{
    struct lfu *p = state;
    if (!p)
        return;
    sim_objcache_free(p->oc);
    free(p->nodes);
    free(p);
}

static void *lfu_create(const struct sim_cache_config *cfg, const sim_params *params,
                        char *err, size_t errlen)
{
    (void)params;
    struct lfu *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "lfu: out of memory");
        return NULL;
    }
    p->free_node = p->first = NONE;
    p->oc = sim_objcache_create(cfg, &lfu_hooks, p, err, errlen);
    if (!p->oc) {
        free(p);
        return NULL;
    }
    return p;
}

static void lfu_access(void *state, const struct sim_req *req, struct sim_outcome *out)
{
    struct lfu *p = state;
    sim_objcache_access(p->oc, req, out);
}

/* Checks one node's object list: every member points back at node k. */
static int lfu_check_node(struct lfu *p, uint32_t k, char *err, size_t errlen)
{
    uint64_t n = 0;
    for (uint32_t id = p->nodes[k].objs.head; id != NONE;
         id = sim_list_link(BASE(p), id)->next, n++) {
        if (!sim_objcache_is_live(p->oc, id) || lfu_meta(p, id)->node != k) {
            snprintf(err, errlen, "lfu: object %u misfiled in node of freq %llu", id,
                     (unsigned long long)p->nodes[k].freq);
            return SIM_EINVAL;
        }
    }
    if (n == 0 || n != p->nodes[k].objs.count) {
        snprintf(err, errlen, "lfu: node of freq %llu holds %llu objects, says %llu",
                 (unsigned long long)p->nodes[k].freq, (unsigned long long)n,
                 (unsigned long long)p->nodes[k].objs.count);
        return SIM_EINVAL;
    }
    return 0;
}

static int lfu_check(void *state, char *err, size_t errlen)
{
    struct lfu *p = state;
    uint64_t total = 0, last = 0;
    for (uint32_t k = p->first; k != NONE; k = p->nodes[k].next) {
        if (p->nodes[k].freq <= last) {
            snprintf(err, errlen, "lfu: node frequencies not increasing");
            return SIM_EINVAL;
        }
        last = p->nodes[k].freq;
        int rc = lfu_check_node(p, k, err, errlen);
        if (rc)
            return rc;
        total += p->nodes[k].objs.count;
    }
    if (total != sim_objcache_count(p->oc)) {
        snprintf(err, errlen, "lfu: nodes hold %llu objects, cache %llu",
                 (unsigned long long)total,
                 (unsigned long long)sim_objcache_count(p->oc));
        return SIM_EINVAL;
    }
    if (sim_objcache_used(p->oc) > sim_objcache_capacity(p->oc)) {
        snprintf(err, errlen, "lfu: over capacity");
        return SIM_EINVAL;
    }
    return 0;
}

const struct sim_policy_ops sim_policy_lfu = {
    .abi_version = SIM_POLICY_ABI,
    .name = "lfu",
    .summary = "least frequently used, O(1) frequency lists (FIFO among ties)",
    .reference = "Shah, Mitra and Matani, O(1) LFU, 2010",
    .needs = SIM_F_KEY | SIM_F_SIZE,
    .unit = SIM_UNIT_BYTES,
    .create = lfu_create,
    .destroy = lfu_destroy,
    .access = lfu_access,
    .check = lfu_check,
    .prefetch = sim_objcache_prefetch_state,
    .used = sim_objcache_used_state,
};
