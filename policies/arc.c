/*
 * arc.c - ARC, the Adaptive Replacement Cache.
 *
 * N. Megiddo and D. S. Modha, "ARC: A self-tuning, low overhead replacement
 * cache", FAST 2003.  Four LRU lists: T1 (seen once recently) and T2 (seen
 * at least twice) hold the cached objects; B1 and B2 remember the keys
 * recently evicted from T1 and T2 (ghosts, no data).  The target size p of
 * T1 adapts: a hit in B1 means T1 was too small (p grows by
 * max(|B2|/|B1|, 1)), a hit in B2 means T2 was (p shrinks by
 * max(|B1|/|B2|, 1)).  REPLACE evicts the LRU of T1 into B1 when
 * |T1| > p (or = p on a B2 hit), otherwise the LRU of T2 into B2.
 *
 * In object units (--ignore-size) this is the paper's algorithm, step for
 * step (tests/check_classic_a.c compares it with a direct transcription of
 * the paper's pseudo-code).  In bytes it is libCacheSim's ARC.c: list
 * sizes count bytes, p is a real number in bytes, delta uses the byte
 * ratios, and case IV of a miss becomes, per eviction needed:
 *   A. |T1| + |B1| + size > c: if B1 is not empty, drop its LRU and
 *      REPLACE; else evict T1's LRU without a ghost;
 *   B. otherwise: if |T1|+|T2|+|B1|+|B2| >= 2c and B2 is not empty, drop
 *      B2's LRU; REPLACE.
 * A ghost hit evicts with REPLACE only.  REPLACE also takes T1 when T2 is
 * empty (libCacheSim; the paper leaves that case undefined).
 *
 * Ghosts have their own record array and key table (ghost.h), 24 bytes
 * plus the table slot each.  Deviations: a delete of a key that is only a
 * ghost leaves the ghost (the framework does not report absent keys);
 * expired and deleted objects leave no ghost (as libCacheSim).
 *
 * Invariants: 1. T1 and T2 hold exactly the cached objects and
 *                |T1| + |T2| = used bytes (or objects);
 *             2. B1 and B2 hold exactly the ghost table's keys, none cached;
 *             3. 0 <= p <= c;
 *             4. objects, no deletes/expiry: |T1|+|B1| <= c and
 *                |T1|+|T2|+|B1|+|B2| <= 2c (the paper's invariants).
 */
#include <stdio.h>
#include <stdlib.h>

#include "ghost.h"
#include "sim_policy.h"

#define NONE SIM_KEYMAP_NONE

enum { ARC_T1 = 1, ARC_T2 = 2 };

/* The list (ARC_T1 or ARC_T2) is the object's framework tag, which keeps
 * the record at 24 bytes (sim_objcache_set_tag). */
struct arc_meta {
    struct sim_link link;
};

struct arc {
    sim_objcache *oc;
    struct sim_list t1, t2, b1, b2;
    uint64_t st1, st2, sb1, sb2;   /* sizes in units */
    double p;                      /* target size of T1 */
    uint64_t c;
    struct sim_ghosts g;           /* B1 (tag ARC_T1) and B2 (ARC_T2) */
    int ghost_hit;                 /* this miss was in B1 (1) or B2 (2) */
    uint64_t incoming;             /* size of the missed object */
    int removed;                   /* a delete or expiry happened */
    int sized;                     /* an object of size != 1 was stored */
};

#define OFF SIM_LINK_OFF(struct arc_meta, link)
#define BASE(p) sim_objcache_base((p)->oc), sim_objcache_stride((p)->oc), OFF
#define GBASE(p) SIM_GHOST_LIST(&(p)->g)

/*=====   Ghosts   =====*/

static struct sim_ghost *arc_gh(const struct arc *p, uint32_t g)
{
    return sim_ghosts_rec(&p->g, g);
}

/* Remembers an evicted object in B1 (list ARC_T1) or B2.  Out of memory the
 * ghost is simply not kept. */
static void arc_ghost_add(struct arc *p, int list, uint64_t key, uint32_t size)
{
    uint32_t g = sim_ghosts_add(&p->g, key, size);
    if (g == NONE)
        return;
    arc_gh(p, g)->tag = (uint8_t)list;
    if (list == ARC_T1) {
        sim_list_push_head(&p->b1, GBASE(p), g);
        p->sb1 += size;
    } else {
        sim_list_push_head(&p->b2, GBASE(p), g);
        p->sb2 += size;
    }
}

static void arc_ghost_drop(struct arc *p, uint32_t g)
{
    struct sim_ghost *r = arc_gh(p, g);
    if (r->tag == ARC_T1) {
        sim_list_unlink(&p->b1, GBASE(p), g);
        p->sb1 -= r->size;
    } else {
        sim_list_unlink(&p->b2, GBASE(p), g);
        p->sb2 -= r->size;
    }
    sim_ghosts_del(&p->g, g);
}

/*=====   Cached objects   =====*/

