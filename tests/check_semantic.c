/*
 * check_semantic.c - the semantic and meancache policies: hand-computed
 * sequences of true hits (T), false hits (F), misses (M) and false misses
 * (X); threshold edges; eviction orders; TTL; token capacity; flat and HNSW
 * making identical decisions on a tiny index; context chains; errors.
 *
 * Vectors: E1..E4 are the unit axes of R^4 (cosine 0 between two of them,
 * 1 with itself); H = (1/2, 1/2, 1/2, 1/2) has unit length and cosine
 * exactly 1/2 with each axis (all of these are exact in float).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "vecgen.h"

static const float E1[4] = {1, 0, 0, 0}, E2[4] = {0, 1, 0, 0}, E3[4] = {0, 0, 1, 0},
                   E4[4] = {0, 0, 0, 1}, H[4] = {0.5f, 0.5f, 0.5f, 0.5f};

#define ALL_FIELDS (SIM_F_EMB | SIM_F_CLASS | SIM_F_CONTEXT | SIM_F_TIME | SIM_F_TTL | SIM_F_TOKENS)

/*=====   helpers   =====*/

static sim_cache *try_make(const char *spec, uint64_t cap, enum sim_unit unit, uint32_t fields,
                           char *err)
{
    struct sim_cache_config cfg = {cap, unit, 1, fields, NULL};
    return sim_cache_create(spec, &cfg, err, SIM_ERRLEN);
}

static sim_cache *make(const char *spec, uint64_t cap)
{
    char err[SIM_ERRLEN];
    sim_cache *c = try_make(spec, cap, SIM_UNIT_ENTRIES, ALL_FIELDS, err);
    ck_assert_msg(c != NULL, "%s: %s", spec, err);
    return c;
}

struct rq {
    const float *emb;
    uint64_t cls, ctx, time_s;
    uint32_t ttl, tokens, dim;
};

/* One request; returns T, F, M or X and checks the invariants. */
static char step(sim_cache *c, struct rq r, struct sim_outcome *out)
{
    struct sim_req q;
    memset(&q, 0, sizeof q);
    q.emb = r.emb;
    q.dim = r.dim ? r.dim : 4;
    q.cls = r.cls;
    q.context = r.ctx;
    q.time = r.time_s * 1000000;
    q.ttl = r.ttl;
    q.tokens_out = r.tokens;
    q.size = 1;
    q.present = ALL_FIELDS | SIM_F_KEY;
    struct sim_outcome o;
    sim_cache_access(c, &q, &o);
    if (out)
        *out = o;
    char err[SIM_ERRLEN];
    ck_assert_msg(sim_cache_check(c, err, sizeof err) == 0, "%s", err);
    return o.hit ? (o.false_hit ? 'F' : 'T') : (o.false_miss ? 'X' : 'M');
}

/* Runs the requests and checks the outcome pattern. */
static void expect(sim_cache *c, const struct rq *rs, size_t n, const char *want)
{
    char got[64];
    for (size_t i = 0; i < n; i++)
        got[i] = step(c, rs[i], NULL);
    got[n] = 0;
    ck_assert_str_eq(got, want);
}

