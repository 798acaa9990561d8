/*
 * lirs.c - LIRS, Low Inter-reference Recency Set.
 *
 * S. Jiang and X. Zhang, "LIRS: An efficient low inter-reference recency
 * set replacement policy to improve buffer cache performance", SIGMETRICS
 * 2002.  Blocks with a low inter-reference recency (IRR) are LIR and stay
 * cached; the others are HIR, and only a small part of the cache (the hir
 * share, default 0.01 as in the paper and libCacheSim) holds resident HIR
 * blocks.  Two structures:
 *   - stack S: recency order of the LIR blocks and of the HIR blocks, both
 *     resident and non-resident (ghosts), referenced more recently than the
 *     least recent LIR block; "pruning" drops HIR entries from the bottom
 *     so that the bottom is always LIR;
 *   - queue Q: the resident HIR blocks, in reference order; its front is
 *     the victim.
 * A request for X:
 *   1. X LIR: move to the top of S; prune.
 *   2. X resident HIR in S: X becomes LIR (leaves Q), the LIR block at the
 *      bottom of S is demoted to the end of Q; prune.
 *   3. X resident HIR not in S: move to the end of Q, push onto S.
 *   4. miss, X non-resident in S: as 2 (X enters as LIR) after evicting
 *      Q's front; the evicted block, if in S, becomes non-resident there.
 *   5. miss, X not in S: evict Q's front, X enters as resident HIR (top
 *      of S, end of Q) - or as LIR while the LIR set is not yet full.
 *
 * Sizes (bytes) as libCacheSim's LIRS.c: the LIR set holds at most
 * c - h units and Q at most h = max(1, floor(hir * c)); demotions and
 * evictions repeat until the incoming size fits; an object larger than h
 * (or than c - h) is never cached; stack S is bounded to 2c units by
 * dropping its oldest non-resident entries (those that became
 * non-resident first), as libCacheSim's limitStack.
 * Deviation from libCacheSim: in case 3 libCacheSim also demotes LIR blocks
 * until X's size would fit in the LIR set (so a hit can evict a resident
 * HIR block); by default we follow the paper, which leaves the LIR set
 * alone there.  Parameter lcs=1 does as libCacheSim (and then agrees with
 * it exactly on cloudPhysicsIO).  With c = 1 object nothing is cached
 * (h = 1 leaves no room for LIR blocks), as in libCacheSim.
 *
 * Layout: cached objects carry their S and Q links, their flags in the
 * framework tag (32-byte records); non-resident blocks are ghosts (ghost.h,
 * 28 bytes: key, size, an S link and a link in the list of non-residents).
 * S mixes both kinds, so its ids carry a tag bit (LIRS_G) for ghosts.  A
 * delete forgets the key's ghost too (a deleted block's recency is void).
 *
 * Invariants: 1. every LIR block is cached and in S, and S's bottom is LIR
 *                whenever there is one;
 *             2. Q holds exactly the resident HIR blocks, at most h units;
 *                the LIR blocks hold at most c - h units;
 *             3. every ghost is in S and in the non-resident list, and S
 *                holds at most 2c units unless it has no ghost left.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ghost.h"
#include "sim_policy.h"

#define NONE SIM_KEYMAP_NONE
#define LIRS_G 0x80000000u /* S ids with this bit name ghosts */

enum { LIRS_LIR = 1, LIRS_IN_S = 2, LIRS_IN_Q = 4 };

/* The LIRS_* flags are the framework tag, which keeps the record at 32
 * bytes (40 with a flags byte of its own). */
struct lirs_meta {
    struct sim_link s, q;
};

/* 28 bytes, 4-byte aligned: the key (first, as ghost.h requires) is two
 * words, read with memcpy. */
struct lirs_ghost {
    uint32_t key[2];
    uint32_t size;          /* second, as ghost.h requires */
    struct sim_link s, nh;  /* stack S; list of non-residents */
};

struct lirs {
    sim_objcache *oc;
    uint8_t *const *live;      /* the framework's live bytes: flags in place */
    struct sim_ghosts g;
    uint32_t s_head, s_tail;   /* stack S, tagged ids, head = top */
    uint64_t s_count, s_units;
    struct sim_list q;         /* head = end (most recent), tail = front */
    struct sim_list nh;        /* ghosts, head = became non-resident last */
    uint64_t lirs, hirs;       /* units held by LIR and resident HIR blocks */
    uint64_t llim, hlim, c;
    int pend_lir;              /* admit's decision for the insert */
    int lcs;                   /* libCacheSim's case 3 (see the header) */
};

