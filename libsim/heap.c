/*
 * heap.c - the indexed binary min-heap of sim_heap.h.
 *
 * An array heap (children of i at 2i+1, 2i+2) plus pos[id], the index of
 * id's entry + 1 (0 = absent), kept exact by every move: in an array of
 * the heap's own, or (sim_heap_init_at) in the caller's records, which
 * saves the array (GDSF: 4 bytes per object and its growth).  Entries are
 * stored packed (struct sim_heap_slot, 20 bytes instead of 24: GDSF and
 * Belady hold one per cached object) and unpacked to compare; h->top is
 * e[0] unpacked, so that sim_heap_top can return a pointer.  Both arrays
 * grow with sim__vm_resize: large ones in place, untouched pages not
 * resident, no old copy left in malloc's heap.
 *
 * Invariants (sim_heap_check): 1. no child is smaller than its parent;
 *                              2. pos[e[i].id] == i + 1 for every entry.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sim.h"
#include "sim_heap.h"

void sim_heap_init(struct sim_heap *h)
{
    memset(h, 0, sizeof *h);
}

void sim_heap_init_at(struct sim_heap *h, uint8_t *const *base, size_t stride, size_t off)
{
    sim_heap_init(h);
    h->pbase = base;
    h->pstride = stride;
    h->poff = off;
}

/* Where the positions are: id's is the uint32_t at base + id * stride.
 * Taken once per operation, so that a sift moving entries level by level
 * pays no branch and no reloads per level (GDSF ran 11% more instructions
 * with them). */
struct heap_posref {
    uint8_t *base;
    size_t stride;
};

#define HEAP_INLINE static inline __attribute__((always_inline))

HEAP_INLINE struct heap_posref posref(const struct sim_heap *h)
{
    struct heap_posref r = {(uint8_t *)h->pos, sizeof *h->pos};
    if (h->pbase) {
        r.base = *h->pbase + h->poff;
        r.stride = h->pstride;
    }
    return r;
}

HEAP_INLINE uint32_t *pos_at(struct heap_posref r, uint32_t id)
{
    return (uint32_t *)(void *)(r.base + (size_t)id * r.stride);
}

static uint32_t *pos_of(const struct sim_heap *h, uint32_t id)
{
    return pos_at(posref(h), id);
}

void sim_heap_free(struct sim_heap *h)
{
    sim__vm_free(h->e, h->cap * sizeof *h->e);
    sim__vm_free(h->pos, h->npos * sizeof *h->pos);
    sim_heap_init(h);
}

static struct sim_heap_slot pack(struct sim_heap_ent ent)
{
    struct sim_heap_slot s;
    memcpy(&s.w[0], &ent.pri, sizeof ent.pri);
    memcpy(&s.w[2], &ent.tie, sizeof ent.tie);
    s.w[4] = ent.id;
    return s;
}

static struct sim_heap_ent unpack(const struct sim_heap_slot *s)
{
    struct sim_heap_ent ent;
    memcpy(&ent.pri, &s->w[0], sizeof ent.pri);
    memcpy(&ent.tie, &s->w[2], sizeof ent.tie);
    ent.id = s->w[4];
    return ent;
}

static int less(const struct sim_heap_ent *a, const struct sim_heap_ent *b)
{
    if (a->pri != b->pri)
        return a->pri < b->pri;
    return a->tie < b->tie;
}

static struct sim_heap_ent at(const struct sim_heap *h, size_t i)
{
    return unpack(&h->e[i]);
}

HEAP_INLINE void place(struct sim_heap *h, struct heap_posref r, size_t i,
                       struct sim_heap_ent ent)
{
    h->e[i] = pack(ent);
    *pos_at(r, ent.id) = (uint32_t)(i + 1);
    if (i == 0)
        h->top = ent;
}

/* Moves the entry at i up until its parent is not larger. */
static void sift_up(struct sim_heap *h, size_t i)
{
    struct heap_posref r = posref(h);
    struct sim_heap_ent ent = at(h, i);
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        struct sim_heap_ent pe = at(h, parent);
        if (!less(&ent, &pe))
            break;
        place(h, r, i, pe);
        i = parent;
    }
    place(h, r, i, ent);
}

