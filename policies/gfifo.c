/*
 * gfifo.c - a FIFO of ghost keys; see gfifo.h.
 */
#include <stdlib.h>
#include <string.h>

#include "gfifo.h"
#include "internal.h"

#define GFIFO_MIN 1024

static uint64_t gfifo_key(const struct sim_gfifo *f, uint32_t slot)
{
    uint64_t k;
    memcpy(&k, f->keys + (size_t)slot * 8, sizeof k);
    return k;
}

static uint32_t gfifo_size(const struct sim_gfifo *f, uint32_t slot)
{
    return sim__units_get(f->sizes, f->swidth, slot);
}

/* The size array must be wide enough for v. */
static void gfifo_set_size(struct sim_gfifo *f, uint32_t slot, uint32_t v)
{
    sim__units_set(f->sizes, f->swidth, slot, v);
}

static int gfifo_is_hole(const struct sim_gfifo *f, uint32_t slot)
{
    return sim__bit_get(f->holes, slot);
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

static size_t gfifo_hbytes(uint32_t cap) { return (cap + 63) / 64 * sizeof(uint64_t); }

static void gfifo_release(struct sim_gfifo *f)
{
    sim_gindex_free(&f->idx);
    sim__vm_free(f->keys, (size_t)f->cap * 8);
    sim__vm_free(f->sizes, (size_t)f->cap * f->swidth);
    sim__vm_free(f->holes, gfifo_hbytes(f->cap));
}

void sim_gfifo_free(struct sim_gfifo *f)
{
    gfifo_release(f);
    sim_gfifo_init(f);
}

/* Squeezes the holes out of the ring in place, keeping arrival order. */
static void gfifo_squeeze(struct sim_gfifo *f)
{
    uint32_t w = 0;
    for (uint32_t i = 0; i < f->used; i++) {
        uint32_t s = gfifo_slot(f, i);
        if (gfifo_is_hole(f, s))
            continue;
        uint32_t d = gfifo_slot(f, w++);
        if (d != s) {
            memcpy(f->keys + (size_t)d * 8, f->keys + (size_t)s * 8, 8);
            gfifo_set_size(f, d, gfifo_size(f, s));
        }
    }
    f->used = w;
    memset(f->holes, 0, (f->cap + 63) / 64 * sizeof *f->holes);
}

/* Grows the (squeezed) ring to cap slots (sim__vm_resize: in place, no
 * copy), moving the part from the tail to the old end up to the new end.
 * 0, or SIM_ENOMEM with every array at its old size or freed (NULL). */
static int gfifo_grow(struct sim_gfifo *f, uint32_t cap)
{
    uint8_t *keys = sim__vm_resize(f->keys, (size_t)f->cap * 8, (size_t)cap * 8);
    if (!keys)
        return SIM_ENOMEM;
    f->keys = keys;
    if (f->sizes) {
        uint8_t *sizes = sim__vm_resize(f->sizes, (size_t)f->cap * f->swidth,
                                        (size_t)cap * f->swidth);
        if (!sizes) {
            sim__vm_free(f->keys, (size_t)cap * 8);
            f->keys = NULL;
            return SIM_ENOMEM;
        }
        f->sizes = sizes;
    }
    uint64_t *holes = sim__vm_resize(f->holes, gfifo_hbytes(f->cap), gfifo_hbytes(cap));
    if (!holes) {
        sim__vm_free(f->keys, (size_t)cap * 8);
        sim__vm_free(f->sizes, (size_t)cap * f->swidth);
        f->keys = NULL;
        f->sizes = NULL;
        return SIM_ENOMEM;
    }
    memset(holes, 0, gfifo_hbytes(cap));
    f->holes = holes;
    uint32_t old = f->cap, top = old - f->tail; /* slots from the tail to the old end */
    if (f->used && (uint64_t)f->tail + f->used > old) {
        memmove(f->keys + (size_t)(cap - top) * 8, f->keys + (size_t)f->tail * 8,
                (size_t)top * 8);
        if (f->sizes)
            memmove(f->sizes + (size_t)(cap - top) * f->swidth,
                    f->sizes + (size_t)f->tail * f->swidth, (size_t)top * f->swidth);
        f->tail = cap - top;
    }
    f->cap = cap;
    return 0;
}

/* Makes room for one push in a full ring: squeezes its holes out in place
 * and grows it by 1.25x unless a quarter of it were holes; then rebuilds
 * the table, sized for the whole ring so that it never grows by itself.
 * Everything is done in place (realloc, a table reused when its size does
 * not change): freeing and allocating a new ring each time left freed
 * blocks resident in the heap.  Out of memory, everything is forgotten. */
static void gfifo_make_room(struct sim_gfifo *f)
{
    uint64_t cap = f->cap ? f->cap : GFIFO_MIN;
    if (f->cap && (f->used - f->count) * 4 < f->cap)
        cap += cap / 4;
    if (cap > SIM_KEYMAP_NONE / 2)
        return;
    if (f->cap)
        gfifo_squeeze(f);
    if (cap != f->cap || !f->idx.slots) {
        sim_gindex_free(&f->idx);
        if (gfifo_grow(f, (uint32_t)cap) || sim_gindex_init(&f->idx, (uint32_t)cap, &f->keys, 8)) {
            sim_gfifo_free(f);
            return;
        }
    } else {
        sim_gindex_clear(&f->idx);
    }
    for (uint32_t i = 0; i < f->used; i++) {
        uint32_t s = gfifo_slot(f, i);
        sim_gindex_put(&f->idx, gfifo_key(f, s), s);
    }
}

void sim_gfifo_push(struct sim_gfifo *f, uint64_t key, uint32_t size)
{
    if (sim__units_fit(&f->sizes, &f->swidth, f->cap ? f->cap : 1, size))
        return; /* out of memory */
    if (f->used == f->cap)
        gfifo_make_room(f);
    if (f->used == f->cap)
        return; /* out of memory */
    uint32_t s = gfifo_slot(f, f->used);
    memcpy(f->keys + (size_t)s * 8, &key, 8);
    gfifo_set_size(f, s, size);
    sim_gindex_put(&f->idx, key, s);
    sim__bit_clear(f->holes, s);
    f->used++;
    f->count++;
    f->bytes += size;
}

/* Forgets the key in slot s (present in the table). */
static uint32_t gfifo_drop(struct sim_gfifo *f, uint32_t s)
{
    uint32_t size = gfifo_size(f, s);
    sim_gindex_del(&f->idx, gfifo_key(f, s));
    sim__bit_set(f->holes, s);
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
    return f->count && sim_gindex_get(&f->idx, key) != SIM_KEYMAP_NONE;
}

int sim_gfifo_take(struct sim_gfifo *f, uint64_t key, uint32_t *size)
{
    uint32_t s = f->count ? sim_gindex_get(&f->idx, key) : SIM_KEYMAP_NONE;
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
        if (sim_gindex_get(&f->idx, gfifo_key(f, s)) != s
            || (bad && bad(arg, gfifo_key(f, s))))
            return -1;
        n++;
        bytes += gfifo_size(f, s);
    }
    return n == f->count && bytes == f->bytes && (n == 0 || n == f->idx.count) ? 0 : -1;
}
