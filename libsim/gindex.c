/*
 * gindex.c - a compact key -> ring position index; see gindex.h.
 */
#include <string.h>

#include "gindex.h"
#include "internal.h"

#define GINDEX_DIST_SHIFT 28 /* the distance: the top 4 bits, a constant shift */

static inline uint64_t gindex_key(const struct sim_gindex *x, uint32_t pos)
{
    uint64_t k;
    memcpy(&k, *x->base + (size_t)pos * x->stride, sizeof k);
    return k;
}

/* The fingerprint bits of hash h, in place (the top of its high half). */
static inline uint32_t gindex_fp(const struct sim_gindex *x, uint64_t h)
{
    return (uint32_t)(h >> 32) & x->fpm;
}

static inline uint32_t gindex_pos(const struct sim_gindex *x, uint32_t v)
{
    return (v & x->posm) - 1;
}

static inline uint32_t gindex_dist(const struct sim_gindex *x, uint32_t v)
{
    return v >> GINDEX_DIST_SHIFT & x->dmax;
}

static inline uint32_t gindex_make(const struct sim_gindex *x, uint32_t fp, uint64_t dist,
                                   uint32_t pos)
{
    uint64_t d = dist < x->dmax ? dist : x->dmax;
    return (uint32_t)(fp | d << GINDEX_DIST_SHIFT | ((uint64_t)pos + 1));
}

static inline uint64_t gindex_next(uint64_t i, uint64_t mask) { return i == mask ? 0 : i + 1; }

static inline uint64_t gindex_dist_of(uint64_t i, uint64_t home, uint64_t mask)
{
    return i >= home ? i - home : i + mask + 1 - home;
}

/* The home slot of the entry v in slot i. */
static inline uint64_t gindex_home_of(const struct sim_gindex *x, uint64_t i, uint32_t v)
{
    uint32_t d = gindex_dist(x, v);
    if (d == x->dmax)
        return sim_keymap_home(x->mask, sim_key_hash(gindex_key(x, gindex_pos(x, v))));
    return i >= d ? i - d : i + x->mask + 1 - d;
}

/* A table of slots for `expect` entries at load 0.8 (at least 16). */
static uint64_t gindex_slots_for(uint64_t expect)
{
    uint64_t n = (expect * SIM_KEYMAP_LOAD_DEN + SIM_KEYMAP_LOAD_NUM - 1)
                 / SIM_KEYMAP_LOAD_NUM + 1;
    return n < 16 ? 16 : n;
}

/* The slot layout for positions below cap. */
static void gindex_layout(struct sim_gindex *x, uint32_t cap)
{
    x->cap = cap;
    unsigned b = 0;
    while (b < 32 && ((uint64_t)1 << b) <= cap)
        b++; /* positions + 1 run up to cap */
    /* positions up to 2^28 leave the top 4 bits to the distance and the
     * bits between to the fingerprint; larger ones leave neither (every
     * probe and every home then reads the key) */
    x->b = b;
    x->posm = (uint32_t)(((uint64_t)1 << b) - 1);
    x->dmax = b <= GINDEX_DIST_SHIFT ? 15u : 0u;
    x->fpm = b < GINDEX_DIST_SHIFT ? (uint32_t)((1u << GINDEX_DIST_SHIFT) - (1u << b)) : 0u;
}

int sim_gindex_init(struct sim_gindex *x, uint32_t cap, uint8_t *const *base, size_t stride)
{
    return sim_gindex_init_for(x, cap, cap, base, stride);
}

int sim_gindex_init_for(struct sim_gindex *x, uint32_t cap, uint64_t expect,
                        uint8_t *const *base, size_t stride)
{
    uint64_t n = gindex_slots_for(expect);
    x->slots = sim__vm_resize(NULL, 0, n * sizeof *x->slots);
    if (!x->slots)
        return SIM_ENOMEM;
    x->mask = n - 1;
    x->count = 0;
    x->base = base;
    x->stride = stride;
    gindex_layout(x, cap);
    return 0;
}

void sim_gindex_free(struct sim_gindex *x)
{
    if (x->slots)
        sim__vm_free(x->slots, (x->mask + 1) * sizeof *x->slots);
    x->slots = NULL;
    x->count = 0;
}

void sim_gindex_clear(struct sim_gindex *x)
{
    memset(x->slots, 0, (x->mask + 1) * sizeof *x->slots);
    x->count = 0;
}

uint32_t sim_gindex_get(const struct sim_gindex *x, uint64_t key)
{
    uint64_t h = sim_key_hash(key);
    uint32_t fp = gindex_fp(x, h);
    for (uint64_t i = sim_keymap_home(x->mask, h);; i = gindex_next(i, x->mask)) {
        uint32_t v = x->slots[i];
        if (v == 0)
            return SIM_KEYMAP_NONE;
        if ((v & x->fpm) == fp && gindex_key(x, gindex_pos(x, v)) == key)
            return gindex_pos(x, v);
    }
}

void sim_gindex_put(struct sim_gindex *x, uint64_t key, uint32_t pos)
{
    uint64_t h = sim_key_hash(key);
    uint64_t home = sim_keymap_home(x->mask, h), i = home;
    while (x->slots[i])
        i = gindex_next(i, x->mask);
    x->slots[i] = gindex_make(x, gindex_fp(x, h), gindex_dist_of(i, home, x->mask), pos);
    x->count++;
}

void sim_gindex_del(struct sim_gindex *x, uint64_t key)
{
    uint64_t h = sim_key_hash(key);
    uint32_t fp = gindex_fp(x, h);
    uint64_t i = sim_keymap_home(x->mask, h);
    for (;; i = gindex_next(i, x->mask)) {
        uint32_t v = x->slots[i];
        if (!v)
            return;
        if ((v & x->fpm) == fp && gindex_key(x, gindex_pos(x, v)) == key)
            break;
    }
    /* Algorithm R: pull back every later entry whose home is not in (i, j]. */
    uint64_t j = i;
    for (;;) {
        j = gindex_next(j, x->mask);
        uint32_t v = x->slots[j];
        if (!v)
            break;
        uint64_t home = gindex_home_of(x, j, v);
        int stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            x->slots[i] = gindex_make(x, v & x->fpm, gindex_dist_of(i, home, x->mask),
                                      gindex_pos(x, v));
            i = j;
        }
    }
    x->slots[i] = 0;
    x->count--;
}

int sim_gindex_resize(struct sim_gindex *x, uint32_t cap, uint64_t expect)
{
    struct sim_gindex old = *x;
    uint64_t n = gindex_slots_for(expect > x->count ? expect : x->count);
    x->slots = sim__vm_resize(NULL, 0, n * sizeof *x->slots);
    if (!x->slots) {
        *x = old;
        return SIM_ENOMEM;
    }
    x->mask = n - 1;
    x->count = 0;
    gindex_layout(x, cap);
    for (uint64_t i = 0; i <= old.mask; i++)
        if (old.slots[i]) {
            uint32_t pos = gindex_pos(&old, old.slots[i]);
            sim_gindex_put(x, gindex_key(&old, pos), pos);
        }
    sim__vm_free(old.slots, (old.mask + 1) * sizeof *old.slots);
    return 0;
}

void sim_gindex_renumber(struct sim_gindex *x, uint32_t (*newpos)(const void *arg, uint32_t pos),
                         const void *arg)
{
    for (uint64_t i = 0; i <= x->mask; i++) {
        uint32_t v = x->slots[i];
        if (v)
            x->slots[i] = (v & ~x->posm) | (newpos(arg, gindex_pos(x, v)) + 1);
    }
}
