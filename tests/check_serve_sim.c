/*
 * check_serve_sim.c - the serving simulation's own structures: the
 * replicas by occupancy (serve_occ.c) and the dispatch it drives, the
 * event queue (serve_events.c) and the latency histogram's bins without
 * log10 (serve_hist.c), and the example cache's eviction: its
 * division-free bounded draws (serve.h) and its draws ahead.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve.h"
#include "sim.h"
#include "sim_serve.h"

/* The naive rule occ_least replaces: the first replica of least
 * occupancy, if below batch. */
static int naive_least(const unsigned *n, unsigned replicas, unsigned batch)
{
    int best = -1;
    for (unsigned i = 0; i < replicas; i++)
        if (n[i] < batch && (best < 0 || n[i] < n[best]))
            best = (int)i;
    return best;
}

START_TEST(occ_hand_sequence)
{
    /* 3 replicas, batch 2.  Occupancies after each step, and the replica
     * wanted (first of the least busy, -1 when all are full):
     *   start (0,0,0) -> 0;  0 takes one (1,0,0) -> 1;  1 takes one
     *   (1,1,0) -> 2;  2 takes one (1,1,1) -> 0 (tie: the first);  all take
     *   a second (2,2,2) -> -1;  1 finishes both (2,0,2) -> 1;  2 finishes
     *   one (2,0,1) -> 1;  1 takes two (2,2,1) -> 2. */
    struct occ o;
    ck_assert_int_eq(occ_init(&o, 3, 2), 0);
    ck_assert_int_eq(occ_least(&o), 0);
    occ_move(&o, 0, 0, 1);
    ck_assert_int_eq(occ_least(&o), 1);
    occ_move(&o, 1, 0, 1);
    ck_assert_int_eq(occ_least(&o), 2);
    occ_move(&o, 2, 0, 1);
    ck_assert_int_eq(occ_least(&o), 0);
    for (unsigned i = 0; i < 3; i++)
        occ_move(&o, i, 1, 2);
    ck_assert_int_eq(occ_least(&o), -1);
    occ_move(&o, 1, 2, 0);
    ck_assert_int_eq(occ_least(&o), 1);
    occ_move(&o, 2, 2, 1);
    ck_assert_int_eq(occ_least(&o), 1);
    occ_move(&o, 1, 0, 2);
    ck_assert_int_eq(occ_least(&o), 2);
    occ_move(&o, 1, 2, 2); /* no change */
    ck_assert_int_eq(occ_least(&o), 2);
    occ_free(&o);
}
END_TEST

START_TEST(occ_agrees_with_a_scan)
{
    /* 130 replicas (three words per row), batch 5: random moves of one
     * replica by a random amount, and after each the naive scan's pick. */
    enum { R = 130, B = 5 };
    unsigned n[R] = {0};
    struct occ o;
    ck_assert_int_eq(occ_init(&o, R, B), 0);
    struct sim_rng g;
    sim_rng_seed(&g, 11);
    for (int step = 0; step < 20000; step++) {
        unsigned i = (unsigned)sim_rng_below(&g, R);
        /* Fill up more often than drain, so that full rows occur. */
        unsigned to = sim_rng_below(&g, 4) ? (n[i] < B ? n[i] + 1 : B)
                                           : (unsigned)sim_rng_below(&g, B + 1);
        occ_move(&o, i, n[i], to);
        n[i] = to;
        ck_assert_int_eq(occ_least(&o), naive_least(n, R, B));
    }
    occ_free(&o);
}
END_TEST

START_TEST(occ_last_word_replicas)
{
    /* Replica 64 (the second word) is the only idle one: it is wanted; then
     * it is busier than replica 3, which is. */
    struct occ o;
    ck_assert_int_eq(occ_init(&o, 65, 3), 0);
    for (unsigned i = 0; i < 64; i++)
        occ_move(&o, i, 0, 2);
    ck_assert_int_eq(occ_least(&o), 64);
    occ_move(&o, 3, 2, 1);
    occ_move(&o, 64, 0, 2);
    ck_assert_int_eq(occ_least(&o), 3);
    occ_free(&o);
}
END_TEST

/*=====   dispatch   =====*/

