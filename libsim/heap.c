/*
 * heap.c - the indexed binary min-heap of sim_heap.h.
 *
 * An array heap (children of i at 2i+1, 2i+2) plus pos[id], the index of
 * id's entry + 1 (0 = absent), kept exact by every move.
 *
 * Invariants (sim_heap_check): 1. no child is smaller than its parent;
 *                              2. pos[e[i].id] == i + 1 for every entry.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "sim_heap.h"

void sim_heap_init(struct sim_heap *h)
{
    memset(h, 0, sizeof *h);
}

void sim_heap_free(struct sim_heap *h)
{
    free(h->e);
    free(h->pos);
    sim_heap_init(h);
}

static int less(const struct sim_heap_ent *a, const struct sim_heap_ent *b)
{
    if (a->pri != b->pri)
        return a->pri < b->pri;
    return a->tie < b->tie;
}

static void place(struct sim_heap *h, size_t i, struct sim_heap_ent ent)
{
    h->e[i] = ent;
    h->pos[ent.id] = (uint32_t)(i + 1);
}

/* Moves the entry at i up until its parent is not larger. */
static void sift_up(struct sim_heap *h, size_t i)
{
    struct sim_heap_ent ent = h->e[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!less(&ent, &h->e[parent]))
            break;
        place(h, i, h->e[parent]);
        i = parent;
    }
    place(h, i, ent);
}

/* Moves the entry at i down until no child is smaller. */
static void sift_down(struct sim_heap *h, size_t i)
{
    struct sim_heap_ent ent = h->e[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && less(&h->e[c + 1], &h->e[c]))
            c++;
        if (!less(&h->e[c], &ent))
            break;
        place(h, i, h->e[c]);
        i = c;
    }
    place(h, i, ent);
}

static int grow(struct sim_heap *h, uint32_t id)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 256;
        struct sim_heap_ent *e = realloc(h->e, cap * sizeof *e);
        if (!e)
            return SIM_ENOMEM;
        h->e = e;
        h->cap = cap;
    }
    if (id >= h->npos) {
        size_t n = h->npos ? h->npos : 256;
        while (n <= id)
            n *= 2;
        uint32_t *p = realloc(h->pos, n * sizeof *p);
        if (!p)
            return SIM_ENOMEM;
        memset(p + h->npos, 0, (n - h->npos) * sizeof *p);
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
    place(h, h->n - 1, ent);
    sift_up(h, h->n - 1);
    return 0;
}

void sim_heap_update(struct sim_heap *h, uint32_t id, double pri, uint64_t tie)
{
    assert(sim_heap_contains(h, id));
    size_t i = h->pos[id] - 1;
    struct sim_heap_ent old = h->e[i];
    h->e[i].pri = pri;
    h->e[i].tie = tie;
    if (less(&h->e[i], &old))
        sift_up(h, i);
    else
        sift_down(h, i);
}

void sim_heap_remove(struct sim_heap *h, uint32_t id)
{
    assert(sim_heap_contains(h, id));
    size_t i = h->pos[id] - 1;
    h->pos[id] = 0;
    h->n--;
    if (i == h->n)
        return;
    struct sim_heap_ent last = h->e[h->n];
    struct sim_heap_ent old = h->e[i];
    place(h, i, last);
    if (less(&last, &old))
        sift_up(h, i);
    else
        sift_down(h, i);
}

const struct sim_heap_ent *sim_heap_top(const struct sim_heap *h)
{
    return h->n ? &h->e[0] : NULL;
}

uint32_t sim_heap_pop(struct sim_heap *h, struct sim_heap_ent *out)
{
    assert(h->n > 0);
    struct sim_heap_ent top = h->e[0];
    if (out)
        *out = top;
    sim_heap_remove(h, top.id);
    return top.id;
}

int sim_heap_contains(const struct sim_heap *h, uint32_t id)
{
    return id < h->npos && h->pos[id] != 0;
}

int sim_heap_check(const struct sim_heap *h)
{
    for (size_t i = 0; i < h->n; i++) {
        if (i > 0 && less(&h->e[i], &h->e[(i - 1) / 2]))
            return 0;
        if (h->e[i].id >= h->npos || h->pos[h->e[i].id] != i + 1)
            return 0;
    }
    return 1;
}
