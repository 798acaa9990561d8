/*
 * check_mrc.c - one-pass miss-ratio curves: the exact curve equals simulated
 * LRU (sim_cache "lru") at every capacity on generated traces, in objects and
 * in bytes; stack distances equal a naive recency-list computation; a small
 * hand-worked sequence; SHARDS close to exact; argument errors.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "sim_gen.h"
#include "sim_mrc.h"

/*=====   helpers   =====*/

static struct sim_req req_of(uint64_t key, uint64_t size, uint8_t op)
{
    struct sim_req q;
    memset(&q, 0, sizeof q);
    q.key = key;
    q.size = size;
    q.op = op;
    q.next_access = -1;
    q.present = SIM_F_KEY | SIM_F_SIZE | SIM_F_OP;
    return q;
}

static sim_mrc *make_mrc(enum sim_unit unit, double rate, const uint64_t *sizes, size_t n)
{
    char err[SIM_ERRLEN];
    struct sim_mrc_opts o = {unit, rate, sizes, n};
    sim_mrc *m = sim_mrc_create(&o, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    return m;
}

/* Generates `n` requests of pattern/sizes; with del_every > 0 every
 * del_every-th request becomes a delete of its key. */
static struct sim_req *gen_trace(const char *pattern, const char *sizes, uint64_t n,
                                 uint64_t del_every, int unit_sizes)
{
    char err[SIM_ERRLEN];
    const char *pats[] = {pattern};
    struct sim_gen_config cfg = {11, n, pats, 1, sizes, NULL, NULL, NULL};
    sim_gen *g = sim_gen_create(&cfg, err, sizeof err);
    ck_assert_msg(g != NULL, "%s", err);
    struct sim_req *t = malloc(n * sizeof *t);
    ck_assert_ptr_nonnull(t);
    for (uint64_t i = 0; i < n; i++) {
        ck_assert_int_eq(sim_gen_next(g, &t[i]), 1);
        if (del_every && i % del_every == del_every - 1)
            t[i].op = SIM_OP_DELETE;
        if (unit_sizes)
            t[i].size = 1;
    }
    sim_gen_free(g);
    return t;
}

/* Runs the trace through the MRC and through one LRU per capacity, and
 * checks hits, misses and bytes missed agree at every capacity. */
static void check_against_lru(const struct sim_req *t, uint64_t n, enum sim_unit unit,
                              const uint64_t *caps, size_t k, const char *what)
{
    sim_mrc *m = make_mrc(unit, 1, caps, k);
    sim_cache **c = calloc(k, sizeof *c);
    for (size_t j = 0; j < k; j++) {
        char err[SIM_ERRLEN];
        struct sim_cache_config cfg = {caps[j], unit, 1, SIM_F_KEY | SIM_F_SIZE | SIM_F_OP, NULL};
        c[j] = sim_cache_create("lru", &cfg, err, sizeof err);
        ck_assert_msg(c[j] != NULL, "%s", err);
    }
    for (uint64_t i = 0; i < n; i++) {
        ck_assert_int_eq(sim_mrc_access(m, &t[i], NULL), 0);
        for (size_t j = 0; j < k; j++)
            sim_cache_access(c[j], &t[i], NULL);
    }
    for (size_t j = 0; j < k; j++) {
        struct sim_metrics a, b;
        sim_mrc_metrics(m, j, &a);
        sim_cache_metrics(c[j], &b);
        ck_assert_msg(a.requests == b.requests && a.hits == b.hits &&
                          a.bytes_missed == b.bytes_missed,
                      "%s: capacity %llu: mrc %llu/%llu hits, lru %llu/%llu", what,
                      (unsigned long long)caps[j], (unsigned long long)a.hits,
                      (unsigned long long)a.requests, (unsigned long long)b.hits,
                      (unsigned long long)b.requests);
        sim_cache_free(c[j]);
    }
    free(c);
    sim_mrc_free(m);
}

/*=====   tests   =====*/

/*
 * a b c a b d a, objects.  Distances (distinct keys since the previous
 * access, itself included): a, b, c cold; a: {b, c, a} = 3; b: {c, a, b} = 3;
 * d cold; a: {b, d, a} = 3.  So capacity 2 has 0 hits, capacity 3 has 3.
 */
START_TEST(hand_worked_sequence)
{
    const uint64_t caps[] = {3, 2};
    sim_mrc *m = make_mrc(SIM_UNIT_OBJECTS, 1, caps, 2);
    const char *keys = "abcabda";
    const uint64_t want[] = {0, 0, 0, 3, 3, 0, 3};
    for (int i = 0; keys[i]; i++) {
        struct sim_req q = req_of((uint64_t)keys[i], 100, SIM_OP_GET);
        uint64_t d;
        ck_assert_int_eq(sim_mrc_access(m, &q, &d), 0);
        ck_assert_uint_eq(d, want[i]);
    }
    struct sim_metrics x;
    sim_mrc_metrics(m, 0, &x);
    ck_assert_uint_eq(x.requests, 7);
    ck_assert_uint_eq(x.hits, 3);
    ck_assert_uint_eq(x.bytes_missed, 400);
    sim_mrc_metrics(m, 1, &x);
    ck_assert_uint_eq(x.hits, 0);
    sim_mrc_free(m);
}
END_TEST

/* Distances against a naive recency list (move-to-front array), in objects
 * and in bytes (first sizes), over enough requests to force compactions. */
START_TEST(distances_match_naive_stack)
{
    enum { N = 150000, KEYS = 3000 };
    struct sim_req *t = gen_trace("zipf:n=3000,alpha=0.8", "lognormal:mu=5,sigma=1", N, 0, 0);
    sim_mrc *mo = make_mrc(SIM_UNIT_OBJECTS, 1, NULL, 0);
    sim_mrc *mb = make_mrc(SIM_UNIT_BYTES, 1, NULL, 0);
    uint64_t *stack = malloc(KEYS * sizeof *stack), *ssize = malloc(KEYS * sizeof *ssize);
    size_t depth = 0;
    for (uint64_t i = 0; i < N; i++) {
        uint64_t dobj = 0, dbyte = 0, sum = 0, got_o, got_b;
        size_t at = depth;
        for (size_t s = 0; s < depth; s++) {
            sum += ssize[s];
            if (stack[s] == t[i].key) {
                at = s;
                dobj = s + 1;
                dbyte = sum;
                break;
            }
        }
        uint64_t sz = at < depth ? ssize[at] : t[i].size;
        if (at == depth)
            depth++;
        memmove(stack + 1, stack, at * sizeof *stack);
        memmove(ssize + 1, ssize, at * sizeof *ssize);
        stack[0] = t[i].key;
        ssize[0] = sz;
        ck_assert_int_eq(sim_mrc_access(mo, &t[i], &got_o), 0);
        ck_assert_int_eq(sim_mrc_access(mb, &t[i], &got_b), 0);
        ck_assert_msg(got_o == dobj && got_b == dbyte, "request %llu: %llu/%llu vs %llu/%llu",
                      (unsigned long long)i, (unsigned long long)got_o,
                      (unsigned long long)got_b, (unsigned long long)dobj,
                      (unsigned long long)dbyte);
    }
    free(stack);
    free(ssize);
    free(t);
    sim_mrc_free(mo);
    sim_mrc_free(mb);
}
END_TEST

static const uint64_t obj_caps[] = {1, 2, 3, 5, 10, 50, 100, 333, 1000, 2500, 5000, 20000};

START_TEST(exact_equals_lru_objects)
{
    static const char *const pats[] = {"zipf:n=5000,alpha=0.9", "zipf:n=20000,alpha=0.6",
                                       "loop:n=700", "bursts:n=3000,period=1000,burst=300"};
    struct sim_req *t = gen_trace(pats[_i], NULL, 100000, 0, 1);
    check_against_lru(t, 100000, SIM_UNIT_OBJECTS, obj_caps, 12, pats[_i]);
    free(t);
}
END_TEST

/* Byte capacities, with sizes spread wide enough that some objects are
 * larger than the small caches (the case that is not a stack algorithm). */
static const uint64_t byte_caps[] = {500,    4000,    4096,    20000,   100000,
                                     1 << 20, 3 << 20, 10 << 20, 50 << 20};

START_TEST(exact_equals_lru_bytes)
{
    static const char *const pats[] = {"zipf:n=5000,alpha=0.9", "zipf:n=20000,alpha=1.2",
                                       "mixed:n=3000,large_n=20,large_share=0.1,small=900,"
                                       "large=2000000",
                                       "loop:n=500"};
    static const char *const sizes[] = {"lognormal:mu=8,sigma=2", "pareto:xm=100,shape=0.9",
                                        NULL, "bimodal:small=1000,large=300000,p=0.2"};
    struct sim_req *t = gen_trace(pats[_i], sizes[_i], 100000, 0, 0);
    check_against_lru(t, 100000, SIM_UNIT_BYTES, byte_caps, 9, pats[_i]);
    free(t);
}
END_TEST

/* 140000 requests: the tracker's positions (at least 65536) run out twice,
 * so compactions happen while deletes are tracked. */
START_TEST(exact_equals_lru_with_deletes)
{
    enum { N = 140000 };
    struct sim_req *t = gen_trace("zipf:n=2000,alpha=0.8", "lognormal:mu=7,sigma=1", N, 7, 0);
    check_against_lru(t, N, SIM_UNIT_BYTES, byte_caps, 9, "deletes, bytes");
    for (uint64_t i = 0; i < N; i++)
        t[i].size = 1;
    check_against_lru(t, N, SIM_UNIT_OBJECTS, obj_caps, 12, "deletes, objects");
    free(t);
}
END_TEST

/* SHARDS at R = 0.1 on 300k Zipf requests: within 0.02 of exact at
 * capacities where the sample holds 100 objects or more (C * R >= 100;
 * below that a handful of sampled keys decide the estimate).  The
 * 10-million-request, R = 0.01 check is in tests/bench_mrc.c. */
START_TEST(shards_close_to_exact)
{
    const uint64_t caps[] = {1000, 3000, 5000, 20000};
    struct sim_req *t = gen_trace("zipf:n=100000,alpha=0.8", NULL, 300000, 0, 1);
    sim_mrc *ex = make_mrc(SIM_UNIT_OBJECTS, 1, caps, 4);
    sim_mrc *sh = make_mrc(SIM_UNIT_OBJECTS, 0.1, caps, 4);
    for (uint64_t i = 0; i < 300000; i++) {
        ck_assert_int_eq(sim_mrc_access(ex, &t[i], NULL), 0);
        ck_assert_int_eq(sim_mrc_access(sh, &t[i], NULL), 0);
    }
    for (size_t j = 0; j < 4; j++) {
        struct sim_metrics a, b;
        sim_mrc_metrics(ex, j, &a);
        sim_mrc_metrics(sh, j, &b);
        ck_assert_uint_eq(b.requests, 300000);
        double ea = (double)a.misses / a.requests, eb = (double)b.misses / b.requests;
        ck_assert_msg(fabs(ea - eb) < 0.02, "capacity %llu: exact %g, shards %g",
                      (unsigned long long)caps[j], ea, eb);
    }
    free(t);
    sim_mrc_free(ex);
    sim_mrc_free(sh);
}
END_TEST

/* The batch entry point gives the same curve as request-by-request calls. */
START_TEST(batch_equals_single)
{
    struct sim_req *t = gen_trace("zipf:n=30000,alpha=0.7", "lognormal:mu=8,sigma=1", 100000, 0,
                                  0);
    for (int unit = 0; unit < 2; unit++) {
        enum sim_unit u = unit ? SIM_UNIT_OBJECTS : SIM_UNIT_BYTES;
        const uint64_t *caps = unit ? obj_caps : byte_caps;
        size_t k = unit ? 12 : 9;
        sim_mrc *a = make_mrc(u, 1, caps, k), *b = make_mrc(u, 1, caps, k);
        for (uint64_t i = 0; i < 100000; i++)
            ck_assert_int_eq(sim_mrc_access(a, &t[i], NULL), 0);
        for (uint64_t i = 0; i < 100000; i += 1000)
            ck_assert_int_eq(sim_mrc_access_batch(b, t + i, 1000), 0);
        for (size_t j = 0; j < k; j++) {
            struct sim_metrics x, y;
            sim_mrc_metrics(a, j, &x);
            sim_mrc_metrics(b, j, &y);
            ck_assert_uint_eq(x.hits, y.hits);
            ck_assert_uint_eq(x.bytes_missed, y.bytes_missed);
        }
        sim_mrc_free(a);
        sim_mrc_free(b);
    }
    free(t);
}
END_TEST

START_TEST(oversized_object_always_misses)
{
    /* Capacity 100 bytes: key 1 of 150 bytes never fits; key 2 (50) hits
     * after the first access even though key 1 came in between. */
    const uint64_t caps[] = {100};
    sim_mrc *m = make_mrc(SIM_UNIT_BYTES, 1, caps, 1);
    struct sim_req a = req_of(1, 150, SIM_OP_GET), b = req_of(2, 50, SIM_OP_GET);
    const struct sim_req *seq[] = {&b, &a, &b, &a, &b};
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(sim_mrc_access(m, seq[i], NULL), 0);
    struct sim_metrics x;
    sim_mrc_metrics(m, 0, &x);
    ck_assert_uint_eq(x.hits, 2);
    ck_assert_uint_eq(x.bytes_missed, 50 + 150 + 150);
    sim_mrc_free(m);
}
END_TEST

START_TEST(csv_row_shape)
{
    const uint64_t caps[] = {2};
    sim_mrc *m = make_mrc(SIM_UNIT_OBJECTS, 1, caps, 1);
    struct sim_req q = req_of(1, 1, SIM_OP_GET);
    sim_mrc_access(m, &q, NULL);
    sim_mrc_access(m, &q, NULL);
    char buf[512] = "";
    FILE *f = fmemopen(buf, sizeof buf, "w");
    const char *extra[] = {"x", NULL};
    ck_assert_int_eq(sim_mrc_csv_row(f, "t.csv", m, 0, extra), 0);
    fclose(f);
    /* 2 requests, 1 hit, 1 miss, ratio 0.5, 2 bytes, 1 missed. */
    ck_assert_str_eq(buf, "t.csv,lru-mrc,,2,objects,2,1,1,0.5,2,1,0.5,,,0,0,\n");
    sim_mrc_free(m);
}
END_TEST

START_TEST(bad_options)
{
    char err[SIM_ERRLEN];
    const uint64_t zero[] = {0}, one[] = {1};
    struct sim_mrc_opts o = {SIM_UNIT_OBJECTS, 1, zero, 1};
    ck_assert_ptr_null(sim_mrc_create(&o, err, sizeof err));
    o.sizes = one;
    o.rate = 1.5;
    ck_assert_ptr_null(sim_mrc_create(&o, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "rate"));
    o.rate = 1;
    o.unit = SIM_UNIT_TOKENS;
    ck_assert_ptr_null(sim_mrc_create(&o, err, sizeof err));
    sim_mrc_free(NULL);
}
END_TEST

static Suite *mrc_suite(void)
{
    Suite *s = suite_create("mrc");
    TCase *core = tcase_create("Core");
    tcase_set_timeout(core, 120);
    tcase_add_test(core, hand_worked_sequence);
    tcase_add_test(core, distances_match_naive_stack);
    tcase_add_loop_test(core, exact_equals_lru_objects, 0, 4);
    tcase_add_loop_test(core, exact_equals_lru_bytes, 0, 4);
    tcase_add_test(core, exact_equals_lru_with_deletes);
    tcase_add_test(core, shards_close_to_exact);
    tcase_add_test(core, csv_row_shape);
    tcase_add_test(core, batch_equals_single);
    suite_add_tcase(s, core);
    TCase *lim = tcase_create("Limits");
    tcase_add_test(lim, oversized_object_always_misses);
    suite_add_tcase(s, lim);
    TCase *errs = tcase_create("Errors");
    tcase_add_test(errs, bad_options);
    suite_add_tcase(s, errs);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(mrc_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