#define QOFF SIM_LINK_OFF(struct lirs_meta, q)
#define QBASE(p) sim_objcache_base((p)->oc), sim_objcache_stride((p)->oc), QOFF
#define NHBASE(p) (p)->g.base, sizeof(struct lirs_ghost), offsetof(struct lirs_ghost, nh)

static const struct sim_param_def lirs_params[] = {
    {"hir", SIM_P_REAL, "0.01", 0, 0.5, NULL, "share of the cache for resident HIR blocks"},
    {"lcs", SIM_P_BOOL, "0", 0, 0, NULL,
     "as libCacheSim: a hit on a HIR block outside S also demotes LIR blocks"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static struct lirs_meta *lirs_meta(const struct lirs *p, uint32_t id)
{
    return sim_objcache_meta(p->oc, id);
}

/* The tag, read and written in place (sim_objcache_live_ref). */
static unsigned lirs_flags(const struct lirs *p, uint32_t id)
{
    return (*p->live)[id] >> 1;
}

static void lirs_set_flags(struct lirs *p, uint32_t id, unsigned flags)
{
    (*p->live)[id] = (uint8_t)(1u | flags << 1);
}

static struct lirs_ghost *lirs_gh(const struct lirs *p, uint32_t g)
{
    return sim_ghosts_rec(&p->g, g);
}

static uint32_t lirs_size(const struct lirs *p, uint32_t id)
{
    return sim_objcache_obj(p->oc, id)->size;
}

/*=====   Stack S over cached objects and ghosts   =====*/

static struct sim_link *lirs_sl(const struct lirs *p, uint32_t x)
{
    return x & LIRS_G ? &lirs_gh(p, x & ~LIRS_G)->s : &lirs_meta(p, x)->s;
}

static uint32_t lirs_units(const struct lirs *p, uint32_t x)
{
    return x & LIRS_G ? lirs_gh(p, x & ~LIRS_G)->size : lirs_size(p, x);
}

static void lirs_s_push(struct lirs *p, uint32_t x)
{
    struct sim_link *l = lirs_sl(p, x);
    l->prev = NONE;
    l->next = p->s_head;
    if (p->s_head != NONE)
        lirs_sl(p, p->s_head)->prev = x;
    else
        p->s_tail = x;
    p->s_head = x;
    p->s_count++;
    p->s_units += lirs_units(p, x);
}

static void lirs_s_unlink(struct lirs *p, uint32_t x)
{
    struct sim_link *l = lirs_sl(p, x);
    if (l->prev != NONE)
        lirs_sl(p, l->prev)->next = l->next;
    else
        p->s_head = l->next;
    if (l->next != NONE)
        lirs_sl(p, l->next)->prev = l->prev;
    else
        p->s_tail = l->prev;
    p->s_count--;
    p->s_units -= lirs_units(p, x);
}

/* Entry y takes x's place in S (same size: x's object becoming a ghost). */
static void lirs_s_replace(struct lirs *p, uint32_t x, uint32_t y)
{
    struct sim_link l = *lirs_sl(p, x);
    *lirs_sl(p, y) = l;
    if (l.prev != NONE)
        lirs_sl(p, l.prev)->next = y;
    else
        p->s_head = y;
    if (l.next != NONE)
        lirs_sl(p, l.next)->prev = y;
    else
        p->s_tail = y;
}

/* Removes entry x from S; a ghost is forgotten altogether. */
static void lirs_s_drop(struct lirs *p, uint32_t x)
{
    lirs_s_unlink(p, x);
    if (x & LIRS_G) {
        uint32_t g = x & ~LIRS_G;
        sim_list_unlink(&p->nh, NHBASE(p), g);
        sim_ghosts_del(&p->g, g);
    } else {
        lirs_set_flags(p, x, lirs_flags(p, x) & ~(unsigned)LIRS_IN_S);
    }
}

static int lirs_is_lir(const struct lirs *p, uint32_t x)
{
    return !(x & LIRS_G) && (lirs_flags(p, x) & LIRS_LIR);
}

/* Stack pruning: HIR entries leave the bottom of S until it is LIR (the top
 * entry stays, as in libCacheSim). */
static void lirs_prune(struct lirs *p)
{
    while (p->s_tail != NONE && p->s_tail != p->s_head && !lirs_is_lir(p, p->s_tail))
        lirs_s_drop(p, p->s_tail);
}

/*=====   Evictions and demotions   =====*/

/* Resident HIR `id`, leaving the cache, stays in S as a ghost in its place. */
static void lirs_to_ghost(struct lirs *p, uint32_t id)
{
    struct sim_obj *o = sim_objcache_obj(p->oc, id);
    uint32_t g = sim_ghosts_add(&p->g, o->key, o->size);
    if (g == NONE) {
        lirs_s_unlink(p, id); /* out of memory: forget it */
        return;
    }
    lirs_s_replace(p, id, g | LIRS_G);
    sim_list_push_head(&p->nh, NHBASE(p), g);
}

/* Unlinks Q's front (the HIR victim) and returns it for eviction. */
static uint32_t lirs_evict_hir(struct lirs *p)
{
    uint32_t v = p->q.tail;
    sim_list_unlink(&p->q, QBASE(p), v);
    p->hirs -= lirs_size(p, v);
    lirs_set_flags(p, v, lirs_flags(p, v) & ~(unsigned)LIRS_IN_Q);
    if (lirs_flags(p, v) & LIRS_IN_S)
        lirs_to_ghost(p, v);
    return v;
}

/* Makes room for `size` units in Q by evicting its front. */
static void lirs_hir_room(struct lirs *p, uint64_t size)
{
    while (p->hirs + size > p->hlim && p->q.count)
        sim_objcache_evict_id(p->oc, lirs_evict_hir(p));
}

/* The LIR block at the bottom of S becomes a resident HIR block at the end
 * of Q (evicted outright if larger than Q); then S is pruned. */
static void lirs_demote(struct lirs *p)
{
    uint32_t x = p->s_tail;
    uint32_t size = lirs_size(p, x);
    lirs_s_unlink(p, x);
    p->lirs -= size;
    lirs_set_flags(p, x, 0);
    if (size <= p->hlim) {
        lirs_hir_room(p, size);
        lirs_set_flags(p, x, LIRS_IN_Q);
        sim_list_push_head(&p->q, QBASE(p), x);
        p->hirs += size;
    } else {
        sim_objcache_evict_id(p->oc, x);
    }
    lirs_prune(p);
}

static void lirs_lir_room(struct lirs *p, uint64_t size)
{
    while (p->lirs + size > p->llim && p->lirs > 0)
        lirs_demote(p);
}

/*=====   Hooks   =====*/

static void lirs_hit(void *pol, uint32_t id, const struct sim_req *req)
{
    struct lirs *p = pol;
    (void)req;
    uint32_t size = lirs_size(p, id);
    if (lirs_flags(p, id) & LIRS_LIR) { /* case 1 */
        lirs_s_unlink(p, id);
        lirs_s_push(p, id);
        lirs_prune(p);
    } else if (lirs_flags(p, id) & LIRS_IN_S) { /* case 2 */
        sim_list_unlink(&p->q, QBASE(p), id);
        p->hirs -= size;
        lirs_set_flags(p, id, lirs_flags(p, id) & ~(unsigned)LIRS_IN_Q);
        lirs_s_unlink(p, id);
        lirs_s_push(p, id);
        lirs_lir_room(p, size);
        lirs_set_flags(p, id, lirs_flags(p, id) | LIRS_LIR);
        p->lirs += size;
        lirs_prune(p); /* if every LIR block was demoted, S's bottom is HIR */
    } else { /* case 3 */
        sim_list_unlink(&p->q, QBASE(p), id);
        sim_list_push_head(&p->q, QBASE(p), id);
        if (p->lcs) {
            lirs_lir_room(p, size);
            if (!sim_objcache_is_live(p->oc, id))
                return; /* X was Q's only block and made room for a demotion */
        }
        lirs_set_flags(p, id, lirs_flags(p, id) | LIRS_IN_S);
        lirs_s_push(p, id);
    }
}

/* Cases 4 and 5: decides X's status and makes room in its set. */
static int lirs_admit(void *pol, const struct sim_req *req)
{
    struct lirs *p = pol;
    uint32_t g = sim_ghosts_find(&p->g, req->key);
    if (g != NONE) { /* case 4 */
        lirs_s_drop(p, g | LIRS_G); /* X re-enters S at the top as LIR */
        if (req->size > p->llim)
            return 0;
        lirs_lir_room(p, req->size);
        p->pend_lir = 1;
        return 1;
    }
    if (req->size > p->llim || req->size > p->hlim)
        return 0;
    p->pend_lir = p->lirs + req->size <= p->llim;
    if (!p->pend_lir)
        lirs_hir_room(p, req->size);
    return 1;
}

/* Needed only when admit's room-making fell short: Q's front, else the
 * bottom LIR block. */
static uint32_t lirs_victim(void *pol)
{
    struct lirs *p = pol;
    if (p->q.count)
        return lirs_evict_hir(p);
    uint32_t x = p->s_tail;
    lirs_s_unlink(p, x);
    p->lirs -= lirs_size(p, x);
    lirs_set_flags(p, x, 0);
    lirs_prune(p);
    return x;
}

static void lirs_insert(void *pol, uint32_t id, const struct sim_req *req)
{
    struct lirs *p = pol;
    (void)req;
    uint32_t size = lirs_size(p, id);
    if (p->pend_lir) {
        lirs_set_flags(p, id, LIRS_LIR | LIRS_IN_S);
        p->lirs += size;
        lirs_s_push(p, id);
        lirs_prune(p); /* if every LIR block was demoted, S's bottom is HIR */
        return;
    }
    lirs_set_flags(p, id, LIRS_IN_S | LIRS_IN_Q);
    sim_list_push_head(&p->q, QBASE(p), id);
    p->hirs += size;
    lirs_s_push(p, id);
}

static void lirs_remove(void *pol, uint32_t id)
{
    struct lirs *p = pol;
    uint32_t size = lirs_size(p, id);
    if (lirs_flags(p, id) & LIRS_IN_S)
        lirs_s_unlink(p, id);
    if (lirs_flags(p, id) & LIRS_IN_Q) {
        sim_list_unlink(&p->q, QBASE(p), id);
        p->hirs -= size;
    }
    if (lirs_flags(p, id) & LIRS_LIR) {
        p->lirs -= size;
        lirs_prune(p);
    }
    lirs_set_flags(p, id, 0);
}

static const struct sim_objcache_hooks lirs_hooks = {
    sizeof(struct lirs_meta), lirs_hit, lirs_admit, lirs_victim, lirs_insert, lirs_remove,
};

/*=====   Policy   =====*/

static void lirs_destroy(void *state)
{
    struct lirs *p = state;
    if (!p)
        return;
    sim_objcache_free(p->oc);
    sim_ghosts_free(&p->g);
    free(p);
}

static void *lirs_create(const struct sim_cache_config *cfg, const sim_params *params,
                         char *err, size_t errlen)
{
    struct lirs *p = calloc(1, sizeof *p);
    /* The ghost table grows by itself: sized for about c ghosts up front
     * (object units), it saved 5.6 bytes per object but its load of 0.78
     * cost 10% more instructions (most lookups are for absent keys). */
    if (!p || sim_ghosts_init(&p->g, sizeof(struct lirs_ghost), 0)) {
        free(p);
        snprintf(err, errlen, "lirs: out of memory");
        return NULL;
    }
    p->s_head = p->s_tail = NONE;
    sim_list_init(&p->q);
    sim_list_init(&p->nh);
    p->c = cfg->capacity;
    /* As libCacheSim: MAX(1, (uint64_t)(hir * c)). */
    p->hlim = (uint64_t)(sim_params_real(params, "hir") * (double)cfg->capacity);
    if (p->hlim < 1)
        p->hlim = 1;
    p->llim = p->c > p->hlim ? p->c - p->hlim : 0;
    p->lcs = sim_params_bool(params, "lcs");
    p->oc = sim_objcache_create(cfg, &lirs_hooks, p, err, errlen);
    if (!p->oc) {
        sim_ghosts_free(&p->g);
        free(p);
        return NULL;
    }
    p->live = sim_objcache_live_ref(p->oc);
    return p;
}

/* Bounds S to 2c units by forgetting the oldest non-resident blocks. */
static void lirs_limit_stack(struct lirs *p)
{
    while (p->s_units > 2 * p->c && p->nh.count)
        lirs_s_drop(p, p->nh.tail | LIRS_G);
}

/* A delete forgets key's ghost, if any (a ghost is never cached). */
static __attribute__((noinline)) void lirs_forget(struct lirs *p, uint64_t key)
{
    uint32_t g = sim_ghosts_find(&p->g, key);
    if (g != NONE)
        lirs_s_drop(p, g | LIRS_G);
}

static void lirs_access(void *state, const struct sim_req *req, struct sim_outcome *out)
{
    struct lirs *p = state;
    if (req->op == SIM_OP_DELETE)
        lirs_forget(p, req->key);
    sim_objcache_access(p->oc, req, out);
    lirs_limit_stack(p);
}

/* Walks S: flags, ghost table, LIR units.  *lir_units and *ghosts out. */
static int lirs_check_s(struct lirs *p, uint64_t *lir_units, uint64_t *ghosts, char *err,
                        size_t errlen)
{
    uint64_t n = 0, units = 0;
    *lir_units = *ghosts = 0;
    for (uint32_t x = p->s_head; x != NONE; x = lirs_sl(p, x)->next, n++) {
        units += lirs_units(p, x);
        if (x & LIRS_G) {
            uint64_t key;
            memcpy(&key, lirs_gh(p, x & ~LIRS_G)->key, sizeof key);
            (*ghosts)++;
            if (sim_ghosts_find(&p->g, key) != (x & ~LIRS_G) ||
                sim_objcache_find(p->oc, key) != NONE) {
                snprintf(err, errlen, "lirs: bad ghost %u in S", x & ~LIRS_G);
                return SIM_EINVAL;
            }
        } else if (!sim_objcache_is_live(p->oc, x) || !(lirs_flags(p, x) & LIRS_IN_S)) {
            snprintf(err, errlen, "lirs: bad object %u in S", x);
            return SIM_EINVAL;
        } else if (lirs_flags(p, x) & LIRS_LIR) {
            *lir_units += lirs_size(p, x);
        }
    }
    if (n != p->s_count || units != p->s_units) {
        snprintf(err, errlen, "lirs: S holds %llu entries, counted %llu",
                 (unsigned long long)n, (unsigned long long)p->s_count);
        return SIM_EINVAL;
    }
    return 0;
}

static int lirs_check_q(struct lirs *p, char *err, size_t errlen)
{
    uint64_t units = 0;
    for (uint32_t id = p->q.head; id != NONE; id = sim_list_link(QBASE(p), id)->next) {
        if (!sim_objcache_is_live(p->oc, id) ||
            (lirs_flags(p, id) & (LIRS_LIR | LIRS_IN_Q)) != LIRS_IN_Q) {
            snprintf(err, errlen, "lirs: bad object %u in Q", id);
            return SIM_EINVAL;
        }
        units += lirs_size(p, id);
    }
    if (units != p->hirs || p->hirs > p->hlim) {
        snprintf(err, errlen, "lirs: Q holds %llu units, counted %llu, limit %llu",
                 (unsigned long long)units, (unsigned long long)p->hirs,
                 (unsigned long long)p->hlim);
        return SIM_EINVAL;
    }
    return 0;
}

static int lirs_check(void *state, char *err, size_t errlen)
{
    struct lirs *p = state;
    uint64_t lir_units, ghosts;
    int rc = lirs_check_s(p, &lir_units, &ghosts, err, errlen);
    if (rc || (rc = lirs_check_q(p, err, errlen)))
        return rc;
    if (lir_units != p->lirs || p->lirs > p->llim ||
        p->lirs + p->hirs != sim_objcache_used(p->oc)) {
        snprintf(err, errlen, "lirs: LIR set holds %llu units, counted %llu, limit %llu",
                 (unsigned long long)lir_units, (unsigned long long)p->lirs,
                 (unsigned long long)p->llim);
        return SIM_EINVAL;
    }
    if (ghosts != p->nh.count || ghosts != p->g.idx.count) {
        snprintf(err, errlen, "lirs: %llu ghosts in S, %llu non-residents",
                 (unsigned long long)ghosts, (unsigned long long)p->nh.count);
        return SIM_EINVAL;
    }
    if (p->s_units > 2 * p->c && p->nh.count) {
        snprintf(err, errlen, "lirs: S holds %llu units, over 2c with non-residents",
                 (unsigned long long)p->s_units);
        return SIM_EINVAL;
    }
    if (p->lirs > 0 && !lirs_is_lir(p, p->s_tail)) {
        snprintf(err, errlen, "lirs: the bottom of S is not LIR");
        return SIM_EINVAL;
    }
    if (sim_objcache_used(p->oc) > p->c) {
        snprintf(err, errlen, "lirs: over capacity");
        return SIM_EINVAL;
    }
    return 0;
}

/* xPrefetch: the key's slots in the cache's table and in the ghost table. */
static void lirs_prefetch(void *state, uint64_t key)
{
    struct lirs *p = state;
    sim_objcache_prefetch_state(state, key);
    sim_ghosts_prefetch(&p->g, key);
}

const struct sim_policy_ops sim_policy_lirs = {
    .abi_version = SIM_POLICY_ABI,
    .name = "lirs",
    .summary = "low inter-reference recency set (LIR/HIR, stack S, queue Q)",
    .reference = "Jiang and Zhang, SIGMETRICS 2002",
    .needs = SIM_F_KEY | SIM_F_SIZE,
    .unit = SIM_UNIT_BYTES,
    .params = lirs_params,
    .create = lirs_create,
    .destroy = lirs_destroy,
    .access = lirs_access,
    .check = lirs_check,
    .prefetch = lirs_prefetch,
    .used = sim_objcache_used_state,
};
