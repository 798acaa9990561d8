/*
 * check_classic_a.c - unit tests of the classic policies clock, lfu, arc,
 * twoq, lirs, random and size.
 *
 * Core: short traces whose hit/miss sequence is worked out by hand in the
 * comments (H = hit, M = miss), and comparisons with naive, independent
 * implementations of the definitions (ARC transcribed from the paper's
 * pseudo-code, LFU and SIZE by linear scans) on random traces.
 * Limits: random traces with sizes, deletes, TTLs and oversized objects,
 * every policy's invariant check after every request.
 * Errors: parameters out of range are refused with their name.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_policy.h"

#define ALL_FIELDS (SIM_F_KEY | SIM_F_SIZE | SIM_F_TIME | SIM_F_TTL | SIM_F_OP)

static sim_cache *mk(const char *spec, uint64_t cap, enum sim_unit unit, uint64_t seed)
{
    struct sim_cache_config cfg = {cap, unit, seed, ALL_FIELDS, NULL};
    char err[SIM_ERRLEN];
    sim_cache *c = sim_cache_create(spec, &cfg, err, sizeof err);
    ck_assert_msg(c != NULL, "%s: %s", spec, err);
    return c;
}

/* One request; checks the policy's invariants after it; returns hit. */
static int req(sim_cache *c, const struct sim_req *r)
{
    struct sim_outcome o;
    char err[SIM_ERRLEN];
    sim_cache_access(c, r, &o);
    int rc = sim_cache_check(c, err, sizeof err);
    ck_assert_msg(rc == 0, "%s after request %llu: %s", sim_cache_policy(c)->name,
                  (unsigned long long)r->index, err);
    return o.hit;
}

static int get(sim_cache *c, uint64_t key, uint64_t size, uint64_t index)
{
    struct sim_req r;
    memset(&r, 0, sizeof r);
    r.index = index;
    r.key = key;
    r.size = size;
    r.present = SIM_F_KEY | SIM_F_SIZE;
    return req(c, &r);
}

/* Runs `seq` (tokens: a letter, optionally followed by a size in bytes;
 * without sizes the cache counts objects; '-' and a letter deletes that
 * key) and compares the H/M string (deletes add nothing to it). */
static void run(const char *spec, uint64_t cap, const char *seq, const char *want)
{
    int sized = strpbrk(seq, "0123456789") != NULL;
    sim_cache *c = mk(spec, cap, sized ? SIM_UNIT_BYTES : SIM_UNIT_OBJECTS, 1);
    char got[256];
    size_t n = 0;
    for (const char *s = seq; *s;) {
        if (*s == ' ') {
            s++;
            continue;
        }
        if (*s == '-') {
            struct sim_req r;
            memset(&r, 0, sizeof r);
            r.index = n;
            r.key = (uint64_t)s[1];
            r.size = 1;
            r.op = SIM_OP_DELETE;
            r.present = ALL_FIELDS;
            req(c, &r);
            s += 2;
            continue;
        }
        uint64_t key = (uint64_t)*s++, size = 1;
        if (sized)
            size = strtoull(s, (char **)&s, 10);
        ck_assert(n + 1 < sizeof got);
        got[n] = get(c, key, size, n) ? 'H' : 'M';
        n++;
    }
    got[n] = 0;
    ck_assert_msg(strcmp(got, want) == 0, "%s cap %llu on '%s': got %s, want %s", spec,
                  (unsigned long long)cap, seq, got, want);
    sim_cache_free(c);
}

/*=====   CLOCK   =====*/

/* bits=2, capacity 2.  a enters with counter 0; four hits raise it to 1, 2,
 * 3 and 3 (saturated).  b enters (queue b a, a at the tail).
 *  c: a 3->2 goes round, b (0) is evicted          -> c a
 *  b: a 2->1 goes round, c evicted                  -> b a
 *  c: a 1->0 goes round, b evicted                  -> c a
 *  b: a (0) evicted                                 -> b c
 *  a: miss.  Without saturation (counter 4) a would still be cached. */
