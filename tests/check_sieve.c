/*
 * check_sieve.c - SIEVE on hand-traced sequences.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "seqtest.h"

#define OBJ SIM_UNIT_OBJECTS

/* Capacity 3 objects; queue written newest first, * = visited.
 *  1 a M [a]   2 b M [b a]   3 c M [c b a]   4 a H [c b a*]
 *  5 d M: the hand starts at the tail: a* -> cleared, b unvisited: evict b,
 *         hand rests on b's newer neighbour c.  [d c a]
 *  6 b M: hand at c, unvisited: evict c, hand -> d.  [b d a]
 *  7 a H [b d a*]
 *  8 e M: hand at d: evict d, hand -> b.  [e b a*]
 *  9 a H.
 * (LRU would also evict b at 5 but then c, d; FIFO would evict a at 5.) */
START_TEST(test_hand_keeps_visited_objects)
{
    SEQ_EXPECT("sieve", OBJ, 3, "a b c a d b a e a", "MMMHMMHMH");
}
END_TEST

/* Capacity 2: both objects visited, so the hand clears b then wraps from
 * the head to the tail and evicts a (now unvisited).
 *  1 a M  2 b M [b a]  3 a H  4 b H [b* a*]
 *  5 c M: a* cleared, b* cleared, wrap to tail a: evict a, hand -> b. [c b]
 *  6 a M: hand at b, unvisited: evict b, hand -> c.  [a c]
 *  7 c H. */
START_TEST(test_hand_wraps_around)
{
    SEQ_EXPECT("sieve", OBJ, 2, "a b a b c a c", "MMHHMMH");
}
END_TEST

/* A hit does not move an object.  Capacity 2:
 *  1 a M  2 b M [b a]  3 a H [b a*]
 *  4 c M: a* cleared (not moved: it stays at the tail), b evicted; b was
 *         the head, so the hand falls off and restarts at the tail.  [c a]
 *  5 d M: the tail a is now unvisited: evicted.  [d c]
 *  6 a M.  (LRU: the same here; CLOCK would have moved a to the head.) */
START_TEST(test_survivor_is_not_moved)
{
    SEQ_EXPECT("sieve", OBJ, 2, "a b a c d a", "MMHMMM");
}
END_TEST

/* Deleting the object under the hand moves the hand to its newer
 * neighbour (the check hook fails on a hand left on a freed object).
 * Capacity 3:  a b c [c b a];  4 d M: evict a, hand -> b.  [d c b]
 *  -b: b leaves, hand -> c.  [d c]
 *  5 e M: room, no eviction.  [e d c]
 *  6 b M: hand at c, unvisited: evict c, hand -> d.  [b e d]
 *  7 d H. */
START_TEST(test_delete_under_hand)
{
    SEQ_EXPECT("sieve", OBJ, 3, "a b c d -b e b d", "MMMMMMH");
}
END_TEST

START_TEST(test_object_larger_than_cache)
{
    /* Never stored; the cache is unchanged: the final a hits. */
    SEQ_EXPECT("sieve", SIM_UNIT_BYTES, 10, "a:4 b:11 b:11 a:4", "MMMH");
}
END_TEST

START_TEST(test_unknown_parameter)
{
    SEQ_REFUSED("sieve:hand=1", "hand");
}
END_TEST

static Suite *sieve_suite(void)
{
    Suite *s = suite_create("sieve");
    TCase *core = tcase_create("Core");
    tcase_add_test(core, test_hand_keeps_visited_objects);
    tcase_add_test(core, test_hand_wraps_around);
    tcase_add_test(core, test_survivor_is_not_moved);
    tcase_add_test(core, test_delete_under_hand);
    suite_add_tcase(s, core);
    TCase *limits = tcase_create("Limits");
    tcase_add_test(limits, test_object_larger_than_cache);
    suite_add_tcase(s, limits);
    TCase *errors = tcase_create("Errors");
    tcase_add_test(errors, test_unknown_parameter);
    suite_add_tcase(s, errors);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sieve_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
