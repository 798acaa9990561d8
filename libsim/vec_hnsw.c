/*
 * vec_hnsw.c - approximate nearest-neighbour search with HNSW graphs.
 *
 * Reference: Yu. A. Malkov and D. A. Yashunin, "Efficient and robust
 * approximate nearest neighbor search using Hierarchical Navigable Small
 * World graphs", IEEE TPAMI 42(4), 2020.  Written from the paper and the
 * behaviour of hnswlib (its reference implementation), not from its code.
 *
 * HOW IT WORKS
 * Every node (slot) has a level L drawn as floor(-ln(1 - u) / ln(M)) with u
 * from sim_rng (seeded by cfg.seed: the same seed and calls give the same
 * graph).  On each layer 0..L it keeps a list of out-links: at most 2M on
 * layer 0 and M above.  A search starts at the entry point (a node of the
 * top level), walks greedily to the most similar node on each upper layer,
 * then on layer 0 runs a best-first search that keeps the ef most similar
 * nodes found (ef = ef_search, or ef_construction while inserting).  An
 * insert searches the same way and links the node to the candidates chosen
 * by the paper's heuristic (algorithm 4: keep a candidate only if it is
 * more similar to the new node than to every candidate kept so far), then
 * adds the reverse links, re-pruning a neighbour's list with the same
 * heuristic when it is full.
 *
 * DELETION (mark-delete and reuse, as hnswlib's markDelete with
 * allow_replace_deleted).  A delete marks the node dead and puts its slot on
 * a free list; the node keeps its links and goes on routing searches, but
 * is never returned and never chosen as a new neighbour.  The next insert
 * takes the slot (LIFO): the old node is unlinked first (its number is
 * removed from the lists of all its out-neighbours, on every layer), then
 * the new vector is inserted as a fresh node at the slot's level.  So slots
 * are never leaked: the slot count never exceeds the largest size the
 * index had.  The entry point is always live: deleting it moves it to a
 * live node of the highest level.  Deviation from hnswlib:
 * on reuse hnswlib also re-selects the lists of the old node's neighbours
 * and of their neighbours (updatePoint), about (2M)^2 similarity
 * computations; we only remove the stale links, and the fresh insert adds
 * new ones.  One-way links that other nodes held to the old node are kept:
 * after reuse they lead to the new vector, an extra long-range edge that a
 * search tolerates.  When the last live vector is deleted, the whole graph
 * is cleared (all slots free, no entry point).
 *
 * Invariants: 1. a list on layer l holds at most M_l distinct slots, none
 *                of them the owner, each of level >= l and below nslots;
 *             2. a live node is never on the free list; dead ones are;
 *             3. if any vector is stored, the entry point is live and has
 *                the top level, the highest level of any live node.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vec_impl.h"

#define HNSW_MAX_LEVEL 31
#define HNSW_NONE UINT32_MAX
#define HNSW_BELOW_ALL (-2.0f) /* below any similarity of unit vectors */

struct hnsw_pair {
    float s;
    uint32_t id;
};

/* A binary heap of pairs: max-heap (best at the top) or min-heap (worst). */
struct hnsw_heap {
    struct hnsw_pair *a;
    size_t n;
    int max;
};

struct vec_hnsw {
    uint32_t M, M0, efc, efs;
    double mult;             /* 1 / ln(M) */
    struct sim_rng rng;
    uint32_t *links0;        /* per slot: count, then M0 links (layer 0) */
    uint32_t **up;           /* per slot: level lists of (count, M links) */
    uint8_t *level;
    uint8_t *dead;           /* 1: deleted (on the free list) or being linked */
    uint32_t *freelist;
    size_t nfree;
    uint32_t entry;
    int top;                 /* level of the entry point; -1 when empty */
    uint32_t *visit;         /* visit[s] == epoch: seen in this search */
    uint32_t epoch;
    struct hnsw_heap cand, res;
    struct hnsw_pair *sel;   /* scratch: candidates for selection */
    uint32_t *picked;        /* scratch: selected links */
    size_t cap;
};