START_TEST(clock_counter_saturates)
{
    run("clock:bits=2", 2, "aaaaabcbcba", "MHHHHMMMMMM");
}
END_TEST

/* bits=1 (second chance), same trace: a's bit is 1 after its hits.
 *  c: a 1->0 goes round, b evicted -> c a;  b: a (0) evicted -> b c;
 *  c, b: hits (bits set);  a: c 1->0 and b 1->0 go round, c evicted. */
START_TEST(clock_second_chance)
{
    run("clock", 2, "aaaaabcbcba", "MHHHHMMMHHM");
}
END_TEST

/*=====   LFU   =====*/

/* Capacity 3.  a b c enter with frequency 1; hits on b, a, c raise each to
 * 2, in that order.  d: every object has frequency 2, the one that reached
 * it first (b) is evicted (libCacheSim's FIFO tie-break; evicting the most
 * recent, c, would keep b).  b: d has the lowest frequency (1) and goes.
 * a: hit (an LRU would have evicted a for b). */
START_TEST(lfu_ties_fifo)
{
    run("lfu", 3, "abcbacdba", "MMMHHHMMH");
}
END_TEST

/* Frequencies are forgotten on eviction.  Capacity 2: a and b reach 3
 * (a first).  c evicts a (tie at 3, a reached it first).  a returns with
 * frequency 1 and evicts c (1).  d evicts a (1 < 3): b hits.  Had a kept
 * its count (4), d would have evicted b. */
START_TEST(lfu_forgets_evicted)
{
    run("lfu", 2, "aaabbbcadb", "MHHMHHMMMH");
}
END_TEST

/*=====   ARC (objects: the paper)   =====*/

/* Capacity 2, p = 0 (T lists MRU first).
 *  a, b: T1 = b a.  c: |T1|+|B1| = 2 = c and |T1| = c: T1's LRU a is
 *  dropped without ghost; T1 = c b.  b: hit, T2 = b, T1 = c.
 *  a: case IV-B, REPLACE: |T1| = 1 > p: c -> B1; T1 = a.
 *  c: in B1, p = 1; REPLACE: |T1| = 1 = p, not a B2 hit: b -> B2; T2 = c.
 *  b: in B2, p = 0; REPLACE: |T1| > p: a -> B1; T2 = b c.
 *  a: in B1, p = 1; REPLACE: T1 empty: c -> B2; T2 = a b.
 *  c: in B2, p = 0; REPLACE: b -> B2; T2 = c a.  a: hit. */
START_TEST(arc_paper_trace)
{
    run("arc", 2, "abcbacbaca", "MMMHMMMMMH");
}
END_TEST

/* A direct transcription of Megiddo and Modha's pseudo-code (Fig. 4),
 * lists as arrays with the MRU first. */
struct ref_list { uint64_t k[1024]; int n; };
struct ref_arc { struct ref_list t1, t2, b1, b2; double p; int c; };

