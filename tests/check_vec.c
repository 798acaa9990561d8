/*
 * check_vec.c - the vector index (sim_vec): the dot kernel, exact flat
 * search, HNSW recall against flat search, deletion with slot reuse,
 * determinism, and argument errors.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_vec.h"
#include "vecgen.h"

#if defined(__SANITIZE_ADDRESS__)
#define RECALL_N 3000 /* sanitised builds are ~10x slower */
#else
#define RECALL_N 10000
#endif
#define RECALL_DIM 64
#define RECALL_Q 500

/*=====   helpers   =====*/

static sim_vec *make_index(enum sim_vec_kind kind, uint32_t dim, uint64_t seed)
{
    char err[SIM_ERRLEN];
    struct sim_vec_config cfg;
    sim_vec_config_init(&cfg, kind, dim);
    cfg.seed = seed;
    sim_vec *v = sim_vec_create(&cfg, err, sizeof err);
    ck_assert_msg(v != NULL, "%s", err);
    return v;
}

static void put(sim_vec *v, uint64_t id, const float *x)
{
    char err[SIM_ERRLEN];
    int rc = sim_vec_insert(v, id, x, sim_vec_dim(v), err, sizeof err);
    ck_assert_msg(rc == 0, "insert %llu: %s", (unsigned long long)id, err);
}

static int find(sim_vec *v, const float *q, size_t k, uint64_t *ids, float *sims)
{
    char err[SIM_ERRLEN];
    int n = sim_vec_search(v, q, sim_vec_dim(v), k, ids, sims, err, sizeof err);
    ck_assert_msg(n >= 0, "%s", err);
    return n;
}

static void check_ok(const sim_vec *v)
{
    char err[SIM_ERRLEN];
    ck_assert_msg(sim_vec_check(v, err, sizeof err) == 0, "%s", err);
}

/* Fraction of queries whose top-1 id is the same in a and b. */
static double recall_at_1(sim_vec *a, sim_vec *b, const float *q, size_t nq, uint32_t dim)
{
    size_t same = 0;
    for (size_t i = 0; i < nq; i++) {
        uint64_t ia, ib;
        float sa, sb;
        ck_assert_int_eq(find(a, q + i * dim, 1, &ia, &sa), 1);
        ck_assert_int_eq(find(b, q + i * dim, 1, &ib, &sb), 1);
        same += ia == ib;
    }
    return (double)same / (double)nq;
}

