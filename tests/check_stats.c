/*
 * check_stats.c - trace statistics (sim_stats): counts and histograms on a
 * hand-worked trace, the Zipf fit on counts built to follow k^-1, the rate.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "sim_stats.h"

static struct sim_req req_of(uint64_t key, uint64_t size, uint64_t time_us)
{
    struct sim_req q;
    memset(&q, 0, sizeof q);
    q.key = key;
    q.size = size;
    q.time = time_us;
    q.present = SIM_F_KEY | SIM_F_SIZE | SIM_F_TIME;
    return q;
}

/* The CSV of s as a string (static buffer). */
static const char *csv_of(sim_stats *s, unsigned buckets)
{
    static char buf[1 << 14];
    memset(buf, 0, sizeof buf);
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    ck_assert_int_eq(sim_stats_csv(s, f, buckets), 0);
    fclose(f);
    return buf;
}

/*
 * a(100) b(200) a c(50) a b, one per second.
 *   requests 6, objects 3, working set 350, one-hit wonders 1 (c);
 *   reuse distances: a@2 = 2, a@4 = 2, b@5 = 4 -> buckets [2,3]: 2, [4,7]: 1;
 *   stack distances: a@2 {b,a} = 2, a@4 {c,a} = 2, b@5 {a,c,b} = 3
 *     -> bucket [2,3]: 3;
 *   sizes: 50 in [32,63], 100 in [64,127], 200 in [128,255].
 */
START_TEST(hand_worked_trace)
{
    sim_stats *s = sim_stats_create();
    const char keys[] = "abacab";
    const uint64_t sizes[] = {100, 200, 100, 50, 100, 200};
    for (int i = 0; i < 6; i++) {
        struct sim_req q = req_of((uint64_t)keys[i], sizes[i], (uint64_t)i * 1000000);
        ck_assert_int_eq(sim_stats_add(s, &q), 0);
    }
    struct sim_stats_summary x;
    ck_assert_int_eq(sim_stats_summary(s, &x), 0);
    ck_assert_uint_eq(x.requests, 6);
    ck_assert_uint_eq(x.objects, 3);
    ck_assert_uint_eq(x.bytes, 350);
    ck_assert_uint_eq(x.one_hit, 1);
    ck_assert_uint_eq(x.size_min, 50);
    ck_assert_uint_eq(x.size_max, 200);
    ck_assert(isnan(x.alpha)); /* no object has 10 requests */
    const char *c = csv_of(s, 5);
    ck_assert_ptr_nonnull(strstr(c, "metric,lo,hi,value\nrequests,,,6\nobjects,,,3\n"));
    ck_assert_ptr_nonnull(strstr(c, "reuse_distance,2,3,2\nreuse_distance,4,7,1\n"));
    ck_assert_ptr_nonnull(strstr(c, "stack_distance,2,3,3\n"));
    ck_assert_ptr_nonnull(strstr(c, "size,32,63,1\nsize,64,127,1\nsize,128,255,1\n"));
    ck_assert_ptr_nonnull(strstr(c, "one_hit_wonder_share,,,0.3333333333333333\n"));
    /* Span 5 s in 5 buckets of 1 s: 1 request/s each, except the last,
     * which also gets the request at exactly 5 s: 2. */
    ck_assert_ptr_nonnull(strstr(c, "rate,0,1,1\nrate,1,2,1\n"));
    ck_assert_ptr_nonnull(strstr(c, "rate,4,5,2\n"));
    sim_stats_free(s);
}
END_TEST

/* Object r gets floor(1000 / r) requests, r = 1..200: counts >= 10 for
 * r <= 100, so ranks 1..100 are fitted; log count = log 1000 - log r up to
 * rounding, so the slope is -1 within 0.02. */
START_TEST(zipf_fit)
{
    sim_stats *s = sim_stats_create();
    for (uint64_t r = 1; r <= 200; r++) {
        uint64_t n = 1000 / r;
        for (uint64_t i = 0; i < n; i++) {
            struct sim_req q = req_of(r * 7919, 1, 0);
            ck_assert_int_eq(sim_stats_add(s, &q), 0);
        }
    }
    struct sim_stats_summary x;
    ck_assert_int_eq(sim_stats_summary(s, &x), 0);
    ck_assert_uint_eq(x.alpha_ranks, 100);
    ck_assert_msg(fabs(x.alpha - 1) < 0.02, "alpha %g", x.alpha);
    sim_stats_free(s);
}
END_TEST

START_TEST(empty_trace)
{
    sim_stats *s = sim_stats_create();
    struct sim_stats_summary x;
    ck_assert_int_eq(sim_stats_summary(s, &x), 0);
    ck_assert_uint_eq(x.requests, 0);
    ck_assert_uint_eq(x.objects, 0);
    const char *c = csv_of(s, 10);
    ck_assert_ptr_null(strstr(c, "rate,"));
    sim_stats_free(s);
    sim_stats_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stats");
    TCase *core = tcase_create("Core");
    tcase_add_test(core, hand_worked_trace);
    tcase_add_test(core, zipf_fit);
    suite_add_tcase(s, core);
    TCase *lim = tcase_create("Limits");
    tcase_add_test(lim, empty_trace);
    suite_add_tcase(s, lim);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
