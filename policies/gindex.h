/*
 * gindex.h - a compact hash index from 64-bit keys to positions in a ring
 * of keys (gfifo.h's ghost ring), 4 bytes a slot.  Not installed.
 *
 * HOW IT WORKS
 * Open addressing with linear probing, like sim_keymap, but a slot is 32
 * bits: the key's ring position plus one in the low b bits (b = the bit
 * width of the ring's capacity; 0 means empty), then a distance from the
 * key's home slot in up to 4 bits, then as many fingerprint bits as are
 * left (the hash's top bits, in place).  A fingerprint match is confirmed
 * by reading the key from the ring, so a false match costs a read, never a
 * wrong answer; with no fingerprint bits left (rings of 2^28 slots and
 * more) every probe reads the ring.  Deletion shifts later entries of the
 * probe run back (Knuth's algorithm R), finding each one's home from its
 * distance; the largest distance value means "read the key from the ring".
 * The table is sized once for the ring's capacity at load 0.8 and never
 * grows: the ring holds at most cap keys.  Against sim_keymap's 8-byte
 * slots this halves the table, 10 -> 5 bytes per ring slot.
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
    uint32_t dmax, fpm;     /* largest distance field ("far"); fingerprint mask */
    uint8_t *const *base;   /* the ring: key of position p at (*base) + 8 p */
};

/*! sim_gindex_init() : an empty index for positions below cap (1 <= cap
 * < 2^31) over the ring of 8-byte keys at *base.  @return 0 or SIM_ENOMEM. */
int sim_gindex_init(struct sim_gindex *x, uint32_t cap, uint8_t *const *base);
void sim_gindex_free(struct sim_gindex *x);

/*! sim_gindex_clear() : removes every entry (keeps the table). */
void sim_gindex_clear(struct sim_gindex *x);

/*! sim_gindex_get() : key's position, or SIM_KEYMAP_NONE. */
uint32_t sim_gindex_get(const struct sim_gindex *x, uint64_t key);

/*! sim_gindex_put() : adds key -> pos; key must be absent, already stored
 * at pos in the ring, and count below cap. */
void sim_gindex_put(struct sim_gindex *x, uint64_t key, uint32_t pos);

/*! sim_gindex_del() : removes key if present. */
void sim_gindex_del(struct sim_gindex *x, uint64_t key);

/*! sim_gindex_prefetch() : starts loading key's home slot. */
static inline void sim_gindex_prefetch(const struct sim_gindex *x, uint64_t key)
{
    if (x->slots)
        __builtin_prefetch(&x->slots[sim_keymap_home(x->mask, sim_key_hash(key))]);
}

#endif