static float *random_vectors(size_t n, uint32_t dim, uint64_t seed)
{
    struct sim_rng g;
    sim_rng_seed(&g, seed);
    float *x = malloc(n * dim * sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (size_t i = 0; i < n * dim; i++)
        x[i] = (float)(sim_rng_unit(&g) * 2 - 1);
    return x;
}

static double naive_cos(const float *a, const float *b, uint32_t dim)
{
    double ab = 0, aa = 0, bb = 0;
    for (uint32_t i = 0; i < dim; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / sqrt(aa * bb);
}

/*=====   Core   =====*/

START_TEST(dot_matches_double_reference)
{
    float *x = random_vectors(2, 70, 3);
    for (uint32_t dim = 1; dim <= 70; dim++) {
        double ref = 0;
        for (uint32_t i = 0; i < dim; i++)
            ref += (double)x[i] * x[70 + i];
        ck_assert_double_eq_tol(sim_vec_dot(x, x + 70, dim), ref, 1e-5);
    }
    free(x);
}
END_TEST

START_TEST(flat_search_exact_on_hand_made_vectors)
{
    /* Stored (normalised): 10 = e1, 11 = e2, 12 = (e1+e2)/sqrt2, 13 = -e1.
     * Query 2*e1 normalises to e1; cosines: 10 -> 1, 12 -> 1/sqrt2 =
     * 0.7071068, 11 -> 0, 13 -> -1; so the order is 10, 12, 11, 13. */
    const float v[4][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {1, 1, 0, 0}, {-1, 0, 0, 0}};
    sim_vec *f = make_index(SIM_VEC_FLAT, 4, 0);
    for (int i = 0; i < 4; i++)
        put(f, 10 + (uint64_t)i, v[i]);
    const float q[4] = {2, 0, 0, 0};
    uint64_t ids[4];
    float s[4];
    ck_assert_int_eq(find(f, q, 4, ids, s), 4);
    const uint64_t want[4] = {10, 12, 11, 13};
    const double sims[4] = {1, 0.70710678, 0, -1};
    for (int i = 0; i < 4; i++) {
        ck_assert_uint_eq(ids[i], want[i]);
        ck_assert_double_eq_tol(s[i], sims[i], 1e-6);
    }
    /* k = 1 takes the dedicated path. */
    ck_assert_int_eq(find(f, q, 1, ids, s), 1);
    ck_assert_uint_eq(ids[0], 10);
    check_ok(f);
    sim_vec_free(f);
}
END_TEST

START_TEST(flat_matches_brute_force_after_deletes)
{
    enum { N = 500, D = 16, Q = 50, K = 5 };
    float *x = random_vectors(N, D, 11), *q = random_vectors(Q, D, 12);
    sim_vec *f = make_index(SIM_VEC_FLAT, D, 0);
    for (int i = 0; i < N; i++)
        put(f, (uint64_t)i, x + i * D);
    for (int i = 0; i < N; i += 3)
        ck_assert_int_eq(sim_vec_delete(f, (uint64_t)i), 0);
    check_ok(f);
    for (int j = 0; j < Q; j++) {
        /* Reference: the K best cosines among the survivors, in double. */
        double best[K];
        for (int t = 0; t < K; t++)
            best[t] = -2;
        for (int i = 0; i < N; i++) {
            if (i % 3 == 0)
                continue;
            double c = naive_cos(q + j * D, x + i * D, D);
            for (int t = 0; t < K; t++)
                if (c > best[t]) {
                    memmove(best + t + 1, best + t, (size_t)(K - 1 - t) * sizeof *best);
                    best[t] = c;
                    break;
                }
        }
        uint64_t ids[K];
        float s[K];
        ck_assert_int_eq(find(f, q + j * D, K, ids, s), K);
        for (int t = 0; t < K; t++) {
            ck_assert_msg(ids[t] % 3 != 0, "deleted id %llu returned",
                          (unsigned long long)ids[t]);
            ck_assert_double_eq_tol(s[t], best[t], 1e-5);
            ck_assert_double_eq_tol(naive_cos(q + j * D, x + ids[t] * D, D), s[t], 1e-5);
        }
    }
    sim_vec_free(f);
    free(x);
    free(q);
}
END_TEST

struct recall_fixture {
    float *x, *q;
    sim_vec *flat, *hnsw;
};

static void recall_build(struct recall_fixture *r)
{
    r->x = malloc((size_t)RECALL_N * RECALL_DIM * sizeof *r->x);
    r->q = malloc((size_t)RECALL_Q * RECALL_DIM * sizeof *r->q);
    ck_assert(r->x && r->q);
    vecgen_clustered(r->x, RECALL_N, RECALL_DIM, RECALL_N / 100, 1.0, 5, 6, NULL);
    vecgen_clustered(r->q, RECALL_Q, RECALL_DIM, RECALL_N / 100, 1.0, 5, 7, NULL);
    r->flat = make_index(SIM_VEC_FLAT, RECALL_DIM, 0);
    r->hnsw = make_index(SIM_VEC_HNSW, RECALL_DIM, 42);
    for (size_t i = 0; i < RECALL_N; i++) {
        put(r->flat, i, r->x + i * RECALL_DIM);
        put(r->hnsw, i, r->x + i * RECALL_DIM);
    }
}

static void recall_free(struct recall_fixture *r)
{
    sim_vec_free(r->flat);
    sim_vec_free(r->hnsw);
    free(r->x);
    free(r->q);
}

START_TEST(hnsw_recall_on_clustered_vectors_and_after_churn)
{
    struct recall_fixture r;
    recall_build(&r);
    check_ok(r.hnsw);
    double rec = recall_at_1(r.flat, r.hnsw, r.q, RECALL_Q, RECALL_DIM);
    ck_assert_msg(rec >= 0.98, "recall@1 %.4f < 0.98", rec);

    /* Delete half and insert them again under new ids: recall holds, the
     * freed slots are reused (no growth of slots or memory). */
    size_t slots = sim_vec_slots(r.hnsw), mem = sim_vec_memory(r.hnsw);
    for (size_t i = 0; i < RECALL_N; i += 2) {
        ck_assert_int_eq(sim_vec_delete(r.hnsw, i), 0);
        ck_assert_int_eq(sim_vec_delete(r.flat, i), 0);
    }
    ck_assert_uint_eq(sim_vec_size(r.hnsw), RECALL_N / 2);
    check_ok(r.hnsw);
    for (size_t i = 0; i < RECALL_N; i += 2) {
        put(r.hnsw, RECALL_N + i, r.x + i * RECALL_DIM);
        put(r.flat, RECALL_N + i, r.x + i * RECALL_DIM);
    }
    check_ok(r.hnsw);
    ck_assert_uint_eq(sim_vec_size(r.hnsw), RECALL_N);
    ck_assert_uint_le(sim_vec_slots(r.hnsw), slots + 1);
    ck_assert_uint_le(sim_vec_memory(r.hnsw), mem);
    rec = recall_at_1(r.flat, r.hnsw, r.q, RECALL_Q, RECALL_DIM);
    ck_assert_msg(rec >= 0.98, "recall@1 after churn %.4f < 0.98", rec);
    recall_free(&r);
}
END_TEST

START_TEST(hnsw_is_deterministic_for_a_seed)
{
    enum { N = 1500, D = 32, Q = 100, K = 3 };
    float *x = malloc(N * D * sizeof *x), *q = malloc(Q * D * sizeof *q);
    vecgen_clustered(x, N, D, 15, 1.0, 1, 2, NULL);
    vecgen_clustered(q, Q, D, 15, 1.0, 1, 3, NULL);
    sim_vec *a = make_index(SIM_VEC_HNSW, D, 9), *b = make_index(SIM_VEC_HNSW, D, 9);
    sim_vec_set_ef_search(a, 4); /* a small beam so that the graph matters */
    sim_vec_set_ef_search(b, 4);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < N; i++) {
            sim_vec *v = pass ? b : a;
            put(v, i, x + i * D);
            if (i % 4 == 3)
                ck_assert_int_eq(sim_vec_delete(v, i - 2), 0);
        }
    }
    ck_assert_uint_eq(sim_vec_slots(a), sim_vec_slots(b));
    for (size_t j = 0; j < Q; j++) {
        uint64_t ia[K], ib[K];
        float sa[K], sb[K];
        int na = find(a, q + j * D, K, ia, sa), nb = find(b, q + j * D, K, ib, sb);
        ck_assert_int_eq(na, nb);
        ck_assert(memcmp(ia, ib, (size_t)na * sizeof *ia) == 0);
        ck_assert(memcmp(sa, sb, (size_t)na * sizeof *sa) == 0);
    }
    sim_vec_free(a);
    sim_vec_free(b);
    free(x);
    free(q);
}
END_TEST