static void arc_unlink(struct arc *p, uint32_t id)
{
    uint32_t size = sim_objcache_obj(p->oc, id)->size;
    if (sim_objcache_tag(p->oc, id) == ARC_T1) {
        sim_list_unlink(&p->t1, BASE(p), id);
        p->st1 -= size;
    } else {
        sim_list_unlink(&p->t2, BASE(p), id);
        p->st2 -= size;
    }
}

static void arc_push(struct arc *p, int list, uint32_t id)
{
    uint32_t size = sim_objcache_obj(p->oc, id)->size;
    sim_objcache_set_tag(p->oc, id, (unsigned)list);
    if (list == ARC_T1) {
        sim_list_push_head(&p->t1, BASE(p), id);
        p->st1 += size;
    } else {
        sim_list_push_head(&p->t2, BASE(p), id);
        p->st2 += size;
    }
}

/* Case I: a hit moves the object to the MRU end of T2. */
static void arc_hit(void *pol, uint32_t id, const struct sim_req *req)
{
    struct arc *p = pol;
    (void)req;
    arc_unlink(p, id);
    arc_push(p, ARC_T2, id);
}

/* Cases II and III: a miss that hits a ghost adapts p and forgets the
 * ghost (the object returns to T2 in arc_insert).  Case IV records the
 * incoming size for arc_victim. */
static int arc_admit(void *pol, const struct sim_req *req)
{
    struct arc *p = pol;
    p->ghost_hit = 0;
    p->incoming = req->size;
    uint32_t g = sim_ghosts_find(&p->g, req->key);
    if (g == NONE)
        return 1;
    if (arc_gh(p, g)->tag == ARC_T1) {
        double delta = p->sb1 ? (double)p->sb2 / (double)p->sb1 : 0;
        p->p += delta > 1 ? delta : 1;
        if (p->p > (double)p->c)
            p->p = (double)p->c;
        p->ghost_hit = 1;
    } else {
        double delta = p->sb2 ? (double)p->sb1 / (double)p->sb2 : 0;
        p->p -= delta > 1 ? delta : 1;
        if (p->p < 0)
            p->p = 0;
        p->ghost_hit = 2;
    }
    arc_ghost_drop(p, g);
    return 1;
}

/* REPLACE(x, p): the LRU of T1 goes to B1 if T1 exceeds its target, else
 * the LRU of T2 goes to B2. */
static uint32_t arc_replace(struct arc *p)
{
    double t1 = (double)p->st1;
    int from_t1 = (p->st1 > 0 && (t1 > p->p || (t1 == p->p && p->ghost_hit == 2))) ||
                  p->st2 == 0;
    if ((from_t1 && p->t1.count == 0) || (!from_t1 && p->t2.count == 0))
        from_t1 = !from_t1; /* zero-size objects only: take what there is */
    uint32_t v = from_t1 ? p->t1.tail : p->t2.tail;
    struct sim_obj *o = sim_objcache_obj(p->oc, v);
    arc_unlink(p, v);
    arc_ghost_add(p, from_t1 ? ARC_T1 : ARC_T2, o->key, o->size);
    return v;
}

/* One eviction: REPLACE for a ghost hit, else case IV (see the header). */
static uint32_t arc_victim(void *pol)
{
    struct arc *p = pol;
    if (p->ghost_hit)
        return arc_replace(p);
    if (p->st1 + p->sb1 + p->incoming > p->c) {
        if (p->sb1 > 0 || p->b1.count > 0) {
            arc_ghost_drop(p, p->b1.tail);
            return arc_replace(p);
        }
        uint32_t v = p->t1.tail;
        arc_unlink(p, v);
        return v;
    }
    if (p->st1 + p->st2 + p->sb1 + p->sb2 >= 2 * p->c && p->b2.count > 0)
        arc_ghost_drop(p, p->b2.tail);
    return arc_replace(p);
}

static void arc_insert(void *pol, uint32_t id, const struct sim_req *req)
{
    struct arc *p = pol;
    (void)req;
    if (sim_objcache_obj(p->oc, id)->size != 1)
        p->sized = 1;
    arc_push(p, p->ghost_hit ? ARC_T2 : ARC_T1, id);
    p->ghost_hit = 0;
}

static void arc_remove(void *pol, uint32_t id)
{
    struct arc *p = pol;
    arc_unlink(p, id);
    p->removed = 1;
}

static const struct sim_objcache_hooks arc_hooks = {
    sizeof(struct arc_meta), arc_hit, arc_admit, arc_victim, arc_insert, arc_remove,
};

/*=====   Policy   =====*/

static void arc_destroy(void *state)
{
    struct arc *p = state;
    if (!p)
        return;
    sim_objcache_free(p->oc);
    sim_ghosts_free(&p->g);
    free(p);
}