static const char pool2x2[] =
    "[model m]\nreplicas = 2\nbatch = 2\nprefill_ms_per_token = 0\n"
    "decode_ms_per_token = 10\ntokens_per_s = 200\ncost_in_per_mtok = 1\n"
    "cost_out_per_mtok = 1\nquality = 0.5\n";

static const char pool1x4[] =
    "[model m]\nreplicas = 1\nbatch = 4\nprefill_ms_per_token = 0\n"
    "decode_ms_per_token = 10\ntokens_per_s = 200\ncost_in_per_mtok = 1\n"
    "cost_out_per_mtok = 1\nquality = 0.5\n";

/* Serves requests with these output tokens, all at t = 0, on the pool in
 * text (always-large), drained. */
static struct sim_serve_stats serve_at_zero(const char *text, const uint32_t *out, unsigned n)
{
    char path[] = "/tmp/check_serve_sim_XXXXXX", err[SIM_ERRLEN];
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    sim_modelpool *p = sim_modelpool_load(path, err, sizeof err);
    unlink(path);
    ck_assert_msg(p != NULL, "%s", err);
    struct sim_serve_config c;
    sim_serve_config_init(&c, p);
    c.router = SIM_ROUTE_LARGE;
    sim_serve *s = sim_serve_create(&c, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    for (unsigned i = 0; i < n; i++) {
        struct sim_req q = {.index = i, .present = SIM_F_TOKENS, .tokens_in = 1,
                            .tokens_out = out[i]};
        ck_assert_int_eq(sim_serve_arrive(s, &q, NULL, err, sizeof err), 0);
    }
    struct sim_serve_stats st;
    sim_serve_finish(s, 1, &st);
    ck_assert_uint_eq(st.completed, n);
    sim_serve_free(s);
    sim_modelpool_free(p);
    return st;
}

START_TEST(simultaneous_milestones_by_hand)
{
    /* One replica, batch 4, alpha 0.5: speed(n) = 1 / (1 + 0.5 (n - 1)),
     * 0.4 at 4, 0.5 at 3.  Requests of 100, 100, 200, 200 and 100 tokens
     * (1, 1, 2, 2, 1 s alone) at t = 0; no prefill, so the first four
     * reach their first token together at t = 0 and the fifth waits.  The
     * two short ones end together at virtual 1, t = 1 / 0.4 = 2.5; the
     * fifth starts then (first token at 2.5), and the three left each need
     * 1 more at 0.5: all end together at t = 4.5.  e2e: 2.5, 2.5, 4.5,
     * 4.5, 4.5: mean 3.7; TTFT mean 2.5 / 5 = 0.5; 5 / 4.5 per second. */
    static const uint32_t out[5] = {100, 100, 200, 200, 100};
    struct sim_serve_stats st = serve_at_zero(pool1x4, out, 5);
    ck_assert_double_eq_tol(st.e2e_mean, 3.7, 1e-9);
    ck_assert_double_eq_tol(st.ttft_mean, 0.5, 1e-9);
    ck_assert_double_eq_tol(st.throughput_rps, 5 / 4.5, 1e-9);
}
END_TEST

START_TEST(dispatch_to_the_least_busy_first)
{
    /* Two replicas, batch 2; decode 10 ms a token at batch 1 and
     * alpha = 1 / (0.01 * 200) = 0.5, so two requests together each run at
     * 1 / (1 + 0.5) = 2/3.  Three requests at t = 0 with 100, 200 and 300
     * output tokens (1, 2 and 3 s alone): the first goes to replica 0, the
     * second to replica 1 (idle), the third to replica 0 (both run one:
     * the first).  Replica 0: the 100-token one ends at 1 / (2/3) = 1.5 s,
     * the 300-token one has 2 s left alone: 3.5 s.  Replica 1: 2 s.  Mean
     * e2e (1.5 + 2 + 3.5) / 3 = 7/3 s (the third on replica 1 would give
     * (1 + 3 + 4) / 3 = 8/3) and the last ends at 3.5 s, so 3 / 3.5
     * requests per second (the second on replica 0, the busier with a free
     * slot, would end last at 3 s); TTFT 0 (no prefill, no queue). */
    static const uint32_t out[3] = {100, 200, 300};
    struct sim_serve_stats st = serve_at_zero(pool2x2, out, 3);
    ck_assert_double_eq_tol(st.e2e_mean, 7.0 / 3, 1e-9);
    ck_assert_double_eq_tol(st.throughput_rps, 3 / 3.5, 1e-9);
    ck_assert_double_eq_tol(st.ttft_mean, 0, 1e-12);
}
END_TEST

/*=====   event queue   =====*/

START_TEST(evq_hand_sequence)
{
    /* 5 keys (p = 8, three padding leaves), all INFINITY: the least is 0
     * (ties to the lower number).  Then key 3 = 2.0 -> 3; key 1 = 1.0 -> 1;
     * key 4 = 1.0 -> 1 (tie: the lower); key 1 = 5.0 -> 4; key 4 = INFINITY
     * -> 3; key 3 = INFINITY -> 1 (5.0); key 1 = INFINITY -> 0 again. */
    struct evq q;
    ck_assert_int_eq(evq_init(&q, 5), 0);
    ck_assert_uint_eq(q.p, 8);
    ck_assert_uint_eq(evq_min(&q), 0);
    static const struct { uint32_t g; double key; uint32_t want; } steps[] = {
        {3, 2.0, 3}, {1, 1.0, 1}, {4, 1.0, 1}, {1, 5.0, 4}, {4, INFINITY, 3},
        {3, INFINITY, 1}, {1, INFINITY, 0},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        evq_set(&q, steps[i].g, steps[i].key);
        ck_assert_msg(evq_min(&q) == steps[i].want, "step %zu: %u", i, evq_min(&q));
    }
    evq_free(&q);
    /* One key: no internal nodes; the root is the leaf. */
    ck_assert_int_eq(evq_init(&q, 1), 0);
    evq_set(&q, 0, 3.5);
    ck_assert_uint_eq(evq_min(&q), 0);
    ck_assert(q.key[evq_min(&q)] == 3.5);
    evq_free(&q);
}
END_TEST

START_TEST(evq_agrees_with_a_scan)
{
    /* 37 keys from a small set of values (many ties, and INFINITY): after
     * each change the least (key, number) by a scan. */
    enum { N = 37 };
    static const double vals[] = {0, 0.5, 1, 1, 2, INFINITY};
    double k[N];
    struct evq q;
    ck_assert_int_eq(evq_init(&q, N), 0);
    for (int i = 0; i < N; i++)
        k[i] = INFINITY;
    struct sim_rng g;
    sim_rng_seed(&g, 3);
    for (int step = 0; step < 20000; step++) {
        uint32_t i = (uint32_t)sim_rng_below(&g, N);
        k[i] = vals[sim_rng_below(&g, sizeof vals / sizeof vals[0])];
        evq_set(&q, i, k[i]);
        uint32_t best = 0;
        for (uint32_t j = 1; j < N; j++)
            if (k[j] < k[best])
                best = j;
        ck_assert_uint_eq(evq_min(&q), best);
        ck_assert(q.wk[1] == k[best]); /* the root keeps its winner's key */
    }
    evq_free(&q);
}
END_TEST

/*=====   histogram bins   =====*/

START_TEST(hist_bins_by_hand)
{
    /* l = (log10(x) + 6) * 200, bin = floor(l) + 1: x = 1 gives l = 1200,
     * bin 1201; x = 10, l = 1400, bin 1401; x = 2, l = 1200 + 200 *
     * 0.30103 = 1260.2, bin 1261; x = 0.5, l = 1139.8, bin 1140; x = 1e-3,
     * l = 600, bin 601.  Below 1e-6 (and x <= 0) bin 0; from 1e6, 2401. */
    struct hist_tab t;
    ck_assert_int_eq(hist_tab_init(&t), 0);
    static const double x[] = {1, 10, 2, 0.5, 1e-3, 0, -1, 1e-7, 5e-7, 2e6, 1e300, INFINITY};
    static const unsigned want[] = {1201, 1401, 1261, 1140, 601, 0, 0, 0, 0, 2401, 2401,
                                    2401};
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
        ck_assert_uint_eq(hist_bin(&t, x[i]), want[i]);
        ck_assert_uint_eq(hist_bin_exact(x[i]), want[i]);
    }
    hist_tab_free(&t);
}
END_TEST

