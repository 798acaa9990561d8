/*
 * mrc.c - one-pass LRU miss-ratio curves (sim_mrc.h).
 *
 * HOW IT WORKS
 * Every tracked object has a marker at the position (a request counter) of
 * its last access.  A Fenwick tree over positions holds each marker's size,
 * so the sum over positions after p, total - prefix(p), is the amount of
 * distinct data touched since position p: the stack distance minus the
 * object's own size.  An access queries that sum, removes the object's
 * marker and appends a new one at the next position: three O(log P) walks.
 *
 * Positions only grow, so when they run out (P of them) the live markers are
 * renumbered 1..m in order and the trees rebuilt in O(P); P is then 2m or
 * more, so compaction costs O(1) amortised and memory stays O(objects).
 *
 * Byte capacities (see sim_mrc.h for the convention): objects larger than a
 * capacity C are not in C's cache and must not count in C's distances.
 * Sorted capacities C_0 < ... < C_{k-1} split objects into classes: class j
 * holds sizes in (C_{j-1}, C_j], class k the ones larger than every C.  Each
 * class has its own tree (allocated on first use), and the distance for C_j
 * sums classes 0..j.  In the usual case every object is in class 0 and one
 * query plus a binary search over the capacities settles all of them.
 *
 * Invariants: 1. owner[p] is the object whose marker is at p, or NONE;
 *             2. tree c sums exactly the sizes of class-c markers;
 *             3. total[c] is the sum of all of tree c.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sim_mrc.h"

#define NONE UINT32_MAX
#define MIN_POSITIONS (1u << 16)
#define HASH_BITS 24

struct mrc_obj {
    uint64_t key;       /* first: the keymap reads keys here */
    uint64_t size;      /* at its first request (since a delete) */
    uint32_t pos;       /* marker position, or NONE */
    uint16_t cls;       /* size class; k = larger than every capacity */
    uint8_t live;       /* 0 after a delete */
};

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
    struct mrc_obj *objs;
    uint32_t nobj, capobj;
    struct sim_keymap map;
    uint32_t *owner;
    uint64_t npos, now;     /* positions 1..npos; 1..now used */
    size_t ntrees;
    uint64_t **tree, *total;
    size_t trees_alive;
    uint64_t *used;         /* after a delete: bytes cached at each capacity */
    double seconds;
};

/*=====   Fenwick trees   =====*/

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
    m->owner = malloc((m->npos + 1) * sizeof *m->owner);
    if (!m->caps || !m->user_index || !m->hits_from || !m->bytes_from || !m->hits_at ||
        !m->bytes_at || !m->tree || !m->total || !m->owner)
        goto oom;
    for (size_t i = 0; i < k; i++)
        m->user_index[i] = i;
    sort_index(m->user_index, k, o->sizes);
    for (size_t i = 0; i < k; i++)
        m->caps[i] = o->sizes[m->user_index[i]];
    memset(m->owner, 0xff, (m->npos + 1) * sizeof *m->owner);
    if (sim_keymap_init(&m->map, 1024, (uint8_t *const *)&m->objs, sizeof(struct mrc_obj)))
        goto oom;
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
    for (size_t c = 0; m->tree && c < m->ntrees; c++)
        free(m->tree[c]);
    free(m->tree);
    free(m->total);
    free(m->caps);
    free(m->user_index);
    free(m->hits_from);
    free(m->bytes_from);
    free(m->hits_at);
    free(m->bytes_at);
    free(m->owner);
    free(m->used);
    if (m->map.slots)
        sim_keymap_free(&m->map);
    free(m->objs);
    free(m);
}

/*=====   Markers   =====*/

/* The first class whose capacity holds `size`; k if none does. */
static uint16_t size_class(const sim_mrc *m, uint64_t size)
{
    size_t lo = 0, hi = m->k;
    if (!m->k)
        return 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->caps[mid] >= size)
            hi = mid;
        else
            lo = mid + 1;
    }
    return (uint16_t)lo;
}