static double column(const sim_cache *c, const char *name)
{
    const char *const *names = sim_cache_extra_names(c);
    double v[16];
    ck_assert_uint_le(sim_cache_extra_count(c), 16);
    sim_cache_extra_values(c, v);
    for (size_t i = 0; names[i]; i++)
        if (!strcmp(names[i], name))
            return v[i];
    ck_abort_msg("no column %s", name);
    return 0;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/*=====   Core   =====*/

START_TEST(true_hit_false_hit_false_miss)
{
    /* threshold 0.8, room for 10:
     * E1/c1: empty cache, M (inserted).  E1/c1: cosine 1 with the c1 entry,
     * same class, T.  E1/c2: cosine 1 with an entry of class 1, F (nothing
     * inserted).  E2/c1: best cosine 0 < 0.8, a miss while class 1 is
     * cached, X.  E3/c3: M, no class-3 entry. */
    const struct rq rs[] = {
        {.emb = E1, .cls = 1},
        {.emb = E1, .cls = 1},
        {.emb = E1, .cls = 2},
        {.emb = E2, .cls = 1},
        {.emb = E3, .cls = 3},
    };
    sim_cache *c = make("semantic", 10);
    expect(c, rs, N(rs), "MTFXM");
    /* precision = 1/(1+1), recall = 1/(1+1), f1 = 0.5, false-hit rate 1/5. */
    ck_assert_double_eq(column(c, "true_hits"), 1);
    ck_assert_double_eq(column(c, "false_hits"), 1);
    ck_assert_double_eq(column(c, "false_misses"), 1);
    ck_assert_double_eq_tol(column(c, "precision"), 0.5, 1e-12);
    ck_assert_double_eq_tol(column(c, "recall"), 0.5, 1e-12);
    ck_assert_double_eq_tol(column(c, "f1"), 0.5, 1e-12);
    ck_assert_double_eq_tol(column(c, "false_hit_rate"), 0.2, 1e-12);
    struct sim_metrics m;
    sim_cache_metrics(c, &m);
    ck_assert_uint_eq(m.hits, 2);
    ck_assert_uint_eq(m.misses, 3);
    ck_assert_uint_eq(m.false_hits, 1);
    ck_assert_uint_eq(m.false_misses, 1);
    /* Warm-up ends: the policy's own counters restart. */
    sim_cache_reset_metrics(c);
    ck_assert_double_eq(column(c, "true_hits"), 0);
    sim_cache_free(c);
}
END_TEST

START_TEST(threshold_edge_is_inclusive)
{
    /* cos(H, E1) = 1/2 exactly: a hit at threshold 0.5, a (false) miss just
     * above it; at threshold -1 everything cached matches. */
    const struct rq rs[] = {
        {.emb = E1, .cls = 1},
        {.emb = H, .cls = 1},
    };
    sim_cache *c = make("semantic:threshold=0.5", 10);
    expect(c, rs, N(rs), "MT");
    sim_cache_free(c);
    c = make("semantic:threshold=0.5000001", 10);
    expect(c, rs, N(rs), "MX");
    sim_cache_free(c);
    const struct rq any[] = {
        {.emb = E1, .cls = 1},
        {.emb = E2, .cls = 2},
    };
    c = make("semantic:threshold=-1", 10);
    expect(c, any, N(any), "MF");
    sim_cache_free(c);
}
END_TEST

START_TEST(eviction_orders)
{
    /* Room for 2 entries; requests E1 E2 E1 E3 E2 E3 (class = axis).
     * LRU:  A, B in; E1 hits A (A now recent); E3 evicts B (the least
     *       recent) -> {A, C}; E2 misses and evicts A -> {C, B'}; E3 hits.
     * FIFO: as LRU until E3, which evicts A (first in) -> {B, C}; E2 and
     *       E3 hit.
     * LFU:  A has 2 uses, B 1; E3 evicts B -> {A(2), C(1)}; E2 misses and
     *       evicts C, the least frequent -> {A, B'}; E3 misses. */
    const struct rq rs[] = {
        {.emb = E1, .cls = 1},
        {.emb = E2, .cls = 2},
        {.emb = E1, .cls = 1},
        {.emb = E3, .cls = 3},
        {.emb = E2, .cls = 2},
        {.emb = E3, .cls = 3},
    };
    const char *spec[] = {"semantic:eviction=lru", "semantic:eviction=fifo",
                          "semantic:eviction=lfu"};
    const char *want[] = {"MMTMMT", "MMTMTT", "MMTMMM"};
    const uint64_t evictions[] = {2, 1, 3};
    for (int i = 0; i < 3; i++) {
        sim_cache *c = make(spec[i], 2);
        expect(c, rs, N(rs), want[i]);
        struct sim_metrics m;
        sim_cache_metrics(c, &m);
        ck_assert_uint_eq(m.evictions, evictions[i]);
        sim_cache_free(c);
    }
}
END_TEST

START_TEST(ttl_expires_entries)
{
    /* E1 at t=0 with ttl 10 expires at second 10.  t=5: T.  t=10: expired
     * (removed, an expiration), then a plain miss (no class-1 entry left)
     * and re-inserted with expiry 20.  t=19: T. */
    const struct rq rs[] = {
        {.emb = E1, .cls = 1, .ttl = 10},
        {.emb = E1, .cls = 1, .time_s = 5, .ttl = 10},
        {.emb = E1, .cls = 1, .time_s = 10, .ttl = 10},
        {.emb = E1, .cls = 1, .time_s = 19, .ttl = 10},
    };
    sim_cache *c = make("semantic", 10);
    expect(c, rs, N(rs), "MTMT");
    struct sim_metrics m;
    sim_cache_metrics(c, &m);
    ck_assert_uint_eq(m.expirations, 1);
    sim_cache_free(c);
}
END_TEST

START_TEST(capacity_in_answer_tokens)
{
    /* 10 tokens: E1 (6 tokens) in; E2 (6) evicts E1; E1 misses again (and
     * evicts E2); E3 (11 tokens) is larger than the cache: never stored,
     * so it misses twice, plainly. */
    const struct rq rs[] = {
        {.emb = E1, .cls = 1, .tokens = 6},
        {.emb = E2, .cls = 2, .tokens = 6},
        {.emb = E1, .cls = 1, .tokens = 6},
        {.emb = E3, .cls = 3, .tokens = 11},
        {.emb = E3, .cls = 3, .tokens = 11},
        {.emb = E1, .cls = 1, .tokens = 6},
    };
    char err[SIM_ERRLEN];
    sim_cache *c = try_make("semantic", 10, SIM_UNIT_TOKENS, ALL_FIELDS, err);
    ck_assert_msg(c != NULL, "%s", err);
    expect(c, rs, N(rs), "MMMMMT");
    sim_cache_free(c);
}
END_TEST

START_TEST(flat_and_hnsw_decide_identically_on_a_tiny_index)
{
    /* 50 entries < ef_search = 64: HNSW searches are exact here, so every
     * decision (hit, false hit, false miss, evictions) must match flat's.
     * Each cluster holds two classes (by parity), so that near neighbours
     * are sometimes of another class: false hits happen too. */
    enum { N = 3000, D = 32, K = 40 };
    float *x = malloc(N * D * sizeof *x);
    uint32_t cls[N];
    vecgen_clustered(x, N, D, K, 0.6, 8, 9, cls);
    const char *policy[] = {"semantic", "meancache"};
    for (int p = 0; p < 2; p++) {
        char fs[128], hs[128];
        snprintf(fs, sizeof fs, "%s:threshold=0.75,index=flat,eviction=lfu", policy[p]);
        snprintf(hs, sizeof hs, "%s:threshold=0.75,index=hnsw,eviction=lfu", policy[p]);
        sim_cache *f = make(fs, 50), *h = make(hs, 50);
        unsigned kinds[4] = {0};
        for (size_t i = 0; i < N; i++) {
            struct rq r = {.emb = x + i * D, .cls = 2 * cls[i] + (i & 1), .ctx = i % 7,
                           .time_s = i, .dim = D};
            struct sim_outcome of, oh;
            char a = step(f, r, &of), b = step(h, r, &oh);
            ck_assert_msg(a == b && of.evictions == oh.evictions,
                          "%s request %zu: flat %c, hnsw %c", policy[p], i, a, b);
            kinds[a == 'T' ? 0 : a == 'F' ? 1 : a == 'M' ? 2 : 3]++;
        }
        /* The sequence exercises every outcome. */
        for (int k = 0; k < 4; k++)
            ck_assert_msg(kinds[k] > 0, "%s: outcome %d never happened", policy[p], k);
        sim_cache_free(f);
        sim_cache_free(h);
    }
    free(x);
}
END_TEST

START_TEST(meancache_matches_contexts)
{
    /* Conversations 1 (E1 then the follow-up E4) and 2 (E2 then E4, which
     * means something else there: class 20, not 10).
     * semantic:  M M M, then E4 in conversation 2 hits conversation 1's E4
     *   (cosine 1, class 10 != 20): F; conversation 3 opens with E4: F
     *   again; conversation 4 opens with E1: T; its follow-up E4 has the
     *   context E1, like conversation 1's: T.
     * meancache: conversation 2's E4 has context E2, the cached E4's is E1
     *   (cosine 0 < 0.7): M, inserted with context E2.  Conversation 3's
     *   first turn E4 matches no first-turn entry: M.  Conversation 4: E1
     *   matches the first-turn E1: T; its E4 (context E1) is tried against
     *   the three E4 entries (candidates=4) and matches conversation 1's: T. */
    const struct rq rs[] = {
        {.emb = E1, .cls = 1, .ctx = 1},
        {.emb = E4, .cls = 10, .ctx = 1},
        {.emb = E2, .cls = 2, .ctx = 2},
        {.emb = E4, .cls = 20, .ctx = 2},
        {.emb = E4, .cls = 30, .ctx = 3},
        {.emb = E1, .cls = 1, .ctx = 4},
        {.emb = E4, .cls = 10, .ctx = 4},
    };
    sim_cache *c = make("semantic", 10);
    expect(c, rs, N(rs), "MMMFFTT");
    sim_cache_free(c);
    c = make("meancache:candidates=4", 10);
    expect(c, rs, N(rs), "MMMMMTT");
    ck_assert_double_eq(column(c, "false_hits"), 0);
    sim_cache_free(c);
}
END_TEST

/*=====   Limits   =====*/

START_TEST(unusable_embeddings_are_rejected_misses)
{
    /* The index takes the first embedding's dimension (4); a 3-d one and a
     * NaN one are misses that are not inserted, counted in `rejected`. */
    const float nan4[4] = {1, NAN, 0, 0};
    sim_cache *c = make("semantic", 10);
    ck_assert_int_eq(step(c, (struct rq){.emb = E1, .cls = 1}, NULL), 'M');
    ck_assert_int_eq(step(c, (struct rq){.emb = E1, .cls = 1, .dim = 3}, NULL), 'X');
    ck_assert_int_eq(step(c, (struct rq){.emb = nan4, .cls = 1}, NULL), 'X');
    ck_assert_double_eq(column(c, "rejected"), 2);
    ck_assert_int_eq(step(c, (struct rq){.emb = E1, .cls = 1}, NULL), 'T');
    sim_cache_free(c);
}
END_TEST

/*=====   Errors   =====*/

START_TEST(bad_parameters_and_missing_fields)
{
    char err[SIM_ERRLEN];
    ck_assert_ptr_null(try_make("semantic:threshold=1.5", 10, SIM_UNIT_ENTRIES, ALL_FIELDS, err));
    ck_assert_msg(strstr(err, "threshold"), "%s", err);
    ck_assert_ptr_null(try_make("semantic:threshold=-1.01", 10, SIM_UNIT_ENTRIES, ALL_FIELDS, err));
    ck_assert_msg(strstr(err, "threshold"), "%s", err);
    ck_assert_ptr_null(try_make("meancache:context_threshold=2", 10, SIM_UNIT_ENTRIES,
                                ALL_FIELDS, err));
    ck_assert_msg(strstr(err, "context_threshold"), "%s", err);
    ck_assert_ptr_null(try_make("semantic:eviction=mru", 10, SIM_UNIT_ENTRIES, ALL_FIELDS, err));
    ck_assert_msg(strstr(err, "eviction"), "%s", err);
    ck_assert_ptr_null(try_make("semantic:index=ivf", 10, SIM_UNIT_ENTRIES, ALL_FIELDS, err));
    ck_assert_msg(strstr(err, "index"), "%s", err);
    ck_assert_ptr_null(try_make("semantic", 10, SIM_UNIT_ENTRIES, SIM_F_CLASS, err));
    ck_assert_msg(strstr(err, "'emb'"), "%s", err);
    ck_assert_ptr_null(try_make("meancache", 10, SIM_UNIT_ENTRIES, SIM_F_EMB | SIM_F_CLASS, err));
    ck_assert_msg(strstr(err, "'context'"), "%s", err);
}
END_TEST

static Suite *semantic_suite(void)
{
    Suite *s = suite_create("semantic");
    TCase *core = tcase_create("Core"), *limits = tcase_create("Limits"),
          *errors = tcase_create("Errors");
    tcase_set_timeout(core, 120);
    tcase_add_test(core, true_hit_false_hit_false_miss);
    tcase_add_test(core, threshold_edge_is_inclusive);
    tcase_add_test(core, eviction_orders);
    tcase_add_test(core, ttl_expires_entries);
    tcase_add_test(core, capacity_in_answer_tokens);
    tcase_add_test(core, flat_and_hnsw_decide_identically_on_a_tiny_index);
    tcase_add_test(core, meancache_matches_contexts);
    tcase_add_test(limits, unusable_embeddings_are_rejected_misses);
    tcase_add_test(errors, bad_parameters_and_missing_fields);
    suite_add_tcase(s, core);
    suite_add_tcase(s, limits);
    suite_add_tcase(s, errors);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(semantic_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