/*=====   Heaps   =====*/

/* a goes above b: higher similarity first, lower slot on ties. */
static inline int pair_better(struct hnsw_pair a, struct hnsw_pair b)
{
    return a.s > b.s || (a.s == b.s && a.id < b.id);
}

static inline int heap_above(const struct hnsw_heap *h, struct hnsw_pair a,
                             struct hnsw_pair b)
{
    return h->max ? pair_better(a, b) : pair_better(b, a);
}

static void heap_push(struct hnsw_heap *h, float s, uint32_t id)
{
    struct hnsw_pair p = {s, id};
    size_t i = h->n++;
    while (i > 0 && heap_above(h, p, h->a[(i - 1) / 2])) {
        h->a[i] = h->a[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->a[i] = p;
}

static struct hnsw_pair heap_pop(struct hnsw_heap *h)
{
    struct hnsw_pair top = h->a[0], last = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && heap_above(h, h->a[c + 1], h->a[c]))
            c++;
        if (!heap_above(h, h->a[c], last))
            break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (h->n)
        h->a[i] = last;
    return top;
}

static int pair_cmp_best_first(const void *x, const void *y)
{
    const struct hnsw_pair *a = x, *b = y;
    return pair_better(*a, *b) ? -1 : pair_better(*b, *a) ? 1 : 0;
}

/*=====   Lists   =====*/

static inline uint32_t *hnsw_list(const struct vec_hnsw *g, uint32_t s, int l)
{
    return l == 0 ? g->links0 + (size_t)s * (1 + g->M0)
                  : g->up[s] + (size_t)(l - 1) * (1 + g->M);
}

static inline uint32_t hnsw_max_links(const struct vec_hnsw *g, int l)
{
    return l == 0 ? g->M0 : g->M;
}

static inline float hnsw_sim(const sim_vec *v, const float *q, uint32_t s)
{
    return vec_dot(q, vec_row(v, s), v->dim);
}

/*=====   Creation and storage   =====*/

int vec_hnsw_create(sim_vec *v, char *err, size_t errlen)
{
    struct vec_hnsw *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "vector index: out of memory");
        return SIM_ENOMEM;
    }
    g->M = v->cfg.M;
    g->M0 = 2 * v->cfg.M;
    g->efc = v->cfg.ef_construction;
    g->efs = v->cfg.ef_search;
    g->mult = 1.0 / log((double)g->M);
    sim_rng_seed(&g->rng, v->cfg.seed);
    g->entry = HNSW_NONE;
    g->top = -1;
    g->cand.max = 1;
    g->res.max = 0;
    v->g = g;
    return 0;
}

void vec_hnsw_free(struct vec_hnsw *g)
{
    if (!g)
        return;
    if (g->up)
        for (size_t s = 0; s < g->cap; s++)
            free(g->up[s]);
    free(g->links0);
    free(g->up);
    free(g->level);
    free(g->dead);
    free(g->freelist);
    free(g->visit);
    free(g->cand.a);
    free(g->res.a);
    free(g->sel);
    free(g->picked);
    free(g);
}

#define HNSW_GROW(ptr, n)                                                       \
    do {                                                                        \
        void *p_ = realloc((ptr), (n) * sizeof *(ptr));                         \
        if (!p_)                                                                \
            return SIM_ENOMEM;                                                  \
        (ptr) = p_;                                                             \
    } while (0)

