/*
 * gfifo.h - a FIFO of ghost keys, for policies that remember the keys of
 * evicted objects in arrival order and forget them oldest first or when
 * they return (S3-FIFO's G, ARC's B1 and B2).  Not installed.
 *
 * HOW IT WORKS
 * Keys (8 bytes) and sizes (no array at all while every size is 1, as in
 * object units; 2 bytes each while every size is below 65536, else 4) sit
 * in a ring, oldest at `tail`; a sim_gindex (gindex.h: 4-byte slots) maps
 * a key to its ring slot (the table reads the key from the ring).  Taking a
 * key out of the middle (a ghost hit) leaves a hole, skipped when it
 * reaches the tail.  A full ring is squeezed in place (arrival order kept,
 * holes dropped), grown by 1.25x (in place: sim__vm_resize) unless a
 * quarter of it were holes, and the table refilled.  A ghost thus costs
 * about (8-12 + 5) * 1.25 bytes of ring and table, against 24 + 10-15 (plus
 * a growth transient) for a linked ghost record (ghost.h).  With
 * sim_keymap's 8-byte slots the table alone was 10 bytes a ring slot.

 * Out of memory, a ghost is not kept (and a failed rebuild forgets all
 * ghosts): ghosts are advice, never correctness.
 *
 * Invariants: 1. the table holds exactly the keys of the non-hole slots
 *                among the `used` slots from `tail`, each at its slot;
 *             2. count = those slots, bytes = the sum of their sizes.
 */
#ifndef SIM_GFIFO_H
#define SIM_GFIFO_H

#include "gindex.h"

struct sim_gfifo {
    uint8_t *keys;          /* ring of keys, 8 bytes a slot (the table reads them) */
    uint8_t *sizes;         /* ring of sizes, or NULL while every size is 1 */
    unsigned swidth;        /* bytes per size: 0 (none), 2 or 4 */
    uint64_t *holes;        /* bitmap: slots whose key was taken */
    uint32_t cap, tail, used; /* slots; oldest slot; slots in use, holes included */
    uint64_t count, bytes;  /* keys held and the sum of their sizes */
    struct sim_gindex idx;  /* key -> slot */
};

/*! sim_gfifo_init() : an empty FIFO (allocates only on the first push).
 * The struct must not move while in use (the table points at `keys`). */
void sim_gfifo_init(struct sim_gfifo *f);
void sim_gfifo_free(struct sim_gfifo *f);

/*! sim_gfifo_push() : appends key (which must be absent) as the newest. */
void sim_gfifo_push(struct sim_gfifo *f, uint64_t key, uint32_t size);

/*! sim_gfifo_take() : removes key if present.
 * @return 1 and its size in *size, or 0 if absent. */
int sim_gfifo_take(struct sim_gfifo *f, uint64_t key, uint32_t *size);

/*! sim_gfifo_pop() : removes the oldest key (count must be > 0).
 * @return its size. */
uint32_t sim_gfifo_pop(struct sim_gfifo *f);

/*! sim_gfifo_has() : 1 if key is present. */
int sim_gfifo_has(const struct sim_gfifo *f, uint64_t key);

/*! sim_gfifo_prefetch() : starts loading key's home slot in the table. */
static inline void sim_gfifo_prefetch(const struct sim_gfifo *f, uint64_t key)
{
    sim_gindex_prefetch(&f->idx, key);
}

/*! sim_gfifo_check() : invariants 1-2 (for tests and check hooks), and
 * that bad(arg, key), when bad is not NULL, is 0 for every key held.
 * @return 0 if all hold. */
int sim_gfifo_check(const struct sim_gfifo *f, int (*bad)(const void *arg, uint64_t key),
                    const void *arg);

#endif
