/*
 * gindex.h - a compact hash index from 64-bit keys to positions in an
 * array of records that start with their key (gfifo.h's ghost ring,
 * ghost.h's records), 4 bytes a slot.  Not installed.
 *
 * HOW IT WORKS
 * Open addressing with linear probing, like sim_keymap, but a slot is 32
 * bits: the key's position plus one in the low b bits (b = the bit width
 * of the capacity; 0 means empty), the distance from the key's home slot
 * in the top 4 bits, and the bits between (28 - b) of fingerprint (hash
 * bits, in place).  A fingerprint match is confirmed by reading the key
 * from its record, so a false match costs a read, never a wrong answer;
 * with no bits left (capacities of 2^28 and more) every probe, and every
 * home in a deletion, reads the records.  Deletion shifts later entries of the
 * probe run back (Knuth's algorithm R), finding each one's home from its
 * distance; the largest distance value means "read the key from the ring".
 * The table does not grow by itself: gfifo sizes it once for its ring's
 * capacity at load 0.8 (the ring holds at most cap keys); ghost.h resizes
 * it (sim_gindex_resize) when it fills or when its record array grows;
 * LIRS sizes it for its ghosts (sim_gindex_init_for) and renumbers it when
 * it squeezes its array (sim_gindex_renumber).
 * Against sim_keymap's 8-byte slots this halves the table.
 *
 * Invariants: every entry lies in the probe run from its home slot (no
 * empty slot between), its stored distance is min(true distance, dmax),
 * and its position's ring slot holds its key.
 */
#ifndef SIM_GINDEX_H
#define SIM_GINDEX_H

#include "sim_policy.h"

struct sim_gindex {
    uint32_t *slots;
    uint64_t mask;          /* slot count - 1 (any count; sim_keymap_home) */
    uint64_t count;         /* entries */
    uint32_t cap;           /* positions are < cap */
    unsigned b;             /* position bits */
    uint32_t posm;          /* (1 << b) - 1 */
    uint32_t dmax, fpm;     /* largest distance field ("far"); fingerprint mask */
    uint8_t *const *base;   /* key of position p at (*base) + stride p */
    size_t stride;
};

/*! sim_gindex_init() : an empty index for positions below cap (1 <= cap
 * < 2^31) over the records of `stride` bytes at *base (each starting with
 * its 8-byte key), with a table for cap entries at load 0.8.
 * @return 0 or SIM_ENOMEM. */
int sim_gindex_init(struct sim_gindex *x, uint32_t cap, uint8_t *const *base, size_t stride);
/*! sim_gindex_init_for() : the same, with a table for `expect` entries
 * (it does not grow by itself: see sim_gindex_room). */
int sim_gindex_init_for(struct sim_gindex *x, uint32_t cap, uint64_t expect,
                        uint8_t *const *base, size_t stride);
void sim_gindex_free(struct sim_gindex *x);

/*! sim_gindex_room() : 1 if one more entry keeps the load at most 0.8. */
static inline int sim_gindex_room(const struct sim_gindex *x)
{
    return (x->count + 1) * SIM_KEYMAP_LOAD_DEN <= (x->mask + 1) * SIM_KEYMAP_LOAD_NUM;
}

/*! sim_gindex_resize() : the same entries, for positions below cap (at
 * least the old cap) in a table sized for `expect` entries at load 0.8
 * (at least the count).  @return 0, or SIM_ENOMEM with the index as it was. */
int sim_gindex_resize(struct sim_gindex *x, uint32_t cap, uint64_t expect);

/*! sim_gindex_clear() : removes every entry (keeps the table). */
void sim_gindex_clear(struct sim_gindex *x);

/*! sim_gindex_get() : key's position, or SIM_KEYMAP_NONE. */
uint32_t sim_gindex_get(const struct sim_gindex *x, uint64_t key);

/*! sim_gindex_put() : adds key -> pos; key must be absent, already stored
 * at pos, and the table must have room (sim_gindex_room; always so for
 * gfifo's ring, which holds at most cap keys). */
void sim_gindex_put(struct sim_gindex *x, uint64_t key, uint32_t pos);

/*! sim_gindex_del() : removes key if present. */
void sim_gindex_del(struct sim_gindex *x, uint64_t key);

/*! sim_gindex_renumber() : every entry's position p becomes newpos(arg, p)
 * (below cap), in one pass over the table, without hashing: for a ring
 * squeezed in place, whose keys move with their positions (no lookup may
 * come between the move and the renumbering). */
void sim_gindex_renumber(struct sim_gindex *x, uint32_t (*newpos)(const void *arg, uint32_t pos),
                         const void *arg);

/*! sim_gindex_prefetch() : starts loading key's home slot. */
static inline void sim_gindex_prefetch(const struct sim_gindex *x, uint64_t key)
{
    if (x->slots)
        __builtin_prefetch(&x->slots[sim_keymap_home(x->mask, sim_key_hash(key))]);
}

#endif