int vec_hnsw_reserve(sim_vec *v, size_t cap)
{
    struct vec_hnsw *g = v->g;
    if (cap <= g->cap)
        return 0;
    HNSW_GROW(g->links0, cap * (1 + g->M0));
    HNSW_GROW(g->up, cap);
    HNSW_GROW(g->level, cap);
    HNSW_GROW(g->dead, cap);
    HNSW_GROW(g->freelist, cap);
    HNSW_GROW(g->visit, cap);
    HNSW_GROW(g->cand.a, cap + 1);
    HNSW_GROW(g->res.a, cap + 1);
    size_t nsel = (g->efc > g->M0 ? g->efc : g->M0) + 1;
    if (!g->sel) {
        HNSW_GROW(g->sel, nsel);
        HNSW_GROW(g->picked, nsel);
    }
    for (size_t s = g->cap; s < cap; s++) {
        g->up[s] = NULL;
        g->visit[s] = 0;
        g->level[s] = 0;
        g->dead[s] = 0;
    }
    g->cap = cap;
    return 0;
}

size_t vec_hnsw_memory(const sim_vec *v)
{
    const struct vec_hnsw *g = v->g;
    size_t m = sizeof *g + g->cap * ((1 + g->M0) * 4 + sizeof(uint32_t *) + 2 + 4 + 4)
               + 2 * (g->cap + 1) * sizeof(struct hnsw_pair);
    for (size_t s = 0; s < v->nslots; s++)
        m += (size_t)g->level[s] * (1 + g->M) * 4;
    return m;
}

int vec_hnsw_set_ef(sim_vec *v, uint32_t ef)
{
    v->g->efs = ef;
    return 0;
}

/*=====   Search   =====*/

/* Greedy walk on layer l from *cur towards q, never stepping onto `skip`. */
static void hnsw_greedy(const sim_vec *v, const float *q, int l, uint32_t skip,
                        uint32_t *cur, float *cs)
{
    const struct vec_hnsw *g = v->g;
    for (int changed = 1; changed;) {
        changed = 0;
        const uint32_t *L = hnsw_list(g, *cur, l);
        for (uint32_t i = 1; i <= L[0]; i++) {
            if (L[i] == skip)
                continue;
            float s = hnsw_sim(v, q, L[i]);
            if (s > *cs) {
                *cs = s;
                *cur = L[i];
                changed = 1;
            }
        }
    }
}

static void hnsw_new_epoch(struct vec_hnsw *g)
{
    if (++g->epoch == 0) {
        memset(g->visit, 0, g->cap * sizeof *g->visit);
        g->epoch = 1;
    }
}

/*
 * Best-first search of layer l from ep: leaves in g->res (a min-heap) the
 * (up to) ef most similar live nodes it met.  Dead nodes are explored (they
 * route) but not kept.  Stops when the best unexplored candidate is worse
 * than the worst kept one and ef nodes are kept.
 */
static void hnsw_search_layer(sim_vec *v, const float *q, uint32_t ep, float eps,
                              size_t ef, int l)
{
    struct vec_hnsw *g = v->g;
    hnsw_new_epoch(g);
    g->cand.n = g->res.n = 0;
    g->visit[ep] = g->epoch;
    heap_push(&g->cand, eps, ep);
    if (!g->dead[ep])
        heap_push(&g->res, eps, ep);
    float lower = g->res.n ? g->res.a[0].s : HNSW_BELOW_ALL;
    while (g->cand.n) {
        struct hnsw_pair c = g->cand.a[0];
        if (c.s < lower && g->res.n >= ef)
            break;
        heap_pop(&g->cand);
        const uint32_t *L = hnsw_list(g, c.id, l);
        for (uint32_t i = 1; i <= L[0]; i++)
            __builtin_prefetch(vec_row(v, L[i]));
        for (uint32_t i = 1; i <= L[0]; i++) {
            uint32_t n = L[i];
            if (g->visit[n] == g->epoch)
                continue;
            g->visit[n] = g->epoch;
            float s = hnsw_sim(v, q, n);
            if (g->res.n >= ef && s <= lower)
                continue;
            heap_push(&g->cand, s, n);
            if (!g->dead[n]) {
                heap_push(&g->res, s, n);
                if (g->res.n > ef)
                    heap_pop(&g->res);
            }
            lower = g->res.n ? g->res.a[0].s : HNSW_BELOW_ALL;
        }
    }
}

