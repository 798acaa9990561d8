/*
 * check_agreement.c - agreement with libCacheSim on its sample trace,
 * traces/cloudPhysicsIO.oracleGeneral.bin (see traces/README.md).
 *
 * The expected values are libCacheSim's own, not outputs of this code:
 *   - miss ratios of LRU and FIFO computed with libCacheSim's cachesim
 *     (given to 4 decimals);
 *   - the miss counts and missed bytes hard-coded per policy in
 *     libCacheSim's test/test_evictionAlgo.c (1a1a11a/libCacheSim @
 *     7c8506470a6c4c94b4e5a2fcf8a78a9873456455, unchanged at 0379a019):
 *     the oracleGeneral reader over this same file (its test/common.h:
 *     setup_oracleGeneralBin_reader), sizes 128 MiB to 1 GiB in steps of
 *     128 MiB (CACHE_SIZE 1024 MiB, STEP_SIZE 128 MiB), byte units, default
 *     parameters except S3-FIFO's move-to-main-threshold=2 (its default).
 *     The file's Sieve numbers equal its LFU numbers, which looks like a
 *     copy slip but is not: our SIEVE, pol1's LFU and a naive Python SIEVE
 *     (at 128 MiB) each reproduce them on this trace.
 * Policies whose libCacheSim definition differs from ours (SLRU with 5
 * segments, QDLP, LeCaR, Cacheus, the "Size" admission filter, Random's
 * generator, ...) are not compared.  LIRS is compared with lcs=1, the
 * variant of pol1's lirs that demotes as libCacheSim does.
 * libCacheSim has no expected values for W-TinyLFU or 2Q.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define TRACE "traces/cloudPhysicsIO.oracleGeneral.bin"
#define MIB (1024ull * 1024)
#define NSIZES 8
#define REQUESTS 113872
#define REQUEST_BYTES 4368040448ull

struct expected {
    const char *policy;
    uint64_t misses[NSIZES];
    uint64_t bytes[NSIZES];
};

static const struct expected table[] = {
    {"lru", {93374, 89783, 83572, 81722, 72494, 72104, 71972, 71704},
     {4214303232, 4061242368, 3778040320, 3660569600, 3100927488, 3078128640, 3075403776,
      3061662720}},
    {"fifo", {93403, 89386, 84387, 84025, 72498, 72228, 72182, 72140},
     {4213112832, 4052646400, 3829170176, 3807412736, 3093146112, 3079525888, 3079210496,
      3077547520}},
    {"clock", {93313, 89775, 83411, 81328, 74815, 72283, 71927, 64456},
     {4213887488, 4064512000, 3762650624, 3644467200, 3256760832, 3091688448, 3074241024,
      2697378816}},
    {"lfu", {91699, 86720, 78578, 76707, 69945, 66221, 64445, 64376},
     {4158632960, 3917211648, 3536227840, 3455379968, 3035580416, 2801699328, 2699456000,
      2696345600}},
    {"arc", {90252, 85861, 78168, 74297, 67381, 65685, 64439, 64772},
     {4068098560, 3821026816, 3525644800, 3296890368, 2868538880, 2771180032, 2699484672,
      2712971264}},
    {"sieve", {91699, 86720, 78578, 76707, 69945, 66221, 64445, 64376},
     {4158632960, 3917211648, 3536227840, 3455379968, 3035580416, 2801699328, 2699456000,
      2696345600}},
    {"s3fifo", {90117, 80915, 75060, 72191, 69815, 65542, 60799, 56045},
     {4058576896, 3573827584, 3244417024, 3061737984, 2898109952, 2628363776, 2425027072,
      2327934464}},
    {"gdsf", {89070, 84750, 74850, 70490, 67923, 64180, 61027, 58721},
     {4210726912, 4057058816, 3719176192, 3436855296, 3271648256, 3029728768, 2828456448,
      2677800448}},
    {"lirs:lcs=1", {89819, 79237, 73143, 70363, 68405, 64494, 58640, 53924},
     {4060558336, 3525952512, 3199406080, 3011810816, 2848310272, 2580918784, 2361375744,
      2288325120}},
    {"belady", {79256, 70724, 65481, 61594, 59645, 57599, 50873, 48974},
     {3472532480, 2995165696, 2726689792, 2537648128, 2403427840, 2269212672, 2134992896,
      2029769728}},
};
#define NPOL (sizeof table / sizeof table[0])

static sim_reader *open_trace(int ignore_size)
{
    char err[SIM_ERRLEN];
    struct sim_reader_opts o = {SIM_FMT_ORACLE, ignore_size, NULL};
    sim_reader *r = sim_reader_open(TRACE, &o, err, sizeof err);
    ck_assert_msg(r != NULL, "%s (run the tests from the repository root)", err);
    return r;
}

/* Runs the caches over the trace in one pass. */
static void run_all(sim_reader *r, sim_cache **c, size_t n)
{
    char err[SIM_ERRLEN];
    ck_assert_msg(sim_run(r, c, n, NULL, err, sizeof err) == 0, "%s", err);
}