START_TEST(hnsw_equals_flat_on_a_tiny_index)
{
    /* 40 vectors < ef_search: the search sees the whole graph, so the
     * top-5 lists are exact and equal flat's. */
    enum { N = 40, D = 8, Q = 100, K = 5 };
    float *x = random_vectors(N, D, 21), *q = random_vectors(Q, D, 22);
    sim_vec *f = make_index(SIM_VEC_FLAT, D, 0), *h = make_index(SIM_VEC_HNSW, D, 1);
    for (int i = 0; i < N; i++) {
        put(f, (uint64_t)i, x + i * D);
        put(h, (uint64_t)i, x + i * D);
    }
    for (int j = 0; j < Q; j++) {
        uint64_t fi[K], hi[K];
        float fs[K], hs[K];
        ck_assert_int_eq(find(f, q + j * D, K, fi, fs), K);
        ck_assert_int_eq(find(h, q + j * D, K, hi, hs), K);
        ck_assert(memcmp(fi, hi, sizeof fi) == 0);
    }
    sim_vec_free(f);
    sim_vec_free(h);
    free(x);
    free(q);
}
END_TEST

/*=====   Limits   =====*/

START_TEST(empty_and_small_indexes)
{
    for (int kind = 0; kind < 2; kind++) {
        sim_vec *v = make_index((enum sim_vec_kind)kind, 1, 0);
        const float plus = 1, minus = -2, q = 3;
        uint64_t ids[4];
        float s[4];
        ck_assert_int_eq(find(v, &q, 4, ids, s), 0);
        ck_assert_int_eq(sim_vec_delete(v, 5), SIM_ENOTFOUND);
        put(v, 1, &plus);
        put(v, 2, &minus);
        /* In 1-d every vector normalises to +1 or -1. */
        ck_assert_int_eq(find(v, &q, 4, ids, s), 2);
        ck_assert_uint_eq(ids[0], 1);
        ck_assert_float_eq(s[0], 1.0f);
        ck_assert_uint_eq(ids[1], 2);
        ck_assert_float_eq(s[1], -1.0f);
        ck_assert_float_eq(sim_vec_get(v, 2)[0], -1.0f);
        /* Empty it completely, then use it again. */
        ck_assert_int_eq(sim_vec_delete(v, 1), 0);
        ck_assert_int_eq(sim_vec_delete(v, 2), 0);
        ck_assert_ptr_null(sim_vec_get(v, 2));
        ck_assert_int_eq(find(v, &q, 1, ids, s), 0);
        check_ok(v);
        put(v, 3, &minus);
        ck_assert_int_eq(find(v, &q, 1, ids, s), 1);
        ck_assert_uint_eq(ids[0], 3);
        ck_assert_uint_le(sim_vec_slots(v), 3);
        check_ok(v);
        sim_vec_free(v);
    }
}
END_TEST