static int ref_find(const struct ref_list *l, uint64_t k)
{
    for (int i = 0; i < l->n; i++)
        if (l->k[i] == k)
            return i;
    return -1;
}
static void ref_del(struct ref_list *l, int i)
{
    memmove(&l->k[i], &l->k[i + 1], (size_t)(l->n - i - 1) * sizeof l->k[0]);
    l->n--;
}
static void ref_push(struct ref_list *l, uint64_t k)
{
    memmove(&l->k[1], &l->k[0], (size_t)l->n * sizeof l->k[0]);
    l->k[0] = k;
    l->n++;
}
static uint64_t ref_pop(struct ref_list *l)
{
    return l->k[--l->n];
}
static void ref_replace(struct ref_arc *a, int in_b2)
{
    if (a->t1.n >= 1 && ((in_b2 && a->t1.n == a->p) || a->t1.n > a->p))
        ref_push(&a->b1, ref_pop(&a->t1));
    else
        ref_push(&a->b2, ref_pop(&a->t2));
}
static int ref_arc_access(struct ref_arc *a, uint64_t x)
{
    int i;
    if ((i = ref_find(&a->t1, x)) >= 0 || (i = ref_find(&a->t2, x)) >= 0) { /* case I */
        if (ref_find(&a->t1, x) >= 0)
            ref_del(&a->t1, ref_find(&a->t1, x));
        else
            ref_del(&a->t2, i);
        ref_push(&a->t2, x);
        return 1;
    }
    if ((i = ref_find(&a->b1, x)) >= 0) { /* case II */
        double d = a->b1.n >= a->b2.n ? 1 : (double)a->b2.n / a->b1.n;
        a->p = a->p + d < a->c ? a->p + d : a->c;
        ref_replace(a, 0);
        ref_del(&a->b1, ref_find(&a->b1, x));
        ref_push(&a->t2, x);
        return 0;
    }
    if ((i = ref_find(&a->b2, x)) >= 0) { /* case III */
        double d = a->b2.n >= a->b1.n ? 1 : (double)a->b1.n / a->b2.n;
        a->p = a->p - d > 0 ? a->p - d : 0;
        ref_replace(a, 1);
        ref_del(&a->b2, ref_find(&a->b2, x));
        ref_push(&a->t2, x);
        return 0;
    }
    int l1 = a->t1.n + a->b1.n, all = l1 + a->t2.n + a->b2.n; /* case IV */
    if (l1 == a->c) {
        if (a->t1.n < a->c) {
            ref_pop(&a->b1);
            ref_replace(a, 0);
        } else {
            ref_pop(&a->t1);
        }
    } else if (all >= a->c) {
        if (all == 2 * a->c)
            ref_pop(&a->b2);
        ref_replace(a, 0);
    }
    ref_push(&a->t1, x);
    return 0;
}

/* Skewed random keys: a few hot ones and a cold tail, so that both T2 and
 * the ghost lists see traffic. */
static uint64_t skewed(struct sim_rng *g, uint64_t nkeys)
{
    uint64_t r = sim_rng_below(g, 4);
    return r == 0 ? sim_rng_below(g, nkeys) : sim_rng_below(g, 1 + nkeys / 8);
}

START_TEST(arc_equals_paper)
{
    static const int caps[] = {1, 2, 3, 5, 8, 13, 60};
    for (size_t ci = 0; ci < sizeof caps / sizeof caps[0]; ci++) {
        struct ref_arc *ref = calloc(1, sizeof *ref);
        ck_assert(ref != NULL);
        ref->c = caps[ci];
        sim_cache *c = mk("arc", (uint64_t)caps[ci], SIM_UNIT_OBJECTS, 1);
        struct sim_rng g;
        sim_rng_seed(&g, 7 + ci);
        for (uint64_t i = 0; i < 4000; i++) {
            uint64_t k = skewed(&g, 4 * (uint64_t)caps[ci] + 3);
            int want = ref_arc_access(ref, k);
            ck_assert_msg(get(c, k, 1, i) == want, "c=%d request %llu key %llu", caps[ci],
                          (unsigned long long)i, (unsigned long long)k);
        }
        sim_cache_free(c);
        free(ref);
    }
}
END_TEST

/*=====   LFU and SIZE against linear scans   =====*/

/* Naive caches: arrays of (key, size, a, b); the victim minimises (a, b)
 * for LFU (frequency, time it reached that frequency) and maximises size
 * then minimises b (insertion time) for SIZE. */
struct naive { uint64_t key[256], size[256], a[256], b[256]; int n; uint64_t used, cap; };

static int naive_find(const struct naive *c, uint64_t k)
{
    for (int i = 0; i < c->n; i++)
        if (c->key[i] == k)
            return i;
    return -1;
}

