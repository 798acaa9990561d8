/*
 * keymap.c - open-addressing hash table from 64-bit keys to record ids.
 *
 * HOW IT WORKS
 * A slot is 64 bits: a 24-bit fingerprint of the key's hash, the 8-bit
 * distance of the slot from the key's home slot, and the 32-bit record id;
 * 0 means empty (the fingerprint is never 0).  The home slot is
 * hash & mask and the fingerprint comes from the hash's top bits, so the
 * two are independent.  Lookup probes linearly from home until an empty
 * slot; a slot whose fingerprint matches is confirmed by reading the key
 * from the record (a false match costs one extra read, about once in 2^24
 * probes).  Deletion shifts later entries of the probe run back (Knuth's
 * algorithm R); the stored distance gives each entry's home without reading
 * its record, which is what makes evictions cheap (reading the records of a
 * run was a quarter of LRU's time).  A distance too large for 8 bits is
 * stored as 255, meaning "read the record".
 *
 * The slot count need not be a power of two: the home slot is the hash's
 * low 32 bits scaled to the table ((h mod 2^32) * n / 2^32, Lemire's
 * "fastrange"), so a table sized for a known count is filled to 0.8 rather
 * than to 0.4-0.8 (the objects table of a cache of 76,303 objects: 1 MiB ->
 * 745 KiB, 3.6 bytes less per cached object).  The table grows by 1.5x at
 * load 0.8 and never shrinks.  Large tables are mappings of their own
 * (vmem.c), so a rebuilt table leaves no free chunk resident behind it.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sim_policy.h"

#define MAX_LOAD_NUM SIM_KEYMAP_LOAD_NUM
#define MAX_LOAD_DEN SIM_KEYMAP_LOAD_DEN
#define DIST_FAR 255u

static inline uint64_t rec_key(const struct sim_keymap *m, uint32_t id)
{
    uint64_t k;
    memcpy(&k, *m->base + (size_t)id * m->stride, sizeof k);
    return k;
}

static inline uint32_t fingerprint(uint64_t h) { return (uint32_t)(h >> 40) | 1u; }
static inline uint32_t slot_fp(uint64_t s) { return (uint32_t)(s >> 40); }
static inline uint32_t slot_dist(uint64_t s) { return (uint32_t)(s >> 32) & 0xffu; }

static inline uint64_t make_slot(uint32_t fp, uint64_t dist, uint32_t id)
{
    return (uint64_t)fp << 40 | (dist < DIST_FAR ? dist : DIST_FAR) << 32 | id;
}

static inline uint64_t next_slot(uint64_t i, uint64_t mask) { return i == mask ? 0 : i + 1; }

/* (i - home) mod the slot count mask + 1. */
static inline uint64_t dist_of(uint64_t i, uint64_t home, uint64_t mask)
{
    return i >= home ? i - home : i + mask + 1 - home;
}

/* The home slot of the entry in slot i. */
static inline uint64_t home_of(const struct sim_keymap *m, uint64_t i, uint64_t s)
{
    uint32_t d = slot_dist(s);
    if (d == DIST_FAR)
        return sim_keymap_home(m->mask, sim_key_hash(rec_key(m, (uint32_t)s)));
    return i >= d ? i - d : i + m->mask + 1 - d;
}

int sim_keymap_init(struct sim_keymap *m, uint64_t expect, uint8_t *const *base,
                    size_t stride)
{
    uint64_t n = (expect * MAX_LOAD_DEN + MAX_LOAD_NUM - 1) / MAX_LOAD_NUM + 1;
    if (n < 16)
        n = 16;
    m->slots = sim__vm_resize(NULL, 0, n * sizeof *m->slots);
    if (!m->slots)
        return SIM_ENOMEM;
    m->mask = n - 1;
    m->count = 0;
    m->base = base;
    m->stride = stride;
    return 0;
}

void sim_keymap_free(struct sim_keymap *m)
{
    if (m->slots)
        sim__vm_free(m->slots, (m->mask + 1) * sizeof *m->slots);
    m->slots = NULL;
}

uint32_t sim_keymap_get(const struct sim_keymap *m, uint64_t key)
{
    uint64_t h = sim_key_hash(key);
    uint32_t fp = fingerprint(h);
    for (uint64_t i = sim_keymap_home(m->mask, h);; i = next_slot(i, m->mask)) {
        uint64_t s = m->slots[i];
        if (s == 0)
            return SIM_KEYMAP_NONE;
        if (slot_fp(s) == fp && rec_key(m, (uint32_t)s) == key)
            return (uint32_t)s;
    }
}

static void insert_slot(uint64_t *slots, uint64_t mask, uint64_t h, uint32_t id)
{
    uint64_t home = sim_keymap_home(mask, h), i = home;
    while (slots[i])
        i = next_slot(i, mask);
    slots[i] = make_slot(fingerprint(h), dist_of(i, home, mask), id);
}

static int grow(struct sim_keymap *m)
{
    uint64_t n = (m->mask + 1) + (m->mask + 1) / 2;
    uint64_t *slots = sim__vm_resize(NULL, 0, n * sizeof *slots);
    if (!slots)
        return SIM_ENOMEM;
    for (uint64_t i = 0; i <= m->mask; i++) {
        uint64_t s = m->slots[i];
        if (s) {
            uint32_t id = (uint32_t)s;
            insert_slot(slots, n - 1, sim_key_hash(rec_key(m, id)), id);
        }
    }
    sim__vm_free(m->slots, (m->mask + 1) * sizeof *m->slots);
    m->slots = slots;
    m->mask = n - 1;
    return 0;
}

int sim_keymap_put(struct sim_keymap *m, uint64_t key, uint32_t id)
{
    if (!sim_keymap_room(m)) {
        int rc = grow(m);
        if (rc)
            return rc;
    }
    insert_slot(m->slots, m->mask, sim_key_hash(key), id);
    m->count++;
    return 0;
}

void sim_keymap_del(struct sim_keymap *m, uint64_t key)
{
    uint64_t h = sim_key_hash(key);
    uint32_t fp = fingerprint(h);
    uint64_t i = sim_keymap_home(m->mask, h);
    for (;; i = next_slot(i, m->mask)) {
        uint64_t s = m->slots[i];
        if (!s)
            return; /* absent: nothing to do */
        if (slot_fp(s) == fp && rec_key(m, (uint32_t)s) == key)
            break;
    }
    /* Algorithm R: pull back every later entry whose home is not in (i, j]. */
    uint64_t j = i;
    for (;;) {
        j = next_slot(j, m->mask);
        uint64_t s = m->slots[j];
        if (!s)
            break;
        uint64_t home = home_of(m, j, s);
        int stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            uint64_t dist = dist_of(i, home, m->mask);
            m->slots[i] = make_slot(slot_fp(s), dist, (uint32_t)s);
            i = j;
        }
    }
    m->slots[i] = 0;
    m->count--;
}