START_TEST(hnsw_churn_keeps_slots_bounded)
{
    /* A cache-like pattern: a window of 200 live vectors over 3000 inserts. */
    enum { D = 16, W = 200, T = 3000 };
    float *x = random_vectors(T, D, 31);
    sim_vec *h = make_index(SIM_VEC_HNSW, D, 3);
    for (int i = 0; i < T; i++) {
        if (i >= W)
            ck_assert_int_eq(sim_vec_delete(h, (uint64_t)(i - W)), 0);
        put(h, (uint64_t)i, x + i * D);
    }
    check_ok(h);
    ck_assert_uint_eq(sim_vec_size(h), W);
    ck_assert_uint_le(sim_vec_slots(h), W + 1);
    sim_vec_free(h);
    free(x);
}
END_TEST

/*=====   Errors   =====*/

START_TEST(bad_vectors_are_refused)
{
    for (int kind = 0; kind < 2; kind++) {
        sim_vec *v = make_index((enum sim_vec_kind)kind, 3, 0);
        char err[SIM_ERRLEN];
        const float ok[3] = {1, 2, 3}, zero[3] = {0, 0, 0};
        float nan[3] = {1, NAN, 0}, inf[3] = {INFINITY, 0, 0};
        put(v, 1, ok);
        ck_assert_int_eq(sim_vec_insert(v, 2, ok, 4, err, sizeof err), SIM_EINVAL);
        ck_assert_msg(strstr(err, "dimension mismatch: got 4, index has 3"), "%s", err);
        ck_assert_int_eq(sim_vec_insert(v, 2, nan, 3, err, sizeof err), SIM_EINVAL);
        ck_assert_msg(strstr(err, "NaN"), "%s", err);
        ck_assert_int_eq(sim_vec_insert(v, 2, inf, 3, err, sizeof err), SIM_EINVAL);
        ck_assert_int_eq(sim_vec_insert(v, 2, zero, 3, err, sizeof err), SIM_EINVAL);
        ck_assert_int_eq(sim_vec_insert(v, 1, ok, 3, err, sizeof err), SIM_EINVAL);
        ck_assert_msg(strstr(err, "already stored"), "%s", err);
        uint64_t id;
        ck_assert_int_eq(sim_vec_search(v, ok, 2, 1, &id, NULL, err, sizeof err), SIM_EINVAL);
        ck_assert_msg(strstr(err, "dimension mismatch"), "%s", err);
        ck_assert_int_eq(sim_vec_search(v, nan, 3, 1, &id, NULL, err, sizeof err), SIM_EINVAL);
        ck_assert_uint_eq(sim_vec_size(v), 1); /* unchanged */
        check_ok(v);
        sim_vec_free(v);
    }
}
END_TEST

START_TEST(bad_configs_are_refused)
{
    char err[SIM_ERRLEN];
    struct sim_vec_config cfg;
    sim_vec_config_init(&cfg, SIM_VEC_HNSW, 0);
    ck_assert_ptr_null(sim_vec_create(&cfg, err, sizeof err));
    ck_assert_msg(strstr(err, "dim 0"), "%s", err);
    sim_vec_config_init(&cfg, SIM_VEC_HNSW, 8);
    cfg.M = 1;
    ck_assert_ptr_null(sim_vec_create(&cfg, err, sizeof err));
    ck_assert_msg(strstr(err, "M 1"), "%s", err);
    ck_assert_int_eq(sim_vec_kind_parse("hnsw"), SIM_VEC_HNSW);
    ck_assert_int_eq(sim_vec_kind_parse("FLAT"), SIM_VEC_FLAT);
    ck_assert_int_eq(sim_vec_kind_parse("ivf"), SIM_ENOTFOUND);
}
END_TEST

static Suite *vec_suite(void)
{
    Suite *s = suite_create("vec");
    TCase *core = tcase_create("Core"), *limits = tcase_create("Limits"),
          *errors = tcase_create("Errors");
    tcase_set_timeout(core, 300);
    tcase_add_test(core, dot_matches_double_reference);
    tcase_add_test(core, flat_search_exact_on_hand_made_vectors);
    tcase_add_test(core, flat_matches_brute_force_after_deletes);
    tcase_add_test(core, hnsw_recall_on_clustered_vectors_and_after_churn);
    tcase_add_test(core, hnsw_is_deterministic_for_a_seed);
    tcase_add_test(core, hnsw_equals_flat_on_a_tiny_index);
    tcase_add_test(limits, empty_and_small_indexes);
    tcase_add_test(limits, hnsw_churn_keeps_slots_bounded);
    tcase_add_test(errors, bad_vectors_are_refused);
    tcase_add_test(errors, bad_configs_are_refused);
    suite_add_tcase(s, core);
    suite_add_tcase(s, limits);
    suite_add_tcase(s, errors);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(vec_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
