/*
 * check_gindex.c - the compact ghost index (policies/gindex.h) against a
 * naive reference: an array of the positions in use, searched linearly,
 * and a scan of the table that recomputes each entry's home and distance;
 * and ghost.h's records, which it indexes.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "../libsim/ghost.h"
#include "../libsim/gindex.h"

#define RING 512

struct fixture {
    uint64_t ring[RING];        /* key at each position */
    int used[RING];             /* 1: the index should map ring[p] -> p */
    uint8_t *base;
    struct sim_gindex x;
};

static void fx_init(struct fixture *f, uint32_t cap)
{
    memset(f->used, 0, sizeof f->used);
    f->base = (uint8_t *)f->ring;
    ck_assert_int_eq(sim_gindex_init(&f->x, cap, &f->base, 8), 0);
}

/* The reference answer: the position of key, or SIM_KEYMAP_NONE. */
static uint32_t ref_get(const struct fixture *f, uint64_t key)
{
    for (uint32_t p = 0; p < RING; p++)
        if (f->used[p] && f->ring[p] == key)
            return p;
    return SIM_KEYMAP_NONE;
}

/* Every slot decoded by hand: its position is in use and holds a key whose
 * home is reached from the slot backwards without an empty slot, and the
 * distance field is min(that distance, dmax); the count matches. */
static void check_table(const struct fixture *f)
{
    const struct sim_gindex *x = &f->x;
    uint64_t n = x->mask + 1, entries = 0, used = 0;
    for (uint32_t p = 0; p < RING; p++)
        used += (uint64_t)f->used[p];
    for (uint64_t i = 0; i < n; i++) {
        uint32_t v = x->slots[i];
        if (!v)
            continue;
        entries++;
        uint32_t pos = (uint32_t)(v & ((1ull << x->b) - 1)) - 1;
        ck_assert_uint_lt(pos, RING);
        ck_assert_int_eq(f->used[pos], 1);
        uint64_t h = sim_key_hash(f->ring[pos]);
        uint64_t home = sim_keymap_home(x->mask, h);
        uint64_t dist = i >= home ? i - home : i + n - home;
        for (uint64_t k = 0; k < dist; k++)
            ck_assert_uint_ne(x->slots[(home + k) % n], 0);
        uint32_t d = v >> 28 & x->dmax; /* the top 4 bits */
        ck_assert_uint_eq(d, dist < x->dmax ? dist : x->dmax);
        ck_assert_uint_eq(v & x->fpm, (uint32_t)(h >> 32) & x->fpm);
    }
    ck_assert_uint_eq(entries, used);
    ck_assert_uint_eq(x->count, used);
}

/* Random puts and deletes of keys drawn from `space` distinct values into
 * a ring of cap positions; every key of the space is looked up after each
 * step.  keyof maps an index to a key (to force collisions). */
static void run_random(struct fixture *f, uint32_t cap, uint32_t space,
                       uint64_t (*keyof)(uint32_t), uint64_t seed)
{
    struct sim_rng g;
    sim_rng_seed(&g, seed);
    for (int step = 0; step < 4000; step++) {
        uint64_t key = keyof((uint32_t)sim_rng_below(&g, space));
        uint32_t at = ref_get(f, key);
        if (sim_rng_below(&g, 2) == 0 && at == SIM_KEYMAP_NONE && f->x.count < cap) {
            uint32_t p = (uint32_t)sim_rng_below(&g, cap);
            while (f->used[p])
                p = (p + 1) % cap;
            f->ring[p] = key;
            f->used[p] = 1;
            sim_gindex_put(&f->x, key, p);
        } else {
            sim_gindex_del(&f->x, key); /* absent keys too: a no-op */
            if (at != SIM_KEYMAP_NONE) {
                f->used[at] = 0;
                f->ring[at] = ~key; /* a stale key must not be found */
            }
        }
        for (uint32_t k = 0; k < space; k += 11)
            ck_assert_uint_eq(sim_gindex_get(&f->x, keyof(k)), ref_get(f, keyof(k)));
        ck_assert_uint_eq(sim_gindex_get(&f->x, key), ref_get(f, key));
        if (step % 97 == 0)
            check_table(f);
    }
    check_table(f);
}

