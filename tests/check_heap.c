/*
 * check_heap.c - the indexed min-heap (sim_heap.h) against a naive
 * reference: an array scanned for its minimum.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "sim_heap.h"

#define N 500

struct ref { int in; double pri; uint64_t tie; };

/* The id of the smallest (pri, tie) in the reference, or -1. */
static int ref_min(const struct ref *r)
{
    int best = -1;
    for (int i = 0; i < N; i++)
        if (r[i].in && (best < 0 || r[i].pri < r[best].pri
                        || (r[i].pri == r[best].pri && r[i].tie < r[best].tie)))
            best = i;
    return best;
}

/* Records for sim_heap_init_at: 12 bytes, the position in the middle. */
struct rec { uint32_t before, pos, after; };

/* Random pushes, updates, removes and pops, with few distinct priorities so
 * that ties are frequent; after each step the top must be the reference's
 * minimum and the heap must pass its own check.  With recs (positions in
 * records), the record array moves every 1000 steps and the words around
 * each position must stay untouched. */
static void random_operations(struct sim_heap *h, uint8_t **recs)
{
    struct ref r[N] = {{0, 0, 0}};
    struct sim_rng g;
    sim_rng_seed(&g, 42);
    /* Ties above 2^32 so that packing must keep all 64 bits. */
    for (uint64_t step = (uint64_t)1 << 40; step < ((uint64_t)1 << 40) + 20000; step++) {
        uint32_t id = (uint32_t)sim_rng_below(&g, N);
        double pri = (double)sim_rng_below(&g, 8);
        unsigned op = (unsigned)sim_rng_below(&g, 4);
        if (!r[id].in) {
            ck_assert_int_eq(sim_heap_push(h, id, pri, step), 0);
            r[id] = (struct ref){1, pri, step};
        } else if (op == 0) {
            sim_heap_update(h, id, pri, step);
            r[id].pri = pri;
            r[id].tie = step;
        } else if (op == 1) {
            sim_heap_remove(h, id);
            r[id].in = 0;
        } else if (op == 2) {
            struct sim_heap_ent e;
            uint32_t top = sim_heap_pop(h, &e);
            ck_assert_int_eq((int)top, ref_min(r));
            ck_assert(e.pri == r[top].pri);
            r[top].in = 0;
        }
        int m = ref_min(r);
        if (m < 0)
            ck_assert_ptr_null(sim_heap_top(h));
        else {
            ck_assert_uint_eq(sim_heap_top(h)->id, (uint32_t)m);
            ck_assert(sim_heap_top(h)->pri == r[m].pri);
            ck_assert(sim_heap_top(h)->tie == r[m].tie);
        }
        /* Now and then: sim_heap_id_at walks exactly the ids in the
         * reference (h->n of them, each in it, so no repeat is possible
         * when the counts agree... and each in the heap at most once). */
        if (step % 64 == 0) {
            size_t in = 0;
            for (int i = 0; i < N; i++)
                in += (size_t)r[i].in;
            ck_assert_uint_eq(h->n, in);
            for (size_t i = 0; i < h->n; i++)
                ck_assert(r[sim_heap_id_at(h, i)].in);
        }
        ck_assert(sim_heap_check(h));
        ck_assert_int_eq(sim_heap_contains(h, id), r[id].in);
        if (recs && step % 1000 == 0) {
            uint8_t *moved = malloc(N * sizeof(struct rec));
            memcpy(moved, *recs, N * sizeof(struct rec));
            memset(*recs, 0xff, N * sizeof(struct rec));
            free(*recs);
            *recs = moved;
        }
    }
    for (int i = 0; recs && i < N; i++) {
        const struct rec *x = (const struct rec *)(void *)(*recs + i * sizeof(struct rec));
        ck_assert(x->before == 0xa5a5a5a5u && x->after == 0x5a5a5a5au);
    }
    sim_heap_free(h);
}

START_TEST(test_random_operations_match_reference)
{
    struct sim_heap h;
    sim_heap_init(&h);
    random_operations(&h, NULL);
}
END_TEST

START_TEST(test_positions_in_records)
{
    struct sim_heap h;
    uint8_t *recs = malloc(N * sizeof(struct rec));
    for (int i = 0; i < N; i++)
        ((struct rec *)(void *)recs)[i] = (struct rec){0xa5a5a5a5u, 0, 0x5a5a5a5au};
    sim_heap_init_at(&h, &recs, sizeof(struct rec), offsetof(struct rec, pos));
    random_operations(&h, &recs);
    free(recs);
}
END_TEST

START_TEST(test_empty_and_single)
{
    struct sim_heap h;
    sim_heap_init(&h);
    ck_assert_ptr_null(sim_heap_top(&h));
    ck_assert(!sim_heap_contains(&h, 7));
    ck_assert_int_eq(sim_heap_push(&h, 100000, -1.0, 0), 0);
    ck_assert_uint_eq(sim_heap_top(&h)->id, 100000);
    ck_assert_uint_eq(sim_heap_pop(&h, NULL), 100000);
    ck_assert_ptr_null(sim_heap_top(&h));
    ck_assert(sim_heap_check(&h));
    sim_heap_free(&h);
    sim_heap_free(&h); /* freeing twice is harmless: the heap is empty */
}
END_TEST

static Suite *heap_suite(void)
{
    Suite *s = suite_create("heap");
    TCase *core = tcase_create("Core");
    tcase_add_test(core, test_random_operations_match_reference);
    tcase_add_test(core, test_positions_in_records);
    suite_add_tcase(s, core);
    TCase *limits = tcase_create("Limits");
    tcase_add_test(limits, test_empty_and_single);
    suite_add_tcase(s, limits);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(heap_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
