/*
 * u64map.h - a plain open-addressing map from u64 keys to u64 values, for
 * one-pass trace analyses (distinct keys, last positions) where the caches'
 * record-based keymap does not fit.  16 bytes a slot, load <= 0.5.
 * Not installed.
 */
#ifndef SIM_U64MAP_H
#define SIM_U64MAP_H

#include <stdint.h>

struct u64map {
    uint64_t *keys, *vals;
    uint8_t *used;
    uint64_t mask, count;
};

int u64map_init(struct u64map *m, uint64_t expect);
void u64map_free(struct u64map *m);
/* Pointer to the value of key, inserting it with value `init` if absent
 * (*fresh says which); NULL if memory ran out. */
uint64_t *u64map_upsert(struct u64map *m, uint64_t key, uint64_t init, int *fresh);
/* Pointer to the value, or NULL if absent. */
uint64_t *u64map_get(const struct u64map *m, uint64_t key);

#endif