/*
 * The safety net for small graphs: if a layer-0 search kept fewer than ef
 * live nodes while more are stored, part of the graph was unreachable from
 * the entry point (reusing slots can strand a node whose only in-links came
 * from the reused node).  Then every live node is scored instead, so an
 * index of at most ef vectors is always searched exactly, and an insert
 * into it links to the true neighbours (which reconnects stranded nodes).
 */
static void hnsw_search_base(sim_vec *v, const float *q, uint32_t ep, float eps, size_t ef)
{
    struct vec_hnsw *g = v->g;
    hnsw_search_layer(v, q, ep, eps, ef, 0);
    if (g->res.n >= ef || g->res.n >= v->size)
        return;
    g->res.n = 0;
    for (uint32_t s = 0; s < v->nslots; s++) {
        if (g->dead[s])
            continue;
        heap_push(&g->res, hnsw_sim(v, q, s), s);
        if (g->res.n > ef)
            heap_pop(&g->res);
    }
}

/* Moves g->res into g->sel, best first; returns the count. */
static size_t hnsw_take_results(struct vec_hnsw *g)
{
    size_t n = g->res.n;
    memcpy(g->sel, g->res.a, n * sizeof *g->sel);
    g->res.n = 0;
    qsort(g->sel, n, sizeof *g->sel, pair_cmp_best_first);
    return n;
}

int vec_hnsw_search(sim_vec *v, const float *q, size_t k, uint32_t *slots, float *sims)
{
    struct vec_hnsw *g = v->g;
    if (g->top < 0)
        return 0;
    uint32_t cur = g->entry;
    float cs = hnsw_sim(v, q, cur);
    for (int l = g->top; l > 0; l--)
        hnsw_greedy(v, q, l, HNSW_NONE, &cur, &cs);
    size_t ef = g->efs > k ? g->efs : k;
    hnsw_search_base(v, q, cur, cs, ef);
    /* g->res holds at most ef pairs; sel has room for efc+1, so sort in res. */
    size_t n = g->res.n;
    qsort(g->res.a, n, sizeof *g->res.a, pair_cmp_best_first);
    g->res.n = 0;
    if (n > k)
        n = k;
    for (size_t i = 0; i < n; i++) {
        slots[i] = g->res.a[i].id;
        sims[i] = g->res.a[i].s;
    }
    return (int)n;
}

/*=====   Insertion   =====*/

/*
 * The paper's neighbour-selection heuristic over cand[0..n) (best first,
 * similarities to the base node): keeps a candidate when it is more similar
 * to the base than to every candidate already kept, up to `max`.  Writes the
 * kept slots to out; returns their count.
 */
static uint32_t hnsw_select(const sim_vec *v, const struct hnsw_pair *cand, size_t n,
                            uint32_t max, uint32_t *out)
{
    uint32_t k = 0;
    for (size_t i = 0; i < n && k < max; i++) {
        const float *c = vec_row(v, cand[i].id);
        int good = 1;
        for (uint32_t j = 0; j < k && good; j++)
            good = vec_dot(c, vec_row(v, out[j]), v->dim) <= cand[i].s;
        if (good)
            out[k++] = cand[i].id;
    }
    return k;
}

static int hnsw_has(const uint32_t *L, uint32_t s)
{
    for (uint32_t i = 1; i <= L[0]; i++)
        if (L[i] == s)
            return 1;
    return 0;
}