static int naive_victim(const struct naive *c, int lfu)
{
    int v = 0;
    for (int i = 1; i < c->n; i++) {
        int better = lfu ? (c->a[i] < c->a[v] || (c->a[i] == c->a[v] && c->b[i] < c->b[v]))
                         : (c->size[i] > c->size[v] ||
                            (c->size[i] == c->size[v] && c->b[i] < c->b[v]));
        if (better)
            v = i;
    }
    return v;
}

static int naive_access(struct naive *c, uint64_t k, uint64_t size, uint64_t t, int lfu)
{
    int i = naive_find(c, k);
    if (i >= 0) {
        c->a[i]++;
        if (lfu)
            c->b[i] = t;
        return 1;
    }
    if (size > c->cap)
        return 0;
    while (c->used + size > c->cap) {
        int v = naive_victim(c, lfu);
        c->used -= c->size[v];
        c->n--;
        c->key[v] = c->key[c->n], c->size[v] = c->size[c->n];
        c->a[v] = c->a[c->n], c->b[v] = c->b[c->n];
    }
    c->key[c->n] = k, c->size[c->n] = size, c->a[c->n] = 1, c->b[c->n] = t;
    c->n++;
    c->used += size;
    return 0;
}

static void naive_compare(const char *spec, int lfu)
{
    for (uint64_t cap = 10; cap <= 400; cap *= 3) {
        struct naive *ref = calloc(1, sizeof *ref);
        ck_assert(ref != NULL);
        ref->cap = cap;
        sim_cache *c = mk(spec, cap, SIM_UNIT_BYTES, 1);
        struct sim_rng g;
        sim_rng_seed(&g, cap);
        for (uint64_t i = 0; i < 3000; i++) {
            uint64_t k = skewed(&g, 120);
            uint64_t size = 1 + sim_key_hash(k) % 20; /* fixed per key */
            int want = naive_access(ref, k, size, i, lfu);
            ck_assert_msg(get(c, k, size, i) == want, "%s cap %llu request %llu", spec,
                          (unsigned long long)cap, (unsigned long long)i);
        }
        sim_cache_free(c);
        free(ref);
    }
}

START_TEST(lfu_equals_scan)
{
    naive_compare("lfu", 1);
}
END_TEST

START_TEST(size_equals_scan)
{
    naive_compare("size", 0);
}
END_TEST

/*=====   SIZE   =====*/

/* 10 bytes.  a5 b3 c2 fill it.  d4: the largest, a, goes (used 5 + 4).
 * b: hit.  a5: 9 + 5 > 10, the largest is d (4): used 5 + 5.
 * d4: 10 + 4 > 10, the largest is a: used 5 + 4. */
START_TEST(size_largest_first)
{
    run("size", 10, "a5 b3 c2 d4 b3 a5 d4", "MMMMHMM");
}
END_TEST

/* Equal sizes: the oldest insertion goes, whatever its hits (a). */
START_TEST(size_ties_oldest)
{
    run("size", 6, "a2 b2 c2 a2 d2 a2 b2", "MMMHMMM");
}
END_TEST

/*=====   2Q   =====*/

/* 4 objects: Kin = 1, Kout = 2, Am at most 3.  Lists newest first.
 *  1-7 a b a c a d b: A1in fills (d c b a; hits in A1in change nothing).
 *  8 e: A1in over Kin: a -> A1out.        9 a: A1out hit, b -> A1out, a -> Am.
 * 10 b: A1out hit, c -> A1out, b -> Am.  11 a: hit (Am a b).
 * 12 f: d -> A1out (d c).  13 g: e -> A1out, c dropped (Kout = 2).
 * 14 c: not remembered -> A1in; f -> A1out (f e).  15 d: likewise; g out.
 * 16 c: hit in A1in.  17 h: c -> A1out (c g).  18 f: A1in, d out (d c).
 * 19 g: A1in, h out (h d).  20 d: A1out hit: f -> A1out (f h), d -> Am.
 * 21 a: hit.  22 h: A1out hit; A1in (g) within Kin, so Am's LRU b goes.
 * 23 b: A1in; Am's LRU d goes.  24 d: A1in; g -> A1out.
 * 25 a, 26 h: hits in Am. */