static uint64_t key_spread(uint32_t i) { return (uint64_t)i * 0x9e3779b97f4a7c15ull + 3; }

/* Keys whose home slot in a table of 81 slots (cap 64: 64 * 5/4 + 1) is
 * one of the last two, found by trying successive integers: the runs wrap
 * around the table's end and grow past the 4-bit distance field. */
static uint64_t crowd[200];
static uint64_t key_crowded(uint32_t i) { return crowd[i]; }

static void make_crowd(uint64_t mask)
{
    uint32_t n = 0;
    for (uint64_t k = 0; n < 200; k++)
        if (sim_keymap_home(mask, sim_key_hash(k)) >= mask - 1)
            crowd[n++] = k;
}

START_TEST(test_random_matches_reference)
{
    static struct fixture f;
    fx_init(&f, RING);
    run_random(&f, RING, 3 * RING, key_spread, 1);
    sim_gindex_free(&f.x);
}
END_TEST

START_TEST(test_full_table_matches_reference)
{
    /* cap 64 over 3 * 64 keys: the table is kept near its 0.8 load */
    static struct fixture f;
    fx_init(&f, 64);
    ck_assert_uint_eq(f.x.mask + 1, 81);
    run_random(&f, 64, 192, key_spread, 2);
    sim_gindex_free(&f.x);
}
END_TEST

START_TEST(test_collisions_wrap_around)
{
    static struct fixture f;
    fx_init(&f, 64);
    make_crowd(f.x.mask);
    /* 40 keys homed at slots 79-80: they fill 79, 80, 0, 1, ... */
    for (uint32_t p = 0; p < 40; p++) {
        f.ring[p] = crowd[p];
        f.used[p] = 1;
        sim_gindex_put(&f.x, crowd[p], p);
    }
    check_table(&f);
    ck_assert_uint_ne(f.x.slots[0], 0);     /* the run wrapped */
    ck_assert_uint_ne(f.x.slots[30], 0);    /* and is longer than 15 */
    for (uint32_t p = 0; p < 40; p++)
        ck_assert_uint_eq(sim_gindex_get(&f.x, crowd[p]), p);
    /* deleting from the front pulls the rest back across the end */
    for (uint32_t p = 0; p < 40; p += 3) {
        sim_gindex_del(&f.x, crowd[p]);
        f.used[p] = 0;
        check_table(&f);
    }
    for (uint32_t p = 0; p < 40; p++)
        ck_assert_uint_eq(sim_gindex_get(&f.x, crowd[p]), p % 3 ? p : SIM_KEYMAP_NONE);
    run_random(&f, 64, 200, key_crowded, 3);
    sim_gindex_free(&f.x);
}
END_TEST

START_TEST(test_no_fingerprint_bits)
{
    /* A capacity of 2^28 or more leaves no fingerprint or distance bits
     * (b = 29..32); the same table with fpm = 0 and dmax = 0 is what such a
     * layout decodes to: every probe and every home reads the ring. */
    static struct fixture f;
    fx_init(&f, 64);
    f.x.fpm = 0;
    f.x.dmax = 0;
    make_crowd(f.x.mask);
    run_random(&f, 64, 200, key_crowded, 4);
    run_random(&f, 64, 192, key_spread, 5);
    sim_gindex_free(&f.x);
}
END_TEST