/* Renumbers the live markers 1..live and rebuilds the trees (see top). */
static int compact(sim_mrc *m)
{
    uint64_t live = 0;
    for (uint64_t p = 1; p <= m->now; p++)
        live += m->owner[p] != NONE;
    uint64_t n = 2 * live > MIN_POSITIONS ? 2 * live : MIN_POSITIONS;
    uint32_t *owner = malloc((n + 1) * sizeof *owner);
    if (!owner)
        return SIM_ENOMEM;
    memset(owner, 0xff, (n + 1) * sizeof *owner);
    for (size_t c = 0; c < m->ntrees; c++) {
        if (!m->tree[c])
            continue;
        uint64_t *t = realloc(m->tree[c], (n + 1) * sizeof *t);
        if (!t) {
            free(owner);
            return SIM_ENOMEM;
        }
        memset(t, 0, (n + 1) * sizeof *t);
        m->tree[c] = t;
    }
    uint64_t q = 0;
    for (uint64_t p = 1; p <= m->now; p++) {
        uint32_t id = m->owner[p];
        if (id == NONE)
            continue;
        owner[++q] = id;
        m->objs[id].pos = (uint32_t)q;
        m->tree[m->objs[id].cls][q] = m->objs[id].size;
    }
    for (size_t c = 0; c < m->ntrees; c++)
        if (m->tree[c])
            fw_build(m->tree[c], n);
    free(m->owner);
    m->owner = owner;
    m->npos = n;
    m->now = q;
    return 0;
}

/* Puts object id's marker at the next position. */
static int place(sim_mrc *m, uint32_t id)
{
    struct mrc_obj *o = &m->objs[id];
    if (o->cls >= m->ntrees) { /* larger than every cache: never stored */
        o->pos = NONE;
        return 0;
    }
    if (!m->tree[o->cls]) {
        m->tree[o->cls] = calloc(m->npos + 1, sizeof(uint64_t));
        if (!m->tree[o->cls])
            return SIM_ENOMEM;
        m->trees_alive++;
    }
    if (m->now == m->npos && compact(m))
        return SIM_ENOMEM;
    o = &m->objs[id];
    o->pos = (uint32_t)++m->now;
    m->owner[o->pos] = id;
    fw_add(m->tree[o->cls], m->npos, o->pos, o->size);
    m->total[o->cls] += o->size;
    return 0;
}

static void unplace(sim_mrc *m, struct mrc_obj *o)
{
    if (o->pos == NONE)
        return;
    fw_add(m->tree[o->cls], m->npos, o->pos, ~o->size + 1);
    m->total[o->cls] -= o->size;
    m->owner[o->pos] = NONE;
    o->pos = NONE;
}

