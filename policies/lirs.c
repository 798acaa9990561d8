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
 * HOW S IS STORED
 * S has about one ghost per cached object, so its layout decides the
 * memory.  It is kept in two parts that together give S's order:
 *   - the LIR blocks, a list through the records (S's order restricted
 *     to LIR blocks; the same link is Q's for a HIR block);
 *   - the other entries of S (resident HIR blocks in S and ghosts), in an
 *     array in S's order, oldest first: a new entry is always pushed at the
 *     top of S, so it is appended; an entry leaving the middle of S leaves
 *     a hole.  A slot holds a ghost's key (8 bytes, found by a gindex,
 *     4-byte slots) or a resident's record id.
 * A LIR block records, in a side array indexed by record id, the array's
 * length when it went to the top of S: the entries below that slot are
 * older.  So pruning pops the array's oldest entries while they are older
 * than the bottom LIR block.  The array is squeezed in place when full
 * (and then grown by 1.25x unless a quarter were holes), and the LIR
 * blocks' marks are renumbered by one merge pass in S's order.
 * Why the ghosts all precede the resident entries, so that one boundary
 * (rbeg) tells a key from an id: a resident HIR block in S entered Q at
 * the moment it went to the top of S (cases 3 and 5; a demoted block
 * enters Q outside S), so Q's order among them is S's order, and Q's
 * front leaves first; every ghost was once Q's front, so it is older than
 * every resident HIR entry.  For the same reason the oldest ghost in S is
 * the one that became non-resident first, the one limitStack drops.
 * Against linked ghost records (28 bytes and an index: 87 bytes per
 * cached object on the Zipf benchmark), a ghost costs its 8-byte key
 * (plus 2 or 4 for its size, none in object units) times the array's
 * slack (it grows by 1/8 when less than an eighth is holes) and 5-6 bytes
 * of index; a cached object costs a 24-byte record and 4 bytes of marks:
 * 59-61 bytes per cached object.  A delete forgets the key's ghost too (a
 * deleted block's recency is void).  Out of memory, the oldest entry of
 * the array is forgotten to make room.
 *
 * Invariants: 1. every LIR block is cached and in S, and no entry of the
 *                array is older than the bottom LIR block (if any);
 *             2. Q holds exactly the resident HIR blocks, at most h units;
 *                the LIR blocks hold at most c - h units;
 *             3. the array's live slots below rbeg are ghosts, each in the
 *                index at its slot; those from rbeg are resident HIR
 *                blocks in S, each knowing its slot; S holds at most 2c
 *                units unless it has no ghost left.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gindex.h"
#include "internal.h"
#include "sim_policy.h"

#define NONE SIM_KEYMAP_NONE
#define NL_MIN 64u /* the array's first size, in slots (small: tests reach its growth) */

enum { LIRS_LIR = 1, LIRS_IN_S = 2, LIRS_IN_Q = 4 };

/* A LIR block's link in the LIR list, a HIR block's in Q (never both); the
 * LIRS_* flags are the framework tag: a 24-byte record. */
struct lirs_meta {
    struct sim_link l;
};

/* The entries of S that are not LIR, oldest first (see the header). */
struct lirs_nl {
    uint8_t *ent;        /* 8 bytes a slot: a ghost's key or a resident's id */
    uint8_t *sizes;      /* a slot's units, swidth bytes each */
    unsigned swidth;     /* 0 (every size 1, no array), 2 or 4 */
    uint64_t *live;      /* bitmap: slots still in S */
    uint32_t *pre;       /* live slots below each bitmap word (squeezes) */
    uint32_t cap;        /* slots */
    uint32_t front;      /* no live slot below */
    uint32_t head;       /* the next slot pushed */
    uint32_t rbeg;       /* live slots below are ghosts, from it residents */
    uint64_t ghosts, residents, units; /* live entries, and their units */
    struct sim_gindex idx; /* ghost key -> slot */
};