START_TEST(twoq_trace)
{
    run("twoq", 4, "abacadbeabafgcdchfgdahbdah", "MMHMHMHMMMHMMMMHMMMMHMMMHH");
}
END_TEST

/* Am is capped at c - Kin even when the cache has room.  10 objects,
 * kin = 0.9: Kin = 9, Kout = 5, Am holds 1.  a..j fill A1in; k pushes a
 * to A1out; a (ghost hit) pushes b to A1out and enters Am.  After c is
 * deleted the cache holds 9: b (ghost hit) needs no room, but entering Am
 * evicts a, which counts as this request's eviction; then a misses. */
START_TEST(twoq_am_capped)
{
    sim_cache *c = mk("twoq:kin=0.9", 10, SIM_UNIT_OBJECTS, 1);
    const char *seq = "abcdefghijka";
    uint64_t i = 0;
    for (; seq[i]; i++)
        ck_assert(!get(c, (uint64_t)seq[i], 1, i));
    struct sim_req r;
    memset(&r, 0, sizeof r);
    r.index = i++;
    r.key = 'c';
    r.size = 1;
    r.op = SIM_OP_DELETE;
    r.present = ALL_FIELDS;
    req(c, &r);
    struct sim_outcome o;
    r.index = i++;
    r.key = 'b';
    r.op = SIM_OP_GET;
    sim_cache_access(c, &r, &o);
    ck_assert(!o.hit);
    ck_assert_uint_eq(o.evictions, 1);
    ck_assert(!get(c, 'a', 1, i++));
    ck_assert(get(c, 'k', 1, i++));
    sim_cache_free(c);
}
END_TEST

/* A delete forgets a key that is only a ghost.
 * ARC, 2 objects: a a b (T1 b, T2 a); c: REPLACE sends b to B1 (|T1| = 1
 * > p = 0).  -b empties B1, so b is a plain miss: REPLACE sends c to B1
 * and a stays; a hits.  (Remembered, b would hit B1, p = 1, and REPLACE
 * would take T2's a: a would miss.)
 * 2Q, 4 objects: after a b a c a d b e (the start of twoq_trace) a is in
 * A1out.  -a forgets it: a enters A1in (b -> A1out), f g h i push A1in's
 * oldest out in turn, a among them, and a's ghost makes the last a a miss.
 * (Remembered, a would enter Am and hit at the end.)
 * LIRS, 3 objects (2 LIR, Q of 1): a b LIR, c HIR, d evicts c (a ghost in
 * S).  -c forgets it: c is a new HIR block (d evicted), a hits as LIR, d (a
 * ghost) demotes the bottom LIR b, which evicts Q's c; a hits.
 * (Remembered, c would enter as LIR, demoting a; the second d would then
 * evict a from Q and the last a would miss.) */
START_TEST(delete_forgets_ghosts)
{
    run("arc", 2, "aabc -b b a", "MHMMMH");
    run("twoq", 4, "abacadbe -a afghia", "MMHMHMHMMMMMMM");
    run("lirs", 3, "abcd -c cada", "MMMMMHMH");
}
END_TEST

/* Objects larger than Kin are never cached (as libCacheSim): 100 bytes,
 * Kin = 25: a30 misses twice, b25 is cached. */
START_TEST(twoq_large_bypass)
{
    run("twoq", 100, "a30 a30 b25 b25", "MMMH");
}
END_TEST

/*=====   LIRS   =====*/

