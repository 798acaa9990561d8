/*
 * mrc.c - one-pass LRU miss-ratio curves (sim_mrc.h).
 *
 * HOW IT WORKS
 * Every tracked object has a marker at the position (a request counter) of
 * its last access, weighted by its size, so the sum over positions after p,
 * total - prefix(p), is the amount of distinct data touched since position
 * p: the stack distance minus the object's own size.  An access queries
 * that sum, removes the object's marker and appends a new one at the next
 * position.  Prefix sums come from a blocked Fenwick tree: the weights
 * themselves in an array, and a Fenwick tree over the sums of blocks of 64
 * positions; a prefix is a Fenwick walk over blocks (a table 64 times
 * smaller than the positions, so it mostly stays in cache) plus a
 * sequential sum inside one block, from whichever end is nearer.  O(log P +
 * 32) per query, but few cache misses, which is what costs on millions of
 * objects.  In object units the weights are the occupancy bitmap itself
 * and the in-block sum one popcount.  New markers all land in one block,
 * whose tree updates are deferred until it is full (wt_add), so a request
 * walks the tree twice: its old block's prefix and the removal there.
 *
 * Positions only grow, so when they run out (P of them) the live markers are
 * renumbered 1..m in order (a rank in an occupancy bitmap) and the trees
 * rebuilt in O(P); P is then SPARE * m (4m) or more, so compaction costs
 * O(1) amortised (a pass over the table every 3m requests) and memory stays
 * O(objects): per object 1 byte of bitmap and block tree, plus 16 bytes of
 * 32-bit weights in bytes mode.
 *
 * Objects live in the tracker's own open-addressing table whose 16-byte
 * slot holds the key, the marker position and the size together (32 to 64
 * bytes per object at load 1/4 to 1/2), so a request costs one cache miss
 * for the object and, in bytes, one or two for the weights of its block;
 * sim_mrc_access_batch prefetches both.  The big arrays ask for 2 MiB pages
 * (madvise): with 4 KiB pages nearly every request would miss the TLB too.
 *
 * Byte capacities (see sim_mrc.h for the convention): objects larger than a
 * capacity C are not in C's cache and must not count in C's distances.
 * Sorted capacities C_0 < ... < C_{k-1} split objects into classes: class j
 * holds sizes in (C_{j-1}, C_j], class k the ones larger than every C.  Each
 * class has its own tree (allocated on first use), and the distance for C_j
 * sums classes 0..j.  In the usual case every object is in class 0 and one
 * query plus a binary search over the capacities settles all of them.
 *
 * Invariants: 1. bit p of occ is set iff some object's marker is at p;
 *             2. tree c's weights are exactly the sizes of class-c markers;
 *             3. total[c] is the sum of all of tree c.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"
#include "sim_mrc.h"

#define MIN_POSITIONS (1u << 16)
#define SPARE 4 /* positions per live marker after a compaction */
#define HASH_BITS 24

/* Slot states, in pos: */
#define POS_DEAD 0u                /* deleted: the next request is a first one */
#define POS_HUGE UINT32_MAX        /* larger than every cache: never stored */
#define POS_EMPTY (UINT32_MAX - 1) /* free slot */
#define MAX_POSITIONS (UINT32_MAX - 2)

struct slot {
    uint64_t key;
    uint32_t pos;       /* marker position 1..npos, or a state above */
    uint32_t size;      /* at its first request (since a delete) */
};

struct wtree;

struct sim_mrc_s {
    enum sim_unit unit;
    double rate;
    uint64_t threshold;     /* sampled iff hash low bits < threshold */
    int sampling;
    size_t k;
    uint64_t *caps;         /* ascending */
    size_t *user_index;     /* caps[j] is the user's sizes[user_index[j]] */
    uint64_t *hits_from, *bytes_from;   /* counted at the smallest hitting j */
    uint64_t *hits_at, *bytes_at;       /* counted at each hitting j */
    uint64_t requests, bytes, s_requests, s_bytes;
    struct slot *slots;     /* the object table, linear probing, load <= 1/2 */
    uint64_t mask, nobj;
    uint64_t *occ;          /* occupancy bitmap of positions 1..npos (bit p-1) */
    uint64_t npos, now;     /* positions 1..npos; 1..now used */
    uint64_t open;          /* the block taking new markers (0: none) */
    size_t ntrees;
    struct wtree *tree;     /* per class; .f NULL until the class is used */
    int unit_sizes;         /* object units: weights are the occupancy bits */
    uint64_t *total;
    size_t trees_alive;
    uint64_t *used;         /* after a delete: bytes cached at each capacity */
    double seconds;
};