START_TEST(test_layout)
{
    /* b = bits of cap (positions + 1 run to cap); the distance in bits
     * 28-31; the fingerprint in bits b..27: cap 1 -> b 1, fpm 0x0ffffffe;
     * cap 65535 -> b 16, fpm 0x0fff0000; cap 65536 -> b 17, 0x0ffe0000. */
    static const struct { uint32_t cap; unsigned b; uint32_t fpm; } t[] = {
        { 1, 1, 0x0ffffffeu }, { 65535, 16, 0x0fff0000u }, { 65536, 17, 0x0ffe0000u },
    };
    uint8_t *base = NULL;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        struct sim_gindex x;
        ck_assert_int_eq(sim_gindex_init(&x, t[i].cap, &base, 8), 0);
        ck_assert_uint_eq(x.b, t[i].b);
        ck_assert_uint_eq(x.dmax, 15);
        ck_assert_uint_eq(x.fpm, t[i].fpm);
        ck_assert_uint_eq(sim_gindex_get(&x, 42), SIM_KEYMAP_NONE);
        sim_gindex_free(&x);
    }
}
END_TEST

START_TEST(test_clear_and_key_zero)
{
    static struct fixture f;
    fx_init(&f, 8);
    f.ring[0] = 0;  /* key 0 at position 0: slot value pos + 1 is not 0 */
    sim_gindex_put(&f.x, 0, 0);
    ck_assert_uint_eq(sim_gindex_get(&f.x, 0), 0);
    sim_gindex_clear(&f.x);
    ck_assert_uint_eq(f.x.count, 0);
    ck_assert_uint_eq(sim_gindex_get(&f.x, 0), SIM_KEYMAP_NONE);
    sim_gindex_del(&f.x, 0);
    ck_assert_uint_eq(f.x.count, 0);
    sim_gindex_free(&f.x);
    sim_gindex_free(&f.x); /* freeing twice is harmless */
}
END_TEST

START_TEST(test_resize_keeps_entries)
{
    /* 40 entries at positions below 64, then a wider layout (cap 512:
     * b 7 -> 10) in a larger table, then a smaller table again: each time
     * the entries are the same and the table is consistent. */
    static struct fixture f;
    fx_init(&f, 64);
    make_crowd(f.x.mask);
    for (uint32_t p = 0; p < 40; p++) {
        f.ring[p] = p % 2 ? crowd[p] : key_spread(p);
        f.used[p] = 1;
        sim_gindex_put(&f.x, f.ring[p], p);
    }
    ck_assert_int_eq(sim_gindex_resize(&f.x, RING, 400), 0);
    ck_assert_uint_eq(f.x.b, 10);
    ck_assert_uint_eq(f.x.mask + 1, 501); /* 400 * 5/4 + 1 */
    check_table(&f);
    ck_assert_int_eq(sim_gindex_resize(&f.x, RING, 0), 0); /* at least the count */
    ck_assert_uint_eq(f.x.mask + 1, 51);
    ck_assert_int_eq(sim_gindex_room(&f.x), 0);            /* 41 * 5 > 51 * 4 */
    check_table(&f);
    for (uint32_t p = 0; p < 40; p++)
        ck_assert_uint_eq(sim_gindex_get(&f.x, f.ring[p]), p);
    ck_assert_int_eq(sim_gindex_resize(&f.x, RING, RING), 0);
    run_random(&f, RING, 2 * RING, key_spread, 6);
    sim_gindex_free(&f.x);
}
END_TEST

/* A squeeze as LIRS does it: keys at positions 0..95, the odd ones
 * deleted (holes), then the key at an even position p moves to p / 2 and
 * the table is renumbered without rehashing; every kept key is found at
 * its new position, the deleted ones nowhere, and the table is consistent
 * (homes, distances, counts).  The table was sized for 100 entries
 * (init_for), not for the ring's 512 positions. */
static uint32_t halve(const void *arg, uint32_t pos)
{
    (void)arg;
    return pos / 2;
}

