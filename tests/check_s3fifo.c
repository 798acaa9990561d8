/*
 * check_s3fifo.c - S3-FIFO on hand-traced sequences.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "seqtest.h"

#define OBJ SIM_UNIT_OBJECTS
#define BYTES SIM_UNIT_BYTES

/*
 * Capacity 8 objects, small=0.25, ghost=0.5: S holds 2, M 6, G 4; an
 * object moves from S to M after 2 hits.  Queues newest first, f = count.
 *  1-2   a b: S=[b a]
 *  3-8   c..h: S is full and nothing was evicted yet: into M=[h g f e d c]
 *  9 a H (a.f=1)  10 b H  11 b H (b.f=2)
 *  12 i M: total 9 > 8, M not over 6: evict S's tail a (f=1 < 2): a -> G.
 *          S=[i b]  G=[a]
 *  13 j M: S's tail b (f=2) moves to M (f=0), M=[b h g f e d c] (7);
 *          then S's tail i (f=0) -> G=[i a].  S=[j]
 *  14 a M: a is in G: leaves G, goes to M; M over 6: M's tail c (f=0)
 *          evicted.  M=[a b h g f e d]
 *  15 d H (d.f=1)
 *  16 k M: M over: tail d has f=1: reinserted with f=0; tail e evicted.
 *          S=[k j]  M=[d a b h g f]
 *  17 e M: not in G (G=[i]); M over: f evicted.  S=[e k j]
 *  18 i M: in G: to M; M has 5, not over: S's tail j (f=0) -> G=[j].
 *          M=[i d a b h g]  S=[e k]
 *  19 a H  20 j M: in G: to M=[j i d a b h g]; S's tail k -> G=[k]. S=[e]
 *  21 g H (g.f=1)
 *  22 c M: not in G; M over: g reinserted (f=0), h evicted.  S=[c e]
 *  23 h M: S's tail e -> G=[e k].  S=[h c]
 */
START_TEST(test_small_main_ghost)
{
    SEQ_EXPECT("s3fifo:small=0.25,ghost=0.5", OBJ, 8,
               "a b c d e f g h a b b i j a d k e i a j g c h",
               "MMMMMMMMHHHMMMHMMMHMHMM");
}
END_TEST

/* threshold=1: one hit in S is enough to move to M.  Same start as above
 * up to 12: a (f=1) now moves to M (M=[a h g f e d c], 7), then b (f=2)
 * too (8); S is empty, so M evicts: tail c (f=0).  S=[i]  M=[b a h g f e d]
 * 13 a H: a is still cached (with threshold 2 it was in G). */
START_TEST(test_threshold_one)
{
    SEQ_EXPECT("s3fifo:small=0.25,ghost=0.5,threshold=1", OBJ, 8,
               "a b c d e f g h a b b i a c", "MMMMMMMMHHHMHM");
}
END_TEST

/* An object at least as large as S is not admitted: S is the default 10%
 * of 100 bytes = 10; a:10 is refused, twice; b:9 is stored and hits. */
START_TEST(test_object_as_large_as_small)
{
    SEQ_EXPECT("s3fifo", BYTES, 100, "a:10 a:10 b:9 b:9", "MMMH");
}
END_TEST

/* libCacheSim evicts for an object exactly S's size before refusing it.
 * Capacity 8 bytes, small=0.5: S = 4, M = 4; objects of 4 bytes or more are
 * refused (only objects up to 3 bytes are stored).
 *  1 a:2 2 b:2: S=[b a] (4)   3 c:2 4 d:2: S full, no eviction yet: M=[d c]
 *  5 e:4 M: 12 > 8: S's tail a -> G, 10 > 8: b -> G=[b a]; then e is
 *          refused: 2 evictions, 4 bytes used.
 *  6 c H  7 d H (counts 1)
 *  8 a M: in G: to M=[a d c] (6 bytes)
 *  9 e:4 M: 10 > 8 and M over 4: c, d reinserted (counts 0), a evicted;
 *          e refused again: 3 evictions in all.
 * 10 a M: not in G (it left from M): into S. */
START_TEST(test_evicts_then_refuses)
{
    char got[64];
    uint64_t ev = 0;
    ck_assert_int_eq(seq_run("s3fifo:small=0.5", BYTES, 8,
                             "a:2 b:2 c:2 d:2 e:4 c:2 d:2 a:2 e:4 a:2", got, sizeof got, &ev),
                     0);
    ck_assert_str_eq(got, "MMMMMHHMMM");
    ck_assert_uint_eq(ev, 3);
}
END_TEST

/* A tiny cache whose S share rounds down to 0 admits nothing (libCacheSim
 * does the same): capacity 5 objects, S = floor(0.5) = 0. */
START_TEST(test_tiny_cache_admits_nothing)
{
    SEQ_EXPECT("s3fifo", OBJ, 5, "a a a", "MMM");
}
END_TEST

START_TEST(test_bad_small_share)
{
    SEQ_REFUSED("s3fifo:small=1.5", "small");
    SEQ_REFUSED("s3fifo:threshold=0", "threshold");
    /* Counts live in 6 bits of the framework tag (s3fifo.c). */
    SEQ_REFUSED("s3fifo:threshold=64", "threshold");
}
END_TEST

static Suite *s3fifo_suite(void)
{
    Suite *s = suite_create("s3fifo");
    TCase *core = tcase_create("Core");
    tcase_add_test(core, test_small_main_ghost);
    tcase_add_test(core, test_threshold_one);
    suite_add_tcase(s, core);
    TCase *limits = tcase_create("Limits");
    tcase_add_test(limits, test_object_as_large_as_small);
    tcase_add_test(limits, test_evicts_then_refuses);
    tcase_add_test(limits, test_tiny_cache_admits_nothing);
    suite_add_tcase(s, limits);
    TCase *errors = tcase_create("Errors");
    tcase_add_test(errors, test_bad_small_share);
    suite_add_tcase(s, errors);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(s3fifo_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