START_TEST(hist_bins_agree_with_log10)
{
    /* The tables against the definition: at every bin edge 10^(k/200 - 6)
     * and 8 doubles either side (where rounding decides), at the slots'
     * starts, and at a million log-uniform x over 10^-8 .. 10^8. */
    struct hist_tab t;
    ck_assert_int_eq(hist_tab_init(&t), 0);
    for (int k = -20; k <= HIST_BINS + 20; k++) {
        double x = pow(10, -6 + k / 200.0);
        for (int u = 0; u < 8; u++)
            x = nextafter(x, 0);
        for (int u = 0; u < 17; u++, x = nextafter(x, INFINITY))
            ck_assert_msg(hist_bin(&t, x) == hist_bin_exact(x), "x = %a: %u, exact %u", x,
                          hist_bin(&t, x), hist_bin_exact(x));
    }
    for (double x = 0x1p-21; x < 0x1p21; x *= 1 + 1.0 / 128)
        ck_assert_msg(hist_bin(&t, x) == hist_bin_exact(x), "x = %a", x);
    struct sim_rng g;
    sim_rng_seed(&g, 5);
    for (int i = 0; i < 1000000; i++) {
        double x = pow(10, -8 + 16 * sim_rng_unit(&g));
        ck_assert_msg(hist_bin(&t, x) == hist_bin_exact(x), "x = %a", x);
    }
    hist_tab_free(&t);
}
END_TEST