/* 3 objects: Q holds h = 1 (hir 0.01), the LIR set 2.  S newest first,
 * x' = non-resident.
 *  1 a, 2 b: LIR (S b a).  3 c: HIR (S c b a, Q c).
 *  4 d: Q's front c evicted, non-resident in S (S d c' b a, Q d).
 *  5 c: c' in S: d evicted (d'), bottom LIR a demoted to Q, c LIR:
 *       S c d' b, Q a.
 *  6 a: resident HIR not in S: pushed on S (S a c d' b), hit.
 *  7 d: d' in S: a evicted (a'), b demoted, pruned: S d a' c, Q b.
 *  8 b: hit, pushed on S.  9 a: a' in S: b evicted (b'), c demoted:
 *       S a b' d, Q c.  10 c: hit, S c a b' d.
 * 11 e: new: c evicted (c'): S e c' a b' d, Q e.
 * 12 d: LIR hit at the bottom: to the top, prune drops b': S d e c' a.
 * 13 b: not in S: e evicted (e'), b HIR: S b d e' c' a, Q b.
 * 14 e: e' in S: b evicted (b'), a demoted, pruned: S e b' d, Q a.
 * 15 a: hit. */
START_TEST(lirs_paper_trace)
{
    run("lirs", 3, "abcdcadbacedbea", "MMMMMHMHMHMHMMH");
}
END_TEST

/* A naive LIRS in object units, from the paper's description (section
 * 3.3) with our conventions: h = max(1, floor(0.01 c)) resident HIR
 * blocks, pruning stops at the top entry, and S is bounded to 2c entries
 * by dropping the blocks that became non-resident first.  Keys < 512;
 * S and Q are arrays, top/end first. */
struct ref_lirs {
    struct ref_list s, q; /* S top first; Q end (most recent) first */
    int c, h, nlir;
    uint8_t lir[512], res[512];
    uint64_t nres_at[512], clock;
};

/* Moves k to the front of l (adding it if absent). */
static void ref_front(struct ref_list *l, uint64_t k)
{
    int i = ref_find(l, k);
    if (i >= 0)
        ref_del(l, i);
    ref_push(l, k);
}
static void ref_prune(struct ref_lirs *r)
{
    while (r->s.n > 1 && !r->lir[r->s.k[r->s.n - 1]])
        r->s.n--;
}
/* Q's front leaves the cache (non-resident if still in S). */
static void ref_evict_front(struct ref_lirs *r)
{
    uint64_t v = ref_pop(&r->q);
    r->res[v] = 0;
    r->nres_at[v] = r->clock++;
}
/* The bottom LIR block of S becomes a resident HIR at the end of Q. */
static void ref_demote(struct ref_lirs *r)
{
    uint64_t b = ref_pop(&r->s);
    r->lir[b] = 0;
    r->nlir--;
    if (r->q.n >= r->h)
        ref_evict_front(r);
    ref_push(&r->q, b);
    ref_prune(r);
}
static void ref_make_lir(struct ref_lirs *r, uint64_t x)
{
    while (r->nlir + 1 > r->c - r->h && r->nlir > 0)
        ref_demote(r);
    r->lir[x] = r->res[x] = 1;
    r->nlir++;
    ref_front(&r->s, x);
    ref_prune(r);
}
static int ref_lirs_access(struct ref_lirs *r, uint64_t x)
{
    int hit = r->res[x], in_s = ref_find(&r->s, x) >= 0;
    if (hit && r->lir[x]) {
        ref_front(&r->s, x);
        ref_prune(r);
    } else if (hit && in_s) {
        ref_del(&r->q, ref_find(&r->q, x));
        ref_front(&r->s, x);
        ref_make_lir(r, x);
    } else if (hit) {
        ref_front(&r->q, x);
        ref_front(&r->s, x);
    } else if (in_s) {
        ref_del(&r->s, ref_find(&r->s, x));
        ref_make_lir(r, x);
    } else if (r->nlir + 1 <= r->c - r->h) {
        r->lir[x] = r->res[x] = 1;
        r->nlir++;
        ref_push(&r->s, x);
    } else {
        if (r->q.n >= r->h)
            ref_evict_front(r);
        r->res[x] = 1;
        ref_push(&r->s, x);
        ref_push(&r->q, x);
    }
    while (r->s.n > 2 * r->c) { /* drop the oldest non-resident in S */
        int v = -1;
        for (int i = 0; i < r->s.n; i++) {
            uint64_t k = r->s.k[i];
            if (!r->res[k] && (v < 0 || r->nres_at[k] < r->nres_at[r->s.k[v]]))
                v = i;
        }
        if (v < 0)
            break;
        ref_del(&r->s, v);
    }
    return hit;
}

