/*
 * ghost.h - keyed records in lists of a policy's own: ghosts that must be
 * linked (FIFO ghosts use gfifo.h, LIRS's an array of its own: both about
 * half the memory), or any small keyed records (the RL engine's side
 * table).  Not installed.
 *
 * A ghost record starts with the key (8 bytes) and the object's size
 * (uint32_t); the default layout, struct sim_ghost, adds a one-byte tag and
 * a list link (24 bytes), and a policy may use a larger record of its own
 * (same first two members).  Records live in an array of their own indexed
 * by a sim_gindex (gindex.h, 4-byte slots); ids are recycled through a free list (threaded through
 * the key field), so a warm cache allocates nothing, and stay below 2^31.
 * The policy owns the lists (for the default layout: sim_list over
 * SIM_GHOST_LIST(g)); a ghost must be unlinked before sim_ghosts_del.  The
 * struct must not move after init (the key table points at `base`).
 */
#ifndef SIM_GHOST_H
#define SIM_GHOST_H

#include <stddef.h>

#include "gindex.h"

struct sim_ghost {
    uint64_t key;          /* first: the key table reads it here */
    uint32_t size;
    uint8_t tag;           /* the policy's */
    struct sim_link link;  /* the policy's list */
};

struct sim_ghosts {
    uint8_t *base;
    size_t stride;
    uint32_t cap, used, free;
    struct sim_gindex idx;
};

#define SIM_GHOST_LIST(g) (g)->base, sizeof(struct sim_ghost), offsetof(struct sim_ghost, link)

/*! sim_ghosts_init() : an empty set of records of `stride` bytes (a
 * multiple of 4, at least 12; sizeof(struct sim_ghost) for the default; a
 * stride that is not a multiple of 8 leaves the key 4-byte aligned only, so
 * the record must not read it as a uint64_t member), with a key table
 * sized for `expect` records (it grows beyond).
 * @return 0 or SIM_ENOMEM. */
int sim_ghosts_init(struct sim_ghosts *g, size_t stride, uint64_t expect);
void sim_ghosts_free(struct sim_ghosts *g);

/*! sim_ghosts_add() : a new ghost for key (which must be absent); the
 * record's key and size are set, the rest is the caller's to fill.
 * @return its id, or SIM_KEYMAP_NONE when out of memory (nothing added). */
uint32_t sim_ghosts_add(struct sim_ghosts *g, uint64_t key, uint32_t size);

/*! sim_ghosts_del() : forgets ghost id (already unlinked from any list). */
void sim_ghosts_del(struct sim_ghosts *g, uint32_t id);

static inline uint32_t sim_ghosts_find(const struct sim_ghosts *g, uint64_t key)
{
    return sim_gindex_get(&g->idx, key);
}

/*! sim_ghosts_rec() : record id (valid until the next sim_ghosts_add). */
static inline void *sim_ghosts_rec(const struct sim_ghosts *g, uint32_t id)
{
    return g->base + (size_t)id * g->stride;
}

/*! sim_ghosts_prefetch() : starts loading key's home slot (for xPrefetch). */
static inline void sim_ghosts_prefetch(const struct sim_ghosts *g, uint64_t key)
{
    sim_gindex_prefetch(&g->idx, key);
}

#endif
