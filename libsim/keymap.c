/*
 * keymap.c - open-addressing hash table from 64-bit keys to record ids.
 *
 * HOW IT WORKS
 * A slot holds (fingerprint << 32 | id); 0 means empty.  The home slot of a
 * key is hash & mask and the fingerprint is hash >> 32 with the low bit set,
 * so it is never 0.  Lookup probes linearly from home until an empty slot;
 * a slot whose fingerprint matches is confirmed by reading the key from the
 * record (a false match costs one extra read, about once in 2^31 probes).
 * Deletion shifts later entries of the same probe run back (Knuth's
 * algorithm R), so there are no tombstones and runs stay short.  The table
 * doubles at load 0.8 and never shrinks.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_policy.h"

#define MAX_LOAD_NUM 4
#define MAX_LOAD_DEN 5

static inline uint64_t rec_key(const struct sim_keymap *m, uint32_t id)
{
    uint64_t k;
    memcpy(&k, *m->base + (size_t)id * m->stride, sizeof k);
    return k;
}

static inline uint32_t fingerprint(uint64_t h) { return (uint32_t)(h >> 32) | 1u; }

int sim_keymap_init(struct sim_keymap *m, uint64_t expect, uint8_t *const *base,
                    size_t stride)
{
    uint64_t n = 16;
    while (n * MAX_LOAD_NUM < expect * MAX_LOAD_DEN)
        n <<= 1;
    m->slots = calloc(n, sizeof *m->slots);
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
    free(m->slots);
    m->slots = NULL;
}

uint32_t sim_keymap_get(const struct sim_keymap *m, uint64_t key)
{
    uint64_t h = sim_key_hash(key);
    uint32_t fp = fingerprint(h);
    for (uint64_t i = h & m->mask;; i = (i + 1) & m->mask) {
        uint64_t s = m->slots[i];
        if (s == 0)
            return SIM_KEYMAP_NONE;
        if ((uint32_t)(s >> 32) == fp && rec_key(m, (uint32_t)s) == key)
            return (uint32_t)s;
    }
}

static void insert_slot(uint64_t *slots, uint64_t mask, uint64_t h, uint32_t id)
{
    uint64_t i = h & mask;
    while (slots[i])
        i = (i + 1) & mask;
    slots[i] = ((uint64_t)fingerprint(h) << 32) | id;
}

static int grow(struct sim_keymap *m)
{
    uint64_t n = (m->mask + 1) * 2;
    uint64_t *slots = calloc(n, sizeof *slots);
    if (!slots)
        return SIM_ENOMEM;
    for (uint64_t i = 0; i <= m->mask; i++) {
        uint64_t s = m->slots[i];
        if (s) {
            uint32_t id = (uint32_t)s;
            insert_slot(slots, n - 1, sim_key_hash(rec_key(m, id)), id);
        }
    }
    free(m->slots);
    m->slots = slots;
    m->mask = n - 1;
    return 0;
}

int sim_keymap_put(struct sim_keymap *m, uint64_t key, uint32_t id)
{
    if ((m->count + 1) * MAX_LOAD_DEN > (m->mask + 1) * MAX_LOAD_NUM) {
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
    uint64_t i = h & m->mask;
    for (;; i = (i + 1) & m->mask) {
        uint64_t s = m->slots[i];
        if (!s)
            return; /* absent: nothing to do */
        if ((uint32_t)(s >> 32) == fp && rec_key(m, (uint32_t)s) == key)
            break;
    }
    /* Algorithm R: pull back every later entry whose home is not in (i, j]. */
    uint64_t j = i;
    for (;;) {
        j = (j + 1) & m->mask;
        uint64_t s = m->slots[j];
        if (!s)
            break;
        uint64_t home = sim_key_hash(rec_key(m, (uint32_t)s)) & m->mask;
        int stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            m->slots[i] = s;
            i = j;
        }
    }
    m->slots[i] = 0;
    m->count--;
}
