/*
 * check_wtinylfu.c - W-TinyLFU on hand-traced sequences.
 *
 * objects=1024 makes the sketch 1024 counters wide, so the few keys here
 * do not collide and estimates are exact counts (no halving either: that
 * needs 10240 additions).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "seqtest.h"

#define OBJ SIM_UNIT_OBJECTS

/*
 * Capacity 4, window=0.5: window W holds 2, main 2 (protected 1); lists
 * newest first; P = probation, R = protected; n(x) = sketch count.
 *  1 a M W=[a]  2 a H  3 a H (n(a) = 3)  4 b M W=[b a]
 *  5 c M: W=[c b a] overflows, main has room: a -> P=[a].  W=[c b]
 *  6 d M: b -> P=[b a].  W=[d c]
 *  7 e M: full; W's LRU c (n=1) contests P's LRU a (n=3): c leaves.
 *  8 a H: P -> R=[a]
 *  9 f M: d (1) contests b (1): not more frequent, d leaves.  W=[f e]
 * 10 b H: b -> R=[b a], over 1: a demoted to P=[a]
 * 11 g M: e (1) vs a (4): e leaves.  W=[g f]
 * 12 f H (window hit, n(f) = 2)  W=[f g]
 * 13 h M: g (1) vs a (4): g leaves.  14 i M: f (2) vs a (4): f leaves.
 * 15 a H: P -> R=[a b], b demoted.  16 j M: h (1) vs b (2): h leaves.
 * 17 b H.
 * LRU at capacity 4 evicts a at 7 (e) and b at 8 (a), and hits only at
 * 2, 3 and 12 (f, two requests after its miss at 9).
 */
#define WT_TRACE "a a a b c d e a f b g f h i a j b"
#define WT_WANT "MHHMMMMHMHMHMMHMH"

START_TEST(test_frequency_admission)
{
    SEQ_EXPECT("wtinylfu:window=0.5,objects=1024", OBJ, 4, WT_TRACE, WT_WANT);
    SEQ_EXPECT("lru", OBJ, 4, WT_TRACE, "MHHMMMMMMMMHMMMMM");
}
END_TEST

/* With a doorkeeper, a key's first addition only sets its filter bits and
 * estimates add 1 for keys in the filter: until a reset the estimates are
 * the same counts, so the same sequence gives the same result. */
START_TEST(test_doorkeeper_same_estimates)
{
    SEQ_EXPECT("wtinylfu:window=0.5,objects=1024,doorkeeper=true", OBJ, 4, WT_TRACE,
               WT_WANT);
}
END_TEST

/* Aging: with objects=16 and sample=1 the sketch halves every 16
 * additions, several times in this trace; which objects survive then
 * depends on hashing into 16 counters per row, so this test only asserts
 * that the halving path keeps the invariants (checked after every request)
 * and answers every request. */
START_TEST(test_halving_runs)
{
    char got[64];
    ck_assert_int_eq(seq_run("wtinylfu:window=0.5,objects=16,sample=1", OBJ, 4,
                             "a a a b c d e f g h i j k l m n a o o p a", got, sizeof got,
                             NULL),
                     0);
    ck_assert_uint_eq(strlen(got), 21);
}
END_TEST

/* Capacity 1: the window gets the one unit; the main cache none. */
START_TEST(test_capacity_one)
{
    SEQ_EXPECT("wtinylfu", OBJ, 1, "a a b b a", "MHMHM");
}
END_TEST

START_TEST(test_bad_parameters)
{
    SEQ_REFUSED("wtinylfu:window=2", "window");
    SEQ_REFUSED("wtinylfu:doorkeeper=maybe", "doorkeeper");
}
END_TEST

static Suite *wtinylfu_suite(void)
{
    Suite *s = suite_create("wtinylfu");
    TCase *core = tcase_create("Core");
    tcase_add_test(core, test_frequency_admission);
    tcase_add_test(core, test_doorkeeper_same_estimates);
    tcase_add_test(core, test_halving_runs);
    suite_add_tcase(s, core);
    TCase *limits = tcase_create("Limits");
    tcase_add_test(limits, test_capacity_one);
    suite_add_tcase(s, limits);
    TCase *errors = tcase_create("Errors");
    tcase_add_test(errors, test_bad_parameters);
    suite_add_tcase(s, errors);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(wtinylfu_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
