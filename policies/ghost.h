/*
 * ghost.h - ghost entries for policies that remember evicted keys (ARC's
 * B1/B2, 2Q's A1out, LIRS's non-resident blocks).  Not installed.
 *
 * A ghost is a key, the object's size and a one-byte tag, with a list link,
 * in a record array of its own (24 bytes a record) indexed by a sim_keymap.
 * Ids are recycled through a free list, so a warm cache allocates nothing.
 * The policy owns the lists (sim_list over SIM_GHOST_LIST(g)); a ghost must
 * be unlinked before sim_ghost_del.  The struct must not move after init
 * (the key table points at its `base` member).
 */
#ifndef SIM_GHOST_H
#define SIM_GHOST_H

#include <stddef.h>

#include "sim_policy.h"

struct sim_ghost {
    uint64_t key;          /* first: the key table reads it here */
    uint32_t size;
    uint8_t tag;           /* the policy's; 0 marks a free record */
    struct sim_link link;  /* the policy's list; next = free list link */
};

struct sim_ghosts {
    uint8_t *base;
    uint32_t cap, used, free;
    struct sim_keymap map;
};

#define SIM_GHOST_LIST(g) (g)->base, sizeof(struct sim_ghost), offsetof(struct sim_ghost, link)

/*! sim_ghosts_init() : an empty set.  @return 0 or SIM_ENOMEM. */
int sim_ghosts_init(struct sim_ghosts *g);
void sim_ghosts_free(struct sim_ghosts *g);

/*! sim_ghosts_add() : a new ghost for key (which must be absent), tag != 0.
 * @return its id, or SIM_KEYMAP_NONE when out of memory (nothing added). */
uint32_t sim_ghosts_add(struct sim_ghosts *g, uint64_t key, uint32_t size, uint8_t tag);

/*! sim_ghosts_del() : forgets ghost id (already unlinked from any list). */
void sim_ghosts_del(struct sim_ghosts *g, uint32_t id);

static inline uint32_t sim_ghosts_find(const struct sim_ghosts *g, uint64_t key)
{
    return sim_keymap_get(&g->map, key);
}

static inline struct sim_ghost *sim_ghosts_rec(const struct sim_ghosts *g, uint32_t id)
{
    return (struct sim_ghost *)(g->base + (size_t)id * sizeof(struct sim_ghost));
}

#endif