START_TEST(below_by_hand)
{
    /* n = 6: m = floor((2^64 - 1) / 6) = floor(18446744073709551615 / 6)
     * = 3074457345618258602 (remainder 3), limit = 6 m = 2^64 - 4, which is
     * UINT64_MAX - UINT64_MAX % 6 = 18446744073709551615 - 3. */
    struct below b;
    below_init(&b, 6);
    ck_assert_uint_eq(b.m, 3074457345618258602ULL);
    ck_assert_uint_eq(b.limit, 18446744073709551612ULL);
    ck_assert_uint_eq(below_mod(&b, 0), 0);
    ck_assert_uint_eq(below_mod(&b, 5), 5);
    ck_assert_uint_eq(below_mod(&b, 6), 0);
    ck_assert_uint_eq(below_mod(&b, 47), 5);         /* 7 * 6 + 5 */
    ck_assert_uint_eq(below_mod(&b, UINT64_MAX), 3); /* as above */
    /* High halves: 2^63 * 4 = 2^65 -> 2; (2^64 - 1)^2 = 2^128 - 2^65 + 1
     * -> 2^64 - 2; (2^32 + 1)(2^32 + 3) = 2^64 + 2^34 + 3 -> 1. */
    uint64_t a[3] = {1ULL << 63, UINT64_MAX, (1ULL << 32) + 1};
    uint64_t c[3] = {4, UINT64_MAX, (1ULL << 32) + 3};
    uint64_t hi[3] = {2, UINT64_MAX - 1, 1};
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(below_mulhi(a[i], c[i]), hi[i]);
        ck_assert_uint_eq(below_mulhi_c(a[i], c[i]), hi[i]);
    }
}
END_TEST

/* below_mod is x % n near multiples of n and at the ends, and below_draw
 * gives sim_rng_below's numbers and leaves the generator where it does
 * (n > 2^63 rejects about half the draws: the retry path). */
START_TEST(below_agrees_with_sim_rng_below)
{
    static const uint64_t ns[] = {1, 2, 3, 6, 7, 1000, 65536, (1ULL << 31) - 1, 1ULL << 31,
                                  (1ULL << 32) - 1, 1ULL << 32, 1000000000039ULL,
                                  (1ULL << 63) - 1, 1ULL << 63, (1ULL << 63) + 1,
                                  3ULL << 62, UINT64_MAX - 1, UINT64_MAX};
    const size_t nns = sizeof ns / sizeof *ns;
    struct sim_rng pick;
    sim_rng_seed(&pick, 99);
    for (size_t t = 0; t < nns + 200; t++) {
        /* the listed n, then random ones of 1 to 64 bits */
        uint64_t n = t < nns ? ns[t] : sim_rng_next(&pick) >> (t % 64);
        if (n == 0)
            n = 1;
        struct below b;
        below_init(&b, n);
        for (uint64_t k = 1; k < 4; k++) {
            uint64_t at[4] = {k * n, k * n - 1, b.limit - k, UINT64_MAX - k};
            for (int i = 0; i < 4; i++)
                ck_assert_uint_eq(below_mod(&b, at[i]), at[i] % n);
        }
        for (int i = 0; i < 100; i++) {
            uint64_t x = sim_rng_next(&pick);
            ck_assert_uint_eq(below_mulhi(x, n), below_mulhi_c(x, n));
            ck_assert_uint_eq(below_mod(&b, x), x % n);
        }
        struct sim_rng g1, g2;
        sim_rng_seed(&g1, t);
        sim_rng_seed(&g2, t);
        for (int i = 0; i < 200; i++)
            ck_assert_uint_eq(below_draw(&b, &g1), sim_rng_below(&g2, n));
        ck_assert(!memcmp(&g1, &g2, sizeof g1));
    }
}
END_TEST

