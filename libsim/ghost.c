/*
 * ghost.c - keyed records in an array of their own (LIRS's ghosts, the RL
 * engine's side table); see ghost.h.
 */
#include <stdlib.h>
#include <string.h>

#include "ghost.h"
#include "internal.h"

#define GHOST_MIN 1024u /* the first array's records */

int sim_ghosts_init(struct sim_ghosts *g, size_t stride, uint64_t expect)
{
    g->base = NULL;
    g->stride = stride;
    g->cap = g->used = 0;
    g->free = SIM_KEYMAP_NONE;
    /* ids start below GHOST_MIN: the first array's size */
    if (sim_gindex_init(&g->idx, GHOST_MIN, &g->base, stride))
        return SIM_ENOMEM;
    if (expect > GHOST_MIN && sim_gindex_resize(&g->idx, GHOST_MIN, expect)) {
        sim_gindex_free(&g->idx);
        return SIM_ENOMEM;
    }
    return 0;
}

void sim_ghosts_free(struct sim_ghosts *g)
{
    sim_gindex_free(&g->idx);
    sim__vm_free(g->base, (size_t)g->cap * g->stride);
    g->base = NULL;
}

/* A record id: recycled, or fresh (the array doubles when full, in place
 * and touched only as used: sim__vm_resize; the index then widens its
 * position field, keeping its size). */
static uint32_t ghost_alloc(struct sim_ghosts *g)
{
    if (g->free != SIM_KEYMAP_NONE) {
        uint32_t id = g->free;
        memcpy(&g->free, sim_ghosts_rec(g, id), sizeof g->free);
        return id;
    }
    if (g->used == g->cap) {
        uint32_t cap = g->cap ? g->cap * 2 : GHOST_MIN;
        if (cap > SIM_KEYMAP_NONE / 2)
            return SIM_KEYMAP_NONE;
        if (cap > g->idx.cap
            && sim_gindex_resize(&g->idx, cap, (g->idx.mask + 1) * SIM_KEYMAP_LOAD_NUM
                                               / SIM_KEYMAP_LOAD_DEN))
            return SIM_KEYMAP_NONE;
        uint8_t *b = sim__vm_resize(g->base, (size_t)g->cap * g->stride, (size_t)cap * g->stride);
        if (!b)
            return SIM_KEYMAP_NONE;
        g->base = b;
        g->cap = cap;
    }
    return g->used++;
}

static void ghost_release(struct sim_ghosts *g, uint32_t id)
{
    memcpy(sim_ghosts_rec(g, id), &g->free, sizeof g->free);
    g->free = id;
}

uint32_t sim_ghosts_add(struct sim_ghosts *g, uint64_t key, uint32_t size)
{
    /* the table grows by 1.5x at load 0.8, as sim_keymap */
    if (!sim_gindex_room(&g->idx)
        && sim_gindex_resize(&g->idx, g->idx.cap, g->idx.count + g->idx.count / 2 + 1))
        return SIM_KEYMAP_NONE;
    uint32_t id = ghost_alloc(g);
    if (id == SIM_KEYMAP_NONE)
        return id;
    uint8_t *r = sim_ghosts_rec(g, id);
    memcpy(r, &key, sizeof key);
    memcpy(r + sizeof key, &size, sizeof size);
    sim_gindex_put(&g->idx, key, id);
    return id;
}

void sim_ghosts_del(struct sim_ghosts *g, uint32_t id)
{
    uint64_t key;
    memcpy(&key, sim_ghosts_rec(g, id), sizeof key);
    sim_gindex_del(&g->idx, key);
    ghost_release(g, id);
}
