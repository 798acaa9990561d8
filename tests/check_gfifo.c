/*
 * check_gfifo.c - the ghost-key FIFO (policies/gfifo.h) against a naive
 * reference: an array of (key, size) in arrival order, searched linearly.
 */
#include <check.h>
#include <stdlib.h>

#include "sim.h"
#include "../policies/gfifo.h"

#define KEYS 3000

struct ref {
    uint64_t key[200000];
    uint32_t size[200000];
    size_t n;
};

static long ref_find(const struct ref *r, uint64_t key)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->key[i] == key)
            return (long)i;
    return -1;
}

static void ref_remove(struct ref *r, size_t i)
{
    for (; i + 1 < r->n; i++) {
        r->key[i] = r->key[i + 1];
        r->size[i] = r->size[i + 1];
    }
    r->n--;
}

/* Random pushes, takes and pops over a small key space (so that takes hit
 * and the ring fills with holes, is squeezed and grows); sizes are 1 before
 * step sized_from (no size array), 1..100 before wide_from (2-byte sizes),
 * and 70000..70099 after (the array widens to 4 bytes with sizes in it). */
static void run_random(int sized_from, int wide_from)
{
    static struct ref r;
    struct sim_gfifo f;
    struct sim_rng g;
    sim_gfifo_init(&f);
    sim_rng_seed(&g, 7);
    r.n = 0;
    uint64_t bytes = 0;
    for (int step = 0; step < 40000; step++) {
        uint64_t key = sim_rng_next(&g) % KEYS * 0x9e3779b97f4a7c15ull;
        unsigned op = (unsigned)(sim_rng_next(&g) % 10);
        long at = ref_find(&r, key);
        if (op < 5) {           /* push if absent */
            if (at >= 0)
                continue;
            uint32_t size = step < sized_from ? 1
                            : (step < wide_from ? 1 : 70000) + (uint32_t)(sim_rng_next(&g) % 100);
            sim_gfifo_push(&f, key, size);
            r.key[r.n] = key;
            r.size[r.n++] = size;
            bytes += size;
        } else if (op < 8) {    /* take */
            uint32_t size = 0;
            ck_assert_int_eq(sim_gfifo_take(&f, key, &size), at >= 0);
            if (at >= 0) {
                ck_assert_uint_eq(size, r.size[at]);
                bytes -= size;
                ref_remove(&r, (size_t)at);
            }
        } else if (r.n > 0) {   /* pop the oldest */
            ck_assert_uint_eq(sim_gfifo_pop(&f), r.size[0]);
            bytes -= r.size[0];
            ref_remove(&r, 0);
        }
        ck_assert_uint_eq(f.count, r.n);
        ck_assert_uint_eq(f.bytes, bytes);
        ck_assert_int_eq(sim_gfifo_has(&f, key), ref_find(&r, key) >= 0);
        if (step % 997 == 0)
            ck_assert_int_eq(sim_gfifo_check(&f, NULL, NULL), 0);
    }
    ck_assert_int_eq(sim_gfifo_check(&f, NULL, NULL), 0);
    /* Popping everything returns the keys in arrival order. */
    for (size_t i = 0; i < r.n; i++) {
        ck_assert_int_eq(sim_gfifo_has(&f, r.key[i]), 1);
        ck_assert_uint_eq(sim_gfifo_pop(&f), r.size[i]);
        ck_assert_int_eq(sim_gfifo_has(&f, r.key[i]), 0);
    }
    ck_assert_uint_eq(f.count, 0);
    ck_assert_uint_eq(f.bytes, 0);
    sim_gfifo_free(&f);
}

START_TEST(test_unit_sizes_match_reference) { run_random(40000, 40000); }
END_TEST

START_TEST(test_mixed_sizes_match_reference) { run_random(20000, 40000); }
END_TEST

START_TEST(test_wide_sizes_match_reference) { run_random(10000, 25000); }
END_TEST

/* Many pushes of distinct keys, all kept: the ring grows past its first
 * 1024 slots and the oldest key still comes out first. */
START_TEST(test_growth_keeps_order)
{
    struct sim_gfifo f;
    sim_gfifo_init(&f);
    for (uint64_t k = 1; k <= 5000; k++)
        sim_gfifo_push(&f, k, (uint32_t)k);
    ck_assert_uint_eq(f.count, 5000);
    ck_assert_uint_eq(f.bytes, 5000ull * 5001 / 2);
    uint32_t size;
    ck_assert_int_eq(sim_gfifo_take(&f, 2500, &size), 1);
    ck_assert_uint_eq(size, 2500);
    ck_assert_int_eq(sim_gfifo_take(&f, 2500, &size), 0);
    for (uint32_t k = 1; k <= 10; k++)
        ck_assert_uint_eq(sim_gfifo_pop(&f), k);
    ck_assert_int_eq(sim_gfifo_check(&f, NULL, NULL), 0);
    sim_gfifo_free(&f);
}
END_TEST

START_TEST(test_empty)
{
    struct sim_gfifo f;
    uint32_t size = 9;
    sim_gfifo_init(&f);
    ck_assert_int_eq(sim_gfifo_has(&f, 0), 0);
    ck_assert_int_eq(sim_gfifo_take(&f, 0, &size), 0);
    ck_assert_uint_eq(size, 9);
    ck_assert_int_eq(sim_gfifo_check(&f, NULL, NULL), 0);
    sim_gfifo_push(&f, 0, 0); /* key 0 and size 0 are ordinary values */
    ck_assert_int_eq(sim_gfifo_has(&f, 0), 1);
    ck_assert_uint_eq(sim_gfifo_pop(&f), 0);
    ck_assert_uint_eq(f.count, 0);
    sim_gfifo_free(&f);
    sim_gfifo_free(&f); /* freeing twice is harmless */
}
END_TEST

static Suite *gfifo_suite(void)
{
    Suite *s = suite_create("gfifo");
    TCase *core = tcase_create("Core");
    tcase_add_test(core, test_unit_sizes_match_reference);
    tcase_add_test(core, test_mixed_sizes_match_reference);
    tcase_add_test(core, test_wide_sizes_match_reference);
    tcase_add_test(core, test_growth_keeps_order);
    suite_add_tcase(s, core);
    TCase *limits = tcase_create("Limits");
    tcase_add_test(limits, test_empty);
    suite_add_tcase(s, limits);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(gfifo_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