/* Moves the entry at i down until no child is smaller. */
static void sift_down(struct sim_heap *h, size_t i)
{
    struct heap_posref r = posref(h);
    struct sim_heap_ent ent = at(h, i);
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        struct sim_heap_ent ce = at(h, c);
        if (c + 1 < h->n) {
            struct sim_heap_ent ce1 = at(h, c + 1);
            if (less(&ce1, &ce)) {
                c++;
                ce = ce1;
            }
        }
        if (!less(&ce, &ent))
            break;
        place(h, r, i, ce);
        i = c;
    }
    place(h, r, i, ent);
}

static int grow(struct sim_heap *h, uint32_t id)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 256;
        struct sim_heap_slot *e = sim__vm_resize(h->e, h->cap * sizeof *e, cap * sizeof *e);
        if (!e)
            return SIM_ENOMEM;
        h->e = e;
        h->cap = cap;
    }
    if (!h->pbase && id >= h->npos) {
        size_t n = h->npos ? h->npos : 256;
        while (n <= id)
            n *= 2;
        uint32_t *p = sim__vm_resize(h->pos, h->npos * sizeof *p, n * sizeof *p);
        if (!p)
            return SIM_ENOMEM; /* the new part is zero (sim__vm_resize) */
        h->pos = p;
        h->npos = n;
    }
    return 0;
}

int sim_heap_push(struct sim_heap *h, uint32_t id, double pri, uint64_t tie)
{
    assert(!sim_heap_contains(h, id));
    if (grow(h, id))
        return SIM_ENOMEM;
    struct sim_heap_ent ent = {pri, tie, id};
    h->n++;
    place(h, posref(h), h->n - 1, ent);
    sift_up(h, h->n - 1);
    return 0;
}

void sim_heap_update(struct sim_heap *h, uint32_t id, double pri, uint64_t tie)
{
    assert(sim_heap_contains(h, id));
    struct heap_posref r = posref(h);
    size_t i = *pos_at(r, id) - 1;
    struct sim_heap_ent old = at(h, i);
    struct sim_heap_ent ent = {pri, tie, id};
    place(h, r, i, ent);
    if (less(&ent, &old))
        sift_up(h, i);
    else
        sift_down(h, i);
}

void sim_heap_remove(struct sim_heap *h, uint32_t id)
{
    assert(sim_heap_contains(h, id));
    uint32_t *pos = pos_of(h, id);
    size_t i = *pos - 1;
    *pos = 0;
    h->n--;
    if (i == h->n)
        return;
    struct sim_heap_ent last = at(h, h->n);
    struct sim_heap_ent old = at(h, i);
    place(h, posref(h), i, last);
    if (less(&last, &old))
        sift_up(h, i);
    else
        sift_down(h, i);
}

const struct sim_heap_ent *sim_heap_top(const struct sim_heap *h)
{
    return h->n ? &h->top : NULL;
}

uint32_t sim_heap_pop(struct sim_heap *h, struct sim_heap_ent *out)
{
    assert(h->n > 0);
    struct sim_heap_ent top = h->top;
    if (out)
        *out = top;
    sim_heap_remove(h, top.id);
    return top.id;
}

uint32_t sim_heap_id_at(const struct sim_heap *h, size_t i)
{
    assert(i < h->n);
    return h->e[i].w[4];
}

int sim_heap_contains(const struct sim_heap *h, uint32_t id)
{
    if (h->pbase)
        return *pos_of(h, id) != 0;
    return id < h->npos && h->pos[id] != 0;
}

int sim_heap_check(const struct sim_heap *h)
{
    for (size_t i = 0; i < h->n; i++) {
        struct sim_heap_ent ent = at(h, i);
        if (i > 0) {
            struct sim_heap_ent pe = at(h, (i - 1) / 2);
            if (less(&ent, &pe))
                return 0;
        }
        if ((!h->pbase && ent.id >= h->npos) || *pos_of(h, ent.id) != i + 1)
            return 0;
    }
    if (h->n && (h->top.id != h->e[0].w[4] || h->top.pri != at(h, 0).pri
                 || h->top.tie != at(h, 0).tie))
        return 0;
    return 1;
}