START_TEST(lirs_equals_naive)
{
    static const int caps[] = {2, 3, 5, 8, 40, 200, 400};
    for (size_t ci = 0; ci < sizeof caps / sizeof caps[0]; ci++) {
        struct ref_lirs *ref = calloc(1, sizeof *ref);
        ck_assert(ref != NULL);
        ref->c = caps[ci];
        ref->h = caps[ci] / 100 > 1 ? caps[ci] / 100 : 1;
        sim_cache *c = mk("lirs", (uint64_t)caps[ci], SIM_UNIT_OBJECTS, 1);
        struct sim_rng g;
        sim_rng_seed(&g, 11 + ci);
        for (uint64_t i = 0; i < 4000; i++) {
            uint64_t k = skewed(&g, caps[ci] < 100 ? 4 * (uint64_t)caps[ci] + 3 : 500);
            int want = ref_lirs_access(ref, k);
            ck_assert_msg(get(c, k, 1, i) == want, "c=%d request %llu key %llu", caps[ci],
                          (unsigned long long)i, (unsigned long long)k);
        }
        sim_cache_free(c);
        free(ref);
    }
}
END_TEST

/* With hir = 0.1 of 100 bytes, Q holds 10: an 11-byte object is never
 * cached, a 10-byte one is (as libCacheSim). */
START_TEST(lirs_large_bypass)
{
    run("lirs:hir=0.1", 100, "a11 a11 b10 b10", "MMMH");
}
END_TEST

/*=====   Random   =====*/

/* One slot: every miss evicts the only object. Two slots: no eviction. */
START_TEST(random_small)
{
    run("random", 1, "abab", "MMMM");
    run("random", 2, "abab", "MMHH");
}
END_TEST

static void hits_of(const char *spec, uint64_t seed, char *out, size_t n)
{
    sim_cache *c = mk(spec, 20, SIM_UNIT_OBJECTS, seed);
    struct sim_rng g;
    sim_rng_seed(&g, 99);
    for (size_t i = 0; i + 1 < n; i++)
        out[i] = get(c, skewed(&g, 60), 1, i) ? 'H' : 'M';
    out[n - 1] = 0;
    sim_cache_free(c);
}

/* The same seed gives the same run; another seed a different one. */
START_TEST(random_seeded)
{
    static char a[2001], b[2001], d[2001];
    hits_of("random", 5, a, sizeof a);
    hits_of("random", 5, b, sizeof b);
    hits_of("random", 6, d, sizeof d);
    ck_assert_str_eq(a, b);
    ck_assert_str_ne(a, d);
}
END_TEST

/*=====   Limits: every policy under sizes, deletes, TTLs   =====*/

static const char *const specs[] = {
    "clock", "clock:bits=8", "lfu", "arc", "twoq", "twoq:kin=0.9,kout=0.1", "lirs",
    "lirs:lcs=1", "lirs:hir=0.5", "random", "size",
};

/* A random trace with sizes up to twice the cache, deletes and TTLs; each
 * request is checked (invariants), and hits + misses = gets. */