static sim_cache *make(sim_reader *r, const char *spec, uint64_t cap, enum sim_unit unit)
{
    char err[SIM_ERRLEN];
    struct sim_cache_config cfg = {cap, unit, 1, sim_reader_fields(r), NULL};
    sim_cache *c = sim_cache_create(spec, &cfg, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    return c;
}

/* Ratio to 4 decimals, as libCacheSim's cachesim prints it. */
static long dec4(uint64_t a, uint64_t b)
{
    return lround((double)a / (double)b * 1e4);
}

START_TEST(test_lru_miss_ratios_bytes)
{
    sim_reader *r = open_trace(0);
    sim_cache *c[2] = {make(r, "lru", 128 * MIB, SIM_UNIT_BYTES),
                       make(r, "lru", 1024 * MIB, SIM_UNIT_BYTES)};
    run_all(r, c, 2);
    struct sim_metrics m[2];
    for (int i = 0; i < 2; i++)
        sim_cache_metrics(c[i], &m[i]);
    ck_assert_int_eq(dec4(m[0].misses, m[0].requests), 8200);
    ck_assert_int_eq(dec4(m[0].bytes_missed, m[0].bytes), 9648);
    ck_assert_int_eq(dec4(m[1].misses, m[1].requests), 6297);
    ck_assert_int_eq(dec4(m[1].bytes_missed, m[1].bytes), 7009);
    for (int i = 0; i < 2; i++)
        sim_cache_free(c[i]);
    sim_reader_close(r);
}
END_TEST

START_TEST(test_lru_fifo_miss_ratios_objects)
{
    sim_reader *r = open_trace(1);
    sim_cache *c[2] = {make(r, "lru", 5000, SIM_UNIT_OBJECTS),
                       make(r, "fifo", 5000, SIM_UNIT_OBJECTS)};
    run_all(r, c, 2);
    struct sim_metrics m[2];
    for (int i = 0; i < 2; i++)
        sim_cache_metrics(c[i], &m[i]);
    ck_assert_int_eq(dec4(m[0].misses, m[0].requests), 8038);
    ck_assert_int_eq(dec4(m[1].misses, m[1].requests), 8042);
    for (int i = 0; i < 2; i++)
        sim_cache_free(c[i]);
    sim_reader_close(r);
}
END_TEST

/* One policy (the loop index) at libCacheSim's 8 sizes. */
START_TEST(test_libcachesim_expected_misses)
{
    const struct expected *e = &table[_i];
    sim_reader *r = open_trace(0);
    sim_cache *c[NSIZES];
    for (int s = 0; s < NSIZES; s++)
        c[s] = make(r, e->policy, (uint64_t)(s + 1) * 128 * MIB, SIM_UNIT_BYTES);
    run_all(r, c, NSIZES);
    for (int s = 0; s < NSIZES; s++) {
        struct sim_metrics m;
        sim_cache_metrics(c[s], &m);
        ck_assert_uint_eq(m.requests, REQUESTS);
        ck_assert_uint_eq(m.bytes, REQUEST_BYTES);
        ck_assert_msg(m.misses == e->misses[s] && m.bytes_missed == e->bytes[s],
                      "%s at %d MiB: %llu misses, %llu bytes; libCacheSim %llu, %llu",
                      e->policy, (s + 1) * 128, (unsigned long long)m.misses,
                      (unsigned long long)m.bytes_missed, (unsigned long long)e->misses[s],
                      (unsigned long long)e->bytes[s]);
        sim_cache_free(c[s]);
    }
    sim_reader_close(r);
}
END_TEST

static Suite *agreement_suite(void)
{
    Suite *s = suite_create("agreement");
    TCase *core = tcase_create("Core");
    tcase_set_timeout(core, 60);
    tcase_add_test(core, test_lru_miss_ratios_bytes);
    tcase_add_test(core, test_lru_fifo_miss_ratios_objects);
    tcase_add_loop_test(core, test_libcachesim_expected_misses, 0, (int)NPOL);
    suite_add_tcase(s, core);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(agreement_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
