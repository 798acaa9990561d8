/*
 * ghost.c - ghost entries (evicted keys) for ARC, 2Q and LIRS; see ghost.h.
 */
#include <stdlib.h>

#include "ghost.h"

int sim_ghosts_init(struct sim_ghosts *g)
{
    g->base = NULL;
    g->cap = g->used = 0;
    g->free = SIM_KEYMAP_NONE;
    return sim_keymap_init(&g->map, 0, &g->base, sizeof(struct sim_ghost));
}

void sim_ghosts_free(struct sim_ghosts *g)
{
    sim_keymap_free(&g->map);
    free(g->base);
    g->base = NULL;
}

/* A record id: recycled, or fresh (the array doubles when full). */
static uint32_t ghost_alloc(struct sim_ghosts *g)
{
    if (g->free != SIM_KEYMAP_NONE) {
        uint32_t id = g->free;
        g->free = sim_ghosts_rec(g, id)->link.next;
        return id;
    }
    if (g->used == g->cap) {
        uint32_t cap = g->cap ? g->cap * 2 : 1024;
        if (cap >= SIM_KEYMAP_NONE / 2)
            return SIM_KEYMAP_NONE;
        uint8_t *b = realloc(g->base, (size_t)cap * sizeof(struct sim_ghost));
        if (!b)
            return SIM_KEYMAP_NONE;
        g->base = b;
        g->cap = cap;
    }
    return g->used++;
}

static void ghost_release(struct sim_ghosts *g, uint32_t id)
{
    struct sim_ghost *r = sim_ghosts_rec(g, id);
    r->tag = 0;
    r->link.next = g->free;
    g->free = id;
}

uint32_t sim_ghosts_add(struct sim_ghosts *g, uint64_t key, uint32_t size, uint8_t tag)
{
    uint32_t id = ghost_alloc(g);
    if (id == SIM_KEYMAP_NONE)
        return id;
    struct sim_ghost *r = sim_ghosts_rec(g, id);
    r->key = key;
    r->size = size;
    r->tag = tag;
    if (sim_keymap_put(&g->map, key, id)) {
        ghost_release(g, id);
        return SIM_KEYMAP_NONE;
    }
    return id;
}

void sim_ghosts_del(struct sim_ghosts *g, uint32_t id)
{
    sim_keymap_del(&g->map, sim_ghosts_rec(g, id)->key);
    ghost_release(g, id);
}
