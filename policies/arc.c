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
 * Ghosts are keys in two FIFO rings with their own key tables (gfifo.h),
 * 8-12 bytes plus a table slot each.  A delete forgets the key's ghost
 * too (a deleted object's history is void; p is not adapted).  Expired and
 * deleted objects leave no ghost (as libCacheSim).
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

#include "gfifo.h"
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
    struct sim_list t1, t2;
    uint64_t st1, st2;             /* their sizes in units */
    struct sim_gfifo b1, b2;       /* ghosts; |B1| is b1.bytes */
    double p;                      /* target size of T1 */
    uint64_t c;
    int ghost_hit;                 /* this miss was in B1 (1) or B2 (2) */
    uint64_t incoming;             /* size of the missed object */
    int removed;                   /* a delete or expiry happened */
    int sized;                     /* an object of size != 1 was stored */
};

#define OFF SIM_LINK_OFF(struct arc_meta, link)
#define BASE(p) sim_objcache_base((p)->oc), sim_objcache_stride((p)->oc), OFF

/*=====   Ghosts   =====*/

/* Remembers an evicted object in B1 (list ARC_T1) or B2.  A ghost is
 * pushed at the MRU end and leaves from the LRU end or on a hit, so each
 * list is a FIFO (gfifo.h).  Out of memory the ghost is simply not kept. */
static void arc_ghost_add(struct arc *p, int list, uint64_t key, uint32_t size)
{
    sim_gfifo_push(list == ARC_T1 ? &p->b1 : &p->b2, key, size);
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
    uint32_t size; /* the ghost's, still counted in its list's size for delta */
    if (sim_gfifo_take(&p->b1, req->key, &size)) {
        uint64_t sb1 = p->b1.bytes + size;
        double delta = sb1 ? (double)p->b2.bytes / (double)sb1 : 0;
        p->p += delta > 1 ? delta : 1;
        if (p->p > (double)p->c)
            p->p = (double)p->c;
        p->ghost_hit = 1;
    } else if (sim_gfifo_take(&p->b2, req->key, &size)) {
        uint64_t sb2 = p->b2.bytes + size;
        double delta = sb2 ? (double)p->b1.bytes / (double)sb2 : 0;
        p->p -= delta > 1 ? delta : 1;
        if (p->p < 0)
            p->p = 0;
        p->ghost_hit = 2;
    }
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
    if (p->st1 + p->b1.bytes + p->incoming > p->c) {
        if (p->b1.count > 0) {
            sim_gfifo_pop(&p->b1);
            return arc_replace(p);
        }
        uint32_t v = p->t1.tail;
        arc_unlink(p, v);
        return v;
    }
    if (p->st1 + p->st2 + p->b1.bytes + p->b2.bytes >= 2 * p->c && p->b2.count > 0)
        sim_gfifo_pop(&p->b2);
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
    sim_gfifo_free(&p->b1);
    sim_gfifo_free(&p->b2);
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
    sim_gfifo_init(&p->b1);
    sim_gfifo_init(&p->b2);
    p->c = cfg->capacity;
    p->oc = sim_objcache_create(cfg, &arc_hooks, p, err, errlen);
    if (!p->oc) {
        free(p);
        return NULL;
    }
    return p;
}

/* A delete forgets key's ghost, if any (a ghost is never cached).  Out of
 * line, so that arc_access stays a tail call (inline: 18 instructions more
 * per request). */
static __attribute__((noinline)) void arc_forget(struct arc *p, uint64_t key)
{
    uint32_t size;
    if (!sim_gfifo_take(&p->b1, key, &size))
        sim_gfifo_take(&p->b2, key, &size);
}

static void arc_access(void *state, const struct sim_req *req, struct sim_outcome *out)
{
    struct arc *p = state;
    if (req->op == SIM_OP_DELETE)
        arc_forget(p, req->key);
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

/* For sim_gfifo_check: a ghost may be neither cached nor in the other list. */
struct arc_ghost_check {
    const struct arc *p;
    const struct sim_gfifo *other;
};

static int arc_bad_ghost(const void *arg, uint64_t key)
{
    const struct arc_ghost_check *c = arg;
    return sim_objcache_find(c->p->oc, key) != NONE || sim_gfifo_has(c->other, key);
}

static int arc_check_ghosts(const struct arc *p, char *err, size_t errlen)
{
    struct arc_ghost_check b1 = {p, &p->b2}, b2 = {p, &p->b1};
    if (sim_gfifo_check(&p->b1, arc_bad_ghost, &b1)
        || sim_gfifo_check(&p->b2, arc_bad_ghost, &b2)) {
        snprintf(err, errlen, "arc: B1 or B2 inconsistent, cached, or overlapping");
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
        (rc = arc_check_ghosts(p, err, errlen)))
        return rc;
    if (p->t1.count + p->t2.count != sim_objcache_count(p->oc) ||
        p->st1 + p->st2 != sim_objcache_used(p->oc)) {
        snprintf(err, errlen, "arc: lists and tables disagree");
        return SIM_EINVAL;
    }
    if (p->p < 0 || p->p > (double)p->c || sim_objcache_used(p->oc) > p->c) {
        snprintf(err, errlen, "arc: p = %g or used out of [0, %llu]", p->p,
                 (unsigned long long)p->c);
        return SIM_EINVAL;
    }
    if (!p->removed && !p->sized &&
        (p->st1 + p->b1.bytes > p->c
         || p->st1 + p->st2 + p->b1.bytes + p->b2.bytes > 2 * p->c)) {
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
    sim_gfifo_prefetch(&p->b1, key);
    sim_gfifo_prefetch(&p->b2, key);
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
