/*
 * check_gdsf.c - GreedyDual-Size-Frequency on hand-traced sequences.
 *
 * Priorities are H = L + freq * 1e6 / size (libCacheSim's scale); below,
 * "1" means 1e6.  Ties: the object keyed earlier goes first.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "seqtest.h"

#define OBJ SIM_UNIT_OBJECTS
#define BYTES SIM_UNIT_BYTES

/* Capacity 2 objects (size 1), L = 0 at first.
 *  1 a M: H(a) = 1           2 a H: H(a) = 0 + 2 = 2
 *  3 b M: H(b) = 1
 *  4 c M: c's H = 0 + 1 = 1 is not below b's 1 (tie, b older): b goes,
 *         L = 1; c keeps H = 1 (computed before the eviction).
 *  5 b M: H = 1 + 1 = 2; lowest is c (1): evicted, L = 1.  b: 2
 *  6 d M: H = 2; lowest: a (2, keyed at 2) before b (2, keyed at 5):
 *         a goes, L = 2.  d: 2
 *  7 a M: H = 3; b (2) goes, L = 2.   a: 3
 *  8 d H: H(d) = 2 + 2 = 4
 *  9 b M: H = 3; a (3) goes (tie, a older), L = 3.
 * (LRU would hit a at 7: with unit sizes GDSF is an aged LFU.) */
START_TEST(test_inflation_and_ties)
{
    SEQ_EXPECT("gdsf", OBJ, 2, "a a b c b d a d b", "MHMMMMMHM");
}
END_TEST

/* Size matters: capacity 10 bytes.  a:1 (H = 1), b:1 twice (H = 2), then
 * c:9 has H = 1/9, below everything: inserting it and evicting the lowest
 * would evict c itself, so c is not stored, nothing is evicted, and L
 * becomes 1/9.  a and b still hit; c misses again (H = 2/9, still lowest). */
START_TEST(test_large_cold_object_evicts_itself)
{
    char got[32];
    uint64_t ev = 1;
    ck_assert_int_eq(seq_run("gdsf", BYTES, 10, "a:1 b:1 b:1 c:9 a:1 b:1 c:9 a:1", got,
                             sizeof got, &ev),
                     0);
    ck_assert_str_eq(got, "MMHMHHMH");
    ck_assert_uint_eq(ev, 0);
}
END_TEST

/* A large object displaces small ones when its H is higher: capacity 10,
 * a:5 b:5 (H = 0.2 each), c:1 (H = 1): 11 > 10: a (0.2, older) goes, L =
 * 0.2; then a:5 again: H = 0.4; lowest b (0.2): out; fits (c 1 + a 5). */
START_TEST(test_small_hot_objects_stay)
{
    SEQ_EXPECT("gdsf", BYTES, 10, "a:5 b:5 c:1 a:5 c:1 b:5", "MMMMHM");
}
END_TEST

START_TEST(test_unknown_parameter)
{
    SEQ_REFUSED("gdsf:cost=2", "cost");
}
END_TEST

static Suite *gdsf_suite(void)
{
    Suite *s = suite_create("gdsf");
    TCase *core = tcase_create("Core");
    tcase_add_test(core, test_inflation_and_ties);
    tcase_add_test(core, test_small_hot_objects_stay);
    suite_add_tcase(s, core);
    TCase *limits = tcase_create("Limits");
    tcase_add_test(limits, test_large_cold_object_evicts_itself);
    suite_add_tcase(s, limits);
    TCase *errors = tcase_create("Errors");
    tcase_add_test(errors, test_unknown_parameter);
    suite_add_tcase(s, errors);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(gdsf_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