/* Evictions drawn ahead (at the end of an evicting insertion, for one
 * entry more) change nothing: a twin cache whose draw-ahead is discarded
 * before every call draws every sample when it evicts, and the two keep
 * the same entries in the same order.  Removals, utility changes and large
 * entries (several evictions at once) in between make the guess wrong
 * at times; both paths must then agree too. */
START_TEST(eviction_draw_ahead_changes_nothing)
{
    char err[SIM_ERRLEN];
    struct excache a, b;
    ck_assert_int_eq(excache_init(&a, 2, 1000, SIM_SERVE_FLAT, 5, err, sizeof err), 0);
    ck_assert_int_eq(excache_init(&b, 2, 1000, SIM_SERVE_FLAT, 5, err, sizeof err), 0);
    struct sim_rng g;
    sim_rng_seed(&g, 11);
    uint64_t used = 0; /* insertions that found a draw-ahead to use */
    for (int step = 0; step < 4000; step++) {
        b.ahead_n = 0;
        uint64_t op = sim_rng_below(&g, 10);
        if (op == 0 && a.nlive > 1) {
            uint32_t id = a.live[sim_rng_below(&g, a.nlive)].id;
            excache_remove(&a, id);
            excache_remove(&b, id);
        } else if (op == 1 && a.nlive) {
            uint32_t id = a.live[sim_rng_below(&g, a.nlive)].id;
            float u = (float)sim_rng_unit(&g);
            excache_set_utility(&a, id, u);
            excache_set_utility(&b, id, u);
        } else {
            float v[2] = {(float)sim_rng_unit(&g), 1};
            struct exentry e = {.utility = (float)sim_rng_unit(&g)};
            e.bytes = (uint32_t)(op == 2 ? 300 + sim_rng_below(&g, 300)
                                         : 20 + sim_rng_below(&g, 100));
            used += a.ahead_n == a.nlive + 1;
            ck_assert_int_eq(excache_insert(&a, &e, v, err, sizeof err), 0);
            ck_assert_int_eq(excache_insert(&b, &e, v, err, sizeof err), 0);
        }
        ck_assert_uint_eq(a.nlive, b.nlive);
        ck_assert_uint_eq(a.bytes, b.bytes);
        ck_assert_uint_eq(a.evicted, b.evicted);
        for (uint32_t i = 0; i < a.nlive; i++)
            ck_assert_uint_eq(a.live[i].id, b.live[i].id);
    }
    /* Both paths ran: evictions, and draws ahead that were used. */
    ck_assert_uint_gt(a.evicted, 1000);
    ck_assert_uint_gt(used, 1000);
    excache_free(&a);
    excache_free(&b);
}
END_TEST

static Suite *serve_sim_suite(void)
{
    Suite *s = suite_create("serve_sim");
    TCase *tc = tcase_create("Core");
    tcase_add_test(tc, occ_hand_sequence);
    tcase_add_test(tc, dispatch_to_the_least_busy_first);
    tcase_add_test(tc, simultaneous_milestones_by_hand);
    tcase_add_test(tc, hist_bins_by_hand);
    tcase_add_test(tc, evq_hand_sequence);
    tcase_add_test(tc, below_by_hand);
    suite_add_tcase(s, tc);
    TCase *l = tcase_create("Limits");
    tcase_add_test(l, occ_agrees_with_a_scan);
    tcase_add_test(l, occ_last_word_replicas);
    tcase_add_test(l, hist_bins_agree_with_log10);
    tcase_add_test(l, evq_agrees_with_a_scan);
    tcase_add_test(l, below_agrees_with_sim_rng_below);
    tcase_add_test(l, eviction_draw_ahead_changes_nothing);
    suite_add_tcase(s, l);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(serve_sim_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