static void stress(const char *spec, enum sim_unit unit, uint64_t cap)
{
    sim_cache *c = mk(spec, cap, unit, 3);
    struct sim_rng g;
    sim_rng_seed(&g, cap);
    uint64_t gets = 0;
    for (uint64_t i = 0; i < 6000; i++) {
        struct sim_req r;
        memset(&r, 0, sizeof r);
        r.index = i;
        r.time = i * 100000; /* 10 requests a second */
        r.key = skewed(&g, 200);
        r.size = unit == SIM_UNIT_OBJECTS ? 1 : 1 + sim_key_hash(r.key) % (2 * cap);
        r.op = sim_rng_below(&g, 20) == 0 ? SIM_OP_DELETE : SIM_OP_GET;
        r.ttl = sim_rng_below(&g, 4) == 0 ? (uint32_t)(1 + sim_rng_below(&g, 30)) : 0;
        r.present = ALL_FIELDS;
        gets += r.op != SIM_OP_DELETE;
        req(c, &r);
    }
    struct sim_metrics m;
    sim_cache_metrics(c, &m);
    ck_assert_uint_eq(m.hits + m.misses, m.requests);
    ck_assert_uint_eq(m.requests, gets);
    sim_cache_free(c);
}

START_TEST(all_survive_bytes)
{
    stress(specs[_i], SIM_UNIT_BYTES, 50);
    stress(specs[_i], SIM_UNIT_BYTES, 1000);
}
END_TEST

START_TEST(all_survive_objects)
{
    stress(specs[_i], SIM_UNIT_OBJECTS, 1);
    stress(specs[_i], SIM_UNIT_OBJECTS, 7);
    stress(specs[_i], SIM_UNIT_OBJECTS, 64);
}
END_TEST

/*=====   Errors   =====*/

START_TEST(bad_params_refused)
{
    static const char *const bad[][2] = {
        {"clock:bits=0", "bits"}, {"clock:bits=9", "bits"}, {"twoq:kin=1.5", "kin"},
        {"twoq:kout=-1", "kout"}, {"lirs:hir=0.6", "hir"},  {"lirs:lcs=maybe", "lcs"},
        {"lfu:x=1", "x"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sim_cache_config cfg = {100, SIM_UNIT_OBJECTS, 1, ALL_FIELDS, NULL};
        char err[SIM_ERRLEN] = "";
        sim_cache *c = sim_cache_create(bad[i][0], &cfg, err, sizeof err);
        ck_assert_msg(c == NULL, "%s accepted", bad[i][0]);
        ck_assert_msg(strstr(err, bad[i][1]) != NULL, "%s: '%s'", bad[i][0], err);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("classic_a");
    TCase *core = tcase_create("Core");
    tcase_add_test(core, clock_counter_saturates);
    tcase_add_test(core, clock_second_chance);
    tcase_add_test(core, lfu_ties_fifo);
    tcase_add_test(core, lfu_forgets_evicted);
    tcase_add_test(core, arc_paper_trace);
    tcase_add_test(core, arc_equals_paper);
    tcase_add_test(core, lfu_equals_scan);
    tcase_add_test(core, size_equals_scan);
    tcase_add_test(core, size_largest_first);
    tcase_add_test(core, size_ties_oldest);
    tcase_add_test(core, twoq_trace);
    tcase_add_test(core, delete_forgets_ghosts);
    tcase_add_test(core, twoq_am_capped);
    tcase_add_test(core, twoq_large_bypass);
    tcase_add_test(core, lirs_paper_trace);
    tcase_add_test(core, lirs_equals_naive);
    tcase_add_test(core, lirs_large_bypass);
    tcase_add_test(core, random_small);
    tcase_add_test(core, random_seeded);
    suite_add_tcase(s, core);
    TCase *limits = tcase_create("Limits");
    int n = (int)(sizeof specs / sizeof specs[0]);
    tcase_add_loop_test(limits, all_survive_bytes, 0, n);
    tcase_add_loop_test(limits, all_survive_objects, 0, n);
    suite_add_tcase(s, limits);
    TCase *errors = tcase_create("Errors");
    tcase_add_test(errors, bad_params_refused);
    suite_add_tcase(s, errors);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
