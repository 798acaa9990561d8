/*
 * u64map.c - open addressing with linear probing, doubling at load 1/2.
 * No deletion: the analyses that use it only add.
 */
#include <stdlib.h>

#include "sim_policy.h"
#include "u64map.h"

int u64map_init(struct u64map *m, uint64_t expect)
{
    uint64_t n = 64;
    while (n < expect * 2)
        n <<= 1;
    m->keys = malloc(n * sizeof *m->keys);
    m->vals = malloc(n * sizeof *m->vals);
    m->used = calloc(n, 1);
    m->mask = n - 1;
    m->count = 0;
    if (!m->keys || !m->vals || !m->used) {
        u64map_free(m);
        return SIM_ENOMEM;
    }
    return 0;
}

void u64map_free(struct u64map *m)
{
    free(m->keys);
    free(m->vals);
    free(m->used);
    m->keys = m->vals = NULL;
    m->used = NULL;
}

static int grow(struct u64map *m)
{
    struct u64map n;
    if (u64map_init(&n, (m->mask + 1)))
        return SIM_ENOMEM;
    for (uint64_t i = 0; i <= m->mask; i++) {
        if (!m->used[i])
            continue;
        uint64_t j = sim_key_hash(m->keys[i]) & n.mask;
        while (n.used[j])
            j = (j + 1) & n.mask;
        n.used[j] = 1;
        n.keys[j] = m->keys[i];
        n.vals[j] = m->vals[i];
    }
    n.count = m->count;
    u64map_free(m);
    *m = n;
    return 0;
}

uint64_t *u64map_upsert(struct u64map *m, uint64_t key, uint64_t init, int *fresh)
{
    if ((m->count + 1) * 2 > m->mask + 1 && grow(m))
        return NULL;
    uint64_t i = sim_key_hash(key) & m->mask;
    while (m->used[i]) {
        if (m->keys[i] == key) {
            *fresh = 0;
            return &m->vals[i];
        }
        i = (i + 1) & m->mask;
    }
    m->used[i] = 1;
    m->keys[i] = key;
    m->vals[i] = init;
    m->count++;
    *fresh = 1;
    return &m->vals[i];
}

uint64_t *u64map_get(const struct u64map *m, uint64_t key)
{
    uint64_t i = sim_key_hash(key) & m->mask;
    while (m->used[i]) {
        if (m->keys[i] == key)
            return &m->vals[i];
        i = (i + 1) & m->mask;
    }
    return NULL;
}