/* Adds the link n -> s on layer l, re-pruning n's list if it is full. */
static void hnsw_backlink(sim_vec *v, uint32_t n, uint32_t s, int l)
{
    struct vec_hnsw *g = v->g;
    uint32_t *L = hnsw_list(g, n, l), max = hnsw_max_links(g, l);
    if (hnsw_has(L, s))
        return;
    if (L[0] < max) {
        L[++L[0]] = s;
        return;
    }
    /* g->sel is in use by the caller: put this list's candidates after it. */
    struct hnsw_pair c[2 * 256 + 1];
    const float *x = vec_row(v, n);
    size_t m = 0;
    for (uint32_t i = 1; i <= L[0]; i++)
        c[m++] = (struct hnsw_pair){vec_dot(x, vec_row(v, L[i]), v->dim), L[i]};
    c[m++] = (struct hnsw_pair){vec_dot(x, vec_row(v, s), v->dim), s};
    qsort(c, m, sizeof *c, pair_cmp_best_first);
    uint32_t out[2 * 256];
    L[0] = hnsw_select(v, c, m, max, out);
    memcpy(L + 1, out, L[0] * sizeof *out);
}

/* Removes every link to s held by s's out-neighbours, and clears s's lists. */
static void hnsw_detach(sim_vec *v, uint32_t s)
{
    struct vec_hnsw *g = v->g;
    for (int l = 0; l <= g->level[s]; l++) {
        uint32_t *L = hnsw_list(g, s, l);
        for (uint32_t i = 1; i <= L[0]; i++) {
            uint32_t *N = hnsw_list(g, L[i], l);
            for (uint32_t j = 1; j <= N[0]; j++)
                if (N[j] == s) {
                    N[j] = N[N[0]--];
                    break;
                }
        }
        L[0] = 0;
    }
}

/* Inserts the node in `slot` (row written, level set, marked dead so that
 * no search returns it) into a non-empty graph. */
static void hnsw_connect(sim_vec *v, uint32_t slot)
{
    struct vec_hnsw *g = v->g;
    const float *q = vec_row(v, slot);
    int L = g->level[slot];
    uint32_t cur = g->entry;
    float cs = hnsw_sim(v, q, cur);
    for (int l = g->top; l > L; l--)
        hnsw_greedy(v, q, l, slot, &cur, &cs);
    for (int l = L < g->top ? L : g->top; l >= 0; l--) {
        if (l == 0)
            hnsw_search_base(v, q, cur, cs, g->efc);
        else
            hnsw_search_layer(v, q, cur, cs, g->efc, l);
        size_t n = hnsw_take_results(g);
        if (n == 0)
            continue; /* no live node reachable on this layer */
        uint32_t *mine = hnsw_list(g, slot, l);
        mine[0] = hnsw_select(v, g->sel, n, hnsw_max_links(g, l), mine + 1);
        for (uint32_t i = 1; i <= mine[0]; i++)
            hnsw_backlink(v, mine[i], slot, l);
        cur = g->sel[0].id;
        cs = g->sel[0].s;
    }
}

int vec_hnsw_link(sim_vec *v, uint32_t slot, int reused)
{
    struct vec_hnsw *g = v->g;
    if (reused) {
        hnsw_detach(v, slot);
    } else {
        double u = sim_rng_unit(&g->rng);
        double lv = floor(-log(1.0 - u) * g->mult);
        int L = lv > HNSW_MAX_LEVEL ? HNSW_MAX_LEVEL : (int)lv;
        if (L > 0) {
            g->up[slot] = calloc((size_t)L * (1 + g->M), sizeof(uint32_t));
            if (!g->up[slot])
                return SIM_ENOMEM;
        }
        g->level[slot] = (uint8_t)L;
        g->links0[(size_t)slot * (1 + g->M0)] = 0;
        g->visit[slot] = 0;
    }
    g->dead[slot] = 1;
    if (g->top >= 0)
        hnsw_connect(v, slot);
    g->dead[slot] = 0;
    if (g->level[slot] > g->top || g->top < 0) {
        g->entry = slot;
        g->top = g->level[slot];
    }
    return 0;
}

/*=====   Deletion   =====*/

