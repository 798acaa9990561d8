/*
 * gfifo.c - a FIFO of ghost keys; see gfifo.h.
 */
#include <stdlib.h>
#include <string.h>

#include "gfifo.h"

#define GFIFO_MIN 1024

static uint64_t gfifo_key(const struct sim_gfifo *f, uint32_t slot)
{
    uint64_t k;
    memcpy(&k, f->keys + (size_t)slot * 8, sizeof k);
    return k;
}

static uint32_t gfifo_size(const struct sim_gfifo *f, uint32_t slot)
{
    return f->sizes ? f->sizes[slot] : 1;
}

static int gfifo_is_hole(const struct sim_gfifo *f, uint32_t slot)
{
    return (f->holes[slot / 64] >> (slot % 64)) & 1;
}

static uint32_t gfifo_slot(const struct sim_gfifo *f, uint32_t i) /* i-th from tail */
{
    uint64_t s = (uint64_t)f->tail + i;
    return (uint32_t)(s < f->cap ? s : s - f->cap);
}

void sim_gfifo_init(struct sim_gfifo *f)
{
    memset(f, 0, sizeof *f);
}

static void gfifo_release(struct sim_gfifo *f)
{
    sim_keymap_free(&f->map);
    free(f->keys);
    free(f->sizes);
    free(f->holes);
}

void sim_gfifo_free(struct sim_gfifo *f)
{
    gfifo_release(f);
    sim_gfifo_init(f);
}

/* Rebuilds the ring with `cap` slots, in arrival order, without holes, and
 * the table for it.  Out of memory, everything is forgotten. */
static void gfifo_rebuild(struct sim_gfifo *f, uint32_t cap)
{
    sim_keymap_free(&f->map); /* first, so that two tables never coexist */
    uint8_t *keys = malloc((size_t)cap * 8);
    uint32_t *sizes = f->sizes ? malloc((size_t)cap * sizeof *sizes) : NULL;
    uint64_t *holes = calloc((cap + 63) / 64, sizeof *holes);
    if (!keys || (f->sizes && !sizes) || !holes) {
        free(keys);
        free(sizes);
        free(holes);
        sim_gfifo_free(f);
        return;
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < f->used; i++) {
        uint32_t s = gfifo_slot(f, i);
        if (gfifo_is_hole(f, s))
            continue;
        memcpy(keys + (size_t)n * 8, f->keys + (size_t)s * 8, 8);
        if (sizes)
            sizes[n] = f->sizes[s];
        n++;
    }
    free(f->keys);
    free(f->sizes);
    free(f->holes);
    f->keys = keys;
    f->sizes = sizes;
    f->holes = holes;
    f->cap = cap;
    f->tail = 0;
    f->used = n;
    /* Sized for the ring, so that pushes until the next rebuild never grow
     * the table (sim_keymap's growth keeps old and new tables at once). */
    if (sim_keymap_init(&f->map, cap, &f->keys, 8)) {
        sim_gfifo_free(f);
        return;
    }
    for (uint32_t s = 0; s < n; s++)
        if (sim_keymap_put(&f->map, gfifo_key(f, s), s)) {
            sim_gfifo_free(f);
            return;
        }
}

/* Makes room for one push: squeezes the holes out of a full ring, growing
 * it by 1.25x unless a quarter of it were holes. */
static void gfifo_make_room(struct sim_gfifo *f)
{
    uint64_t cap = f->cap;
    if (cap == 0)
        cap = GFIFO_MIN;
    else if ((f->used - f->count) * 4 < cap)
        cap += cap / 4;
    if (cap > SIM_KEYMAP_NONE / 2)
        return;
    gfifo_rebuild(f, (uint32_t)cap);
}

/* The first size other than 1 brings the size array in. */
static int gfifo_sized(struct sim_gfifo *f)
{
    uint32_t *s = malloc((size_t)(f->cap ? f->cap : 1) * sizeof *s);
    if (!s)
        return SIM_ENOMEM;
    for (uint32_t i = 0; i < f->cap; i++)
        s[i] = 1;
    f->sizes = s;
    return 0;
}

void sim_gfifo_push(struct sim_gfifo *f, uint64_t key, uint32_t size)
{
    if (size != 1 && !f->sizes && gfifo_sized(f))
        return;
    if (f->used == f->cap)
        gfifo_make_room(f);
    if (f->used == f->cap)
        return; /* out of memory */
    uint32_t s = gfifo_slot(f, f->used);
    memcpy(f->keys + (size_t)s * 8, &key, 8);
    if (f->sizes)
        f->sizes[s] = size;
    if (sim_keymap_put(&f->map, key, s))
        return;
    f->holes[s / 64] &= ~(1ull << (s % 64));
    f->used++;
    f->count++;
    f->bytes += size;
}

/* Forgets the key in slot s (present in the table). */
static uint32_t gfifo_drop(struct sim_gfifo *f, uint32_t s)
{
    uint32_t size = gfifo_size(f, s);
    sim_keymap_del(&f->map, gfifo_key(f, s));
    f->holes[s / 64] |= 1ull << (s % 64);
    f->count--;
    f->bytes -= size;
    return size;
}

/* Advances the tail past holes. */
static void gfifo_trim(struct sim_gfifo *f)
{
    while (f->used && gfifo_is_hole(f, f->tail)) {
        f->tail = f->tail + 1 == f->cap ? 0 : f->tail + 1;
        f->used--;
    }
}

int sim_gfifo_has(const struct sim_gfifo *f, uint64_t key)
{
    return f->count && sim_keymap_get(&f->map, key) != SIM_KEYMAP_NONE;
}

int sim_gfifo_take(struct sim_gfifo *f, uint64_t key, uint32_t *size)
{
    uint32_t s = f->count ? sim_keymap_get(&f->map, key) : SIM_KEYMAP_NONE;
    if (s == SIM_KEYMAP_NONE)
        return 0;
    *size = gfifo_drop(f, s);
    gfifo_trim(f);
    return 1;
}

uint32_t sim_gfifo_pop(struct sim_gfifo *f)
{
    gfifo_trim(f);
    uint32_t size = gfifo_drop(f, f->tail);
    gfifo_trim(f);
    return size;
}

int sim_gfifo_check(const struct sim_gfifo *f, int (*bad)(const void *arg, uint64_t key),
                    const void *arg)
{
    uint64_t n = 0, bytes = 0;
    for (uint32_t i = 0; i < f->used; i++) {
        uint32_t s = gfifo_slot(f, i);
        if (gfifo_is_hole(f, s))
            continue;
        if (sim_keymap_get(&f->map, gfifo_key(f, s)) != s
            || (bad && bad(arg, gfifo_key(f, s))))
            return -1;
        n++;
        bytes += gfifo_size(f, s);
    }
    return n == f->count && bytes == f->bytes && (n == 0 || n == f->map.count) ? 0 : -1;
}
