/*
 * check_belady.c - Belady's MIN on hand-traced sequences.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "seqtest.h"

#define OBJ SIM_UNIT_OBJECTS

/* Capacity 2: a b c a b c.  Next uses: a@0 -> 3, b@1 -> 4, c@2 -> 5.
 *  3 c M: evict the farthest: b (4) rather than a (3).
 *  4 a H: a's next use is now never.
 *  5 b M: evict a (never) rather than c (5).   6 c H.
 * (LRU and FIFO miss all six.) */
START_TEST(test_farthest_next_use)
{
    SEQ_EXPECT("belady", OBJ, 2, "a b c a b c", "MMMHMH");
}
END_TEST

/* An object never requested again is admitted, and is the first to go:
 * capacity 2, a b x a b: x (never again) is stored, evicting b (next use 4,
 * farther than a's 3); 4 a H; 5 b M evicts x or a (both never again). */
START_TEST(test_never_again_admitted_then_first_out)
{
    uint64_t ev = 0;
    char got[32];
    ck_assert_int_eq(seq_run("belady", OBJ, 2, "a b x a b", got, sizeof got, &ev), 0);
    ck_assert_str_eq(got, "MMMHM");
    ck_assert_uint_eq(ev, 2);
    /* Capacity 2, a x a y a: x goes before a at y (x: never; a: 4). */
    SEQ_EXPECT("belady", OBJ, 2, "a x a y a", "MMHMH");
}
END_TEST

/* Capacity 1: nothing to choose, every change of key misses. */
START_TEST(test_capacity_one)
{
    SEQ_EXPECT("belady", OBJ, 1, "a a b a a c", "MHMMHM");
}
END_TEST

/* A trace without next_access: sim_run computes it (its first pass). */
START_TEST(test_run_computes_next_access)
{
    char err[SIM_ERRLEN];
    char path[] = "/tmp/check_belady_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs("1\n2\n3\n1\n2\n3\n", f);
    fclose(f);
    struct sim_reader_opts ro = {SIM_FMT_PLAIN, 1, NULL};
    sim_reader *r = sim_reader_open(path, &ro, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    ck_assert(!(sim_reader_fields(r) & SIM_F_NEXT));
    struct sim_cache_config cfg = {2, OBJ, 1, sim_reader_fields(r), NULL};
    sim_cache *c = sim_cache_create("belady", &cfg, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_int_eq(sim_run(r, &c, 1, NULL, err, sizeof err), 0);
    struct sim_metrics m;
    sim_cache_metrics(c, &m);
    /* The same trace as test_farthest_next_use: 2 hits. */
    ck_assert_uint_eq(m.requests, 6);
    ck_assert_uint_eq(m.hits, 2);
    sim_cache_free(c);
    sim_reader_close(r);
    unlink(path);
}
END_TEST

START_TEST(test_takes_no_parameters)
{
    SEQ_REFUSED("belady:lookahead=5", "lookahead");
}
END_TEST

static Suite *belady_suite(void)
{
    Suite *s = suite_create("belady");
    TCase *core = tcase_create("Core");
    tcase_add_test(core, test_farthest_next_use);
    tcase_add_test(core, test_never_again_admitted_then_first_out);
    tcase_add_test(core, test_run_computes_next_access);
    suite_add_tcase(s, core);
    TCase *limits = tcase_create("Limits");
    tcase_add_test(limits, test_capacity_one);
    suite_add_tcase(s, limits);
    TCase *errors = tcase_create("Errors");
    tcase_add_test(errors, test_takes_no_parameters);
    suite_add_tcase(s, errors);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(belady_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