START_TEST(test_renumber_after_squeeze)
{
    static struct fixture f;
    memset(f.used, 0, sizeof f.used);
    f.base = (uint8_t *)f.ring;
    ck_assert_int_eq(sim_gindex_init_for(&f.x, RING, 100, &f.base, 8), 0);
    ck_assert_uint_eq(f.x.mask + 1, 126); /* 100 * 5/4 + 1 */
    ck_assert_uint_eq(f.x.b, 10);        /* positions up to 512 */
    for (uint32_t p = 0; p < 96; p++) {
        f.ring[p] = key_spread(p);
        f.used[p] = 1;
        sim_gindex_put(&f.x, f.ring[p], p);
    }
    for (uint32_t p = 1; p < 96; p += 2) {
        sim_gindex_del(&f.x, f.ring[p]);
        f.used[p] = 0;
    }
    check_table(&f);
    for (uint32_t p = 0; p < 96; p += 2) { /* the squeeze: keys first */
        f.ring[p / 2] = f.ring[p];
        f.used[p] = 0;
        f.used[p / 2] = 1;
    }
    for (uint32_t p = 48; p < 96; p++)
        f.ring[p] = ~0ull;
    sim_gindex_renumber(&f.x, halve, NULL);
    check_table(&f);
    for (uint32_t p = 0; p < 96; p++)
        ck_assert_uint_eq(sim_gindex_get(&f.x, key_spread(p)),
                          p % 2 ? SIM_KEYMAP_NONE : p / 2);
    sim_gindex_free(&f.x);
}
END_TEST

/* ghost.h over the index: 5000 records (the record array doubles from
 * 1024 and the index widens and grows with it), every third deleted, and
 * ids recycled; each key found at its id, deleted keys not at all. */
START_TEST(test_ghosts_grow)
{
    struct sim_ghosts g;
    static uint32_t id[5000];
    ck_assert_int_eq(sim_ghosts_init(&g, sizeof(struct sim_ghost), 0), 0);
    for (uint32_t i = 0; i < 5000; i++) {
        id[i] = sim_ghosts_add(&g, key_spread(i), i);
        ck_assert_uint_ne(id[i], SIM_KEYMAP_NONE);
    }
    for (uint32_t i = 0; i < 5000; i += 3)
        sim_ghosts_del(&g, id[i]);
    for (uint32_t i = 0; i < 5000; i++) {
        uint32_t got = sim_ghosts_find(&g, key_spread(i));
        ck_assert_uint_eq(got, i % 3 ? id[i] : SIM_KEYMAP_NONE);
        if (i % 3) {
            const struct sim_ghost *r = sim_ghosts_rec(&g, got);
            ck_assert_uint_eq(r->key, key_spread(i));
            ck_assert_uint_eq(r->size, i);
        }
    }
    ck_assert_uint_eq(g.idx.count, 5000 - 1667);
    /* recycled ids: the 1667 freed ones, no new array slot */
    for (uint32_t i = 0; i < 1667; i++)
        ck_assert_uint_lt(sim_ghosts_add(&g, key_spread(10000 + i), 1), 5000);
    ck_assert_uint_eq(g.used, 5000);
    for (uint32_t i = 0; i < 1667; i++)
        ck_assert_uint_ne(sim_ghosts_find(&g, key_spread(10000 + i)), SIM_KEYMAP_NONE);
    sim_ghosts_free(&g);
}
END_TEST

static Suite *gindex_suite(void)
{
    Suite *s = suite_create("gindex");
    TCase *core = tcase_create("Core");
    tcase_add_test(core, test_random_matches_reference);
    tcase_add_test(core, test_full_table_matches_reference);
    tcase_add_test(core, test_collisions_wrap_around);
    tcase_add_test(core, test_resize_keeps_entries);
    tcase_add_test(core, test_ghosts_grow);
    tcase_add_test(core, test_renumber_after_squeeze);
    suite_add_tcase(s, core);
    TCase *limits = tcase_create("Limits");
    tcase_add_test(limits, test_no_fingerprint_bits);
    tcase_add_test(limits, test_layout);
    tcase_add_test(limits, test_clear_and_key_zero);
    suite_add_tcase(s, limits);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(gindex_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