static void *arc_create(const struct sim_cache_config *cfg, const sim_params *params,
                        char *err, size_t errlen)
{
    (void)params;
    struct arc *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "arc: out of memory");
        return NULL;
    }
    sim_list_init(&p->t1);
    sim_list_init(&p->t2);
    sim_list_init(&p->b1);
    sim_list_init(&p->b2);
    p->c = cfg->capacity;
    if (sim_ghosts_init(&p->g, sizeof(struct sim_ghost))) {
        free(p);
        snprintf(err, errlen, "arc: out of memory");
        return NULL;
    }
    p->oc = sim_objcache_create(cfg, &arc_hooks, p, err, errlen);
    if (!p->oc) {
        sim_ghosts_free(&p->g);
        free(p);
        return NULL;
    }
    return p;
}

static void arc_access(void *state, const struct sim_req *req, struct sim_outcome *out)
{
    struct arc *p = state;
    sim_objcache_access(p->oc, req, out);
}

/* Sums a data list, checking each member's tag. */
static int arc_check_data(struct arc *p, const struct sim_list *l, int list, uint64_t want,
                          char *err, size_t errlen)
{
    uint64_t sum = 0, n = 0;
    for (uint32_t id = l->head; id != NONE; id = sim_list_link(BASE(p), id)->next, n++) {
        if (!sim_objcache_is_live(p->oc, id) || sim_objcache_tag(p->oc, id) != (unsigned)list) {
            snprintf(err, errlen, "arc: bad object %u in T%d", id, list);
            return SIM_EINVAL;
        }
        sum += sim_objcache_obj(p->oc, id)->size;
    }
    if (sum != want || n != l->count) {
        snprintf(err, errlen, "arc: T%d holds %llu units, counted %llu", list,
                 (unsigned long long)sum, (unsigned long long)want);
        return SIM_EINVAL;
    }
    return 0;
}

/* Sums a ghost list, checking tags and the ghost table. */
static int arc_check_ghosts(struct arc *p, const struct sim_list *l, int list,
                            uint64_t want, char *err, size_t errlen)
{
    uint64_t sum = 0, n = 0;
    for (uint32_t g = l->head; g != NONE; g = sim_list_link(GBASE(p), g)->next, n++) {
        struct sim_ghost *r = arc_gh(p, g);
        if (r->tag != list || sim_ghosts_find(&p->g, r->key) != g ||
            sim_objcache_find(p->oc, r->key) != NONE) {
            snprintf(err, errlen, "arc: bad ghost %u in B%d", g, list);
            return SIM_EINVAL;
        }
        sum += r->size;
    }
    if (sum != want || n != l->count) {
        snprintf(err, errlen, "arc: B%d holds %llu units, counted %llu", list,
                 (unsigned long long)sum, (unsigned long long)want);
        return SIM_EINVAL;
    }
    return 0;
}

static int arc_check(void *state, char *err, size_t errlen)
{
    struct arc *p = state;
    int rc;
    if ((rc = arc_check_data(p, &p->t1, ARC_T1, p->st1, err, errlen)) ||
        (rc = arc_check_data(p, &p->t2, ARC_T2, p->st2, err, errlen)) ||
        (rc = arc_check_ghosts(p, &p->b1, ARC_T1, p->sb1, err, errlen)) ||
        (rc = arc_check_ghosts(p, &p->b2, ARC_T2, p->sb2, err, errlen)))
        return rc;
    if (p->t1.count + p->t2.count != sim_objcache_count(p->oc) ||
        p->st1 + p->st2 != sim_objcache_used(p->oc) ||
        p->b1.count + p->b2.count != p->g.map.count) {
        snprintf(err, errlen, "arc: lists and tables disagree");
        return SIM_EINVAL;
    }
    if (p->p < 0 || p->p > (double)p->c || sim_objcache_used(p->oc) > p->c) {
        snprintf(err, errlen, "arc: p = %g or used out of [0, %llu]", p->p,
                 (unsigned long long)p->c);
        return SIM_EINVAL;
    }
    if (!p->removed && !p->sized &&
        (p->st1 + p->sb1 > p->c || p->st1 + p->st2 + p->sb1 + p->sb2 > 2 * p->c)) {
        snprintf(err, errlen, "arc: directory larger than the paper allows");
        return SIM_EINVAL;
    }
    return 0;
}

/* xPrefetch: the key's slots in the cache's table and in the ghost table. */
static void arc_prefetch(void *state, uint64_t key)
{
    struct arc *p = state;
    sim_objcache_prefetch_state(state, key);
    sim_ghosts_prefetch(&p->g, key);
}

const struct sim_policy_ops sim_policy_arc = {
    .abi_version = SIM_POLICY_ABI,
    .name = "arc",
    .summary = "adaptive replacement cache (T1/T2 + ghosts B1/B2)",
    .reference = "Megiddo and Modha, FAST 2003",
    .needs = SIM_F_KEY | SIM_F_SIZE,
    .unit = SIM_UNIT_BYTES,
    .create = arc_create,
    .destroy = arc_destroy,
    .access = arc_access,
    .check = arc_check,
    .prefetch = arc_prefetch,
    .used = sim_objcache_used_state,
};