static uint32_t new_object(sim_mrc *m, uint64_t key)
{
    if (m->nobj == m->capobj) {
        uint64_t n = m->capobj ? (uint64_t)m->capobj * 2 : 1024;
        if (n >= NONE)
            return NONE;
        struct mrc_obj *objs = realloc(m->objs, n * sizeof *objs);
        if (!objs)
            return NONE;
        m->objs = objs;
        m->capobj = (uint32_t)n;
    }
    uint32_t id = m->nobj;
    m->objs[id] = (struct mrc_obj){key, 0, NONE, 0, 0};
    if (sim_keymap_put(&m->map, key, id))
        return NONE;
    m->nobj++;
    return id;
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

/* Counts the hits of a request whose object o is at stack distance
 * own + (sum of the classes' distances); returns the unscaled distance. */
static uint64_t count_hits(sim_mrc *m, const struct mrc_obj *o, uint64_t bytes)
{
    if (m->trees_alive == 1 && o->cls == 0) { /* one class: binary search */
        uint64_t d = o->size + m->total[0] - fw_prefix(m->tree[0], o->pos);
        size_t lo = 0, hi = m->k;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (below(m, o->size, d, m->caps[mid]))
                hi = mid;
            else
                lo = mid + 1;
        }
        m->hits_from[lo]++;
        m->bytes_from[lo] += bytes;
        return d;
    }
    uint64_t d = o->size;
    for (size_t c = 0; c < m->ntrees; c++) {
        if (m->tree[c])
            d += m->total[c] - fw_prefix(m->tree[c], o->pos); /* positions are shared */
        if (c < m->k && c >= o->cls && below(m, o->size, d, m->caps[c])) {
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
static uint64_t kept_within(const sim_mrc *m, size_t j, uint64_t x)
{
    uint64_t tot = 0, acc = 0, pos = 0, step = 1, pre = 0;
    for (size_t c = 0; c <= j; c++)
        tot += m->total[c];
    if (tot <= x)
        return tot;
    /* The smallest position p with prefix(p) >= tot - x: the run is after p. */
    while (step * 2 <= m->npos)
        step *= 2;
    for (; step; step /= 2) {
        uint64_t nx = pos + step, s = 0;
        if (nx > m->npos)
            continue;
        for (size_t c = 0; c <= j; c++)
            s += m->tree[c] ? m->tree[c][nx] : 0;
        if (acc + s < tot - x) {
            pos = nx;
            acc += s;
        }
    }
    for (size_t c = 0; c <= j; c++)
        pre += m->tree[c] ? fw_prefix(m->tree[c], pos + 1) : 0;
    return tot - pre;
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

/* One request for o (cold: no marker) with tracking; returns the distance. */
static uint64_t tracked_access(sim_mrc *m, const struct mrc_obj *o, int cold, uint64_t bytes)
{
    uint64_t d = o->size;
    for (size_t j = 0; j < m->k; j++) {
        if (!cold && m->tree[j])
            d += m->total[j] - fw_prefix(m->tree[j], o->pos);
        if (j < o->cls)
            continue; /* too large for this cache */
        if (!cold && d <= m->used[j]) {
            m->hits_at[j]++;
            m->bytes_at[j] += bytes;
        } else if (m->used[j] + o->size <= m->caps[j])
            m->used[j] += o->size;
        else
            m->used[j] = o->size + kept_within(m, j, m->caps[j] - o->size);
    }
    return d;
}

static void tracked_delete(sim_mrc *m, const struct mrc_obj *o)
{
    uint64_t d = o->size;
    for (size_t j = 0; j < m->k; j++) {
        if (m->tree[j])
            d += m->total[j] - fw_prefix(m->tree[j], o->pos);
        if (j >= o->cls && d <= m->used[j])
            m->used[j] -= o->size;
    }
}

int sim_mrc_access(sim_mrc *m, const struct sim_req *req, uint64_t *distance)
{
    uint64_t size = m->unit == SIM_UNIT_OBJECTS ? 1 : req->size, d = 0;
    uint32_t id;
    if (distance)
        *distance = 0;
    if (req->op == SIM_OP_DELETE) {
        id = sim_keymap_get(&m->map, req->key);
        if (id != NONE && m->objs[id].live) {
            if (!m->sampling && m->k && !m->used && start_tracking(m))
                return SIM_ENOMEM;
            if (m->used && m->objs[id].pos != NONE)
                tracked_delete(m, &m->objs[id]);
            unplace(m, &m->objs[id]);
            m->objs[id].live = 0;
        }
        return 0;
    }
    m->requests++;
    m->bytes += req->size;
    if (m->sampling &&
        (sim_key_hash(req->key) & ((1u << HASH_BITS) - 1)) >= m->threshold)
        return 0;
    m->s_requests++;
    m->s_bytes += req->size;
    id = sim_keymap_get(&m->map, req->key);
    if (id == NONE && (id = new_object(m, req->key)) == NONE)
        return SIM_ENOMEM;
    struct mrc_obj *o = &m->objs[id];
    if (!o->live) { /* first access (or first since a delete): a miss everywhere */
        o->live = 1;
        o->size = size;
        o->cls = size_class(m, size);
        if (m->used && o->cls < m->k)
            tracked_access(m, o, 1, req->size);
        return place(m, id);
    }
    if (o->pos == NONE) /* larger than every cache */
        return 0;
    d = m->used ? tracked_access(m, o, 0, req->size) : count_hits(m, o, req->size);
    if (distance)
        *distance = d;
    unplace(m, o);
    return place(m, id);
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