/*=====   Blocked Fenwick trees   =====*/

/* Without -mpopcnt, __builtin_popcountll is a library call; this is the
 * same count in a dozen inline instructions. */
static inline uint64_t popcount64(uint64_t x)
{
#ifdef __POPCNT__
    return (uint64_t)__builtin_popcountll(x);
#else
    x -= (x >> 1) & UINT64_C(0x5555555555555555);
    x = (x & UINT64_C(0x3333333333333333)) + ((x >> 2) & UINT64_C(0x3333333333333333));
    x = (x + (x >> 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
    return (x * UINT64_C(0x0101010101010101)) >> 56;
#endif
}

#define HUGE_PAGE ((size_t)2 << 20)

/* malloc, aligned to cache lines, for the large, randomly accessed arrays: on 2 MiB pages where the
 * system allows it (transparent huge pages, madvise mode), because with 4
 * KiB pages nearly every request also misses the TLB. */
static void *big_alloc(size_t bytes)
{
    void *p = NULL;
    if (bytes < HUGE_PAGE)
        return posix_memalign(&p, 64, bytes) ? NULL : p; /* whole cache lines */
    bytes = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    if (posix_memalign(&p, HUGE_PAGE, bytes))
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

static void *big_calloc(size_t bytes)
{
    void *p = big_alloc(bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

#define BLK 64

/* Weights w[0..npos) of positions 1..npos (npos a multiple of BLK; one
 * marker each, so a size fits; 0-based so that a block is 4 cache lines) and a Fenwick tree f[1..nblk] over block sums; block b (1-based)
 * holds positions (b-1)*BLK+1 .. b*BLK.  New markers all go to the open
 * block, the one holding m->now: its changes wait in `pending` until the
 * block is full, because no prefix before it reads them (f[i] for i < open
 * covers blocks before open only), so a request walks the tree twice, not
 * three times. */
struct wtree {
    uint32_t *w;
    uint64_t *f;
    uint64_t pending;   /* not yet added to f at block m->open */
};

static uint64_t fw_prefix(const uint64_t *t, uint64_t i)
{
    uint64_t s = 0;
    for (; i; i &= i - 1)
        s += t[i];
    return s;
}

/* Adds delta (mod 2^64, so a negative delta is its complement). */
static void fw_add(uint64_t *t, uint64_t n, uint64_t i, uint64_t delta)
{
    for (; i <= n; i += i & (~i + 1))
        t[i] += delta;
}

/* Turns t[1..n] holding point values into a Fenwick tree, in O(n). */
static void fw_build(uint64_t *t, uint64_t n)
{
    for (uint64_t i = 1; i <= n; i++) {
        uint64_t j = i + (i & (~i + 1));
        if (j <= n)
            t[j] += t[i];
    }
}

/* In object units every weight is 1, so the occupancy bitmap is the weight
 * array (a block of BLK = 64 positions is one bitmap word) and w is not
 * kept: 8 times less memory touched per request. */
static uint64_t weight(const sim_mrc *m, const struct wtree *t, uint64_t p)
{
    if (t->w)
        return t->w[p - 1];
    return (m->occ[(p - 1) / 64] >> ((p - 1) % 64)) & 1;
}

/* The weights of positions from..to, two per step. */
static uint64_t sum_weights(const uint32_t *w, uint64_t from, uint64_t to)
{
    uint64_t s = 0, i = from - 1;
    for (; i < to - 1; i += 2)
        s += (uint64_t)w[i] + w[i + 1];
    return i == to - 1 ? s + w[i] : s;
}

/* The sum of weights at positions 1..pos.  In bytes, the part inside pos's
 * block is summed from whichever end of the block is nearer: up from its
 * start, or down from its end and subtracted from the prefix through the
 * whole block (f, plus the pending changes if it is the open block). */
static uint64_t wt_prefix(const sim_mrc *m, const struct wtree *t, uint64_t pos)
{
    uint64_t b = (pos - 1) / BLK, off = (pos - 1) % BLK;
    if (!t->w)
        return fw_prefix(t->f, b) + popcount64(m->occ[b] & ((UINT64_C(2) << off) - 1));
    if (off < BLK / 2)
        return fw_prefix(t->f, b) + sum_weights(t->w, b * BLK + 1, pos);
    uint64_t whole = fw_prefix(t->f, b + 1) + (b + 1 == m->open ? t->pending : 0);
    return pos == (b + 1) * BLK ? whole : whole - sum_weights(t->w, pos + 1, (b + 1) * BLK);
}

static void wt_add(const sim_mrc *m, struct wtree *t, uint64_t pos, uint64_t delta)
{
    uint64_t b = (pos - 1) / BLK + 1;
    if (t->w)
        t->w[pos - 1] += (uint32_t)delta;
    if (b == m->open)
        t->pending += delta;
    else
        fw_add(t->f, m->npos / BLK, b, delta);
}

/* Adds the pending changes to f: then f is exact everywhere. */
static void wt_flush(sim_mrc *m)
{
    for (size_t c = 0; c < m->ntrees; c++)
        if (m->tree[c].f && m->tree[c].pending) {
            fw_add(m->tree[c].f, m->npos / BLK, m->open, m->tree[c].pending);
            m->tree[c].pending = 0;
        }
    m->open = 0;
}

static int wt_alloc(const sim_mrc *m, struct wtree *t)
{
    t->f = calloc(m->npos / BLK + 1, sizeof *t->f);
    if (!m->unit_sizes)
        t->w = big_calloc(m->npos * sizeof *t->w);
    return t->f && (m->unit_sizes || t->w) ? 0 : SIM_ENOMEM;
}

/* Reallocates for npos positions, weights zeroed (compaction refills them). */
static int wt_resize(struct wtree *t, uint64_t npos)
{
    if (t->w) {
        free(t->w);
        t->w = big_calloc(npos * sizeof *t->w);
        if (!t->w)
            return SIM_ENOMEM;
    }
    uint64_t *f = realloc(t->f, (npos / BLK + 1) * sizeof *f);
    if (!f)
        return SIM_ENOMEM;
    t->f = f;
    return 0;
}

/* Recomputes f from the weights (m->npos positions). */
static void wt_build(const sim_mrc *m, struct wtree *t)
{
    for (uint64_t b = 1; b <= m->npos / BLK; b++) {
        uint64_t sum = 0;
        if (!t->w)
            sum = popcount64(m->occ[b - 1]);
        else
            for (uint64_t i = (b - 1) * BLK + 1; i <= b * BLK; i++)
                sum += t->w[i - 1];
        t->f[b] = sum;
    }
    fw_build(t->f, m->npos / BLK);
    t->pending = 0;
}

/*=====   Setup   =====*/

/* Sorts idx[0..n) by sizes[idx[i]] (insertion sort: n is small). */
static void sort_index(size_t *idx, size_t n, const uint64_t *sizes)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && sizes[idx[j - 1]] > sizes[idx[j]]; j--) {
            size_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
}

sim_mrc *sim_mrc_create(const struct sim_mrc_opts *o, char *err, size_t errlen)
{
    if (o->unit != SIM_UNIT_OBJECTS && o->unit != SIM_UNIT_BYTES) {
        snprintf(err, errlen, "mrc: capacities must count objects or bytes");
        return NULL;
    }
    if (!(o->rate >= 0 && o->rate <= 1) || (o->rate > 0 && o->rate * (1 << HASH_BITS) < 1)) {
        snprintf(err, errlen, "mrc: sampling rate %g is outside (2^-24, 1]", o->rate);
        return NULL;
    }
    for (size_t i = 0; i < o->nsizes; i++)
        if (o->sizes[i] == 0) {
            snprintf(err, errlen, "mrc: a cache size of 0");
            return NULL;
        }
    sim_mrc *m = calloc(1, sizeof *m);
    size_t k = o->nsizes, nt = k ? k : 1;
    if (!m)
        goto oom;
    m->unit = o->unit;
    m->rate = o->rate > 0 ? o->rate : 1;
    m->sampling = m->rate < 1;
    m->unit_sizes = o->unit == SIM_UNIT_OBJECTS;
    m->threshold = (uint64_t)(m->rate * (1 << HASH_BITS) + 0.5);
    m->k = k;
    m->ntrees = nt;
    m->caps = calloc(k + 1, sizeof *m->caps);
    m->user_index = calloc(k + 1, sizeof *m->user_index);
    m->hits_from = calloc(k + 1, sizeof(uint64_t));
    m->bytes_from = calloc(k + 1, sizeof(uint64_t));
    m->hits_at = calloc(k + 1, sizeof(uint64_t));
    m->bytes_at = calloc(k + 1, sizeof(uint64_t));
    m->tree = calloc(nt, sizeof *m->tree);
    m->total = calloc(nt, sizeof *m->total);
    m->npos = MIN_POSITIONS;
    m->occ = calloc(m->npos / 64 + 1, sizeof *m->occ);
    m->mask = 1023;
    m->slots = malloc((m->mask + 1) * sizeof *m->slots);
    if (!m->caps || !m->user_index || !m->hits_from || !m->bytes_from || !m->hits_at ||
        !m->bytes_at || !m->tree || !m->total || !m->occ || !m->slots)
        goto oom;
    for (uint64_t i = 0; i <= m->mask; i++)
        m->slots[i].pos = POS_EMPTY;
    for (size_t i = 0; i < k; i++)
        m->user_index[i] = i;
    sort_index(m->user_index, k, o->sizes);
    for (size_t i = 0; i < k; i++)
        m->caps[i] = o->sizes[m->user_index[i]];
    return m;
oom:
    sim_mrc_free(m);
    snprintf(err, errlen, "mrc: out of memory");
    return NULL;
}

void sim_mrc_free(sim_mrc *m)
{
    if (!m)
        return;
    for (size_t c = 0; m->tree && c < m->ntrees; c++) {
        free(m->tree[c].w);
        free(m->tree[c].f);
    }
    free(m->tree);
    free(m->total);
    free(m->caps);
    free(m->user_index);
    free(m->hits_from);
    free(m->bytes_from);
    free(m->hits_at);
    free(m->bytes_at);
    free(m->occ);
    free(m->used);
    free(m->slots);
    free(m);
}

/*=====   Object table   =====*/


/* The slot of key, or the empty slot where it would go. */
/* The home slot of a key whose sim_key_hash is h: from bits above the
 * ones that decide sampling, or sampled keys would crowd one end. */
static uint64_t home(const sim_mrc *m, uint64_t h)
{
    return (h >> HASH_BITS) & m->mask;
}

static struct slot *find_slot(const sim_mrc *m, uint64_t key, uint64_t h)
{
    for (uint64_t i = home(m, h);; i = (i + 1) & m->mask) {
        struct slot *s = &m->slots[i];
        if (s->pos == POS_EMPTY || s->key == key)
            return s;
    }
}

/* Doubles the table (keeping load <= 1/2). */
static int grow_table(sim_mrc *m)
{
    uint64_t n = (m->mask + 1) * 2;
    struct slot *old = m->slots, *s = big_alloc(n * sizeof *s);
    if (!s)
        return SIM_ENOMEM;
    for (uint64_t i = 0; i < n; i++)
        s[i].pos = POS_EMPTY;
    uint64_t oldn = m->mask + 1;
    m->slots = s;
    m->mask = n - 1;
    for (uint64_t i = 0; i < oldn; i++)
        if (old[i].pos != POS_EMPTY)
            *find_slot(m, old[i].key, sim_key_hash(old[i].key)) = old[i];
    free(old);
    return 0;
}

/*=====   Markers   =====*/

/* The first class whose capacity holds `size`; k if none does. */
static size_t size_class(const sim_mrc *m, uint64_t size)
{
    size_t lo = 0, hi = m->k;
    if (!m->k || size <= m->caps[0])
        return 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->caps[mid] >= size)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Renumbers the live markers 1..live, in order, and rebuilds the trees. */
static int compact(sim_mrc *m)
{
    uint64_t words = m->npos / 64, live = 0;
    uint32_t *rank = malloc((words + 1) * sizeof *rank); /* markers before word i */
    if (!rank)
        return SIM_ENOMEM;
    for (uint64_t i = 0; i < words; i++) {
        rank[i] = (uint32_t)live;
        live += popcount64(m->occ[i]);
    }
    uint64_t n = SPARE * live > MIN_POSITIONS ? SPARE * live : MIN_POSITIONS;
    n = (n + 63) / 64 * 64;
    if (n > MAX_POSITIONS) {
        free(rank);
        return SIM_ENOMEM;
    }
    uint64_t *occ = calloc(n / 64 + 1, sizeof *occ);
    int rc = occ ? 0 : SIM_ENOMEM;
    for (size_t c = 0; !rc && c < m->ntrees; c++)
        if (m->tree[c].f && wt_resize(&m->tree[c], n))
            rc = SIM_ENOMEM;
    if (rc) {
        free(rank);
        free(occ);
        return rc;
    }
    m->open = 0; /* the trees are rebuilt exact */
    for (uint64_t i = 0; i <= m->mask; i++) {
        struct slot *s = &m->slots[i];
        if (s->pos == POS_EMPTY || s->pos == POS_DEAD || s->pos == POS_HUGE)
            continue;
        uint64_t p = s->pos - 1, below = m->occ[p / 64] & ((UINT64_C(2) << (p % 64)) - 1);
        s->pos = rank[p / 64] + (uint32_t)popcount64(below);
        occ[(s->pos - 1) / 64] |= UINT64_C(1) << ((s->pos - 1) % 64);
        struct wtree *t = &m->tree[size_class(m, s->size)];
        if (t->w)
            t->w[s->pos - 1] = s->size;
    }
    free(rank);
    free(m->occ);
    m->occ = occ;
    m->npos = n;
    for (size_t c = 0; c < m->ntrees; c++)
        if (m->tree[c].f)
            wt_build(m, &m->tree[c]);
    m->now = live;
    return 0;
}

/* Puts s's marker (class cls) at the next position. */
static int place(sim_mrc *m, struct slot *s, size_t cls)
{
    if (cls >= m->ntrees) { /* larger than every cache: never stored */
        s->pos = POS_HUGE;
        return 0;
    }
    if (!m->tree[cls].f) {
        if (wt_alloc(m, &m->tree[cls]))
            return SIM_ENOMEM;
        m->trees_alive++;
    }
    if (m->now == m->npos) {
        s->pos = POS_DEAD; /* not a marker while compacting */
        if (compact(m))
            return SIM_ENOMEM;
    }
    uint64_t p = ++m->now;
    if ((p - 1) / BLK + 1 != m->open) {
        wt_flush(m);
        m->open = (p - 1) / BLK + 1;
    }
    s->pos = (uint32_t)p;
    m->occ[(p - 1) / 64] |= UINT64_C(1) << ((p - 1) % 64);
    wt_add(m, &m->tree[cls], p, s->size);
    m->total[cls] += s->size;
    return 0;
}

static void unplace(sim_mrc *m, struct slot *s, size_t cls)
{
    uint64_t p = s->pos;
    wt_add(m, &m->tree[cls], p, ~(uint64_t)s->size + 1);
    m->total[cls] -= s->size;
    m->occ[(p - 1) / 64] &= ~(UINT64_C(1) << ((p - 1) % 64));
    s->pos = POS_DEAD;
}

/*=====   Access   =====*/

/* Whether distance d (own size included) fits capacity cap.  Sampled: the
 * other objects stand for 1/rate times as much data, the object itself for
 * its own size only (an unbiased estimate, better than SHARDS' d/R for small
 * caches). */
static int below(const sim_mrc *m, uint64_t own, uint64_t d, uint64_t cap)
{
    if (!m->sampling)
        return d <= cap;
    return (double)own + (double)(d - own) / m->rate <= (double)cap;
}

/* Counts the hits of a request for s (class cls, with a marker) and
 * returns its distance (own size included, unscaled). */
static uint64_t count_hits(sim_mrc *m, const struct slot *s, size_t cls, uint64_t bytes)
{
    if (m->trees_alive == 1 && cls == 0) { /* one class: binary search */
        uint64_t d = s->size + m->total[0] - wt_prefix(m, &m->tree[0], s->pos);
        size_t lo = 0, hi = m->k;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (below(m, s->size, d, m->caps[mid]))
                hi = mid;
            else
                lo = mid + 1;
        }
        m->hits_from[lo]++;
        m->bytes_from[lo] += bytes;
        return d;
    }
    uint64_t d = s->size;
    for (size_t c = 0; c < m->ntrees; c++) {
        if (m->tree[c].f)
            d += m->total[c] - wt_prefix(m, &m->tree[c], s->pos); /* positions are shared */
        if (c < m->k && c >= cls && below(m, s->size, d, m->caps[c])) {
            m->hits_at[c]++;
            m->bytes_at[c] += bytes;
        }
    }
    return d;
}

/*
 * Deletes.  Without them the cache at capacity C is always the longest run
 * of most recent objects that fits in C, so "distance <= C" decides a hit.
 * A delete frees space without pulling older objects back in, so from the
 * first delete on (exact mode only) each capacity tracks used[j], the size
 * of its cached run: a request hits iff its distance is <= used[j]; a miss
 * inserts at the front and, if needed, trims the run from the old end to
 * the longest that fits (a search down the Fenwick trees).
 */

/* The size of the longest run of most recent markers of classes 0..j whose
 * total is at most x. */
static uint64_t kept_within(sim_mrc *m, size_t j, uint64_t x)
{
    uint64_t tot = 0, acc = 0, pos = 0, step = 1;
    wt_flush(m); /* the descent reads every level of f */
    for (size_t c = 0; c <= j; c++)
        tot += m->total[c];
    if (tot <= x)
        return tot;
    /* The smallest position p with prefix(p) >= tot - x: the run is after
     * p.  First the last whole block whose prefix stays below, by a descent
     * of the block trees, then position by position inside the next block. */
    uint64_t nblk = m->npos / BLK;
    while (step * 2 <= nblk)
        step *= 2;
    for (; step; step /= 2) {
        uint64_t nx = pos + step, s = 0;
        if (nx > nblk)
            continue;
        for (size_t c = 0; c <= j; c++)
            s += m->tree[c].f ? m->tree[c].f[nx] : 0;
        if (acc + s < tot - x) {
            pos = nx;
            acc += s;
        }
    }
    uint64_t p = pos * BLK;
    while (acc < tot - x) {
        p++;
        for (size_t c = 0; c <= j; c++)
            acc += m->tree[c].f ? weight(m, &m->tree[c], p) : 0;
    }
    return tot - acc;
}

static int start_tracking(sim_mrc *m)
{
    m->used = calloc(m->k, sizeof *m->used);
    if (!m->used)
        return SIM_ENOMEM;
    for (size_t j = 0; j < m->k; j++)
        m->used[j] = kept_within(m, j, m->caps[j]);
    return 0;
}

/* One request for s (class cls; cold: no marker) with tracking; returns
 * the distance. */
static uint64_t tracked_access(sim_mrc *m, const struct slot *s, size_t cls, int cold,
                               uint64_t bytes)
{
    uint64_t d = s->size;
    for (size_t j = 0; j < m->k; j++) {
        if (!cold && m->tree[j].f)
            d += m->total[j] - wt_prefix(m, &m->tree[j], s->pos);
        if (j < cls)
            continue; /* too large for this cache */
        if (!cold && d <= m->used[j]) {
            m->hits_at[j]++;
            m->bytes_at[j] += bytes;
        } else if (m->used[j] + s->size <= m->caps[j])
            m->used[j] += s->size;
        else
            m->used[j] = s->size + kept_within(m, j, m->caps[j] - s->size);
    }
    return d;
}

static void tracked_delete(sim_mrc *m, const struct slot *s, size_t cls)
{
    uint64_t d = s->size;
    for (size_t j = 0; j < m->k; j++) {
        if (m->tree[j].f)
            d += m->total[j] - wt_prefix(m, &m->tree[j], s->pos);
        if (j >= cls && d <= m->used[j])
            m->used[j] -= s->size;
    }
}

static int has_marker(const struct slot *s)
{
    return s->pos != POS_DEAD && s->pos != POS_HUGE && s->pos != POS_EMPTY;
}

static void mrc_delete(sim_mrc *m, uint64_t key)
{
    struct slot *s = find_slot(m, key, sim_key_hash(key));
    if (!has_marker(s)) {
        if (s->pos == POS_HUGE)
            s->pos = POS_DEAD;
        return;
    }
    size_t cls = size_class(m, s->size);
    if (m->used)
        tracked_delete(m, s, cls);
    unplace(m, s, cls);
}

/* Whether a key whose sim_key_hash is h is outside the sample. */
static int skipped(const sim_mrc *m, uint64_t h)
{
    return m->sampling && (h & ((1u << HASH_BITS) - 1)) >= m->threshold;
}

/* sim_mrc_access() for a request whose key hashes to h. */
static int access_one(sim_mrc *m, const struct sim_req *req, uint64_t h, uint64_t *distance)
{
    if (distance)
        *distance = 0;
    if (req->op == SIM_OP_DELETE) {
        if (!m->sampling && m->k && !m->used && start_tracking(m))
            return SIM_ENOMEM;
        mrc_delete(m, req->key);
        return 0;
    }
    m->requests++;
    m->bytes += req->size;
    if (skipped(m, h))
        return 0;
    m->s_requests++;
    m->s_bytes += req->size;
    struct slot *s = find_slot(m, req->key, h);
    if (s->pos == POS_EMPTY) {
        if (2 * (m->nobj + 1) > m->mask + 1) {
            if (grow_table(m))
                return SIM_ENOMEM;
            s = find_slot(m, req->key, h);
        }
        s->key = req->key;
        s->pos = POS_DEAD;
        m->nobj++;
    }
    if (s->pos == POS_HUGE)
        return 0;
    if (s->pos == POS_DEAD) { /* first access (or first since a delete): a miss */
        uint64_t size = m->unit == SIM_UNIT_OBJECTS ? 1 : req->size;
        size_t cls = size > UINT32_MAX ? m->ntrees : size_class(m, size);
        s->size = (uint32_t)(size > UINT32_MAX ? 0 : size);
        if (m->used && cls < m->k)
            tracked_access(m, s, cls, 1, req->size);
        return place(m, s, cls);
    }
    size_t cls = size_class(m, s->size);
    uint64_t d = m->used ? tracked_access(m, s, cls, 0, req->size)
                         : count_hits(m, s, cls, req->size);
    if (distance)
        *distance = d;
    unplace(m, s, cls);
    return place(m, s, cls);
}

int sim_mrc_access(sim_mrc *m, const struct sim_req *req, uint64_t *distance)
{
    return access_one(m, req, sim_key_hash(req->key), distance);
}

/* A request's likely cache misses are its slot, then its marker's word of
 * the occupancy bitmap and (in bytes) the weights summed in its block.
 * Fetching the slot AHEAD requests ahead, and the rest AHEAD/4 ahead once
 * the slot is there, overlaps the misses with the work in between (16 and
 * 4 were the fastest of 8/4, 16/8 and 16/4 on bench_mrc). */
#define AHEAD 16

static void fetch_marker(const sim_mrc *m, const struct sim_req *req, uint64_t h)
{
    const struct slot *s = find_slot(m, req->key, h);
    if (!has_marker(s) || s->pos > m->npos)
        return;
    uint64_t p = s->pos - 1;
    __builtin_prefetch(&m->occ[p / 64]);
    if (m->tree[0].w) { /* the line of p and the next one toward the nearer block end */
        __builtin_prefetch(&m->tree[0].w[p]);
        __builtin_prefetch(&m->tree[0].w[p % BLK < BLK / 2 ? p / BLK * BLK : p | (BLK - 1)]);
    }
}

int sim_mrc_access_batch(sim_mrc *m, const struct sim_req *reqs, size_t n)
{
    uint64_t h[AHEAD]; /* h[i % AHEAD]: the hash of reqs[i]'s key, i < AHEAD ahead */
    for (size_t i = 0; i < n && i < AHEAD; i++)
        h[i] = sim_key_hash(reqs[i].key);
    for (size_t i = 0; i < n; i++) {
        uint64_t hi = h[i % AHEAD];
        if (i + AHEAD < n) {
            uint64_t ha = h[i % AHEAD] = sim_key_hash(reqs[i + AHEAD].key);
            if (!skipped(m, ha))
                __builtin_prefetch(&m->slots[home(m, ha)]);
        }
        size_t j = i + AHEAD / 4;
        if (j < n && !skipped(m, h[j % AHEAD]))
            fetch_marker(m, &reqs[j], h[j % AHEAD]);
        int rc = access_one(m, &reqs[i], hi, NULL);
        if (rc)
            return rc;
    }
    return 0;
}

/*=====   Results   =====*/


/* part/sampled applied to total; with sampling, SHARDS_adj's correction:
 * the difference between the expected number of sampled requests (or
 * bytes), rate * total, and the actual one is credited to the smallest
 * distances (a hit everywhere), which removes most of the error caused by a
 * few very popular keys falling in or out of the sample. */
static uint64_t estimate(const sim_mrc *m, uint64_t part, uint64_t sampled, uint64_t total)
{
    if (!m->sampling)
        return part;
    double expected = m->rate * (double)total;
    if (expected <= 0)
        return 0;
    double x = ((double)part + expected - (double)sampled) / expected;
    x = x < 0 ? 0 : x > 1 ? 1 : x;
    return (uint64_t)(x * (double)total + 0.5);
}

void sim_mrc_metrics(const sim_mrc *m, size_t i, struct sim_metrics *out)
{
    memset(out, 0, sizeof *out);
    size_t j = 0;
    while (j < m->k && m->user_index[j] != i)
        j++;
    uint64_t hits = m->hits_at[j], bytes_hit = m->bytes_at[j];
    for (size_t x = 0; x <= j && x < m->k; x++) {
        hits += m->hits_from[x];
        bytes_hit += m->bytes_from[x];
    }
    out->requests = m->requests;
    out->bytes = m->bytes;
    out->hits = estimate(m, hits, m->s_requests, m->requests);
    out->misses = out->requests - out->hits;
    out->bytes_missed = m->bytes - estimate(m, bytes_hit, m->s_bytes, m->bytes);
    out->seconds = m->seconds;
}

void sim_mrc_add_seconds(sim_mrc *m, double s) { m->seconds += s; }

static double ratio(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0; }

int sim_mrc_csv_row(FILE *f, const char *trace, const sim_mrc *m, size_t i,
                    const char *const *extra)
{
    struct sim_metrics x;
    char r1[40], r2[40], r3[40], r4[40], params[40] = "";
    sim_mrc_metrics(m, i, &x);
    if (m->sampling)
        sim__csv_real(params + 5, sizeof params - 5, m->rate), memcpy(params, "rate=", 5);
    sim_csv_quote(f, trace);
    fprintf(f, ",lru-mrc,%s", params);
    sim__csv_real(r1, sizeof r1, ratio(x.misses, x.requests));
    sim__csv_real(r2, sizeof r2, ratio(x.bytes_missed, x.bytes));
    sim__csv_real(r3, sizeof r3, x.seconds);
    sim__csv_real(r4, sizeof r4, x.seconds > 0 ? (double)(uint64_t)((double)x.requests / x.seconds + 0.5) : 0);
    size_t j = 0;
    while (j < m->k && m->user_index[j] != i)
        j++;
    fprintf(f, ",%llu,%s,%llu,%llu,%llu,%s,%llu,%llu,%s,,,%s,%s",
            (unsigned long long)(j < m->k ? m->caps[j] : 0), sim_unit_name(m->unit),
            (unsigned long long)x.requests, (unsigned long long)x.hits,
            (unsigned long long)x.misses, r1, (unsigned long long)x.bytes,
            (unsigned long long)x.bytes_missed, r2, r3, r4);
    for (size_t e = 0; extra && extra[e]; e++)
        fputc(',', f);
    return fputc('\n', f) == EOF ? SIM_EIO : 0;
}