struct lirs {
    sim_objcache *oc;
    uint8_t *const *live;      /* the framework's live bytes: flags in place */
    struct sim_list lir;       /* LIR blocks, head = top of S */
    struct sim_list q;         /* head = end (most recent), tail = front */
    uint32_t *mark;            /* by id: a LIR block's S mark, a resident
                                * HIR block's slot in nl */
    uint32_t mark_cap;
    struct lirs_nl nl;
    uint64_t lirs, hirs;       /* units held by LIR and resident HIR blocks */
    uint64_t llim, hlim, c;
    int pend_lir;              /* admit's decision for the insert */
    int pend_top;              /* case 2: X is S's top entry, not yet LIR */
    int lcs;                   /* libCacheSim's case 3 (see the header) */
};

#define LOFF SIM_LINK_OFF(struct lirs_meta, l)
#define LBASE(p) sim_objcache_base((p)->oc), sim_objcache_stride((p)->oc), LOFF

static const struct sim_param_def lirs_params[] = {
    {"hir", SIM_P_REAL, "0.01", 0, 0.5, NULL, "share of the cache for resident HIR blocks"},
    {"lcs", SIM_P_BOOL, "0", 0, 0, NULL,
     "as libCacheSim: a hit on a HIR block outside S also demotes LIR blocks"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

/* The tag, read and written in place (sim_objcache_live_ref). */
static unsigned lirs_flags(const struct lirs *p, uint32_t id)
{
    return (*p->live)[id] >> 1;
}

static void lirs_set_flags(struct lirs *p, uint32_t id, unsigned flags)
{
    (*p->live)[id] = (uint8_t)(1u | flags << 1);
}

static uint32_t lirs_size(const struct lirs *p, uint32_t id)
{
    return sim_objcache_obj(p->oc, id)->size;
}

/*=====   The array of S's other entries   =====*/

static uint64_t nl_get(const struct lirs_nl *nl, uint32_t s)
{
    uint64_t v;
    memcpy(&v, nl->ent + (size_t)s * 8, sizeof v);
    return v;
}

static void nl_set(struct lirs_nl *nl, uint32_t s, uint64_t v)
{
    memcpy(nl->ent + (size_t)s * 8, &v, sizeof v);
}

static uint32_t nl_units(const struct lirs_nl *nl, uint32_t s)
{
    return sim__units_get(nl->sizes, nl->swidth, s);
}

static void nl_set_units(struct lirs_nl *nl, uint32_t s, uint32_t v)
{
    sim__units_set(nl->sizes, nl->swidth, s, v);
}

static int nl_is_live(const struct lirs_nl *nl, uint32_t s)
{
    return sim__bit_get(nl->live, s);
}

static size_t nl_bitmap_bytes(uint32_t cap) { return (cap + 63) / 64 * sizeof(uint64_t); }

static size_t nl_pre_bytes(uint32_t cap) { return ((cap + 63) / 64 + 1) * sizeof(uint32_t); }

static void nl_free(struct lirs_nl *nl)
{
    sim_gindex_free(&nl->idx);
    sim__vm_free(nl->ent, (size_t)nl->cap * 8);
    sim__vm_free(nl->sizes, (size_t)nl->cap * nl->swidth);
    sim__vm_free(nl->live, nl_bitmap_bytes(nl->cap));
    sim__vm_free(nl->pre, nl_pre_bytes(nl->cap));
}

/* The oldest live slot (head if none); holes below it are passed for good. */
static uint32_t nl_first(struct lirs_nl *nl)
{
    while (nl->front < nl->head && !nl_is_live(nl, nl->front))
        nl->front++;
    return nl->front;
}

/* Takes live slot s out of S: a ghost is forgotten, a resident HIR block
 * leaves S (it stays in Q). */
static void lirs_nl_kill(struct lirs *p, uint32_t s)
{
    struct lirs_nl *nl = &p->nl;
    sim__bit_clear(nl->live, s);
    nl->units -= nl_units(nl, s);
    if (s < nl->rbeg) {
        sim_gindex_del(&nl->idx, nl_get(nl, s));
        nl->ghosts--;
    } else {
        uint32_t id = (uint32_t)nl_get(nl, s);
        lirs_set_flags(p, id, lirs_flags(p, id) & ~(unsigned)LIRS_IN_S);
        nl->residents--;
    }
}

/* The number of live slots below slot m (m <= cap): a slot's place once
 * the holes are squeezed out.  pre[w] counts the live slots of the bitmap
 * words below w (filled by lirs_nl_squeeze). */
static uint32_t nl_rank(const void *arg, uint32_t m)
{
    const struct lirs_nl *nl = arg;
    uint32_t r = nl->pre[m / 64];
    if (m % 64)
        r += (uint32_t)__builtin_popcountll(nl->live[m / 64] & ((1ull << (m % 64)) - 1));
    return r;
}

/* Squeezes the holes out of slots [front, head), keeping S's order: every
 * position (LIR marks, residents' slots, the index, rbeg) becomes its rank
 * among the live slots, by sequential passes with no hashing and no list
 * walk, so that a squeeze is cheap enough to keep the array small. */
static void lirs_nl_squeeze(struct lirs *p)
{
    struct lirs_nl *nl = &p->nl;
    uint32_t words = (nl->cap + 63) / 64, acc = 0;
    for (uint32_t i = 0; i < words; i++) {
        nl->pre[i] = acc;
        acc += (uint32_t)__builtin_popcountll(nl->live[i]);
    }
    nl->pre[words] = acc;
    uint32_t lim = sim_objcache_id_limit(p->oc);
    const uint8_t *live = *p->live;
    for (uint32_t id = 0; id < lim; id++)
        if ((live[id] & 1) && (live[id] >> 1 & (LIRS_LIR | LIRS_IN_S)))
            p->mark[id] = nl_rank(nl, p->mark[id]);
    if (nl->idx.slots)
        sim_gindex_renumber(&nl->idx, nl_rank, nl);
    nl->rbeg = nl_rank(nl, nl->rbeg);
    uint32_t w = 0;
    for (uint32_t s = nl->front; s < nl->head; s++) {
        if (!nl_is_live(nl, s))
            continue;
        if (w != s) {
            nl_set(nl, w, nl_get(nl, s));
            nl_set_units(nl, w, nl_units(nl, s));
        }
        w++;
    }
    nl->front = 0;
    nl->head = w;
    memset(nl->live, 0, nl_bitmap_bytes(nl->cap));
    for (uint32_t s = 0; s < w; s++)
        sim__bit_set(nl->live, s);
}

/* Block p back from `from` to `to` bytes (an undo: if even that fails, p
 * is kept, larger than its size says; only a leak). */
static void *nl_undo(void *p, size_t from, size_t to)
{
    void *q = sim__vm_resize(p, from, to);
    return q || to == 0 ? q : p;
}

/* The arrays from `from` slots to `to` (in place: sim__vm_resize).
 * 0, or SIM_ENOMEM with all of them as they were. */
static int nl_resize(struct lirs_nl *nl, uint32_t from, uint32_t to)
{
    size_t w = nl->swidth;
    uint8_t *ent = sim__vm_resize(nl->ent, (size_t)from * 8, (size_t)to * 8);
    if (!ent)
        return SIM_ENOMEM;
    nl->ent = ent;
    uint64_t *live = sim__vm_resize(nl->live, nl_bitmap_bytes(from), nl_bitmap_bytes(to));
    if (!live)
        goto undo_ent;
    nl->live = live;
    uint32_t *pre = sim__vm_resize(nl->pre, nl_pre_bytes(from), nl_pre_bytes(to));
    if (!pre)
        goto undo_live;
    nl->pre = pre;
    if (w) {
        uint8_t *sizes = sim__vm_resize(nl->sizes, (size_t)from * w, (size_t)to * w);
        if (!sizes)
            goto undo_pre;
        nl->sizes = sizes;
    }
    return 0;
undo_pre:
    nl->pre = nl_undo(nl->pre, nl_pre_bytes(to), nl_pre_bytes(from));
undo_live:
    nl->live = nl_undo(nl->live, nl_bitmap_bytes(to), nl_bitmap_bytes(from));
undo_ent:
    nl->ent = nl_undo(nl->ent, (size_t)to * 8, (size_t)from * 8);
    return SIM_ENOMEM;
}

/* An empty array of NL_MIN slots.  0 or SIM_ENOMEM (nothing held). */
static int lirs_nl_init(struct lirs_nl *nl)
{
    if (nl_resize(nl, 0, NL_MIN))
        return SIM_ENOMEM;
    nl->cap = NL_MIN;
    if (sim_gindex_init_for(&nl->idx, NL_MIN, NL_MIN, &nl->ent, 8)) {
        nl_free(nl);
        return SIM_ENOMEM;
    }
    return 0;
}

/* A new index for the ghosts, with room for `expect` (sized for the
 * ghosts, not for the array, and grown by 1/8: 5 bytes a slot of the
 * array was 3 bytes more per cached object).  The old index is freed first, so the peak never
 * holds two.  Out of memory, every ghost is forgotten. */
static void lirs_nl_reindex(struct lirs *p, uint64_t expect)
{
    struct lirs_nl *nl = &p->nl;
    sim_gindex_free(&nl->idx);
    if (sim_gindex_init_for(&nl->idx, nl->cap, expect < NL_MIN ? NL_MIN : expect, &nl->ent, 8)) {
        for (uint32_t s = nl->front; s < nl->rbeg; s++)
            if (nl_is_live(nl, s)) {
                sim__bit_clear(nl->live, s);
                nl->units -= nl_units(nl, s);
                nl->ghosts--;
            }
        return;
    }
    for (uint32_t s = nl->front; s < nl->rbeg; s++)
        if (nl_is_live(nl, s))
            sim_gindex_put(&nl->idx, nl_get(nl, s), s);
}

/* A full array: grown by 1/8 unless an eighth were holes, then squeezed.
 * (Growing by a quarter unless a quarter were holes left it 1.45 times the
 * live entries: 3 bytes more per cached object.)  A grown array needs a
 * new index layout, rebuilt; else the index is renumbered in place.  Out
 * of memory with no hole, the oldest entry is forgotten to make room (S is
 * then shorter than the paper's: advice lost, never a wrong count). */
static void lirs_nl_make_room(struct lirs *p)
{
    struct lirs_nl *nl = &p->nl;
    uint64_t holes = (uint64_t)nl->cap - nl->ghosts - nl->residents;
    uint64_t cap = nl->cap;
    if (holes * 8 < cap)
        cap += cap / 8;
    if (cap != nl->cap && (cap > SIM_KEYMAP_NONE / 2 || nl_resize(nl, nl->cap, (uint32_t)cap)))
        cap = nl->cap;
    if (cap == nl->cap) {
        if (holes == 0)
            lirs_nl_kill(p, nl_first(nl));
        lirs_nl_squeeze(p);
        return;
    }
    nl->cap = (uint32_t)cap;
    sim_gindex_free(&nl->idx);
    lirs_nl_squeeze(p);
    lirs_nl_reindex(p, nl->ghosts + nl->ghosts / 8);
}

/* Appends resident HIR block id at the top of S. */
static void lirs_nl_push(struct lirs *p, uint32_t id)
{
    struct lirs_nl *nl = &p->nl;
    uint32_t size = lirs_size(p, id);
    if (sim__units_fit(&nl->sizes, &nl->swidth, nl->cap, size))
        return; /* out of memory: X is not in S */
    if (nl->head == nl->cap)
        lirs_nl_make_room(p);
    uint32_t s = nl->head++;
    nl_set(nl, s, id);
    nl_set_units(nl, s, size);
    sim__bit_set(nl->live, s);
    nl->residents++;
    nl->units += size;
    p->mark[id] = s;
    lirs_set_flags(p, id, lirs_flags(p, id) | LIRS_IN_S);
}

/* Resident HIR block id, in S and leaving the cache, stays there as a
 * ghost: its key replaces its id in its slot.  Every resident entry below
 * it is a hole (see the header), so the boundary moves past it. */
static void lirs_nl_to_ghost(struct lirs *p, uint32_t id)
{
    struct lirs_nl *nl = &p->nl;
    uint32_t s = p->mark[id];
    if (!nl->idx.slots || !sim_gindex_room(&nl->idx))
        lirs_nl_reindex(p, nl->ghosts + 1 + (nl->ghosts + 1) / 8);
    if (!nl->idx.slots) { /* out of memory: no ghosts */
        lirs_nl_kill(p, s);
        return;
    }
    nl_set(nl, s, sim_objcache_obj(p->oc, id)->key);
    sim_gindex_put(&nl->idx, sim_objcache_obj(p->oc, id)->key, s);
    nl->rbeg = s + 1;
    nl->residents--;
    nl->ghosts++;
}

/*=====   Stack S   =====*/

/* Pushes LIR block id on top of S: its mark is the array's length. */
static void lirs_lir_push(struct lirs *p, uint32_t id)
{
    p->mark[id] = p->nl.head;
    sim_list_push_head(&p->lir, LBASE(p), id);
}

/* Stack pruning: the entries older than the bottom LIR block leave S.
 * With no LIR block, all but the top entry leave (as libCacheSim), and
 * all of them while case 2's X is the top. */
static void lirs_prune(struct lirs *p)
{
    struct lirs_nl *nl = &p->nl;
    if (p->lir.tail != NONE) {
        uint32_t bottom = p->mark[p->lir.tail];
        for (uint32_t s; (s = nl_first(nl)) < bottom;)
            lirs_nl_kill(p, s);
        return;
    }
    uint64_t keep = p->pend_top ? 0 : 1;
    while (nl->ghosts + nl->residents > keep)
        lirs_nl_kill(p, nl_first(nl));
}

/*=====   Evictions and demotions   =====*/

/* Unlinks Q's front (the HIR victim) and returns it for eviction; if in S,
 * it stays there as a ghost. */
static uint32_t lirs_evict_hir(struct lirs *p)
{
    uint32_t v = p->q.tail;
    sim_list_unlink(&p->q, LBASE(p), v);
    p->hirs -= lirs_size(p, v);
    if (lirs_flags(p, v) & LIRS_IN_S)
        lirs_nl_to_ghost(p, v);
    lirs_set_flags(p, v, 0);
    return v;
}

/* Makes room for `size` units in Q by evicting its front. */
static void lirs_hir_room(struct lirs *p, uint64_t size)
{
    while (p->hirs + size > p->hlim && p->q.count)
        sim_objcache_evict_id(p->oc, lirs_evict_hir(p));
}

/* The LIR block at the bottom of S leaves S and the LIR set. */
static uint32_t lirs_pop_bottom(struct lirs *p)
{
    uint32_t x = p->lir.tail;
    sim_list_unlink(&p->lir, LBASE(p), x);
    p->lirs -= lirs_size(p, x);
    lirs_set_flags(p, x, 0);
    return x;
}

/* The LIR block at the bottom of S becomes a resident HIR block at the end
 * of Q (evicted outright if larger than Q); then S is pruned. */
static void lirs_demote(struct lirs *p)
{
    uint32_t x = lirs_pop_bottom(p);
    uint32_t size = lirs_size(p, x);
    if (size <= p->hlim) {
        lirs_hir_room(p, size);
        lirs_set_flags(p, x, LIRS_IN_Q);
        sim_list_push_head(&p->q, LBASE(p), x);
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

/* Resident HIR block id becomes LIR, on top of S (cases 2 and 4). */
static void lirs_make_lir(struct lirs *p, uint32_t id)
{
    lirs_set_flags(p, id, LIRS_LIR | LIRS_IN_S);
    p->lirs += lirs_size(p, id);
    lirs_lir_push(p, id);
    lirs_prune(p); /* if every LIR block was demoted, S's bottom is HIR */
}

static void lirs_hit(void *pol, uint32_t id, const struct sim_req *req)
{
    struct lirs *p = pol;
    (void)req;
    uint32_t size = lirs_size(p, id);
    unsigned f = lirs_flags(p, id);
    if (f & LIRS_LIR) { /* case 1 */
        int bottom = p->lir.tail == id;
        sim_list_unlink(&p->lir, LBASE(p), id);
        lirs_lir_push(p, id);
        if (bottom)
            lirs_prune(p);
    } else if (f & LIRS_IN_S) { /* case 2: X goes to the top, then is LIR */
        sim_list_unlink(&p->q, LBASE(p), id);
        p->hirs -= size;
        lirs_nl_kill(p, p->mark[id]);
        lirs_set_flags(p, id, 0);
        p->pend_top = 1;
        lirs_lir_room(p, size);
        p->pend_top = 0;
        lirs_make_lir(p, id);
    } else { /* case 3 */
        sim_list_unlink(&p->q, LBASE(p), id);
        sim_list_push_head(&p->q, LBASE(p), id);
        if (p->lcs) {
            lirs_lir_room(p, size);
            if (!sim_objcache_is_live(p->oc, id))
                return; /* X was Q's only block and made room for a demotion */
        }
        lirs_nl_push(p, id);
    }
}

/* A mark array of at least n entries (grown by 1.5x; its pages count only
 * once touched).  0 or SIM_ENOMEM. */
static int lirs_mark_room(struct lirs *p, uint64_t n)
{
    if (n <= p->mark_cap)
        return 0;
    uint64_t cap = p->mark_cap + p->mark_cap / 2;
    if (cap < n)
        cap = n;
    if (cap > SIM_KEYMAP_NONE)
        return SIM_ENOMEM;
    uint32_t *m = sim__vm_resize(p->mark, (size_t)p->mark_cap * sizeof *m,
                                 (size_t)cap * sizeof *m);
    if (!m)
        return SIM_ENOMEM;
    p->mark = m;
    p->mark_cap = (uint32_t)cap;
    return 0;
}

/* Cases 4 and 5: decides X's status and makes room in its set. */
static int lirs_admit(void *pol, const struct sim_req *req)
{
    struct lirs *p = pol;
    /* The mark array must cover the id the insert will get. */
    if (lirs_mark_room(p, (uint64_t)sim_objcache_id_limit(p->oc) + 1))
        return 0; /* out of memory: not cached */
    uint32_t g = p->nl.ghosts ? sim_gindex_get(&p->nl.idx, req->key) : NONE;
    if (g != NONE) { /* case 4 */
        lirs_nl_kill(p, g); /* X re-enters S at the top as LIR */
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
    uint32_t x = lirs_pop_bottom(p);
    lirs_prune(p);
    return x;
}

static void lirs_insert(void *pol, uint32_t id, const struct sim_req *req)
{
    struct lirs *p = pol;
    (void)req;
    if (p->pend_lir) {
        lirs_make_lir(p, id);
        return;
    }
    lirs_set_flags(p, id, LIRS_IN_Q);
    sim_list_push_head(&p->q, LBASE(p), id);
    p->hirs += lirs_size(p, id);
    lirs_nl_push(p, id);
}

static void lirs_remove(void *pol, uint32_t id)
{
    struct lirs *p = pol;
    uint32_t size = lirs_size(p, id);
    unsigned f = lirs_flags(p, id);
    if (f & LIRS_LIR) {
        sim_list_unlink(&p->lir, LBASE(p), id);
        p->lirs -= size;
        lirs_set_flags(p, id, 0);
        lirs_prune(p);
        return;
    }
    if (f & LIRS_IN_S)
        lirs_nl_kill(p, p->mark[id]);
    if (f & LIRS_IN_Q) {
        sim_list_unlink(&p->q, LBASE(p), id);
        p->hirs -= size;
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
    nl_free(&p->nl);
    sim__vm_free(p->mark, (size_t)p->mark_cap * sizeof *p->mark);
    free(p);
}

static void *lirs_create(const struct sim_cache_config *cfg, const sim_params *params,
                         char *err, size_t errlen)
{
    struct lirs *p = calloc(1, sizeof *p);
    if (!p || lirs_nl_init(&p->nl)) {
        free(p);
        snprintf(err, errlen, "lirs: out of memory");
        return NULL;
    }
    sim_list_init(&p->lir);
    sim_list_init(&p->q);
    p->c = cfg->capacity;
    /* As libCacheSim: MAX(1, (uint64_t)(hir * c)). */
    p->hlim = (uint64_t)(sim_params_real(params, "hir") * (double)cfg->capacity);
    if (p->hlim < 1)
        p->hlim = 1;
    p->llim = p->c > p->hlim ? p->c - p->hlim : 0;
    p->lcs = sim_params_bool(params, "lcs");
    p->oc = sim_objcache_create(cfg, &lirs_hooks, p, err, errlen);
    /* In object units the count is known (as the key table's, bounded): a
     * mark array of that size is mapped at once, never grown through the
     * heap (whose freed blocks stay resident). */
    uint64_t expect = cfg->unit == SIM_UNIT_OBJECTS ? cfg->capacity + 1 : 1024;
    if (!p->oc || lirs_mark_room(p, expect < (1u << 20) ? expect : 1u << 20)) {
        if (p->oc)
            snprintf(err, errlen, "lirs: out of memory");
        sim_objcache_free(p->oc);
        nl_free(&p->nl);
        free(p);
        return NULL;
    }
    p->live = sim_objcache_live_ref(p->oc);
    return p;
}

/* Bounds S to 2c units by forgetting the oldest ghosts (the oldest live
 * entries: ghosts precede residents). */
static void lirs_limit_stack(struct lirs *p)
{
    while (p->lirs + p->nl.units > 2 * p->c && p->nl.ghosts)
        lirs_nl_kill(p, nl_first(&p->nl));
}

/* A delete forgets key's ghost, if any (a ghost is never cached). */
static __attribute__((noinline)) void lirs_forget(struct lirs *p, uint64_t key)
{
    uint32_t g = p->nl.ghosts ? sim_gindex_get(&p->nl.idx, key) : NONE;
    if (g != NONE)
        lirs_nl_kill(p, g);
}

static void lirs_access(void *state, const struct sim_req *req, struct sim_outcome *out)
{
    struct lirs *p = state;
    if (req->op == SIM_OP_DELETE)
        lirs_forget(p, req->key);
    sim_objcache_access(p->oc, req, out);
    lirs_limit_stack(p);
}

/* A set's units walked against its counter and its limit. */
static int lirs_check_units(const char *set, uint64_t walked, uint64_t counted, uint64_t limit,
                            char *err, size_t errlen)
{
    if (walked == counted && counted <= limit)
        return 0;
    snprintf(err, errlen, "lirs: %s holds %llu units, counted %llu, limit %llu", set,
             (unsigned long long)walked, (unsigned long long)counted,
             (unsigned long long)limit);
    return SIM_EINVAL;
}

/* Walks the LIR list: flags, marks in S's order, units. */
static int lirs_check_lir(struct lirs *p, char *err, size_t errlen)
{
    uint64_t units = 0;
    uint32_t below = 0;
    for (uint32_t x = p->lir.tail; x != NONE; x = sim_list_link(LBASE(p), x)->prev) {
        if (!sim_objcache_is_live(p->oc, x)
            || lirs_flags(p, x) != (LIRS_LIR | LIRS_IN_S) || p->mark[x] < below
            || p->mark[x] > p->nl.head) {
            snprintf(err, errlen, "lirs: bad LIR block %u in S", x);
            return SIM_EINVAL;
        }
        below = p->mark[x];
        units += lirs_size(p, x);
    }
    if (lirs_check_units("LIR set", units, p->lirs, p->llim, err, errlen))
        return SIM_EINVAL;
    if (p->lir.tail != NONE && nl_first(&p->nl) < p->mark[p->lir.tail]) {
        snprintf(err, errlen, "lirs: the bottom of S is not LIR");
        return SIM_EINVAL;
    }
    return 0;
}

/* Walks the array: ghosts below rbeg, each in the index at its slot and
 * not cached; resident HIR blocks in S from rbeg, each at its slot. */
static int lirs_check_nl(struct lirs *p, char *err, size_t errlen)
{
    struct lirs_nl *nl = &p->nl;
    uint64_t ghosts = 0, residents = 0, units = 0;
    for (uint32_t s = 0; s < nl->head; s++) {
        if (!nl_is_live(nl, s))
            continue;
        uint64_t v = nl_get(nl, s);
        int bad;
        if (s < nl->rbeg) {
            ghosts++;
            bad = sim_gindex_get(&nl->idx, v) != s || sim_objcache_find(p->oc, v) != NONE;
        } else {
            residents++;
            bad = v >= sim_objcache_id_limit(p->oc) || !sim_objcache_is_live(p->oc, (uint32_t)v)
                  || lirs_flags(p, (uint32_t)v) != (LIRS_IN_S | LIRS_IN_Q)
                  || p->mark[v] != s || nl_units(nl, s) != lirs_size(p, (uint32_t)v);
        }
        if (bad || s < nl->front) {
            snprintf(err, errlen, "lirs: bad entry in S's slot %u", s);
            return SIM_EINVAL;
        }
        units += nl_units(nl, s);
    }
    if (ghosts != nl->ghosts || residents != nl->residents || units != nl->units
        || ghosts != nl->idx.count) {
        snprintf(err, errlen, "lirs: %llu ghosts and %llu residents in S, counted %llu, %llu",
                 (unsigned long long)ghosts, (unsigned long long)residents,
                 (unsigned long long)nl->ghosts, (unsigned long long)nl->residents);
        return SIM_EINVAL;
    }
    if (p->lirs + nl->units > 2 * p->c && nl->ghosts) {
        snprintf(err, errlen, "lirs: S holds %llu units, over 2c with non-residents",
                 (unsigned long long)(p->lirs + nl->units));
        return SIM_EINVAL;
    }
    return 0;
}

static int lirs_check_q(struct lirs *p, char *err, size_t errlen)
{
    uint64_t units = 0;
    for (uint32_t id = p->q.head; id != NONE; id = sim_list_link(LBASE(p), id)->next) {
        if (!sim_objcache_is_live(p->oc, id)
            || (lirs_flags(p, id) & (LIRS_LIR | LIRS_IN_Q)) != LIRS_IN_Q) {
            snprintf(err, errlen, "lirs: bad object %u in Q", id);
            return SIM_EINVAL;
        }
        units += lirs_size(p, id);
    }
    return lirs_check_units("Q", units, p->hirs, p->hlim, err, errlen);
}

static int lirs_check(void *state, char *err, size_t errlen)
{
    struct lirs *p = state;
    int rc;
    if ((rc = lirs_check_lir(p, err, errlen)) || (rc = lirs_check_nl(p, err, errlen))
        || (rc = lirs_check_q(p, err, errlen)))
        return rc;
    if (p->lirs + p->hirs != sim_objcache_used(p->oc) || sim_objcache_used(p->oc) > p->c) {
        snprintf(err, errlen, "lirs: over capacity");
        return SIM_EINVAL;
    }
    return 0;
}

/* xPrefetch: the key's slots in the cache's table and in the ghost index. */
static void lirs_prefetch(void *state, uint64_t key)
{
    struct lirs *p = state;
    sim_objcache_prefetch_state(state, key);
    sim_gindex_prefetch(&p->nl.idx, key);
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