uint32_t vec_hnsw_take_free(sim_vec *v)
{
    struct vec_hnsw *g = v->g;
    return g->nfree ? g->freelist[--g->nfree] : SIM_KEYMAP_NONE;
}

/*
 * The entry point was deleted: a dead entry would lose its links as its
 * neighbours' slots are reused (nothing links to a dead node again) and
 * strand every search, so the entry moves to a live node of the highest
 * level (the first such slot: deterministic).  O(slots), but the entry is
 * one node among `size`, so this is O(1) per delete on average.
 */
static void hnsw_move_entry(sim_vec *v)
{
    struct vec_hnsw *g = v->g;
    int best = -1;
    for (uint32_t s = 0; s < v->nslots; s++)
        if (!g->dead[s] && (int)g->level[s] > best) {
            best = g->level[s];
            g->entry = s;
        }
    g->top = best;
}

/* The last live vector went: forget the graph, every slot is free. */
static void hnsw_clear(sim_vec *v)
{
    struct vec_hnsw *g = v->g;
    g->nfree = 0;
    for (size_t s = v->nslots; s-- > 0;) {
        for (int l = 0; l <= g->level[s]; l++)
            hnsw_list(g, (uint32_t)s, l)[0] = 0;
        g->dead[s] = 1;
        g->freelist[g->nfree++] = (uint32_t)s;
    }
    g->entry = HNSW_NONE;
    g->top = -1;
}

void vec_hnsw_unlink(sim_vec *v, uint32_t slot)
{
    struct vec_hnsw *g = v->g;
    g->dead[slot] = 1;
    g->freelist[g->nfree++] = slot;
    if (v->size == 0)
        hnsw_clear(v);
    else if (slot == g->entry)
        hnsw_move_entry(v);
}

/*=====   Checks   =====*/

static int hnsw_check_lists(const sim_vec *v, uint32_t s, char *err, size_t errlen)
{
    const struct vec_hnsw *g = v->g;
    for (int l = 0; l <= g->level[s]; l++) {
        const uint32_t *L = hnsw_list(g, s, l);
        if (L[0] > hnsw_max_links(g, l)) {
            snprintf(err, errlen, "hnsw: slot %u has %u links on layer %d", s, L[0], l);
            return SIM_EINVAL;
        }
        for (uint32_t i = 1; i <= L[0]; i++) {
            uint32_t n = L[i];
            if (n >= v->nslots || n == s || g->level[n] < l) {
                snprintf(err, errlen, "hnsw: slot %u layer %d: bad link to %u", s, l, n);
                return SIM_EINVAL;
            }
            for (uint32_t j = 1; j < i; j++)
                if (L[j] == n) {
                    snprintf(err, errlen, "hnsw: slot %u: duplicate link to %u", s, n);
                    return SIM_EINVAL;
                }
        }
    }
    return 0;
}

int vec_hnsw_check(const sim_vec *v, char *err, size_t errlen)
{
    const struct vec_hnsw *g = v->g;
    size_t dead = 0;
    for (uint32_t s = 0; s < v->nslots; s++) {
        dead += g->dead[s];
        int rc = hnsw_check_lists(v, s, err, errlen);
        if (rc)
            return rc;
    }
    if (dead != g->nfree || g->nfree != v->nslots - v->size) {
        snprintf(err, errlen, "hnsw: %zu dead slots, %zu free, %zu slots, %zu stored", dead,
                 g->nfree, v->nslots, v->size);
        return SIM_EINVAL;
    }
    for (size_t i = 0; i < g->nfree; i++)
        if (!g->dead[g->freelist[i]]) {
            snprintf(err, errlen, "hnsw: live slot %u on the free list", g->freelist[i]);
            return SIM_EINVAL;
        }
    if (v->size && (g->top < 0 || g->dead[g->entry] || g->level[g->entry] != g->top)) {
        snprintf(err, errlen, "hnsw: entry point dead or not on the top level");
        return SIM_EINVAL;
    }
    return 0;
}
